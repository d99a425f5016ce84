"""One factory per tenant-owned model, and samples for URL kwargs.

The isolation walk (tests/accounts/test_isolation.py) builds one of everything for an
account with these and fails when a tenant model or a URL kwarg has no entry here.
FACTORIES: Model -> function(account, marker) -> saved instance (marker in a text field).
URL_KWARGS: kwarg name -> function(world) -> value, world = {Model: instance} for account A.
"""
from datetime import datetime, timezone
from decimal import Decimal

from accounts.models import ApiKey, AuditEvent, Membership, Role
from models_registry import models as reg
from analytics import models as an
from dashboards import models as dash
from traces import models as tr
from alerts import models as al
from budgets import models as bu
from outbox.models import OutboxMessage
from accounts.services import Actor, api_key_create, audit_record, membership_invite


def _membership(account, marker):
    membership, _ = membership_invite(account, Actor.system(), email=f"{marker.lower()}-m@{account.slug}.test",
                                      role=Role.MEMBER)
    return membership


def _api_key(account, marker):
    return api_key_create(account, Actor.system(), scopes=["read"], name=marker)[0]


def _audit(account, marker):
    return audit_record(account, Actor.system(), "test.marker", None, note=marker)


T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _model(account, marker):
    return reg.Model.objects.get_or_create(account=account, name=f"{marker}-model",
                                           defaults={"model_type": "fine_tuned", "base_model": f"{marker}-base"})[0]


def _deployment(account, marker):
    return reg.Deployment.objects.get_or_create(
        account=account, model=_model(account, marker), name=f"{marker}-dep", deployed_at=T0,
        defaults={"hardware": "A100", "max_replicas": 4})[0]


def _version(account, marker):
    return reg.DeploymentVersion.objects.get_or_create(account=account, deployment=_deployment(account, marker),
                                                       version=f"{marker}-v1")[0]


def _connection(account, marker):
    return reg.Connection.objects.create(account=account, name=f"{marker}-conn", provider="openai")


def _replica_event(account, marker):
    return reg.ReplicaEvent.objects.create(account=account, deployment=_deployment(account, marker),
                                           version=_version(account, marker), at=T0, replicas=2, hardware=marker)


def _hardware_rate(account, marker):
    return reg.HardwareRate.objects.create(account=account, hardware=marker, credits_per_replica_hour=Decimal("1.5"),
                                           effective_from=T0)


def _fine_tune_job(account, marker):
    return reg.FineTuneJob.objects.get_or_create(account=account, external_id=f"{marker}-ft",
                                                 defaults={"model": _model(account, marker), "started_at": T0,
                                                           "credits": Decimal("12")})[0]


def _credit_charge(account, marker):
    return reg.CreditCharge.objects.create(account=account, kind="fine_tuning", credits=Decimal("3"), at=T0,
                                           fine_tune_job=_fine_tune_job(account, marker), description=marker)


def _model_price(account, marker):
    return reg.ModelPrice.objects.create(account=account, model=_model(account, marker), effective_from=T0,
                                         input_per_million_usd=Decimal("2.5"), output_per_million_usd=Decimal("10"))


def _trace(account, marker):
    return tr.Trace.objects.create(account=account, request_id=f"{marker}-req", executed_at=T0,
                                   model=_model(account, marker), model_type="fine_tuned", status="success",
                                   response_time_ms=120.0, input=f"{marker} input", output=f"{marker} output")


def _feedback(account, marker):
    return tr.Feedback.objects.create(account=account, request_id=f"{marker}-req", rating=4, comment=marker)


def _dirty(account, marker):
    return tr.DirtyBucket.objects.get_or_create(account=account, hour_start=T0)[0]


def _redaction(account, marker):
    return tr.RedactionRule.objects.create(account=account, kind="regex", pattern=marker)


def _export_job(account, marker):
    return tr.ExportJob.objects.create(account=account, created_by=_job_owner(account, marker), format="csv",
                                       filename=f"{marker}-model_traces_data.csv", params={"note": marker})


