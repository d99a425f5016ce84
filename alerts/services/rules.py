"""Writes of rules, channels and custom metrics, each audited (T7); the account's defaults.

Every account has, without asking: an in-app channel ("Console notifications") and the six
anomaly detectors of L4 as rules of kind `anomaly`, which may be tuned or muted but not
deleted. `alerts_ensure_defaults` creates them idempotently (ON CONFLICT DO NOTHING).
"""
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.models import Account
from accounts.services import Actor, audit_record
from alerts.models import (SCOPE_OBJECT_FIELDS, SCOPE_TEXT_FIELDS, AlertRule, Baseline, Channel, ChannelKind,
                           CustomMetric, EventStatus, Operator, RuleKind, Severity)
from alerts.services.metrics import BASE_METRICS, validate_formula
from config import outbound

IN_APP_NAME = "Console notifications"

# detector -> settings of its rule. Relative detectors compare with the weekly baseline (see docs/alerts.md).
ANOMALY_DETECTORS = {
    "traffic_spike": dict(name="Anomaly: traffic spike", metric="total_requests", operator=Operator.GT,
                          threshold=2.0, baseline=Baseline.WEEKLY, window_minutes=15, duration_minutes=5,
                          min_requests=20, severity=Severity.WARNING,
                          description="Requests over 15 minutes above 2× the baseline."),
    "success_rate_drop": dict(name="Anomaly: success rate drop", metric="success_rate", operator=Operator.LT,
                              threshold=90.0, baseline=Baseline.NONE, window_minutes=15, duration_minutes=5,
                              min_requests=20, severity=Severity.CRITICAL,
                              description="Success rate over 15 minutes below 90%."),
    "latency_spike": dict(name="Anomaly: latency spike", metric="p95_latency_ms", operator=Operator.GT,
                          threshold=2.0, baseline=Baseline.WEEKLY, window_minutes=15, duration_minutes=5,
                          min_requests=20, severity=Severity.WARNING,
                          description="p95 latency over 15 minutes above 2× the baseline."),
    "error_rate_high": dict(name="Anomaly: error rate", metric="error_rate", operator=Operator.GT, threshold=5.0,
                            baseline=Baseline.NONE, window_minutes=5, duration_minutes=5, min_requests=10,
                            severity=Severity.CRITICAL, description="Error rate above 5% for 5 minutes."),
    "cost_anomaly": dict(name="Anomaly: cost", metric="total_cost_usd", operator=Operator.GT, threshold=1.5,
                         baseline=Baseline.WEEKLY, window_minutes=60, duration_minutes=0, min_requests=20,
                         severity=Severity.WARNING, description="Cost over the last hour above 1.5× the expected "
                                                                "(the baseline)."),
    "quality_drop": dict(name="Anomaly: quality drop", metric="avg_rating", operator=Operator.LT, threshold=3.5,
                         baseline=Baseline.NONE, window_minutes=60, duration_minutes=0, min_requests=5,
                         severity=Severity.WARNING, description="Average user rating over the last hour below 3.5."),
}
# What a detector's owner may tune; its metric and comparison are what make it that detector.
ANOMALY_TUNABLE = {"threshold", "window_minutes", "duration_minutes", "min_requests", "severity", "channels", "muted",
                   "renotify_minutes", "description"}
RULE_FIELDS = {"name", "description", "metric", "custom_metric", *SCOPE_OBJECT_FIELDS, *SCOPE_TEXT_FIELDS,
               "operator", "threshold", "baseline", "window_minutes", "duration_minutes", "min_requests", "severity",
               "channels", "muted", "renotify_minutes"}


def in_app_channel(account: Account) -> Channel:
    channel = Channel.objects.for_account(account).filter(kind=ChannelKind.IN_APP).order_by("pk").first()
    if channel is None:
        alerts_ensure_defaults(account)
        channel = Channel.objects.for_account(account).filter(kind=ChannelKind.IN_APP).order_by("pk").first()
    return channel


