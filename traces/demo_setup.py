"""What the demo account comes with besides traffic, so the Operate area is not empty.

Alert rules (one catching the live traffic's own error spikes, see traces/demo_live.py),
an e-mail channel to the demo owner, an SLA, a weekly report, a custom metric and one
custom dashboard. Idempotent: each object is made once, by name, and left alone after
(the owner may change or delete them).
"""
from alerts.models import AlertRule, Channel, ChannelKind, CustomMetric, Operator, ReportSchedule, Severity, Sla
from alerts.services import reports, rules, slas
from accounts.services import Actor
from dashboards.models import Dashboard
from dashboards.prebuilt import _w
from dashboards.services import dashboard_create

DEMO_OWNER = "demo@modelpulse.local"
EMAIL_CHANNEL = "Demo owner e-mail"
ERROR_SPIKE_RULE = "Demo: error spike"


def demo_operate_setup(account) -> None:
    actor = Actor.system()
    rules.alerts_ensure_defaults(account)
    channel = Channel.objects.for_account(account).filter(name=EMAIL_CHANNEL).first()
    if channel is None:
        channel = rules.channel_create(account, actor, name=EMAIL_CHANNEL, kind=ChannelKind.EMAIL,
                                       recipients=[DEMO_OWNER])
    if not CustomMetric.objects.for_account(account).filter(name="thumbs_up_share").exists():
        rules.custom_metric_create(account, actor, name="thumbs_up_share", label="Thumbs-up share",
                                   formula="thumbs_up / (thumbs_up + thumbs_down) * 100", unit="percent",
                                   description="Share of rated answers that got a thumbs-up.")
    in_app = rules.in_app_channel(account)
    wanted = [
        dict(name=ERROR_SPIKE_RULE, metric="error_rate", operator=Operator.GT, threshold=10.0, window_minutes=5,
             duration_minutes=2, min_requests=30, severity=Severity.CRITICAL, channels=[in_app, channel],
             description="More than 10% of requests failed over 5 minutes, for 2 minutes. The demo's live "
                         "traffic has a short provider error spike every third hour."),
        dict(name="p95 latency above 3 s", metric="p95_latency_ms", operator=Operator.GT, threshold=3000.0,
             window_minutes=15, duration_minutes=5, min_requests=30, severity=Severity.WARNING, channels=[in_app]),
        dict(name="Thumbs-up share below 60%", metric="", operator=Operator.LT, threshold=60.0,
             window_minutes=60, duration_minutes=0, min_requests=20, severity=Severity.WARNING, channels=[in_app],
             custom_metric=CustomMetric.objects.for_account(account).get(name="thumbs_up_share")),
    ]
    existing = set(AlertRule.objects.for_account(account).values_list("name", flat=True))
    for spec in wanted:
        if spec["name"] not in existing:
            rules.rule_create(account, actor, **spec)
    # The demo's sparse traffic (about two requests a minute, 2 % failing) has a down minute in
    # fifty: 97 % is met on ordinary days and missed on the days of its error spikes.
    if not Sla.objects.for_account(account).filter(objective="availability").exists():
        slas.sla_create(account, actor, name="Availability 97%", objective="availability", target=97,
                        window_days=30)
    if not ReportSchedule.objects.for_account(account).filter(name="Weekly summary").exists():
        reports.schedule_create(account, actor, name="Weekly summary", frequency="weekly", recipients=[DEMO_OWNER],
                                send_hour=8)
    if not Dashboard.objects.for_account(account).filter(name="Support desk").exists():
        dashboard_create(account, name="Support desk", preset="last_24h", filters={"module": "Support"},
                         description="The Support module's chatbot and ticket summarizer over the last day.",
                         widgets=[
                             _w("Requests", "metric", ["total_requests"]),
                             _w("Error rate", "metric", ["error_rate"]),
                             _w("p95 latency", "metric", ["p95_latency_ms"]),
                             _w("Traffic", "line", ["total_requests", "failed_requests"], "time", width=3),
                             _w("By feature", "table", ["total_requests", "error_rate", "avg_rating"], "feature",
                                width=3),
                         ])
