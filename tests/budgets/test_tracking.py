"""D10: a budget's month — spent, remaining, burn rate, projection and the days — equals an
independent sum over the raw rows, in Asia/Kolkata, for the account, a model and a prompt,
with `now` inside an hour and months whose local edges fall mid-UTC-day."""
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.services import Actor
from analytics.rollups import rollup_process_dirty
from budgets.selectors import budget_status, month_bounds
from budgets.services import budget_create
from models_registry.models import Model
from traces.models import Trace
from traces.services import trace_ingest_batch

UTC = timezone.utc
IST = ZoneInfo("Asia/Kolkata")


def generate(account, n=2400, seed=7):
    rng = random.Random(seed)
    start = datetime(2026, 10, 29, tzinfo=UTC)
    items = []
    for i in range(n):
        at = start + timedelta(seconds=rng.uniform(0, 34 * 86400))
        items.append({"request_id": f"b-{i}", "executed_at": at.isoformat(), "model": rng.choice(["gpt-4o", "claude"]),
                      "status": "success", "response_time_ms": 100.0, "prompt": rng.choice(["checkout", "search"]),
                      "cost_usd": round(rng.uniform(0, 0.9), 6)})
    # Requests on both sides of November's local edges (18:30 UTC on Oct 31 and Nov 30).
    for k, at in enumerate([datetime(2026, 10, 31, 18, 29, 59, tzinfo=UTC), datetime(2026, 10, 31, 18, 30, tzinfo=UTC),
                            datetime(2026, 11, 30, 18, 29, 59, tzinfo=UTC), datetime(2026, 11, 30, 18, 30, tzinfo=UTC)]):
        items.append({"request_id": f"edge-{k}", "executed_at": at.isoformat(), "model": "gpt-4o", "status": "success",
                      "response_time_ms": 100.0, "prompt": "checkout", "cost_usd": 5.0 + k})
    for i in range(0, len(items), 1000):
        assert not trace_ingest_batch(account, items[i:i + 1000], now=datetime(2026, 12, 5, tzinfo=UTC)).errors
    while rollup_process_dirty():
        pass


def raw_cost(account, start, end, **filters):
    lookups = {"model": "model__name", "prompt": "prompt"}
    qs = Trace.objects.for_account(account).filter(executed_at__gte=start, executed_at__lt=end,
                                                   **{lookups[k]: v for k, v in filters.items()})
    return sum((c for c in qs.values_list("cost_usd", flat=True)), Decimal(0))


def raw_days(account, start, end, **filters):
    lookups = {"model": "model__name", "prompt": "prompt"}
    days = {}
    qs = Trace.objects.for_account(account).filter(executed_at__gte=start, executed_at__lt=end,
                                                   **{lookups[k]: v for k, v in filters.items()})
    for at, cost in qs.values_list("executed_at", "cost_usd"):
        day = at.astimezone(IST).date().isoformat()
        days[day] = days.get(day, Decimal(0)) + cost
    return days


@pytest.fixture
def world(make_account):
    account = make_account("kolkata", tz="Asia/Kolkata")
    generate(account)
    actor = Actor.system()
    budgets = {
        "account": (budget_create(account, actor, name="All spend", scope="account", amount_usd=Decimal("900")), {}),
        "model": (budget_create(account, actor, name="GPT-4o", scope="model",
                                model=Model.objects.for_account(account).get(name="gpt-4o"),
                                amount_usd=Decimal("350")), {"model": "gpt-4o"}),
        "prompt": (budget_create(account, actor, name="Checkout", scope="prompt", prompt="checkout",
                                 amount_usd=Decimal("500")), {"prompt": "checkout"}),
    }
    return account, budgets


NOWS = [datetime(2026, 11, 20, 10, 47, 13, tzinfo=UTC),   # inside a local hour (Kolkata hours start at :30)
        datetime(2026, 11, 1, 2, 5, tzinfo=UTC),          # the month's first local day: no projection yet
        datetime(2026, 11, 30, 18, 29, 59, 500000, tzinfo=UTC),  # half a second before the month ends
        datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]          # after the month: the whole month


@pytest.mark.parametrize("now", NOWS)
def test_month_figures_equal_the_raw_rows(world, now):
    account, budgets = world
    start, end = month_bounds(account, date(2026, 11, 1))
    assert (start, end) == (datetime(2026, 10, 31, 18, 30, tzinfo=UTC), datetime(2026, 11, 30, 18, 30, tzinfo=UTC))
    until = min(now, end)
    for budget, filters in budgets.values():
        status = budget_status(budget, date(2026, 11, 1), now=now)
        spent = raw_cost(account, start, until, **filters)
        assert spent > 0
        assert status["spent_usd"] == float(spent), (budget.name, now)
        amount = float(budget.amount_usd)
        assert status["remaining_usd"] == pytest.approx(amount - float(spent))
        assert status["percent_used"] == pytest.approx(100 * float(spent) / amount)
        elapsed_days = (until - start).total_seconds() / 86400
        assert status["days_elapsed"] == pytest.approx(elapsed_days, abs=1e-4)
        assert status["days_in_month"] == 30
        assert status["burn_rate_usd_per_day"] == pytest.approx(float(spent) / elapsed_days)
        if now >= end:
            assert status["projected_usd"] == float(spent)
        elif elapsed_days < 1:
            assert status["projected_usd"] is None and status["state"] in ("ok", "warning", "exceeded")
        else:
            assert status["projected_usd"] == pytest.approx(float(spent) * 30 / elapsed_days)
        # Every local day of the month so far, with the running total.
        expected_days = raw_days(account, start, until, **filters)
        assert [d["day"] for d in status["days"]][0] == "2026-11-01"
        assert {d["day"]: Decimal(str(d["spent_usd"])) for d in status["days"] if d["spent_usd"]} == \
            {k: v for k, v in expected_days.items()}
        assert status["days"][-1]["cumulative_usd"] == pytest.approx(float(spent))
        last_day = (until - timedelta(microseconds=1)).astimezone(IST).date().isoformat()
        assert status["days"][-1]["day"] == last_day


def test_state_follows_the_thresholds(world):
    account, budgets = world
    now = NOWS[0]
    budget, filters = budgets["prompt"]
    start, _ = month_bounds(account, date(2026, 11, 1))
    spent = float(raw_cost(account, start, now, **filters))
    projected = spent * 30 / ((now - start).total_seconds() / 86400)
    cases = [(spent * 0.99, "exceeded"), (spent / 0.85, "warning"), ((spent / 0.79 + projected) / 2, "projected_overrun"),
             (projected * 1.2, "ok")]
    assert spent / 0.79 < projected  # the third amount sits between 79 % spent and the projection
    for amount, state in cases:
        budget.amount_usd = Decimal(str(round(amount, 2)))
        budget.save(update_fields=["amount_usd"])
        assert budget_status(budget, date(2026, 11, 1), now=now)["state"] == state, amount
