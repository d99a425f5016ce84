"""The dashboard pages in headless Chromium on demo traffic (D1–D7): each loads without console
errors, draws its charts, shows the API's figures for the same selection, keeps its filters in
the URL, and behaves as the seeds describe (sorting, row detail, tabs, expanded widgets, Live,
Compare, Cohorts, the heat map, empty states). Screenshots: dashboard-*.png in the tests' output folder."""
import re
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest

from tests.dashboards.e2e_support import (api, chart_points, ingest_now, loaded, no_errors, number, seed,
                                          shown_period, sign_in)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def query(page):
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def test_overview_kpis_charts_and_live_mode(live_server, page, shot):
    acme = seed(days=13)  # a previous period to compare with
    page.clock.install()
    sign_in(page, live_server.url)
    # The console's home is the overview.
    page.wait_for_url("**/a/acme/overview/")
    loaded(page)
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("[data-testid=page-preset]").input_value() == "last_7d"

    period = shown_period(page)
    summary = api(page, f"analytics/overview?{period}")["body"]
    metrics = api(page, f"metrics?{period}")["body"]["metrics"]
    shown = page.locator("[data-kpi=total_requests] [data-value]").inner_text()
    assert int(number(shown)) == summary["current"]["total_requests"] == metrics["total_requests"] > 1000
    assert number(page.locator("[data-kpi=success_rate] [data-value]").inner_text()) == \
        pytest.approx(metrics["success_rate"], abs=0.006)
    assert int(number(page.locator("[data-kpi=active_users] [data-value]").inner_text())) == metrics["active_users"]
    band = summary["success_band"]
    assert band in ("healthy", "warning", "critical")
    assert f"health-{band}" in page.locator("[data-kpi=success_rate]").get_attribute("class")
    change = page.locator("[data-kpi=total_requests] [data-change]").inner_text()
    expected = summary["change"]["total_requests"]
    one_place = Decimal(str(abs(expected))).quantize(Decimal("0.1"), ROUND_HALF_UP)  # as Intl rounds
    assert change == f"{'▲' if expected > 0 else '▼'} {one_place:,}%".replace(".0%", "%"), (change, expected)
    assert page.locator("[data-kpi=total_requests] [data-previous]").inner_text() == \
        f"was {summary['previous']['total_requests']:,}"
    for key in ("requests", "cost", "latency"):
        assert chart_points(page, f"[data-chart={key}]") >= 7, key
    assert page.locator("[data-table=models] tbody tr").count() >= 5
    assert "As of" in page.locator("[data-testid=as-of]").inner_text()
    shot(page, "dashboard-overview")

    # The range lives in the URL: a link reproduces the view.
    page.select_option("[data-testid=page-preset]", "today")
    loaded(page, 2)
    assert query(page)["preset"] == "today"
    today = api(page, "metrics?preset=today")["body"]["metrics"]["total_requests"]
    page.goto(page.url)
    loaded(page)
    assert page.locator("[data-testid=page-preset]").input_value() == "today"
    before = int(number(page.locator("[data-kpi=total_requests] [data-value]").inner_text()))
    assert before == today

    # Live: every 30 s the page fetches again and shows what arrived since ("today" starts at
    # local midnight, so only the new requests change the count).
    page.locator("[data-testid=live]").check()
    runs = loaded(page, 2)
    assert page.locator("[data-live-label]").get_attribute("class").endswith("on")
    assert query(page)["live"] == "1"
    ingest_now(acme, 7)
    page.clock.fast_forward(31_000)
    loaded(page, runs + 1)
    after = int(number(page.locator("[data-kpi=total_requests] [data-value]").inner_text()))
    assert after == before + 7
    page.locator("[data-testid=live]").uncheck()
    runs = loaded(page)
    page.clock.fast_forward(65_000)
    page.wait_for_timeout(200)
    assert loaded(page) == runs  # Live off: no more refreshes

    # A row of "Busiest models" opens Performance Analytics on that model, same range (000).
    first = page.locator("[data-table=models] tbody tr").first
    model = first.get_attribute("data-model")
    first.locator("td").nth(2).click()
    page.wait_for_url("**/a/acme/performance/**")
    loaded(page)
    assert query(page)["model"] == model and query(page)["preset"] == "today"
    assert page.locator("[data-testid=filter-model]").input_value() == model
    rows = api(page, f"analytics/performance?preset=today&model={model}")["body"]["rows"]
    assert rows and {r["model"] for r in rows} == {model}
    no_errors(page)