def _job_owner(account, marker):
    """Export jobs are their creator's. The role matrix (tests/accounts/test_role_matrix.py) acts as
    `<role>-matrix@<slug>.test` (the account's owner for the owner role) on a world built with marker
    `<MARKER><ROLE>`: the job is that user's, so the matrix checks the role gate and not the
    ownership gate (tests/traces/test_exports*.py check that one)."""
    from accounts.models import Role as _Role
    from accounts.services import user_get_or_create

    owner = account.memberships.get(role=_Role.OWNER).user
    for role in (_Role.VIEWER, _Role.MEMBER, _Role.ADMIN):
        if marker.endswith(role.upper()):
            return user_get_or_create(f"{role}-matrix@{account.slug}.test")
    return owner


def _explorer_preference(account, marker):
    user = account.memberships.get(role=Role.OWNER).user
    return tr.ExplorerPreference.objects.update_or_create(account=account, user=user,
                                                          defaults={"selection": {"model": f"{marker}-model"}})[0]


def _rollup_values(account, marker):
    from analytics.aggregate_sql import SUM_COLUMNS
    values = {c: 0 for c in SUM_COLUMNS}
    values.update(requests=1, successes=1, latency_sum=10.0, latency_min=10.0, latency_max=10.0)
    return dict(account=account, model_id=_model(account, marker).pk, model_type="external", provider="",
                source_type="other", source=marker, module="", feature=marker, prompt="", prompt_version="",
                latency_sketch={"114": 1}, ttft_sketch={}, peak_minute_requests=1, **values)


def _hourly(account, marker):
    return an.HourlyRollup.objects.create(hour_start=T0, **_rollup_values(account, marker))


def _daily(account, marker):
    return an.DailyRollup.objects.create(day=T0.date(), user_ids=[f"{marker}-user"], user_requests=[1],
                                         user_cost=[Decimal("0.01")], **_rollup_values(account, marker))


def _total_values(account, marker):
    values = _rollup_values(account, marker)
    for dim in ("model_id", "model_type", "provider", "source_type", "source", "module", "feature", "prompt",
                "prompt_version"):
        values.pop(dim)
    return values


def _hourly_total(account, marker):
    values = _total_values(account, marker)
    return an.HourlyTotal.objects.get_or_create(account=values.pop("account"), hour_start=T0,
                                                defaults={"minute_counts": {"29500000": 1}, **values})[0]


def _daily_total(account, marker):
    values = _total_values(account, marker)
    return an.DailyTotal.objects.get_or_create(account=values.pop("account"), day=T0.date(), defaults=values)[0]


def _daily_slice(account, marker):
    values = _total_values(account, marker)
    return an.DailySlice.objects.create(day=T0.date(), slice="feature", feature=f"{marker}-feature", **values)


def _hourly_slice(account, marker):
    values = _total_values(account, marker)
    return an.HourlySlice.objects.create(hour_start=T0, slice="feature", feature=f"{marker}-feature",
                                         minute_counts={"29500000": 1}, user_ids=[f"{marker}-user"], **values)


def _minute_values(account, marker):
    """Minute rows keep their sketches as arrays (MinuteSketches), not jsonb."""
    values = _total_values(account, marker)
    values.pop("latency_sketch")
    values.pop("ttft_sketch")
    return {**values, "latency_keys": [300], "latency_counts": [1]}


def _minute_total(account, marker):
    values = _minute_values(account, marker)
    return an.MinuteTotal.objects.create(minute_start=T0, user_ids=[f"{marker}-user"], **values)


def _minute_slice(account, marker):
    values = _minute_values(account, marker)
    return an.MinuteSlice.objects.create(minute_start=T0, slice="feature", feature=f"{marker}-feature",
                                         user_ids=[f"{marker}-user"], **values)


def _day_user_hours(account, marker):
    return an.DayUserHours.objects.create(account=account, day=T0.date(), slice="feature",
                                          feature=f"{marker}-feature", user_ids=[f"{marker}-user"], hours=[1])


