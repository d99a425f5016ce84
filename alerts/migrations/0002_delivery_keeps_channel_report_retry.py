"""Deliveries keep their channel's name and kind and outlive the channel (SET_NULL); report
runs get the time of their next attempt."""
import django.db.models.deletion
from django.db import migrations, models


def snapshot_channels(apps, schema_editor):
    Delivery = apps.get_model("alerts", "Delivery")
    Channel = apps.get_model("alerts", "Channel")
    for channel in Channel.objects.all().only("pk", "name", "kind").iterator():
        Delivery.objects.filter(channel_id=channel.pk).update(channel_name=channel.name, channel_kind=channel.kind)


def queued_since_created(apps, schema_editor):
    ReportRun = apps.get_model("alerts", "ReportRun")
    ReportRun.objects.filter(status="sending", next_attempt_at__isnull=True).update(next_attempt_at=models.F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='channel_kind',
            field=models.CharField(blank=True, choices=[('in_app', 'In-app'), ('email', 'E-mail'), ('webhook', 'Webhook'), ('slack', 'Slack'), ('pagerduty', 'PagerDuty')], help_text="The channel's kind when sent.", max_length=16),
        ),
        migrations.AddField(
            model_name='delivery',
            name='channel_name',
            field=models.CharField(blank=True, help_text="The channel's name when sent.", max_length=100),
        ),
        migrations.AddField(
            model_name='reportrun',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='channel',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='deliveries', to='alerts.channel'),
        ),
        migrations.RunPython(snapshot_channels, migrations.RunPython.noop),
        migrations.RunPython(queued_since_created, migrations.RunPython.noop),
    ]