def test_performance_table_sorts_filters_and_opens_a_row(live_server, page, shot):
    seed()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/a/acme/performance/")
    loaded(page)
    rows = page.locator("[data-testid=performance-table] tbody tr")
    body = api(page, "analytics/performance?preset=last_7d&ordering=-requests")["body"]
    assert rows.count() == len(body["rows"]) >= 20
    first = body["rows"][0]
    cells = rows.first.locator("td")
    assert cells.nth(0).inner_text() == first["model"] and cells.nth(1).inner_text() == first["feature"]
    assert int(number(rows.first.locator("[data-col=requests]").inner_text())) == first["requests"]
    headings = [h.strip() for h in page.locator("[data-testid=performance-table] th").all_inner_texts()]
    assert len(headings) == 12  # every column of seed 000

    # Sort by failed requests, descending then ascending.
    page.locator("th[data-sort=failed_requests]").click()
    loaded(page, 2)
    assert query(page)["ordering"] == "-failed_requests"
    failed = [int(number(t)) for t in page.locator("[data-col=failed_requests]").all_inner_texts()]
    assert failed == sorted(failed, reverse=True) and failed[0] > failed[-1]
    page.locator("th[data-sort=failed_requests]").click()
    loaded(page, 3)
    failed = [int(number(t)) for t in page.locator("[data-col=failed_requests]").all_inner_texts()]
    assert failed == sorted(failed)
    page.locator("th[data-sort=model]").click()
    loaded(page, 4)
    models = page.locator("[data-col=model]").all_inner_texts()
    assert models == sorted(models, key=str.lower)

    # Filter: one model; every row is that model.
    page.select_option("[data-testid=filter-model]", "gpt-4o")
    loaded(page, 5)
    assert query(page)["model"] == "gpt-4o"
    assert set(page.locator("[data-col=model]").all_inner_texts()) == {"gpt-4o"}

    # A row opens its detail: request trend, token consumption, latency analysis.
    page.locator("[data-testid=performance-table] tbody tr", has_text="Chatbot").first.click()
    page.wait_for_selector("[data-testid=detail]:not([hidden])")
    page.wait_for_function("() => document.querySelector('[data-chart=latency] canvas') !== null")
    assert query(page)["row_feature"] == "Chatbot" and query(page)["row_model"] == "gpt-4o"
    assert "gpt-4o · Chatbot" in page.locator("[data-detail-title]").inner_text()
    for key in ("trend", "tokens", "latency"):
        assert chart_points(page, f"[data-chart={key}]") >= 7, key
    detail = api(page, "analytics/performance/detail?preset=last_7d&model=gpt-4o&feature=Chatbot")["body"]
    assert chart_points(page, "[data-chart=trend]") == 2 * len(detail["points"])
    page.mouse.move(5, 5)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "dashboard-performance")

    # The link reproduces the view: filter, sort and the open row.
    url = page.url
    page.goto(url)
    loaded(page)
    page.wait_for_selector("[data-testid=detail]:not([hidden])")
    assert page.locator("tr.selected [data-col=feature]").inner_text() == "Chatbot"
    assert page.locator("[data-testid=filter-model]").input_value() == "gpt-4o"
    page.locator("[data-close-detail]").click()
    assert page.locator("[data-testid=detail]").is_hidden()
    assert "row_model" not in query(page)

    # A range with no traffic: an empty state, not an empty table.
    page.select_option("[data-testid=page-preset]", "last_year")
    page.wait_for_selector("[data-table=performance] [data-testid=empty]")
    no_errors(page)


