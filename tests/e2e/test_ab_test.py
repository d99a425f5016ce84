"""A/B test results (D11) on the Quality dashboard in headless Chromium: pick prompts, then
versions of a prompt; every difference, p-value and winner shown is the API's for the same
selection, and a winner appears only beside a significant result."""
import pytest

from dashboards.models import Dashboard
from tests.dashboards.e2e_support import api, loaded, no_errors, seed, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shown_matches_api(page, params):
    body = api(page, f"analytics/ab-test?{params}")["body"]
    table = page.locator("[data-testid=ab-table]")
    for metric in ("success_rate", "latency_ms", "cost_per_request_usd"):
        row = table.locator(f"[data-ab-metric={metric}]")
        winner = body["winners"][metric]
        assert row.locator("[data-ab-winner]").inner_text() == (winner or "no significant winner")
        for pair in body["comparisons"]:
            cell = row.locator(f"[data-ab-pair='{pair['a']}|{pair['b']}']")
            result = pair["metrics"][metric]
            assert cell.locator("[data-significant]").get_attribute("data-significant") == \
                str(result["significant"]).lower()
    return body


def test_ab_test_on_the_quality_dashboard(live_server, page, shot):
    acme = seed(days=6, per_day=700)
    sign_in(page, live_server.url, "lee@acme.test")
    quality = Dashboard.objects.for_account(acme).get(prebuilt="quality")
    page.goto(f"{live_server.url}/a/acme/dashboards/{quality.pk}/")
    loaded(page)
    box = page.locator("[data-testid=ab-test]")
    box.locator("[data-ab-variant='0']").select_option("rag-answer")
    box.locator("[data-ab-variant='1']").select_option("email-draft")
    box.locator("[data-testid=ab-run]").click()
    page.wait_for_function("() => Number(document.querySelector('[data-ab-test]').dataset.loaded || 0) >= 1")
    body = shown_matches_api(page, "preset=last_7d&by=prompt&variants=rag-answer,email-draft")
    assert [v["variant"] for v in body["variants"]] == ["rag-answer", "email-draft"]
    assert all(v["requests"] > 100 for v in body["variants"])
    box.scroll_into_view_if_needed()
    shot(page, "ab-test-prompts")

    box.locator("[data-ab-by]").select_option("prompt_version")
    box.locator("[data-ab-prompt]").select_option("rag-answer")
    box.locator("[data-ab-variant='0']").select_option("1")
    box.locator("[data-ab-variant='1']").select_option("2")
    box.locator("[data-ab-variant='2']").select_option("3")
    box.locator("[data-testid=ab-run]").click()
    page.wait_for_function("() => Number(document.querySelector('[data-ab-test]').dataset.loaded || 0) >= 2")
    body = shown_matches_api(page, "preset=last_7d&by=prompt_version&variants=1,2,3&prompt=rag-answer")
    assert len(body["comparisons"]) == 3
    box.scroll_into_view_if_needed()
    shot(page, "ab-test-versions")
    no_errors(page)
