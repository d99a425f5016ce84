"""Custom dashboards (D8) in headless Chromium: the pre-built ones render their widgets with the
API's figures; a member creates a dashboard (a bad filter is refused with its field), reopens,
edits, reorders and deletes it; a viewer reads it only; account B never opens A's dashboards."""
import re

import pytest

from accounts.services import account_create
from dashboards.models import Dashboard
from tests.dashboards.e2e_support import PASSWORD, api, chart_points, loaded, no_errors, number, seed, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def widget(page, title):
    return page.locator("[data-testid=board-widget]", has=page.locator("h2", has_text=title)).first


def test_prebuilt_dashboards_render_with_the_apis_figures(live_server, page, shot):
    acme = seed()
    sign_in(page, live_server.url, "lee@acme.test")
    page.locator(".sidebar .nav-item", has_text="Dashboards").click()
    page.wait_for_url("**/a/acme/dashboards/")
    assert page.locator("[data-testid=board-link]").all_inner_texts() == ["Executive", "Performance", "Cost", "Quality"]
    shot(page, "dashboard-custom-list")

    page.locator("[data-testid=board-link]", has_text="Executive").click()
    loaded(page)
    metrics = api(page, "metrics?preset=last_7d")["body"]["metrics"]
    assert int(number(widget(page, "Requests").locator("[data-value]").inner_text())) == metrics["total_requests"]
    assert int(number(widget(page, "Active users").locator("[data-value]").inner_text())) == metrics["active_users"]
    assert number(widget(page, "Cost").locator(".big").inner_text()) == pytest.approx(metrics["total_cost_usd"], abs=0.01)
    assert chart_points(page, f"[data-widget-id='{widget(page, 'Traffic').get_attribute('data-widget-id')}']") >= 14
    assert chart_points(page, f"[data-widget-id='{widget(page, 'Cost by model').get_attribute('data-widget-id')}']") >= 3
    by_model = api(page, "metrics/breakdown?preset=last_7d&by=model")["body"]["rows"]
    table = widget(page, "Top issues")
    assert table.locator("tbody tr").count() == len(by_model) == 7
    worst = max(by_model, key=lambda r: r["failed_requests"])
    assert table.locator("tbody tr").first.locator("td").first.inner_text() == worst["model"]
    shot(page, "dashboard-custom-executive")

    for name in ("Performance", "Cost", "Quality"):
        board = Dashboard.objects.for_account(acme).get(name=name)
        page.goto(f"{live_server.url}/a/acme/dashboards/{board.pk}/")
        loaded(page)
        assert page.locator("[data-testid=board-widget]").count() == board.widgets.count()
        assert page.locator("[data-testid=board-widget] canvas").count() >= 3, name
        assert page.locator(".notice.bad:visible").count() == 0, name
    no_errors(page)