def alerts_ensure_defaults(account: Account) -> None:
    """The in-app channel and the anomaly detectors, created once per account (L4: on by default)."""
    if AlertRule.objects.for_account(account).filter(kind=RuleKind.ANOMALY).count() == len(ANOMALY_DETECTORS):
        return
    with transaction.atomic():
        channel = Channel.objects.for_account(account).filter(kind=ChannelKind.IN_APP).order_by("pk").first()
        if channel is None:
            try:
                with transaction.atomic():
                    channel = Channel.objects.create(account=account, name=IN_APP_NAME, kind=ChannelKind.IN_APP)
            except IntegrityError:
                channel = Channel.objects.for_account(account).filter(kind=ChannelKind.IN_APP).order_by("pk").first()
        existing = set(AlertRule.objects.for_account(account).exclude(detector="").values_list("detector", flat=True))
        for detector, spec in ANOMALY_DETECTORS.items():
            if detector in existing:
                continue
            try:
                with transaction.atomic():
                    rule = AlertRule.objects.create(account=account, kind=RuleKind.ANOMALY, detector=detector, **spec)
                    if channel is not None:
                        rule.channels.add(channel)
            except IntegrityError:
                continue  # created concurrently, or a rule of the same name exists


def alerts_ensure_defaults_all() -> None:
    complete = (AlertRule.objects.filter(kind=RuleKind.ANOMALY).values("account_id")
                .annotate(n=Count("id"))
                .filter(n__gte=len(ANOMALY_DETECTORS)).values_list("account_id", flat=True))
    for account in Account.objects.exclude(pk__in=list(complete)):
        alerts_ensure_defaults(account)


# -- rules ----------------------------------------------------------------------------------

def _check_rule(account, rule: AlertRule, channels):
    if bool(rule.metric) == (rule.custom_metric_id is not None):
        raise ApplicationError("Choose a base metric or a custom metric.",
                               {"metric": ["give either metric or custom_metric"]})
    if rule.metric and rule.metric not in BASE_METRICS:
        raise ApplicationError("Unknown metric.", {"metric": [f"'{rule.metric}' is not a base metric; see "
                                                              "GET /api/v1/alert-metrics"]})
    for name in SCOPE_OBJECT_FIELDS:
        obj = getattr(rule, name)
        if obj is not None and obj.account_id != account.pk:
            raise ApplicationError("No such object in this account.", {name: ["not found"]})
    if rule.custom_metric_id and rule.custom_metric.account_id != account.pk:
        raise ApplicationError("No such object in this account.", {"custom_metric": ["not found"]})
    if rule.version_id and rule.deployment_id and rule.version.deployment_id != rule.deployment_id:
        raise ApplicationError("The version belongs to another deployment.", {"version": ["not of this deployment"]})
    if rule.baseline == Baseline.WEEKLY and rule.threshold <= 0:
        raise ApplicationError("A baseline factor must be positive.", {"threshold": ["must be > 0 with a baseline"]})
    for channel in channels or []:
        if channel.account_id != account.pk:
            raise ApplicationError("No such channel in this account.", {"channels": ["not found"]})
    if rule.threshold != rule.threshold or rule.threshold in (float("inf"), float("-inf")):
        raise ApplicationError("The threshold must be a finite number.", {"threshold": ["must be finite"]})


def _changes(rule, data):
    out = {}
    for k, v in data.items():
        if k == "channels":
            continue
        old = getattr(rule, k)
        if old != v:
            out[k] = {"from": str(old) if old is not None else None, "to": str(v) if v is not None else None}
    return out


@transaction.atomic
def rule_create(account: Account, actor: Actor, **data) -> AlertRule:
    unknown = set(data) - RULE_FIELDS
    if unknown:
        raise ApplicationError("Unknown fields.", {k: ["unknown field"] for k in sorted(unknown)})
    channels = data.pop("channels", None)
    if channels is None:
        channels = [in_app_channel(account)]
    rule = AlertRule(account=account, created_by=actor.user if actor.user is not None else None, **data)
    rule.full_clean(exclude=["account", "created_by", "custom_metric", *SCOPE_OBJECT_FIELDS])
    _check_rule(account, rule, channels)
    if AlertRule.objects.for_account(account).filter(name=rule.name).exists():
        raise ApplicationError("A rule of this name exists.", {"name": ["already used in this account"]})
    rule.save()
    rule.channels.set(channels)
    audit_record(account, actor, "alert_rule.created", rule, name=rule.name, metric=rule.metric or
                 rule.custom_metric.name, operator=rule.operator, threshold=rule.threshold)
    return rule


