"""Evaluation (L2): every minute each due rule is measured through the metrics layer and its
event moves forward — pending → firing → (acknowledged) → resolved.

Idempotence: a rule is evaluated only under its row lock (`FOR UPDATE SKIP LOCKED`) and only
when `next_check_at` has come, which the same transaction moves on. A second or concurrent
run finds the row locked or not due and does nothing. The database backs this up: one open
event per rule, one delivery per (event, channel, transition, reminder). A worker that dies
mid-evaluation rolls the transaction back, so the next tick evaluates the rule.

Schedule (SPEC L1, every minute): each rule keeps its own grid, next_check_at + k·interval.
Beat's ticks come a little late and never exactly on that grid, so a rule counts as due when
its grid point is within half an interval of the tick, and the next check is the first grid
point beyond that half interval. Every tick then evaluates the rule once; `now + interval`
taken at task start made a rule due a few milliseconds after the next tick, which skipped it.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.models import Account
from accounts.services import Actor, audit_record
from alerts.models import OPEN_STATUSES, AlertEvent, AlertRule, Baseline, EventStatus, Operator, Transition
from alerts.services.metrics import BASE_METRICS, measure
from alerts.services.notify import notify

BASELINE_WEEKS = 4


def interval() -> timedelta:
    return timedelta(seconds=getattr(settings, "ALERT_EVALUATION_INTERVAL_SECONDS", 60))


COMPARE = {
    Operator.GT: lambda v, t: v > t, Operator.GTE: lambda v, t: v >= t,
    Operator.LT: lambda v, t: v < t, Operator.LTE: lambda v, t: v <= t,
}


@dataclass
class Outcome:
    state: str               # ok, pending, firing, acknowledged, no_data
    value: float | None
    threshold: float | None  # effective: × baseline for relative rules
    baseline: float | None = None


def rule_measure(rule: AlertRule, now: datetime) -> Outcome:
    """The rule's metric over its window ending now, and the threshold it is compared with."""
    window = timedelta(minutes=rule.window_minutes)
    common = dict(metric=rule.metric, custom_metric=rule.custom_metric, filters=rule.scope(),
                  min_requests=rule.min_requests)
    current = measure(rule.account, start=now - window, end=now, **common)
    if current.no_data:
        return Outcome("no_data", None, None)
    threshold, base = rule.threshold, None
    if rule.baseline == Baseline.WEEKLY:
        base = baseline_value(rule, now)
        if base is None:
            return Outcome("no_data", current.value, None)
        threshold = rule.threshold * base
    state = "breaching" if COMPARE[rule.operator](current.value, threshold) else "ok"
    return Outcome(state, current.value, threshold, base)


def baseline_value(rule: AlertRule, now: datetime) -> float | None:
    """Mean of the metric over the same window at the same time of week, over the previous 4 weeks.

    Weeks without data (fewer requests than the rule's minimum) are left out; with none the
    detector has no baseline and stays quiet.
    """
    window = timedelta(minutes=rule.window_minutes)
    values = []
    for k in range(1, BASELINE_WEEKS + 1):
        end = now - timedelta(weeks=k)
        m = measure(rule.account, metric=rule.metric, custom_metric=rule.custom_metric, filters=rule.scope(),
                    start=end - window, end=end, min_requests=rule.min_requests)
        if not m.no_data:
            values.append(m.value)
    return sum(values) / len(values) if values else None


def due_by(now: datetime) -> datetime:
    """Rules whose grid point is at or before this are due at the tick `now`."""
    return now + interval() / 2