def test_model_analytics_tabs_filters_and_expanded_widgets(live_server, page, shot):
    seed()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/a/acme/models/")
    loaded(page)
    body = api(page, "analytics/models?preset=last_7d&tab=fine_tuned")["body"]
    assert int(number(page.locator("[data-testid=widget-requests] [data-figure=total_requests] b").inner_text())) == \
        body["requests"]["total_requests"] == \
        api(page, "metrics?preset=last_7d&model_type=fine_tuned")["body"]["metrics"]["total_requests"] > 0
    assert page.locator("[data-testid=widget-requests] [data-figure=avg_credits]").count() == 1  # hosted models show credits per request
    assert int(number(page.locator("[data-card=deployed_models] [data-value]").inner_text())) == \
        body["cards"]["deployed_models"]
    assert page.locator("[data-testid=model-cards] .tip").count() == 4
    # The latency widget says how many requests it draws, of how many.
    lat = body["latency"]
    assert int(number(page.locator("[data-testid=widget-latency] [data-figure=latency_drawn] b").inner_text())) == \
        lat["drawn"] == len(lat["points"])
    assert lat["total_requests"] == body["requests"]["total_requests"]
    slowest = max(p["latency_ms"] for p in lat["points"])
    shown = page.locator("[data-testid=widget-latency] [data-figure=latency_max] b").inner_text()
    assert number(shown.replace(" s", "")) * (1000 if shown.endswith(" s") else 1) == pytest.approx(slowest, abs=10)
    for key in ("latency", "requests", "scaling"):
        assert chart_points(page, f"[data-chart={key}]") > 0, key
    assert page.locator("[data-widget=tokens]").is_hidden()

    # A model filter narrows the widgets; deployments and versions follow the model.
    llama = next(m for m in body["options"]["models"] if m["name"] == "support-llama-ft")
    page.select_option("[data-testid=page-model]", str(llama["id"]))
    loaded(page, 2)
    assert query(page)["model_id"] == str(llama["id"])
    versions = page.locator("[data-testid=page-version] option").all_inner_texts()
    assert versions[0] == "All versions" and {"v3", "v4"} <= {v.split(" ")[0] for v in versions[1:]}
    narrowed = api(page, f"analytics/models?preset=last_7d&tab=fine_tuned&model_id={llama['id']}")["body"]
    assert int(number(page.locator("[data-testid=widget-requests] [data-figure=total_requests] b").inner_text())) == \
        narrowed["requests"]["total_requests"] < body["requests"]["total_requests"]
    shot(page, "dashboard-model-analytics")

    # Expand Requests: its own range and filters; the page keeps its own.
    url_before = page.url
    main_total = page.locator("[data-testid=widget-requests] [data-figure=total_requests] b").inner_text()
    page.locator("[data-expand=requests]").click()
    dialog = page.locator("[data-testid=expand-dialog]")
    page.wait_for_function("() => Number(document.querySelector('[data-expand-dialog]').dataset.loaded || 0) >= 1")
    assert dialog.is_visible()
    assert page.locator("[data-testid=expand-model]").input_value() == str(llama["id"])
    assert chart_points(page, "[data-chart=expanded]") > 0
    page.select_option("[data-testid=expand-preset]", "today")
    page.select_option("[data-testid=expand-model]", "")
    page.wait_for_function("() => Number(document.querySelector('[data-expand-dialog]').dataset.loaded || 0) >= 3")
    today = api(page, "analytics/models?preset=today&tab=fine_tuned")["body"]
    figure = dialog.locator("[data-figure=total_requests] b").inner_text()
    assert int(number(figure)) == today["requests"]["total_requests"]
    assert chart_points(page, "[data-chart=expanded]") == 2 * len(today["requests"]["points"])
    shot(page, "dashboard-model-analytics-expanded")
    dialog.locator("[data-close-expand]").click()
    assert not dialog.is_visible()
    assert page.url == url_before
    assert page.locator("[data-testid=widget-requests] [data-figure=total_requests] b").inner_text() == main_total
    assert page.locator("[data-testid=page-preset]").input_value() == "last_7d"

    # Scaling on a single day: the red max-replicas line; hardware named.
    page.select_option("[data-testid=page-preset]", "today")
    loaded(page, 3)
    assert page.locator("[data-scope-note]").inner_text() == "Hourly points"  # a single day shows hours (D1)
    labels = page.evaluate("Chart.getChart(document.querySelector('[data-chart=scaling] canvas')).data.datasets"
                           ".map(d => d.label)")
    assert any(label.startswith("Max replicas") for label in labels)
    # Each replica count is drawn from its own event's time (the step rises at the point, not
    # one event early); legends and tooltips read in the account's timezone, zone shown, and
    # the tooltip names the running versions (001).
    today = api(page, "analytics/models?preset=today&tab=fine_tuned")["body"]
    drawn = page.evaluate("""() => Chart.getChart(document.querySelector('[data-chart=scaling] canvas')).data.datasets
        .filter(d => !d.maxLine).map(d => ({label: d.label, stepped: d.stepped,
                                             points: d.data.map(p => [p.x, p.y, p.versions])}))""")
    assert drawn and all(d["stepped"] == "before" for d in drawn)
    for d, series in zip(drawn, today["scaling"]["deployments"]):
        assert d["label"] == series["deployment"] and re.search(r"\(deployed \d{4}-\d\d-\d\d \d\d:\d\d IST\)$", d["label"])
        # (The last point is the range's end, "now", which moves between the two calls.)
        assert d["points"][:-1] == [[datetime.fromisoformat(p["at"].replace("Z", "+00:00")).timestamp() * 1000,
                                     p["replicas"], p["versions"]] for p in series["points"][:-1]]
        assert d["points"][-1][1:] == [series["points"][-1]["replicas"], series["points"][-1]["versions"]]
    tooltip = page.evaluate("""() => {
        const chart = Chart.getChart(document.querySelector('[data-chart=scaling] canvas'));
        const i = chart.data.datasets.findIndex(d => !d.maxLine);
        const meta = chart.getDatasetMeta(i);
        chart.tooltip.setActiveElements([{datasetIndex: i, index: 0}], {x: meta.data[0].x, y: meta.data[0].y});
        chart.update();
        return chart.tooltip.body.map(b => [...b.lines, ...b.after]).flat().join(' | ');
    }""")
    first = today["scaling"]["deployments"][0]["points"][0]
    assert f"{first['replicas']} replica" in tooltip and "Hardware:" in tooltip
    assert not first["versions"] or f"Version{'s' if len(first['versions']) > 1 else ''}: {', '.join(first['versions'])}" in tooltip
    assert "IST)" in page.locator("[data-testid=as-of]").inner_text() or "Asia/Kolkata" in page.locator("[data-testid=as-of]").inner_text()
    page.locator("[data-widget=scaling]").scroll_into_view_if_needed()
    shot(page, "dashboard-model-scaling-today")
    assert page.locator("[data-testid=widget-scaling] [data-figure=hardware] b").inner_text() in ("A100-80GB", "Multiple Hardware")

    # External: tokens instead of scaling, connections and providers instead of deployments.
    page.locator("[data-tab=external]").click()
    loaded(page, 4)
    assert query(page)["tab"] == "external" and "model_id" not in query(page)
    assert page.locator("[data-widget=scaling]").is_hidden() and page.locator("[data-widget=tokens]").is_visible()
    assert page.locator("[data-testid=page-connection]").is_visible()
    assert page.locator("[data-testid=page-deployment]").is_hidden()
    assert page.locator("[data-testid=widget-requests] [data-figure=avg_credits]").count() == 0
    external = api(page, "analytics/models?preset=today&tab=external")["body"]
    assert chart_points(page, "[data-chart=tokens]") == 2 * len(external["tokens"]["points"]) > 0
    shown = page.locator("[data-testid=widget-tokens] [data-figure=total_tokens] b").inner_text()
    assert shown.endswith("K") and abs(number(shown[:-1]) - external["tokens"]["total_tokens"] / 1000) < 0.051
    no_errors(page)


