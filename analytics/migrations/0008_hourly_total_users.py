"""Hourly totals keep their hour's distinct users (decision 0002, revision of 2026-12-05).
Existing totals have none yet: their hours are marked dirty, so the rollup worker rebuilds
their days with the users."""

import django.contrib.postgres.fields
from django.db import migrations, models

MARK_DIRTY = """
INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at)
SELECT DISTINCT account_id, date_trunc('hour', hour_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now()
FROM analytics_hourlytotal
ON CONFLICT (account_id, hour_start) DO NOTHING
"""


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0007_daily_users_in_daily_rows'),
        ('traces', '0004_account_index_composite_only'),
    ]

    operations = [
        migrations.AddField(
            model_name='hourlytotal',
            name='user_ids',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), db_default=models.Value([], django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=200), size=None)), default=list, size=None),
        ),
        migrations.RunSQL(MARK_DIRTY, migrations.RunSQL.noop),
    ]