def _slice_month_users(account, marker):
    return an.SliceMonthUsers.objects.create(account=account, slice="feature", user_ids=[f"{marker}-user"],
                                             feature=f"{marker}-feature", month=T0.date().replace(day=1), days=[1])


def _user_month(account, marker):
    return an.UserMonth.objects.create(account=account, user_id=f"{marker}-user", month=T0.date().replace(day=1),
                                       days=1)


def _rollup_state(account, marker):
    return an.RollupState.objects.get_or_create(account=account, defaults={"as_of": T0, "timezone": "UTC"})[0]


def _dashboard(account, marker):
    return dash.Dashboard.objects.get_or_create(account=account, name=f"{marker} board",
                                                defaults={"description": marker})[0]


def _widget(account, marker):
    return dash.Widget.objects.get_or_create(
        account=account, dashboard=_dashboard(account, marker), title=f"{marker} widget",
        defaults={"kind": "line", "metrics": ["total_requests"], "group_by": "time",
                  "filters": {"feature": marker}})[0]


FACTORIES = {
    Membership: _membership,
    ApiKey: _api_key,
    AuditEvent: _audit,
    reg.Model: _model,
    reg.Deployment: _deployment,
    reg.DeploymentVersion: _version,
    reg.Connection: _connection,
    reg.ReplicaEvent: _replica_event,
    reg.HardwareRate: _hardware_rate,
    reg.FineTuneJob: _fine_tune_job,
    reg.CreditCharge: _credit_charge,
    reg.ModelPrice: _model_price,
    tr.Trace: _trace,
    tr.Feedback: _feedback,
    tr.DirtyBucket: _dirty,
    tr.RedactionRule: _redaction,
    tr.ExportJob: _export_job,
    tr.ExplorerPreference: _explorer_preference,
    an.HourlyRollup: _hourly,
    an.DailyRollup: _daily,
    an.RollupState: _rollup_state,
    an.UserMonth: _user_month,
    an.HourlyTotal: _hourly_total,
    an.DailyTotal: _daily_total,
    an.DailySlice: _daily_slice,
    an.HourlySlice: _hourly_slice,
    an.MinuteTotal: _minute_total,
    an.MinuteSlice: _minute_slice,
    an.DayUserHours: _day_user_hours,
    an.SliceMonthUsers: _slice_month_users,
    dash.Dashboard: _dashboard,
    dash.Widget: _widget,
}


# -- alerts -------------------------------------------------------------------------------

def _channel(account, marker):
    return al.Channel.objects.get_or_create(account=account, name=f"{marker}-hook",
                                            defaults={"kind": "webhook", "url": f"http://127.0.0.1:9/{marker}",
                                                      "secret": "s3cret"})[0]


def _custom_metric(account, marker):
    return al.CustomMetric.objects.get_or_create(account=account, name=f"{marker.lower()}_csat",
                                                 defaults={"label": marker,
                                                           "formula": "thumbs_up / (thumbs_up + thumbs_down) * 100"})[0]


def _alert_rule(account, marker):
    rule, created = al.AlertRule.objects.get_or_create(
        account=account, name=f"{marker} errors",
        defaults={"metric": "error_rate", "threshold": 5.0, "prompt": marker, "description": marker,
                  "next_check_at": datetime(2100, 1, 1, tzinfo=timezone.utc)})
    if created:
        rule.channels.add(_channel(account, marker))
    return rule


def _alert_event(account, marker):
    rule = _alert_rule(account, marker)
    return al.AlertEvent.objects.get_or_create(
        account=account, rule=rule, status="firing",
        defaults={"rule_name": rule.name, "metric": "error_rate", "severity": "warning", "operator": "gt",
                  "threshold": 5.0, "value": 9.0, "started_at": T0, "fired_at": T0, "note": marker,
                  "scope": {"prompt": marker}})[0]