def test_production_compare_cohorts_and_live(live_server, page, shot):
    acme = seed()
    page.clock.install()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/a/acme/production/?preset=last_7d")
    loaded(page)
    body = api(page, "analytics/production?preset=last_7d")["body"]
    k = body["kpis"]
    assert int(number(page.locator("[data-kpi=total_requests] [data-value]").inner_text())) == k["total_requests"]
    assert int(number(page.locator("[data-kpi=peak_rpm] [data-value]").inner_text())) == k["peak_rpm"]
    assert page.locator("[data-kpi=trend]").get_attribute("data-trend") == k["trend"]
    assert page.locator("[data-kpi=success_rate]").get_attribute("data-band") == k["success_band"]
    for key in ("volume", "success", "latency", "failures", "errors", "cost_by_prompt", "tokens", "cost"):
        assert chart_points(page, f"[data-chart={key}]") > 0, key
    assert page.locator("[data-testid=prompts-table] tbody tr").count() == len(body["prompts"]) == 6

    # A prompt filter narrows everything.
    page.select_option("[data-testid=filter-prompt]", "rag-answer")
    loaded(page, 2)
    one = api(page, "analytics/production?preset=last_7d&prompt=rag-answer")["body"]["kpis"]["total_requests"]
    assert int(number(page.locator("[data-kpi=total_requests] [data-value]").inner_text())) == one < k["total_requests"]
    page.select_option("[data-testid=filter-prompt]", "")
    loaded(page, 3)

    # Compare three prompts: a winner per metric and an overall rank.
    page.select_option("[data-testid=compare-item-1]", "support-answer")
    page.select_option("[data-testid=compare-item-2]", "rag-answer")
    page.select_option("[data-testid=compare-item-3]", "email-draft")
    page.locator("[data-testid=compare-run]").click()
    page.wait_for_selector("[data-testid=compare-table]")
    result = api(page, "analytics/compare?preset=last_7d&dimension=prompt&items=support-answer,rag-answer,email-draft")["body"]
    winner = result["overall_winner"]
    assert page.locator(f"[data-overall='{winner}'] .rank").inner_text() == "1st"
    for metric, item in result["winners"].items():
        if item:
            assert "best" in page.locator(f"td[data-metric={metric}][data-item='{item}']").inner_text()
    assert query(page)["compare"] == "support-answer,rag-answer,email-draft"

    # Cohorts: new vs returning users.
    page.locator("[data-by=users]").click()
    page.wait_for_function("() => document.querySelector('[data-by=users]').getAttribute('aria-pressed') === 'true'")
    page.wait_for_selector("[data-testid=cohorts-table] td[data-col=cohort]")
    cohorts = api(page, "analytics/cohorts?preset=last_7d&by=users")["body"]["cohorts"]
    shown = {r: int(number(t)) for r, t in zip(page.locator("[data-testid=cohorts-table] td[data-col=cohort]").all_inner_texts(),
                                               page.locator("[data-testid=cohorts-table] td[data-col=users]").all_inner_texts())}
    assert shown == {("New users" if c["cohort"] == "new" else "Returning users"): c["users"] for c in cohorts if c["users"]}
    page.locator("[data-by=feature]").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=cohorts-table] tbody tr').length === 6")
    page.locator("[data-testid=compare-card]").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, document.querySelector('[data-testid=compare-card]').getBoundingClientRect().top - 80)")
    shot(page, "dashboard-production-compare")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "dashboard-production")

    # Live refresh brings new traffic in (on "today", whose start doesn't slide).
    runs = loaded(page)
    page.select_option("[data-testid=page-preset]", "today")
    runs = loaded(page, runs + 1)
    before = int(number(page.locator("[data-kpi=total_requests] [data-value]").inner_text()))
    page.locator("[data-testid=live]").check()
    runs = loaded(page, runs + 1)
    ingest_now(acme, 4)
    page.clock.fast_forward(31_000)
    loaded(page, runs + 1)
    assert int(number(page.locator("[data-kpi=total_requests] [data-value]").inner_text())) == before + 4
    no_errors(page)


