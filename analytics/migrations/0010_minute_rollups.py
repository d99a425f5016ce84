"""Minute totals and minute slices for the edges of ranges (decision 0006). Hours built
before have none: they are marked dirty, so the rollup worker rebuilds their days."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

MARK_DIRTY = """
INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at)
SELECT DISTINCT account_id, date_trunc('hour', hour_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now()
FROM analytics_hourlytotal
ON CONFLICT (account_id, hour_start) DO NOTHING
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_account_deletion_audit_append_only'),
        ('analytics', '0009_hourly_slices'),
        ('traces', '0007_dirtybucket_first_at'),
    ]

    operations = [
        migrations.RunSQL(MARK_DIRTY, migrations.RunSQL.noop),
        migrations.CreateModel(
            name='MinuteSlice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('requests', models.BigIntegerField()),
                ('successes', models.BigIntegerField()),
                ('failures', models.BigIntegerField()),
                ('fail_timeout', models.BigIntegerField()),
                ('fail_rate_limit', models.BigIntegerField()),
                ('fail_llm_error', models.BigIntegerField()),
                ('fail_validation', models.BigIntegerField()),
                ('fail_system', models.BigIntegerField()),
                ('fail_network', models.BigIntegerField()),
                ('http_4xx', models.BigIntegerField()),
                ('http_5xx', models.BigIntegerField()),
                ('latency_sum', models.FloatField()),
                ('latency_min', models.FloatField()),
                ('latency_max', models.FloatField()),
                ('ttft_count', models.BigIntegerField()),
                ('ttft_sum', models.FloatField()),
                ('queue_sum', models.FloatField()),
                ('network_sum', models.FloatField()),
                ('input_tokens', models.BigIntegerField()),
                ('output_tokens', models.BigIntegerField()),
                ('cost_usd', models.DecimalField(decimal_places=12, max_digits=30)),
                ('credits', models.DecimalField(decimal_places=12, max_digits=30)),
                ('cache_hits', models.BigIntegerField()),
                ('ratings_count', models.BigIntegerField()),
                ('ratings_sum', models.BigIntegerField()),
                ('thumbs_up', models.BigIntegerField()),
                ('thumbs_down', models.BigIntegerField()),
                ('accepted', models.BigIntegerField()),
                ('edited', models.BigIntegerField()),
                ('regenerated', models.BigIntegerField()),
                ('task_success', models.BigIntegerField()),
                ('task_total', models.BigIntegerField()),
                ('feedback_count', models.BigIntegerField()),
                ('peak_minute_requests', models.IntegerField()),
                ('latency_keys', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), default=list, size=None)),
                ('latency_counts', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), default=list, size=None)),
                ('ttft_keys', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), default=list, size=None)),
                ('ttft_counts', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), default=list, size=None)),
                ('minute_start', models.DateTimeField()),
                ('slice', models.CharField(choices=[('model_id', 'model_id'), ('deployment_id', 'deployment_id'), ('feature', 'feature'), ('prompt', 'prompt')], max_length=16)),
                ('model_id', models.BigIntegerField(null=True)),
                ('deployment_id', models.BigIntegerField(null=True)),
                ('feature', models.CharField(blank=True, db_default='', default='', max_length=200)),
                ('prompt', models.CharField(blank=True, db_default='', default='', max_length=200)),
                ('user_ids', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), db_default=models.Value([], django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), size=None)), default=list, size=None)),
                ('account', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
            ],
            options={
                'indexes': [models.Index(fields=['account', 'slice', 'minute_start'], name='minute_slice_account_minute')],
            },
        ),
        migrations.CreateModel(
            name='MinuteTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('requests', models.BigIntegerField()),
                ('successes', models.BigIntegerField()),
                ('failures', models.BigIntegerField()),
                ('fail_timeout', models.BigIntegerField()),
                ('fail_rate_limit', models.BigIntegerField()),
                ('fail_llm_error', models.BigIntegerField()),
                ('fail_validation', models.BigIntegerField()),
                ('fail_system', models.BigIntegerField()),
                ('fail_network', models.BigIntegerField()),
                ('http_4xx', models.BigIntegerField()),
                ('http_5xx', models.BigIntegerField()),
                ('latency_sum', models.FloatField()),
                ('latency_min', models.FloatField()),
                ('latency_max', models.FloatField()),
                ('ttft_count', models.BigIntegerField()),
                ('ttft_sum', models.FloatField()),
                ('queue_sum', models.FloatField()),
                ('network_sum', models.FloatField()),
                ('input_tokens', models.BigIntegerField()),
                ('output_tokens', models.BigIntegerField()),
                ('cost_usd', models.DecimalField(decimal_places=12, max_digits=30)),
                ('credits', models.DecimalField(decimal_places=12, max_digits=30)),
                ('cache_hits', models.BigIntegerField()),
                ('ratings_count', models.BigIntegerField()),
                ('ratings_sum', models.BigIntegerField()),
                ('thumbs_up', models.BigIntegerField()),
                ('thumbs_down', models.BigIntegerField()),
                ('accepted', models.BigIntegerField()),
                ('edited', models.BigIntegerField()),
                ('regenerated', models.BigIntegerField()),
                ('task_success', models.BigIntegerField()),
                ('task_total', models.BigIntegerField()),
                ('feedback_count', models.BigIntegerField()),
                ('peak_minute_requests', models.IntegerField()),
                ('latency_keys', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), default=list, size=None)),
                ('latency_counts', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), default=list, size=None)),
                ('ttft_keys', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), default=list, size=None)),
                ('ttft_counts', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), default=list, size=None)),
                ('minute_start', models.DateTimeField()),
                ('user_ids', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), db_default=models.Value([], django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), size=None)), default=list, size=None)),
                ('account', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
            ],
            options={
                'indexes': [models.Index(fields=['account', 'minute_start'], name='minute_total_account_minute')],
            },
        ),
    ]