@transaction.atomic
def rule_update(account: Account, actor: Actor, rule: AlertRule, **data) -> AlertRule:
    rule = AlertRule.objects.for_account(account).select_for_update().get(pk=rule.pk)
    unknown = set(data) - RULE_FIELDS
    if unknown:
        raise ApplicationError("Unknown fields.", {k: ["unknown field"] for k in sorted(unknown)})
    if rule.kind == RuleKind.ANOMALY:
        refused = {k for k, v in data.items() if k not in ANOMALY_TUNABLE and getattr(rule, k, None) != v}
        if refused:
            raise ApplicationError("Anomaly detectors can be tuned, not redefined.",
                                   {k: ["fixed for an anomaly detector"] for k in sorted(refused)})
    channels = data.pop("channels", None)
    changes = _changes(rule, data)
    if "metric" in data and data["metric"] and "custom_metric" not in data:
        data["custom_metric"] = None
    if data.get("custom_metric") is not None and "metric" not in data:
        data["metric"] = ""
    for k, v in data.items():
        setattr(rule, k, v)
    rule.full_clean(exclude=["account", "created_by", "custom_metric", *SCOPE_OBJECT_FIELDS])
    _check_rule(account, rule, channels)
    if "name" in data and AlertRule.objects.for_account(account).filter(name=rule.name).exclude(pk=rule.pk).exists():
        raise ApplicationError("A rule of this name exists.", {"name": ["already used in this account"]})
    condition = {"metric", "custom_metric", "operator", "threshold", "baseline", "window_minutes",
                 "duration_minutes", "min_requests", *SCOPE_OBJECT_FIELDS, *SCOPE_TEXT_FIELDS}
    if condition & set(changes):
        # A new condition starts its duration afresh, at the next evaluation.
        rule.pending_since = None
        rule.next_check_at = timezone.now()
    rule.save()
    if channels is not None:
        before = set(rule.channels.values_list("pk", flat=True))
        rule.channels.set(channels)
        after = {c.pk for c in channels}
        if before != after:
            changes["channels"] = {"from": sorted(before), "to": sorted(after)}
    if changes:
        action = "alert_rule.muted" if set(changes) == {"muted"} and rule.muted else \
            "alert_rule.unmuted" if set(changes) == {"muted"} else "alert_rule.updated"
        audit_record(account, actor, action, rule, name=rule.name, changes=changes)
    return rule


@transaction.atomic
def rule_delete(account: Account, actor: Actor, rule: AlertRule) -> None:
    rule = AlertRule.objects.for_account(account).select_for_update().get(pk=rule.pk)
    if rule.kind == RuleKind.ANOMALY:
        raise ApplicationError("Anomaly detectors cannot be deleted; mute them instead.",
                               {"kind": ["anomaly detectors are on for every account"]})
    # History is kept: open events are closed (without notifications) and keep the rule's name.
    rule.events.filter(status__in=[EventStatus.FIRING, EventStatus.ACKNOWLEDGED]).update(
        status=EventStatus.RESOLVED, resolved_at=timezone.now(), resolution="deleted")
    audit_record(account, actor, "alert_rule.deleted", rule, name=rule.name)
    rule.delete()


# -- channels -------------------------------------------------------------------------------

CHANNEL_FIELDS = {"name", "kind", "enabled", "recipients", "url", "routing_key"}


def _check_channel(channel: Channel):
    kind = channel.kind
    if kind not in ChannelKind.values:
        raise ApplicationError("Unknown channel kind.", {"kind": [f"must be one of {', '.join(ChannelKind.values)}"]})
    if kind == ChannelKind.EMAIL and not channel.recipients:
        raise ApplicationError("An e-mail channel needs recipients.", {"recipients": ["at least one address"]})
    if kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK) and not channel.url:
        raise ApplicationError("This channel needs a URL.", {"url": ["required for webhook and Slack channels"]})
    if channel.url and not channel.url.lower().startswith(("http://", "https://")):
        raise ApplicationError("Only http(s) URLs.", {"url": ["must start with http:// or https://"]})
    if channel.url:
        try:
            outbound.check_url(channel.url)
        except outbound.Refused as exc:
            raise ApplicationError(f"This address is not allowed: {exc.reason}.",
                                   {"url": [f"not allowed: {exc.reason} (an operator can allow internal networks "
                                            "with MODELPULSE_WEBHOOK_ALLOWED_NETWORKS)"]}) from None
    if kind == ChannelKind.PAGERDUTY and not channel.routing_key:
        raise ApplicationError("A PagerDuty channel needs its routing key.", {"routing_key": ["required"]})


@transaction.atomic
def channel_create(account: Account, actor: Actor, **data) -> Channel:
    channel = Channel(account=account, **data)
    if channel.kind == ChannelKind.WEBHOOK:
        channel.secret = secrets.token_hex(32)
    _check_channel(channel)
    channel.full_clean(exclude=["account", "secret"])
    if Channel.objects.for_account(account).filter(name=channel.name).exists():
        raise ApplicationError("A channel of this name exists.", {"name": ["already used in this account"]})
    channel.save()
    audit_record(account, actor, "alert_channel.created", channel, name=channel.name, kind=channel.kind)
    return channel


