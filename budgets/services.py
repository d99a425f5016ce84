"""Writes of budgets (D10): create, update, delete, and the monthly budget alerts.

Alerts go through the existing alert machinery: each announced threshold is an AlertEvent
(detector "budget", no rule) whose deliveries use the budget's channels — the same
deliveries, signing, retries and in-app notifications as rule alerts.
"""
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.services import audit_record
from alerts.models import AlertEvent, EventStatus, Operator, Severity, Transition
from alerts.services.notify import notify
from budgets.models import Budget, BudgetAlert, BudgetScope, BudgetThreshold
from budgets.selectors import WARNING_SHARE, month_of, month_spend

MAX_BUDGETS = 200
FIELDS = ("name", "scope", "model", "prompt", "amount_usd")


def _check(account, budget: Budget):
    if budget.scope not in BudgetScope.values:
        raise ApplicationError("Unknown scope.", {"scope": [f"one of {', '.join(BudgetScope.values)}"]})
    if budget.scope == BudgetScope.MODEL:
        if budget.model_id is None:
            raise ApplicationError("A model budget names its model.", {"model": ["required when scope is model"]})
        if budget.model.account_id != account.pk:
            raise ApplicationError("No such model in this account.", {"model": ["not found"]})
    elif budget.model_id is not None:
        raise ApplicationError("Only model budgets name a model.", {"model": [f"must be empty when scope is "
                                                                              f"{budget.scope}"]})
    if budget.scope == BudgetScope.PROMPT:
        if not budget.prompt.strip():
            raise ApplicationError("A prompt budget names its prompt.", {"prompt": ["required when scope is prompt"]})
    elif budget.prompt:
        raise ApplicationError("Only prompt budgets name a prompt.", {"prompt": [f"must be empty when scope is "
                                                                                f"{budget.scope}"]})
    if "\x00" in budget.name or "\x00" in budget.prompt:
        raise ApplicationError("Text may not contain NUL.", {"name": ["no NUL characters"]})
    if budget.amount_usd is None or not Decimal("0.01") <= budget.amount_usd < Decimal("1e12"):
        raise ApplicationError("The amount is in USD per month.", {"amount_usd": ["between 0.01 and 10^12"]})
    others = Budget.objects.for_account(account).exclude(pk=budget.pk)
    if others.filter(name=budget.name).exists():
        raise ApplicationError("A budget of this name exists.", {"name": ["already used in this account"]})
    if others.filter(scope=budget.scope, model_id=budget.model_id, prompt=budget.prompt).exists():
        raise ApplicationError("This target already has a budget.",
                               {"scope": [f"{budget.target_label()} already has a budget"]})


def _channels(account, channels):
    channels = list(channels or [])
    if any(c.account_id != account.pk for c in channels):
        raise ApplicationError("No such channel in this account.", {"channels": ["not found"]})
    return channels


@transaction.atomic
def budget_create(account, actor, *, channels=None, **data) -> Budget:
    if Budget.objects.for_account(account).count() >= MAX_BUDGETS:
        raise ApplicationError(f"An account has at most {MAX_BUDGETS} budgets.", {"name": ["too many budgets"]})
    budget = Budget(account=account, created_by=actor.user if getattr(actor.user, "pk", None) else None,
                    **{k: v for k, v in data.items() if k in FIELDS})
    _check(account, budget)
    channels = _channels(account, channels)
    budget.save()
    budget.channels.set(channels)
    audit_record(account, actor, "budget.created", budget, name=budget.name, scope=budget.scope,
                 amount_usd=str(budget.amount_usd))
    return budget


@transaction.atomic
def budget_update(account, actor, budget: Budget, *, channels=None, **data) -> Budget:
    budget = Budget.objects.for_account(account).select_for_update().get(pk=budget.pk)
    changes = {k: {"from": str(getattr(budget, k)), "to": str(v)} for k, v in data.items()
               if k in FIELDS and getattr(budget, k) != v}
    for k, v in data.items():
        if k in FIELDS:
            setattr(budget, k, v)
    if "scope" in data and data["scope"] != BudgetScope.MODEL and "model" not in data:
        budget.model = None
    if "scope" in data and data["scope"] != BudgetScope.PROMPT and "prompt" not in data:
        budget.prompt = ""
    _check(account, budget)
    budget.save()
    if channels is not None:
        budget.channels.set(_channels(account, channels))
    if changes:
        audit_record(account, actor, "budget.updated", budget, name=budget.name, changes=changes)
    return budget


