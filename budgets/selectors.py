"""Budget tracking (D10): a budget's month in the account's timezone — spent, remaining, burn
rate and projected month-end spend — read from the exact metrics layer (rollups for whole
hours and days, raw traces only for the partial hour at the edge), never from a separate count.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from analytics.buckets import day_start, local_day
from analytics.selectors import Selection, metrics_summary, metrics_timeseries
from budgets.models import Budget, BudgetAlert

WARNING_SHARE = 0.8
# A projection from less than one day of spend is noise (the first requests of the 1st
# would project a month of them): no projection, and no projected-overrun alert, before then.
MIN_PROJECTION_ELAPSED = timedelta(days=1)


def month_of(account, at: datetime) -> date:
    return local_day(account, at).replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(account, month: date) -> tuple[datetime, datetime]:
    """[start, end) of a local month as UTC instants."""
    return day_start(account, month), day_start(account, next_month(month))


@dataclass
class MonthSpend:
    start: datetime
    end: datetime
    until: datetime  # the end of what has happened: now inside the month, else the month's end
    spent: float

    @property
    def elapsed(self) -> timedelta:
        return max(self.until - self.start, timedelta(0))

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def burn_rate_per_day(self) -> float | None:
        days = self.elapsed.total_seconds() / 86400
        return self.spent / days if days > 0 else None

    def projected(self) -> float | None:
        """Month-end spend at the month's burn rate so far (the whole month once it is over)."""
        if self.until >= self.end:
            return self.spent
        if self.elapsed < MIN_PROJECTION_ELAPSED:
            return None
        return self.spent * (self.length / self.elapsed)


def month_spend(budget: Budget, month: date, now: datetime) -> MonthSpend:
    account = budget.account
    start, end = month_bounds(account, month)
    until = min(max(now, start), end)
    spent = 0.0
    if until > start:
        sel = Selection(account, start, until, budget.filters())
        spent = metrics_summary(sel, sketches=False, users=False)["total_cost_usd"]
    return MonthSpend(start, end, until, spent)


def budget_state(amount: float, spent: float, projected: float | None) -> str:
    if spent >= amount:
        return "exceeded"
    if spent >= WARNING_SHARE * amount:
        return "warning"
    if projected is not None and projected > amount:
        return "projected_overrun"
    return "ok"


def budget_status(budget: Budget, month: date | None = None, now: datetime | None = None,
                  days: bool = True) -> dict:
    """One budget's month: figures, state, the alerts sent, and (days=True) spend per local day
    with the running total, for the Cost dashboard's chart."""
    now = now or timezone.now()
    account = budget.account
    month = month or month_of(account, now)
    spend = month_spend(budget, month, now)
    amount = float(budget.amount_usd)
    projected = spend.projected()
    status = {
        "budget": budget.pk, "name": budget.name, "scope": budget.scope,
        "model": budget.model.name if budget.model_id else None, "prompt": budget.prompt or None,
        "target": budget.target_label(),
        "amount_usd": amount, "month": month.strftime("%Y-%m"), "timezone": account.timezone,
        "period": {"start": spend.start.isoformat(), "end": spend.end.isoformat(), "until": spend.until.isoformat()},
        "days_in_month": round(spend.length / timedelta(days=1), 4),
        "days_elapsed": round(spend.elapsed / timedelta(days=1), 4),
        "spent_usd": spend.spent,
        "remaining_usd": amount - spend.spent,
        "percent_used": 100.0 * spend.spent / amount,
        "burn_rate_usd_per_day": spend.burn_rate_per_day(),
        "projected_usd": projected,
        "projected_percent": 100.0 * projected / amount if projected is not None else None,
        "state": budget_state(amount, spend.spent, projected),
        "alerts": [{"threshold": a.threshold, "at": a.created_at.isoformat(), "event": a.event_id}
                   for a in BudgetAlert.objects.for_account(account).filter(budget=budget, month=month)
                   .order_by("created_at")],
    }
    if days:
        status["days"] = _days(budget, spend) if spend.until > spend.start else []
    return status


def _days(budget, spend: MonthSpend) -> list[dict]:
    sel = Selection(budget.account, spend.start, spend.until, budget.filters())
    points = metrics_timeseries(sel, granularity="day", sketches=False, users=False)["points"]
    by_day = {p["period"]: p["total_cost_usd"] for p in points}
    out, running = [], 0.0
    day, last = spend.start.astimezone(budget.account.tzinfo).date(), local_day(budget.account, spend.until
                                                                                  - timedelta(microseconds=1))
    while day <= last:
        value = by_day.get(day.isoformat(), 0.0)
        running += value
        out.append({"day": day.isoformat(), "spent_usd": value, "cumulative_usd": running})
        day += timedelta(days=1)
    return out


def budgets_status(account, month: date | None = None, now: datetime | None = None, days: bool = True) -> list[dict]:
    budgets = Budget.objects.for_account(account).select_related("model", "account")
    return [budget_status(b, month, now, days=days) for b in budgets]