def test_usage_and_quality(live_server, page, shot):
    seed()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/a/acme/usage/?preset=last_7d")
    loaded(page)
    usage = api(page, "analytics/usage?preset=last_7d")["body"]
    assert int(number(page.locator("[data-kpi=active_users] [data-value]").inner_text())) == usage["active_users"] == \
        api(page, "metrics?preset=last_7d")["body"]["metrics"]["active_users"]
    assert number(page.locator("[data-kpi=cache_hit_rate] [data-value]").inner_text()) == \
        pytest.approx(usage["cache_hit_rate"], abs=0.006)
    # Heat map: 7 weekdays × 24 hours, busiest cell the darkest.
    cells = page.locator("[data-testid=heatmap] .hm-cell")
    assert cells.count() == 168
    busiest = max(usage["heatmap"], key=lambda c: c["requests"])
    shot(page, "dashboard-usage")
    cell = page.locator(f"[data-cell='{busiest['weekday']}-{busiest['hour']}']")
    assert int(cell.get_attribute("data-requests")) == busiest["requests"]
    cell.hover()
    assert f"{busiest['requests']:,} requests" in page.locator("[data-hm-tip]").inner_text()
    for key in ("adoption", "users", "models"):
        assert chart_points(page, f"[data-chart={key}]") > 0, key
    rates = page.locator("[data-rate]")
    assert rates.count() == 5
    assert number(page.locator("[data-rate=acceptance_rate] .value").inner_text()) == \
        pytest.approx(usage["acceptance_rate"], abs=0.006)
    page.mouse.move(5, 5)
    page.evaluate("window.scrollBy(0, document.querySelector('[data-testid=widget-heatmap]').getBoundingClientRect().top - 80)")
    shot(page, "dashboard-usage-quality")

    # A feature filter; then a range with no traffic shows empty states.
    page.select_option("[data-testid=filter-feature]", "Chatbot")
    loaded(page, 2)
    assert int(number(page.locator("[data-kpi=active_users] [data-value]").inner_text())) == \
        api(page, "analytics/usage?preset=last_7d&feature=Chatbot")["body"]["active_users"]
    # A custom range of local dates: the two date inputs, applied together.
    today = datetime.now(ZoneInfo("Asia/Kolkata")).date()
    start, end = (today - timedelta(days=3)).isoformat(), (today - timedelta(days=1)).isoformat()
    page.select_option("[data-testid=page-preset]", "custom")
    page.fill("#page-start", start)
    page.fill("#page-end", end)
    page.locator("[data-apply-range]").click()
    loaded(page, 3)
    assert (query(page)["preset"], query(page)["start"], query(page)["end"]) == ("custom", start, end)
    custom = api(page, f"analytics/usage?start={start}&end={end}&feature=Chatbot")["body"]
    assert int(number(page.locator("[data-kpi=total_requests] [data-value]").inner_text())) == custom["total_requests"] > 0
    page.goto(page.url)
    loaded(page)
    assert page.locator("#page-start").input_value() == start and page.locator("#page-end").is_visible()

    page.select_option("[data-testid=page-preset]", "last_year")
    loaded(page, 2)
    assert page.locator("[data-chart=adoption] [data-testid=empty]").is_visible()
    assert page.locator("[data-heatmap] [data-testid=empty]").is_visible()
    assert page.locator("canvas").count() == 0
    no_errors(page)
