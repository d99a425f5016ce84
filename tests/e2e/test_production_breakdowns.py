"""Production's failure breakdown, latency breakdown and Alerts section, and a trace's latency
breakdown, in headless Chromium on demo traffic: the figures shown equal the raw rows'
(numpy), screenshots production-breakdowns.png and traces-latency-breakdown.png."""
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from alerts.models import AlertEvent
from tests.dashboards.e2e_support import api, chart_points, loaded, no_errors, number, seed, shown_period, sign_in
from traces.models import Trace

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def raw(account, period):
    start, end = (datetime.fromisoformat(v) for v in (period["start"], period["end"]))
    return list(Trace.objects.for_account(account).filter(executed_at__gte=start, executed_at__lt=end)
                .values("status", "error_type", "response_time_ms", "queue_time_ms", "network_time_ms"))


def test_failures_latency_breakdown_and_alerts_on_production(live_server, page, shot):
    acme = seed()
    now = datetime.now(timezone.utc)
    for name, hours, scope, status in (("Checkout error rate", 2, {"prompt": "support-answer"}, "firing"),
                                       ("p95 latency", 5, {}, "acknowledged"),
                                       ("RAG errors", 1, {"prompt": "rag-answer"}, "firing")):
        AlertEvent.objects.create(account=acme, rule_name=name, metric="error_rate", severity="critical",
                                  status=status, operator="gt", threshold=5.0, value=8.0, scope=scope,
                                  started_at=now - timedelta(hours=hours), fired_at=now - timedelta(hours=hours))
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/a/acme/production/?preset=last_7d")
    loaded(page)
    page.wait_for_selector("[data-testid=alert-items] li")
    stamp = page.locator("[data-testid=as-of]")
    period = {"start": stamp.get_attribute("data-start"), "end": stamp.get_attribute("data-end")}
    rows = raw(acme, period)
    failed = [r for r in rows if r["status"] == "failure"]

    # Every failure type, and the bars add up to the failed requests.
    bars = page.evaluate("""() => { const c = Chart.getChart(document.querySelector('[data-chart=failures] canvas'));
        return Object.fromEntries(c.data.labels.map((l, i) => [l, c.data.datasets[0].data[i]])); }""")
    assert sum(bars.values()) == len(failed) == int(number(page.locator("[data-figure=failed] b").inner_text()))
    labels = {"Timeout": "timeout", "Rate limit": "rate_limit", "LLM error": "llm_error", "Validation": "validation",
              "System": "system", "Network": "network", "No type given": ""}
    assert {labels[k]: v for k, v in bars.items()} == {t: sum(r["error_type"] == t for r in failed)
                                                        for t in labels.values() if t or bars.get("No type given")}
    assert bars["Rate limit"] > 0 and bars["Network"] > 0

    # Latency breakdown: the range's averages, as numpy computes them from the traces.
    total = np.array([r["response_time_ms"] for r in rows])
    queue = np.array([r["queue_time_ms"] or 0.0 for r in rows])
    network = np.array([r["network_time_ms"] or 0.0 for r in rows])
    shown = {k: page.locator(f"[data-widget=latency_breakdown] [data-figure={k}] b").inner_text()
             for k in ("llm_processing", "network", "queue", "avg_response")}
    for key, exact in (("llm_processing", (total - queue - network).mean()), ("network", network.mean()),
                       ("queue", queue.mean()), ("avg_response", total.mean())):
        assert shown[key] == (f"{exact / 1000:,.2f} s" if exact >= 10000 else f"{round(exact):,} ms"), key
    assert chart_points(page, "[data-chart=latency_breakdown]") > 0

    # Alerts: the selection's events, latest first; a prompt filter keeps that prompt's and all-traffic ones.
    assert page.locator("[data-testid=alert-items] li strong").all_inner_texts() == \
        ["RAG errors", "Checkout error rate", "p95 latency"]
    assert page.locator("[data-widget=alerts] [data-figure=open] b").inner_text() == "3"
    page.locator("[data-widget=latency_breakdown]").scroll_into_view_if_needed()
    shot(page, "production-breakdowns")
    page.select_option("[data-testid=filter-prompt]", "support-answer")
    loaded(page, 2)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=alert-items] li').length === 2")
    assert page.locator("[data-testid=alert-items] li strong").all_inner_texts() == ["Checkout error rate", "p95 latency"]
    narrowed = api(page, f"analytics/alerts?{shown_period(page)}&prompt=support-answer")["body"]
    assert [e["rule"] for e in narrowed["events"]] == ["Checkout error rate", "p95 latency"]
    page.locator("[data-testid=alert-items] li a").first.click()
    page.wait_for_url("**/alerts/events/*/")
    assert "Checkout error rate" in page.locator("h1").inner_text()
    no_errors(page)


def test_trace_detail_shows_its_latency_breakdown(live_server, page, shot):
    acme = seed(days=2, per_day=300)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/a/acme/traces/")
    page.select_option("#tx-model", "support-llama-ft")
    page.wait_for_function("() => !document.querySelector('#tx-rows .tx-loading') && document.querySelector('#tx-rows tr[data-request-id]')")
    row = page.locator("#tx-rows tr[data-request-id]").first
    request_id = row.get_attribute("data-request-id")
    row.click()
    page.wait_for_selector("[data-testid=latency-breakdown]")
    trace = Trace.objects.for_account(acme).get(request_id=request_id)
    parts = {p.get_attribute("data-part"): float(p.get_attribute("data-ms"))
             for p in page.locator("[data-testid=latency-breakdown] [data-part]").all()}
    queue, network = trace.queue_time_ms or 0.0, trace.network_time_ms or 0.0
    assert parts == pytest.approx({"queue": queue, "network": network,
                                   "llm": max(0.0, trace.response_time_ms - queue - network)})
    text = page.locator("[data-testid=latency-breakdown]").inner_text()
    assert "LLM processing" in text and "Network" in text and "Queue" in text
    shot(page, "traces-latency-breakdown")
    no_errors(page)
