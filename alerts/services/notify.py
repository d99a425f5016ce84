"""One notification per transition (L2): a Delivery row per channel, unique per
(event, channel, transition, reminder number). In-app notifications are written at once
for every member; the other channels are sent by a Celery task after the commit.
"""
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertEvent, ChannelKind, Delivery, DeliveryStatus, Notification, Transition
from alerts.services.metrics import format_value, metric_label, metric_unit
from config import jobs

OPERATOR_TEXT = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
VERBS = {Transition.FIRED: "firing", Transition.ACKNOWLEDGED: "acknowledged", Transition.RESOLVED: "resolved",
         Transition.REMINDER: "still firing", Transition.TEST: "test"}


def console_url(path: str) -> str:
    return settings.MODELPULSE_BASE_URL.rstrip("/") + path


def event_link(event: AlertEvent) -> str:
    return console_url(reverse("alerts-event", kwargs={"account_slug": event.account.slug, "pk": event.pk}))


def _unit(event: AlertEvent) -> str:
    if event.metric.startswith("custom:"):
        rule = event.rule
        return rule.custom_metric.unit if rule is not None and rule.custom_metric_id else ""
    return metric_unit(event.metric)


def metric_text(event: AlertEvent) -> str:
    if event.metric.startswith("custom:"):
        return event.metric.split(":", 1)[1]
    return metric_label(event.metric)


def scope_text(scope: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in scope.items()) or "all traffic"


def message(event: AlertEvent, transition: str) -> dict:
    """Title and text of a transition, shared by every channel."""
    unit = _unit(event)
    verb = VERBS.get(transition, transition)
    condition = f"{OPERATOR_TEXT[event.operator]} {format_value(event.threshold, unit)}"
    title = f"[{event.severity.upper()}] {event.rule_name}: {verb}"
    value = event.last_value if event.last_value is not None and transition != Transition.FIRED else event.value
    lines = [f"{metric_text(event)} is {format_value(value, unit)} (condition {condition}) "
             f"for {scope_text(event.scope)}."]
    if event.baseline_value is not None:
        lines.append(f"Baseline (same time, previous weeks): {format_value(event.baseline_value, unit)}.")
    if transition == Transition.ACKNOWLEDGED and event.acknowledged_by_id:
        lines.append(f"Acknowledged by {event.acknowledged_by.email}.")
    if transition == Transition.RESOLVED:
        how = "automatically: the condition cleared" if event.resolution == "auto" else \
            f"by {event.resolved_by.email if event.resolved_by_id else 'hand'}"
        lines.append(f"Resolved {how}.")
        if event.note:
            lines.append(f"Post-mortem: {event.note}")
    return {"title": title, "short_title": f"{event.rule_name}: {verb}", "text": " ".join(lines), "verb": verb,
            "unit": unit}


def webhook_payload(event: AlertEvent, transition: str, at=None) -> dict:
    """Seed 003's webhook body, plus the event's identity and lifecycle."""
    at = at or timezone.now()
    return {
        "alert_type": event.detector or "threshold",
        "severity": event.severity,
        "prompt_id": event.scope.get("prompt"),
        "metric": event.metric,
        "value": event.last_value if transition != Transition.FIRED and event.last_value is not None else event.value,
        "threshold": event.threshold,
        "timestamp": at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "event_id": event.pk,
        "transition": transition,
        "status": event.status,
        "rule": {"id": event.rule_id, "name": event.rule_name},
        "account": event.account.slug,
        "scope": event.scope,
        "operator": event.operator,
        "baseline": event.baseline_value,
        "started_at": event.started_at.isoformat(),
        "url": event_link(event),
    }


def notify(event: AlertEvent, transition: str, sequence: int, *, rule=None, channels=None) -> list[Delivery]:
    """Record this transition's deliveries (once), write in-app notifications, queue the rest.
    `channels`: for events without a rule (budget alerts), where they go."""
    if channels is None:
        rule = rule if rule is not None else event.rule
        if rule is None or rule.muted:
            return []
        channels = rule.channels.filter(enabled=True)
    made = []
    for channel in channels:
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(account=event.account, event=event, channel=channel,
                                                   channel_name=channel.name, channel_kind=channel.kind,
                                                   transition=transition, sequence=sequence)
        except IntegrityError:
            continue  # this transition was already notified on this channel
        made.append(delivery)
        if channel.kind == ChannelKind.IN_APP:
            deliver_in_app(delivery)
        else:
            enqueue(delivery)
    if rule is not None:
        from alerts.services.actions import action_dispatch

        made += action_dispatch(event, transition, rule)
    return made


def deliver_in_app(delivery: Delivery) -> None:
    event = delivery.event
    text = message(event, delivery.transition)
    Notification.objects.bulk_create(
        [Notification(account=delivery.account, event=event, delivery=delivery, title=text["short_title"],
                      body=text["text"], severity=event.severity)], ignore_conflicts=True)
    delivery.status = DeliveryStatus.DELIVERED
    delivery.attempts = 1
    delivery.delivered_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "delivered_at", "updated_at"])


def enqueue(delivery: Delivery) -> None:
    """Send after the commit; if the broker is down then, the recovery task sends it later."""
    jobs.enqueue_on_commit(jobs.DELIVERY_SEND, delivery.pk)


# -- the bell -----------------------------------------------------------------------------------

def notifications_for(queryset, user_id):
    """Notifications annotated with `read_at` for this user (None: unread). No user (an API key): none at
    all, still annotated so callers may filter on `read_at`."""
    from django.db.models import DateTimeField, OuterRef, Subquery, Value

    from alerts.models import NotificationRead

    if not user_id:
        return queryset.annotate(read_at=Value(None, output_field=DateTimeField())).none()
    reads = NotificationRead.objects.filter(notification=OuterRef("pk"), user_id=user_id).values("read_at")[:1]
    return queryset.annotate(read_at=Subquery(reads))


def notifications_mark_read(account, user, ids) -> int:
    from alerts.models import NotificationRead

    if not getattr(user, "pk", None) or not ids:
        return 0
    ids = list(Notification.objects.for_account(account).filter(pk__in=ids).values_list("pk", flat=True))
    made = NotificationRead.objects.bulk_create(
        [NotificationRead(account=account, notification_id=pk, user_id=user.pk) for pk in ids], ignore_conflicts=True)
    return len(made)


def unread_count(account, user) -> int:
    return notifications_for(Notification.objects.for_account(account), user.pk).filter(read_at__isnull=True).count()
