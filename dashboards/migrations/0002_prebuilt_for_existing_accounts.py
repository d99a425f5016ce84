"""Accounts that existed before dashboards get the pre-built ones; new accounts get them
from dashboards.signals."""
from django.db import migrations


def forwards(apps, schema_editor):
    from dashboards.prebuilt import PREBUILT

    Account = apps.get_model("accounts", "Account")
    Dashboard = apps.get_model("dashboards", "Dashboard")
    Widget = apps.get_model("dashboards", "Widget")
    for account in Account.objects.all():
        for key, spec in PREBUILT.items():
            if Dashboard.objects.filter(account=account, prebuilt=key).exists():
                continue
            name = spec["name"]
            if Dashboard.objects.filter(account=account, name__iexact=name).exists():
                name = f"{name} (pre-built)"
            dashboard = Dashboard.objects.create(account=account, name=name, description=spec["description"],
                                                 prebuilt=key, position=spec["position"], preset="last_7d",
                                                 filters={})
            Widget.objects.bulk_create([Widget(account=account, dashboard=dashboard, position=i, **w)
                                        for i, w in enumerate(spec["widgets"])])


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