def _delivery(account, marker):
    channel = _channel(account, marker)  # a delivery keeps its channel's name and kind, as sending does
    return al.Delivery.objects.get_or_create(account=account, event=_alert_event(account, marker),
                                             channel=channel, transition="fired",
                                             defaults={"status": "failed", "last_error": marker,
                                                       "channel_name": channel.name, "channel_kind": channel.kind})[0]


def _notification(account, marker):
    return al.Notification.objects.get_or_create(account=account, delivery=_delivery(account, marker),
                                                 defaults={"event": _alert_event(account, marker),
                                                           "title": f"{marker} notification", "body": marker})[0]


def _notification_read(account, marker):
    owner = account.memberships.filter(role=Role.OWNER).first().user
    return al.NotificationRead.objects.get_or_create(account=account, notification=_notification(account, marker),
                                                     user=owner)[0]


def _sla(account, marker):
    return al.Sla.objects.get_or_create(account=account, name=f"{marker} availability",
                                        defaults={"objective": "availability", "target": 99.9, "prompt": marker})[0]


def _report_schedule(account, marker):
    return al.ReportSchedule.objects.get_or_create(account=account, name=f"{marker} weekly",
                                                   defaults={"frequency": "weekly",
                                                             "recipients": [f"{marker.lower()}@example.test"]})[0]


def _report_run(account, marker):
    return al.ReportRun.objects.get_or_create(account=account, schedule=_report_schedule(account, marker),
                                              period_start=T0.date(), kind="manual",
                                              defaults={"period_end": T0.date(), "status": "sent",
                                                        "subject": marker,
                                                        "recipients": [f"{marker.lower()}@example.test"]})[0]


ALERT_FACTORIES = {
    al.Channel: _channel, al.CustomMetric: _custom_metric, al.AlertRule: _alert_rule, al.AlertEvent: _alert_event,
    al.Delivery: _delivery, al.Notification: _notification, al.NotificationRead: _notification_read, al.Sla: _sla,
    al.ReportSchedule: _report_schedule, al.ReportRun: _report_run,
}
FACTORIES.update(ALERT_FACTORIES)

def _budget(account, marker):
    return bu.Budget.objects.get_or_create(account=account, name=f"{marker} prompt budget",
                                           defaults={"scope": "prompt", "prompt": marker,
                                                     "amount_usd": Decimal("100.00")})[0]


def _budget_alert(account, marker):
    return bu.BudgetAlert.objects.get_or_create(account=account, budget=_budget(account, marker),
                                                month=T0.date(), threshold="80",
                                                defaults={"spent_usd": Decimal("80.5"),
                                                          "event": _alert_event(account, marker)})[0]


def _rule_action(account, marker):
    return al.RuleAction.objects.get_or_create(account=account, rule=_alert_rule(account, marker),
                                               defaults={"kind": "rollback", "channel": _channel(account, marker),
                                                         "deployment": _deployment(account, marker)})[0]


FACTORIES.update({bu.Budget: _budget, bu.BudgetAlert: _budget_alert, al.RuleAction: _rule_action})


def _outbox_message(account, marker):
    from email.mime.image import MIMEImage

    from django.core.mail import EmailMultiAlternatives

    from outbox.headers import account_headers
    from outbox.services import outbox_store

    mail = EmailMultiAlternatives(subject=f"{marker} report", body=f"{marker} text",
                                  to=[f"{marker.lower()}@example.test"], headers=account_headers(account))
    mail.attach_alternative(f'<p>{marker}</p><img src="cid:requests-chart">', "text/html")
    mail.mixed_subtype = "related"
    image = MIMEImage(b"\x89PNG\r\n\x1a\n" + marker.encode(), "png")
    image.add_header("Content-ID", "<requests-chart>")
    mail.attach(image)
    return outbox_store(mail.message().as_bytes(), sender="modelpulse@localhost", recipients=mail.to)


FACTORIES[OutboxMessage] = _outbox_message

URL_KWARGS = {
    "request_id": lambda world: world[tr.Trace].request_id,
    "cid": lambda world: "requests-chart",
}