def test_a_member_creates_reopens_edits_reorders_and_deletes_a_dashboard(live_server, page, shot):
    acme = seed(days=3)
    sign_in(page, live_server.url, "lee@acme.test")
    page.goto(f"{live_server.url}/a/acme/dashboards/")
    page.locator("[data-testid=new-dashboard]").click()
    page.wait_for_url("**/dashboards/new/")
    loaded(page)
    editors = page.locator("[data-testid=widget-editor]")
    assert editors.count() == 2  # a starting point: a metric card and a line chart
    page.fill("#d-name", "Support costs")
    page.fill("#d-description", "What the support features spend")
    page.select_option("#d-preset", "last_30d")
    # A dashboard filter naming a model this account doesn't have.
    page.locator("[data-add-filter=dashboard]").click()
    page.locator("[data-d-filters] [data-filter-value]").fill("no-such-model")

    page.locator("[data-testid=add-widget]").click()
    third = editors.nth(2)
    third.locator("[data-w=title]").fill("Spend by prompt")
    third.locator("[data-w=kind]").select_option("pie")
    assert third.locator("[data-w=group_by]").input_value() == "model"
    third.locator("[data-w=group_by]").select_option("prompt")
    third.locator("[data-metric]").first.select_option("total_cost_usd")
    third.locator("text=+ filter").click()
    third.locator("[data-filter-name]").select_option("feature")
    third.locator("[data-filter-value]").fill("Chatbot")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "dashboard-custom-editor")

    page.locator("[data-testid=save-dashboard]").click()
    error = page.locator("[data-field=filters] [data-error-for=filters]").first
    error.wait_for()
    assert "no model named 'no-such-model' in this account" in error.inner_text()
    assert "/new/" in page.url and not Dashboard.objects.for_account(acme).filter(name="Support costs").exists()
    # The refused save is the one console message the browser logs (the 400 response itself).
    assert page.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    page.console_errors.clear()
    page.locator("[data-d-filters] [data-filter-row] button").click()
    page.locator("[data-testid=save-dashboard]").click()
    page.wait_for_url(re.compile(r"/a/acme/dashboards/\d+/$"))
    board = Dashboard.objects.for_account(acme).get(name="Support costs")
    assert page.url.endswith(f"/dashboards/{board.pk}/")
    assert [w.title for w in board.widgets.all()] == ["Requests", "Requests over time", "Spend by prompt"]
    spend = board.widgets.get(title="Spend by prompt")
    assert (spend.kind, spend.group_by, spend.metrics, spend.filters) == ("pie", "prompt", ["total_cost_usd"],
                                                                           {"feature": "Chatbot"})
    loaded(page)
    assert page.locator("[data-testid=page-preset]").input_value() == "last_30d"
    requests = api(page, "metrics?preset=last_30d")["body"]["metrics"]["total_requests"]
    assert int(number(widget(page, "Requests").locator("[data-value]").inner_text())) == requests
    pie = f"[data-widget-id='{spend.pk}']"
    by_prompt = api(page, "metrics/breakdown?preset=last_30d&by=prompt&feature=Chatbot")["body"]["rows"]
    assert chart_points(page, pie) == len([r for r in by_prompt if r["total_cost_usd"] > 0]) >= 1
    shot(page, "dashboard-custom-new")

    # Reopen it from the list.
    page.locator(".sidebar .nav-item", has_text="Dashboards").click()
    page.wait_for_url("**/a/acme/dashboards/")
    assert page.locator("[data-testid=board-link]").all_inner_texts()[-1] == "Support costs"
    page.locator("[data-testid=board-link]", has_text="Support costs").click()
    loaded(page)
    assert page.locator("h1").inner_text() == "Support costs"
    assert page.locator("[data-testid=board-widget]").count() == 3

    # Edit: the pie moves to the top; the line becomes a bar.
    page.locator("[data-testid=edit-dashboard]").click()
    loaded(page)
    editors.nth(2).locator("[data-w-move='-1']").click()
    editors.nth(1).locator("[data-w-move='-1']").click()
    editors.nth(2).locator("[data-w=kind]").select_option("bar")
    page.locator("[data-testid=save-dashboard]").click()
    page.wait_for_url(f"**/dashboards/{board.pk}/")
    loaded(page)
    assert [w.title for w in board.widgets.all()] == ["Spend by prompt", "Requests", "Requests over time"]
    assert page.locator("[data-testid=board-widget] h2").all_inner_texts() == \
        ["Spend by prompt", "Requests", "Requests over time"]
    assert board.widgets.get(title="Requests over time").kind == "bar"

    # Reorder the list: Support costs moves up one place, and stays there.
    page.goto(f"{live_server.url}/a/acme/dashboards/")
    card = page.locator(f"[data-board='{board.pk}']")
    card.locator("[data-move='-1']").click()
    page.wait_for_function("() => document.querySelector('[data-testid=dashboard-list]').dataset.saved")
    page.reload()
    assert page.locator("[data-testid=board-link]").all_inner_texts() == \
        ["Executive", "Performance", "Cost", "Support costs", "Quality"]

    # Delete it.
    page.once("dialog", lambda d: d.accept())
    page.locator(f"[data-board='{board.pk}'] [data-testid=board-delete]").click()
    page.wait_for_function(f"() => !document.querySelector('[data-board=\"{board.pk}\"]')")
    assert not Dashboard.objects.filter(pk=board.pk).exists()
    no_errors(page)


