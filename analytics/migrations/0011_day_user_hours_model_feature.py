"""The users of each local day with their hours, and the model × feature slices (decision
0006). Filled by the rebuild that migration 0010 asks for."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_account_deletion_audit_append_only'),
        ('analytics', '0010_minute_rollups'),
    ]

    operations = [
        migrations.AlterField(
            model_name='dailyslice',
            name='slice',
            field=models.CharField(choices=[('model_id', 'model_id'), ('deployment_id', 'deployment_id'), ('feature', 'feature'), ('prompt', 'prompt'), ('model_feature', 'model_feature')], max_length=16),
        ),
        migrations.AlterField(
            model_name='hourlyslice',
            name='slice',
            field=models.CharField(choices=[('model_id', 'model_id'), ('deployment_id', 'deployment_id'), ('feature', 'feature'), ('prompt', 'prompt'), ('model_feature', 'model_feature')], max_length=16),
        ),
        migrations.AlterField(
            model_name='minuteslice',
            name='slice',
            field=models.CharField(choices=[('model_id', 'model_id'), ('deployment_id', 'deployment_id'), ('feature', 'feature'), ('prompt', 'prompt'), ('model_feature', 'model_feature')], max_length=16),
        ),
        migrations.AlterField(
            model_name='slicemonthusers',
            name='slice',
            field=models.CharField(choices=[('model_id', 'model_id'), ('deployment_id', 'deployment_id'), ('feature', 'feature'), ('prompt', 'prompt'), ('model_feature', 'model_feature')], max_length=16),
        ),
        migrations.CreateModel(
            name='DayUserHours',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('slice', models.CharField(blank=True, choices=[('', 'account'), ('model_id', 'model_id'), ('deployment_id', 'deployment_id'), ('feature', 'feature'), ('prompt', 'prompt'), ('model_feature', 'model_feature')], max_length=16)),
                ('model_id', models.BigIntegerField(null=True)),
                ('deployment_id', models.BigIntegerField(null=True)),
                ('feature', models.CharField(blank=True, db_default='', default='', max_length=200)),
                ('prompt', models.CharField(blank=True, db_default='', default='', max_length=200)),
                ('user_ids', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), default=list, size=None)),
                ('hours', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), default=list, help_text='Hour bits of user_ids[k], by position.', size=None)),
                ('account', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
            ],
            options={
                'indexes': [models.Index(fields=['account', 'slice', 'day'], name='day_user_hours_account_day')],
            },
        ),
    ]