def next_check(due: datetime, now: datetime) -> datetime:
    """The first point of the rule's grid (due + k·interval) after the tick's half-interval window."""
    step = interval()
    return due + ((due_by(now) - due) // step + 1) * step


def rules_due(now: datetime, limit: int = 1000) -> list[int]:
    return list(AlertRule.objects.filter(next_check_at__lte=due_by(now)).order_by("next_check_at")
                .values_list("id", flat=True)[:limit])


def alerts_evaluate_due(now: datetime | None = None) -> int:
    """Evaluate every due rule once; returns how many this call evaluated."""
    now = now or timezone.now()
    return sum(1 for rule_id in rules_due(now) if rule_evaluate(rule_id, now))


def rule_evaluate(rule_id: int, now: datetime) -> bool:
    with transaction.atomic():
        rule = (AlertRule.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("account", "custom_metric", "model", "deployment", "version", "connection")
                .filter(pk=rule_id, next_check_at__lte=due_by(now)).first())
        if rule is None:
            return False  # another worker holds it, or it was evaluated already
        outcome = rule_measure(rule, now)
        event = (AlertEvent.objects.select_for_update().filter(account=rule.account, rule=rule,
                                                                status__in=OPEN_STATUSES).first())
        if outcome.state == "breaching":
            rule.pending_since = rule.pending_since or now
            if event is None:
                if now - rule.pending_since >= timedelta(minutes=rule.duration_minutes):
                    event = _fire(rule, outcome, now)
                    state = "firing"
                else:
                    state = "pending"
            else:
                event.last_value = outcome.value
                fields = ["last_value"]
                if (event.status == EventStatus.FIRING and rule.renotify_minutes and event.last_notified_at
                        and now - event.last_notified_at >= timedelta(minutes=rule.renotify_minutes)):
                    event.reminders += 1
                    event.last_notified_at = now
                    fields += ["reminders", "last_notified_at"]
                    event.save(update_fields=fields)
                    notify(event, Transition.REMINDER, event.reminders, rule=rule)
                else:
                    event.save(update_fields=fields)
                state = event.status
        else:
            rule.pending_since = None
            if event is not None:
                event.last_value = outcome.value
                _resolve(event, now, by=None, resolution="auto", rule=rule)
            state = outcome.state
        rule.last_value = outcome.value
        rule.last_evaluated_at = now
        rule.last_state = state
        rule.next_check_at = next_check(rule.next_check_at, now)
        rule.save(update_fields=["pending_since", "last_value", "last_evaluated_at", "last_state", "next_check_at"])
        return True


def _fire(rule: AlertRule, outcome: Outcome, now: datetime) -> AlertEvent:
    scope = rule.scope()
    event = AlertEvent.objects.create(
        account=rule.account, rule=rule, rule_name=rule.name,
        metric=rule.metric or f"custom:{rule.custom_metric.name}", detector=rule.detector, scope=scope,
        severity=rule.severity, status=EventStatus.FIRING, operator=rule.operator, threshold=outcome.threshold,
        baseline_value=outcome.baseline, value=outcome.value, last_value=outcome.value,
        started_at=rule.pending_since or now, fired_at=now, last_notified_at=now,
    )
    notify(event, Transition.FIRED, 0, rule=rule)
    return event


def _resolve(event: AlertEvent, now: datetime, *, by, resolution: str, rule=None, note: str = ""):
    event.status = EventStatus.RESOLVED
    event.resolved_at = now
    event.resolved_by = by
    event.resolution = resolution
    if note:
        event.note = note
    event.save(update_fields=["status", "resolved_at", "resolved_by", "resolution", "note", "last_value"])
    notify(event, Transition.RESOLVED, 0, rule=rule)


# -- by hand ----------------------------------------------------------------------------------

def _locked_event(account: Account, event: AlertEvent) -> AlertEvent:
    return (AlertEvent.objects.for_account(account).select_for_update(of=("self",)).select_related("rule", "account")
            .get(pk=event.pk))


@transaction.atomic
def event_acknowledge(account: Account, actor: Actor, event: AlertEvent, note: str = "") -> AlertEvent:
    event = _locked_event(account, event)
    if event.status != EventStatus.FIRING:
        raise ApplicationError(f"This event is {event.status}; only firing events can be acknowledged.",
                               {"status": [f"is {event.status}"]}, status=409)
    event.status = EventStatus.ACKNOWLEDGED
    event.acknowledged_at = timezone.now()
    event.acknowledged_by = actor.user
    if note:
        event.note = note
    event.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "note"])
    notify(event, Transition.ACKNOWLEDGED, 0, rule=event.rule)
    audit_record(account, actor, "alert_event.acknowledged", event, rule=event.rule_name)
    return event


@transaction.atomic
def event_resolve(account: Account, actor: Actor, event: AlertEvent, note: str) -> AlertEvent:
    """Resolve by hand, with the post-mortem note (cause and prevention)."""
    if not (note or "").strip():
        raise ApplicationError("Resolving by hand needs a post-mortem note.", {"note": ["required: cause and "
                                                                                        "prevention"]})
    event = _locked_event(account, event)
    if event.status == EventStatus.RESOLVED:
        raise ApplicationError("This event is already resolved.", {"status": ["is resolved"]}, status=409)
    if event.rule_id:
        # The condition must hold for its whole duration again before the next event.
        AlertRule.objects.filter(pk=event.rule_id).update(pending_since=None)
    _resolve(event, timezone.now(), by=actor.user, resolution="manual", rule=event.rule, note=note.strip())
    audit_record(account, actor, "alert_event.resolved", event, rule=event.rule_name)
    return event


@transaction.atomic
def event_set_note(account: Account, actor: Actor, event: AlertEvent, note: str) -> AlertEvent:
    event = _locked_event(account, event)
    event.note = (note or "").strip()
    event.save(update_fields=["note"])
    audit_record(account, actor, "alert_event.note_changed", event, rule=event.rule_name)
    return event


def metric_name_of(event: AlertEvent) -> str:
    if event.metric.startswith("custom:"):
        return event.metric.split(":", 1)[1]
    return BASE_METRICS.get(event.metric, (event.metric,))[0]
