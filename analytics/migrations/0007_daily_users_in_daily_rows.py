"""Daily users move into the daily rows they belong to: one array per row instead of one
row per user, which the rollup build writes far faster (decision 0002, 2026-11-28)."""

import django.contrib.postgres.fields
from django.db import migrations, models


MOVE_USERS = """
UPDATE analytics_dailyrollup d SET user_ids = u.ids, user_requests = u.requests, user_cost = u.cost
FROM (SELECT account_id, day, model_id, model_type, provider, deployment_id, version_id, connection_id, source_type, source, module, feature, prompt, prompt_version, array_agg(user_id ORDER BY user_id) AS ids,
             array_agg(requests ORDER BY user_id) AS requests, array_agg(cost_usd ORDER BY user_id) AS cost
      FROM analytics_dailyuser GROUP BY account_id, day, model_id, model_type, provider, deployment_id, version_id, connection_id, source_type, source, module, feature, prompt, prompt_version) u
WHERE d.account_id = u.account_id AND d.day = u.day AND d.model_id = u.model_id AND d.model_type = u.model_type AND d.provider = u.provider AND coalesce(d.deployment_id, 0) = coalesce(u.deployment_id, 0) AND coalesce(d.version_id, 0) = coalesce(u.version_id, 0) AND coalesce(d.connection_id, 0) = coalesce(u.connection_id, 0) AND d.source_type = u.source_type AND d.source = u.source AND d.module = u.module AND d.feature = u.feature AND d.prompt = u.prompt AND d.prompt_version = u.prompt_version
"""


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0006_rollups_without_account_constraint'),
    ]

    operations = [
        migrations.AddField(
            model_name='dailyrollup',
            name='user_cost',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.DecimalField(decimal_places=12, max_digits=30), db_default=models.Value([], django.contrib.postgres.fields.ArrayField(base_field=models.DecimalField(decimal_places=12, max_digits=30), size=None)), default=list, help_text='By position in user_ids.', size=None),
        ),
        migrations.AddField(
            model_name='dailyrollup',
            name='user_ids',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), db_default=models.Value([], django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), size=None)), default=list, size=None),
        ),
        migrations.AddField(
            model_name='dailyrollup',
            name='user_requests',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), db_default=models.Value([], django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)), default=list, help_text='By position in user_ids.', size=None),
        ),
        migrations.RunSQL(MOVE_USERS, migrations.RunSQL.noop),
        migrations.DeleteModel(
            name='DailyUser',
        ),
    ]