def test_viewers_read_only_and_other_accounts_never_see_them(live_server, browser, page):
    acme = seed(days=2)
    executive = Dashboard.objects.for_account(acme).get(prebuilt="executive")
    sign_in(page, live_server.url, "ana@acme.test")
    page.goto(f"{live_server.url}/a/acme/dashboards/")
    assert page.locator("[data-testid=new-dashboard]").count() == 0
    assert page.locator("[data-testid=read-only]").is_visible()
    assert page.locator("[data-testid=board-edit], [data-testid=board-delete]").count() == 0
    page.goto(f"{live_server.url}/a/acme/dashboards/{executive.pk}/")
    loaded(page)
    assert page.locator("[data-testid=edit-dashboard]").count() == 0
    assert page.locator("[data-testid=board-widget] canvas").count() >= 2
    no_errors(page)
    response = page.goto(f"{live_server.url}/a/acme/dashboards/{executive.pk}/edit/")
    assert response.status == 403

    # A member of account B: A's dashboards are not found, by page or by API.
    globex, _, _ = account_create(slug="globex", name="Globex", owner_email="bob@globex.test", password=PASSWORD)
    theirs = Dashboard.objects.for_account(globex).get(prebuilt="executive")
    other = browser.new_context(viewport={"width": 1360, "height": 860}).new_page()
    sign_in_b(other, live_server.url)
    for url in (f"/a/acme/dashboards/{executive.pk}/", f"/a/globex/dashboards/{executive.pk}/",
                f"/a/globex/dashboards/{executive.pk}/edit/"):
        response = other.goto(live_server.url + url)
        assert response.status == 404, url
        assert "Executive" not in other.locator("body").inner_text()
    assert api(other, f"dashboards/{executive.pk}", slug="globex")["status"] == 404
    assert api(other, f"dashboards/widgets/{executive.widgets.first().pk}", slug="globex")["status"] == 404
    assert api(other, f"dashboards/{executive.pk}", slug="acme")["status"] == 404
    listed = api(other, "dashboards", slug="globex")["body"]["results"]
    assert [d["id"] for d in listed] == list(Dashboard.objects.for_account(globex).values_list("pk", flat=True))
    assert executive.pk not in [d["id"] for d in listed] and theirs.pk in [d["id"] for d in listed]
    other.context.close()


def sign_in_b(page, base):
    page.goto(f"{base}/login/")
    page.fill("#id_username", "bob@globex.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/a/globex/**")


def test_custom_metric_and_peak_cards_show_the_apis_figures(live_server, page):
    """A custom metric (L6) on a metric card and the Performance board's exact peak RPM equal
    what their endpoints answer for the same range."""
    from accounts.services import Actor
    from alerts.services.rules import custom_metric_create
    from dashboards.services import dashboard_create

    acme = seed()
    ratio = custom_metric_create(acme, Actor.system(), name="output_share",
                                 formula="output_tokens / (input_tokens + output_tokens) * 100", unit="percent")
    board = dashboard_create(acme, name="Custom figures", preset="last_7d", widgets=[
        {"title": "Output share", "kind": "metric", "metrics": [f"custom:{ratio.pk}"], "group_by": ""}])
    sign_in(page, live_server.url, "lee@acme.test")
    page.goto(f"{live_server.url}/a/acme/dashboards/{board.pk}/")
    loaded(page)
    value = api(page, f"custom-metrics/{ratio.pk}/value?preset=last_7d")["body"]["value"]
    assert 0 < value < 100
    assert number(widget(page, "Output share").locator(".big").inner_text()) == pytest.approx(value, abs=0.06)

    performance = Dashboard.objects.for_account(acme).get(name="Performance")
    page.goto(f"{live_server.url}/a/acme/dashboards/{performance.pk}/")
    loaded(page)
    peak = api(page, f"metrics?preset={performance.preset}")["body"]["metrics"]["peak_rpm"]
    assert peak > 0
    assert int(number(widget(page, "Peak requests per minute").locator(".big").inner_text())) == peak
    no_errors(page)