@transaction.atomic
def channel_update(account: Account, actor: Actor, channel: Channel, **data) -> Channel:
    channel = Channel.objects.for_account(account).select_for_update().get(pk=channel.pk)
    if "kind" in data and data["kind"] != channel.kind:
        raise ApplicationError("A channel's kind cannot change; create another channel.", {"kind": ["fixed"]})
    changed = sorted(k for k, v in data.items() if getattr(channel, k) != v)
    for k, v in data.items():
        setattr(channel, k, v)
    _check_channel(channel)
    channel.full_clean(exclude=["account", "secret"])
    if Channel.objects.for_account(account).filter(name=channel.name).exclude(pk=channel.pk).exists():
        raise ApplicationError("A channel of this name exists.", {"name": ["already used in this account"]})
    channel.save()
    if changed:
        # Values of secrets and addresses stay out of the log; which fields changed is enough.
        audit_record(account, actor, "alert_channel.updated", channel, name=channel.name, fields=changed)
    return channel


@transaction.atomic
def channel_rotate_secret(account: Account, actor: Actor, channel: Channel) -> Channel:
    channel = Channel.objects.for_account(account).select_for_update().get(pk=channel.pk)
    if channel.kind != ChannelKind.WEBHOOK:
        raise ApplicationError("Only webhook channels sign with a secret.", {"kind": ["not a webhook channel"]})
    channel.secret = secrets.token_hex(32)
    channel.save(update_fields=["secret", "updated_at"])
    audit_record(account, actor, "alert_channel.secret_rotated", channel, name=channel.name)
    return channel


@transaction.atomic
def channel_delete(account: Account, actor: Actor, channel: Channel) -> None:
    channel = Channel.objects.for_account(account).select_for_update().get(pk=channel.pk)
    audit_record(account, actor, "alert_channel.deleted", channel, name=channel.name, kind=channel.kind)
    channel.delete()


# -- custom metrics -------------------------------------------------------------------------

@transaction.atomic
def custom_metric_create(account: Account, actor: Actor, **data) -> CustomMetric:
    data["formula"] = validate_formula(data.get("formula", ""))
    metric = CustomMetric(account=account, **data)
    if not metric.label:
        metric.label = metric.name.replace("_", " ").capitalize()
    metric.full_clean(exclude=["account"])
    if metric.name in BASE_METRICS:
        raise ApplicationError("That is a base metric's name.", {"name": ["already a base metric"]})
    if CustomMetric.objects.for_account(account).filter(name=metric.name).exists():
        raise ApplicationError("A custom metric of this name exists.", {"name": ["already used in this account"]})
    metric.save()
    audit_record(account, actor, "custom_metric.created", metric, name=metric.name, formula=metric.formula)
    return metric


@transaction.atomic
def custom_metric_update(account: Account, actor: Actor, metric: CustomMetric, **data) -> CustomMetric:
    metric = CustomMetric.objects.for_account(account).select_for_update().get(pk=metric.pk)
    if "formula" in data:
        data["formula"] = validate_formula(data["formula"])
    changes = {k: {"from": getattr(metric, k), "to": v} for k, v in data.items() if getattr(metric, k) != v}
    for k, v in data.items():
        setattr(metric, k, v)
    metric.full_clean(exclude=["account"])
    if metric.name in BASE_METRICS:
        raise ApplicationError("That is a base metric's name.", {"name": ["already a base metric"]})
    if CustomMetric.objects.for_account(account).filter(name=metric.name).exclude(pk=metric.pk).exists():
        raise ApplicationError("A custom metric of this name exists.", {"name": ["already used in this account"]})
    metric.save()
    if changes:
        audit_record(account, actor, "custom_metric.updated", metric, name=metric.name, changes=changes)
    return metric


@transaction.atomic
def custom_metric_delete(account: Account, actor: Actor, metric: CustomMetric) -> None:
    metric = CustomMetric.objects.for_account(account).select_for_update().get(pk=metric.pk)
    used = list(metric.rules.values_list("name", flat=True)[:5])
    if used:
        raise ApplicationError("Rules use this metric; change or delete them first.",
                               {"rules": used}, status=409)
    audit_record(account, actor, "custom_metric.deleted", metric, name=metric.name)
    metric.delete()
