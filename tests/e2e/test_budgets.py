"""Budgets (D10) in headless Chromium: a member adds budgets on the Budgets page (a bad one is
refused with its field), the cards show the API's month figures, and the Cost dashboard tracks
each budget — spent, remaining, burn rate, projection, and the chart with the budget line."""
from decimal import Decimal

import pytest

from accounts.services import Actor
from budgets.services import budget_create
from dashboards.models import Dashboard
from tests.dashboards.e2e_support import api, chart_points, loaded, no_errors, number, seed, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_budgets_page_and_cost_dashboard_tracking(live_server, page, shot):
    acme = seed(days=6, per_day=600)
    sign_in(page, live_server.url, "lee@acme.test")
    page.locator(".sidebar .nav-item", has_text="Budgets").click()
    page.wait_for_url("**/a/acme/budgets/")
    page.fill("#id_name", "Whole account")
    page.select_option("#id_scope", "account")
    page.fill("#id_amount_usd", "30")
    page.click("[data-testid=budget-form] button[type=submit]")
    page.wait_for_selector("[data-budget='Whole account']")
    # A prompt budget without its prompt is refused on the field.
    page.fill("#id_name", "RAG answers")
    page.select_option("#id_scope", "prompt")
    page.fill("#id_amount_usd", "1000")
    page.click("[data-testid=budget-form] button[type=submit]")
    assert "required when scope is prompt" in page.locator(".field.has-error").inner_text()
    page.fill("#id_prompt", "rag-answer")
    page.click("[data-testid=budget-form] button[type=submit]")
    page.wait_for_selector("[data-budget='RAG answers']")

    statuses = {s["name"]: s for s in api(page, "budgets/status")["body"]["results"]}
    for name, status in statuses.items():
        card = page.locator(f"[data-budget='{name}']")
        assert number(card.locator("[data-testid=budget-spent]").inner_text()) == \
            pytest.approx(status["spent_usd"], abs=0.01 if status["spent_usd"] < 100 else 1)
    shot(page, "budgets-list")

    page.locator("[data-budget='Whole account']").click()
    page.wait_for_selector("[data-testid=budget-days]")
    shot(page, "budget-detail")

    cost = Dashboard.objects.for_account(acme).get(prebuilt="cost")
    page.goto(f"{live_server.url}/a/acme/dashboards/{cost.pk}/")
    loaded(page)
    tracking = page.locator("[data-testid=budget-tracking]")
    tracking.locator("[data-figure=spent]").wait_for()
    first = statuses[tracking.locator("[data-budget-pick] option:checked").inner_text().split(" · ")[0]]
    assert number(tracking.locator("[data-figure=spent]").inner_text()) == pytest.approx(first["spent_usd"], abs=0.01)
    assert number(tracking.locator("[data-figure=remaining]").inner_text()) == \
        pytest.approx(first["remaining_usd"], abs=0.01)
    page.wait_for_function("() => document.querySelector('[data-chart=budget] canvas')")
    assert chart_points(page, "[data-chart=budget]") > 0
    # The budget line is drawn across every day of the month.
    days_in_month = int(first["days_in_month"])
    assert page.evaluate("""() => { const c = Chart.getChart(document.querySelector('[data-chart=budget] canvas'));
                            return c.data.datasets.find(d => d.label === 'Budget').data.length; }""") == days_in_month
    tracking.scroll_into_view_if_needed()
    shot(page, "budget-cost-dashboard")
    tracking.locator("[data-budget-pick]").select_option(label=[o for o in tracking.locator("[data-budget-pick] option")
                                                                 .all_inner_texts() if "RAG" in o][0])
    assert number(tracking.locator("[data-figure=spent]").inner_text()) == \
        pytest.approx(statuses["RAG answers"]["spent_usd"], abs=0.01)
    no_errors(page)
