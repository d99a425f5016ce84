"""Export jobs count their runs, so a run given up on never writes over its successor."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('traces', '0004_account_index_composite_only'),
    ]

    operations = [
        migrations.AddField(
            model_name='exportjob',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
