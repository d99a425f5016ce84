"""D10 budget alerts: 80 %, 100 % and a projected overrun reach the budget's channels through
the alert deliveries (signed webhook to a real HTTP server on 127.0.0.1, in-app), each at
most once per threshold and month, and the month's events close when it is over."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from accounts.services import Actor
from alerts.models import AlertEvent, Delivery, Notification
from alerts.services import rules as rule_services
from budgets.models import BudgetAlert
from budgets.services import budget_create, budgets_check
from tests.alerts.conftest import ingest, roll_all, send_pending, signed

UTC = timezone.utc


def spend(account, prefix, at, dollars, prompt="checkout"):
    ingest(account, [{"request_id": f"{prefix}-{k}", "executed_at": (at + timedelta(seconds=k)).isoformat(),
                      "model": "gpt-4o", "status": "success", "response_time_ms": 80.0, "prompt": prompt,
                      "cost_usd": dollars / 4} for k in range(4)])
    roll_all()


@pytest.fixture
def setup(make_account, http_receiver, settings):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    account = make_account("budgeted", tz="Asia/Kolkata")
    hook = rule_services.channel_create(account, Actor.system(), name="finance hook", kind="webhook",
                                        url=http_receiver.url("/budget"))
    in_app = rule_services.in_app_channel(account)
    budget = budget_create(account, Actor.system(), name="Checkout", scope="prompt", prompt="checkout",
                           amount_usd=Decimal("100"), channels=[hook, in_app])
    return account, budget, hook, http_receiver


def test_each_threshold_is_sent_once_per_month(setup, member_of):
    account, budget, hook, receiver = setup
    member_of(account)
    # Nov 1 local (Kolkata) begins at 18:30 UTC on Oct 31. Spend before it belongs to October.
    spend(account, "oct", datetime(2026, 10, 31, 18, 0, tzinfo=UTC), 500.0)
    spend(account, "other", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), 500.0, prompt="search")
    spend(account, "a", datetime(2026, 11, 3, 10, 0, tzinfo=UTC), 30.0)
    now = datetime(2026, 11, 10, 6, 30, tzinfo=UTC)  # 9.5 days in: 30 USD projects to 94.7 USD
    assert budgets_check(now) == 0
    assert not AlertEvent.objects.for_account(account).exists()

    spend(account, "b", datetime(2026, 11, 10, 7, 0, tzinfo=UTC), 10.0)  # 40 USD: projects to 126 USD
    now = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    assert budgets_check(now) == 1
    assert budgets_check(now + timedelta(minutes=5)) == 0
    event = AlertEvent.objects.for_account(account).get()
    assert (event.detector, event.metric, event.status, event.severity) == ("budget", "budget_projected_usd",
                                                                            "firing", "warning")
    assert event.value == pytest.approx(40.0 * 30 / ((now - datetime(2026, 10, 31, 18, 30, tzinfo=UTC))
                                                     .total_seconds() / 86400))
    assert event.threshold == 100.0 and event.scope["month"] == "2026-11"

    spend(account, "c", datetime(2026, 11, 12, 7, 0, tzinfo=UTC), 45.0)  # 85 USD: 80 %
    assert budgets_check(datetime(2026, 11, 12, 9, 0, tzinfo=UTC)) == 1
    spend(account, "d", datetime(2026, 11, 13, 7, 0, tzinfo=UTC), 20.0)  # 105 USD: 100 %
    assert budgets_check(datetime(2026, 11, 13, 9, 0, tzinfo=UTC)) == 1
    assert budgets_check(datetime(2026, 11, 20, 9, 0, tzinfo=UTC)) == 0
    assert sorted(BudgetAlert.objects.for_account(account).values_list("threshold", flat=True)) == \
        ["100", "80", "projected"]
    reached = AlertEvent.objects.for_account(account).get(metric="budget_spent_usd", severity="critical")
    assert reached.value == pytest.approx(105.0) and reached.operator == "gte"

    # Deliveries: one per event and channel, through the alert machinery.
    assert Delivery.objects.for_account(account).count() == 6
    assert Notification.objects.for_account(account).count() == 3
    send_pending(account)
    hooks = receiver.requests
    assert len(hooks) == 3 and all(signed(h, hook.secret) for h in hooks)
    assert [h["json"]["metric"] for h in hooks] == ["budget_projected_usd", "budget_spent_usd", "budget_spent_usd"]
    assert [h["json"]["alert_type"] for h in hooks] == ["budget"] * 3
    assert hooks[2]["json"]["scope"] == {"budget": "Checkout", "prompt": "checkout", "month": "2026-11"}
    assert hooks[2]["json"]["value"] == pytest.approx(105.0)

    # December: the November events resolve on their own; a new month starts from nothing.
    assert budgets_check(datetime(2026, 11, 30, 18, 31, tzinfo=UTC)) == 0
    assert set(AlertEvent.objects.for_account(account).values_list("status", flat=True)) == {"resolved"}
    assert Delivery.objects.for_account(account).count() == 6


def test_crossing_80_and_100_at_once_sends_only_100(setup):
    account, budget, hook, receiver = setup
    spend(account, "big", datetime(2026, 11, 3, 10, 0, tzinfo=UTC), 150.0)
    assert budgets_check(datetime(2026, 11, 3, 12, 0, tzinfo=UTC)) == 1
    alerts = dict(BudgetAlert.objects.for_account(account).values_list("threshold", "event"))
    assert set(alerts) == {"80", "100"} and alerts["80"] is None and alerts["100"] is not None
    assert AlertEvent.objects.for_account(account).get().metric == "budget_spent_usd"
    assert budgets_check(datetime(2026, 11, 4, 12, 0, tzinfo=UTC)) == 0


def test_no_projection_during_the_first_day(setup):
    account, budget, hook, receiver = setup
    spend(account, "early", datetime(2026, 10, 31, 19, 0, tzinfo=UTC), 20.0)  # 20 USD in the first local hour
    assert budgets_check(datetime(2026, 10, 31, 20, 0, tzinfo=UTC)) == 0
    assert budgets_check(datetime(2026, 11, 1, 18, 31, tzinfo=UTC)) == 1  # a day in: 20 USD/day → 600 USD
    assert AlertEvent.objects.for_account(account).get().metric == "budget_projected_usd"