@transaction.atomic
def budget_delete(account, actor, budget: Budget) -> None:
    audit_record(account, actor, "budget.deleted", budget, name=budget.name)
    Budget.objects.for_account(account).filter(pk=budget.pk).delete()


# -- alerts -----------------------------------------------------------------------------------

def budgets_check(now: datetime | None = None) -> int:
    """Every budget of every account: announce the thresholds its month crossed (each once per
    month), and close the budget events of months that are over. Returns the alerts sent."""
    now = now or timezone.now()
    sent = 0
    for budget in Budget.objects.select_related("account", "model").order_by("pk").iterator(chunk_size=200):
        sent += budget_check(budget, now)
    budget_events_close_past(now)
    return sent


def _due(amount: float, spent: float, projected: float | None) -> list[str]:
    """Thresholds the month has crossed, highest first."""
    if spent >= amount:
        return [BudgetThreshold.REACHED, BudgetThreshold.WARNING]
    due = [BudgetThreshold.PROJECTED] if projected is not None and projected > amount else []
    if spent >= WARNING_SHARE * amount:
        due.append(BudgetThreshold.WARNING)
    return due


def budget_check(budget: Budget, now: datetime) -> int:
    month = month_of(budget.account, now)
    spend = month_spend(budget, month, now)
    amount = float(budget.amount_usd)
    projected = spend.projected()
    done = set(BudgetAlert.objects.for_account(budget.account).filter(budget=budget, month=month)
               .values_list("threshold", flat=True))
    due = _due(amount, spend.spent, projected)
    sent = 0
    for threshold in due:
        if threshold in done:
            continue
        # 100 % says more than 80 %: crossing both in one check sends one message, and 80 %
        # is recorded silently so it never arrives after the fact.
        silent = threshold == BudgetThreshold.WARNING and BudgetThreshold.REACHED in due
        if _announce(budget, month, threshold, spend.spent, projected, now, silent=silent) and not silent:
            sent += 1
    return sent


SEVERITY = {BudgetThreshold.WARNING: Severity.WARNING, BudgetThreshold.REACHED: Severity.CRITICAL,
            BudgetThreshold.PROJECTED: Severity.WARNING}


def _announce(budget, month, threshold, spent, projected, now, *, silent) -> bool:
    account = budget.account
    amount = float(budget.amount_usd)
    with transaction.atomic():
        try:
            with transaction.atomic():
                alert = BudgetAlert.objects.create(account=account, budget=budget, month=month, threshold=threshold,
                                                   spent_usd=Decimal(str(spent)),
                                                   projected_usd=Decimal(str(projected)) if projected is not None
                                                   else None)
        except IntegrityError:
            return False  # another check announced it first
        if silent:
            return True
        scope = {"budget": budget.name, **({"model": budget.model.name} if budget.model_id else {}),
                 **({"prompt": budget.prompt} if budget.prompt else {}), "month": month.strftime("%Y-%m")}
        projected_kind = threshold == BudgetThreshold.PROJECTED
        value = projected if projected_kind else spent
        event = AlertEvent.objects.create(
            account=account, rule=None, rule_name=f"Budget {budget.name}: {BudgetThreshold(threshold).label}"[:200],
            metric="budget_projected_usd" if projected_kind else "budget_spent_usd", detector="budget",
            scope=scope, severity=SEVERITY[threshold], status=EventStatus.FIRING,
            operator=Operator.GT if projected_kind else Operator.GTE,
            threshold=amount * (WARNING_SHARE if threshold == BudgetThreshold.WARNING else 1.0),
            value=value, last_value=value, started_at=now, fired_at=now, last_notified_at=now)
        alert.event = event
        alert.save(update_fields=["event"])
        notify(event, Transition.FIRED, 0, channels=budget.channels.filter(enabled=True))
    return True


def budget_events_close_past(now: datetime) -> int:
    """Budget events stay open for their month; when it is over they resolve on their own."""
    closed = 0
    open_alerts = (BudgetAlert.objects.filter(event__status__in=(EventStatus.FIRING, EventStatus.ACKNOWLEDGED))
                   .select_related("event", "account"))
    for alert in open_alerts:
        if month_of(alert.account, now) > alert.month:
            closed += AlertEvent.objects.filter(pk=alert.event_id, status__in=(EventStatus.FIRING,
                                                                              EventStatus.ACKNOWLEDGED)).update(
                status=EventStatus.RESOLVED, resolved_at=now, resolution="auto")
    return closed
