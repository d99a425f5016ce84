"""Issue 18 item 10: a custom dashboard's Alerts widget and its drag-to-arrange grid, in headless
Chromium. The Alerts widget lists the events of its selection (an independent filter over the
AlertEvent rows decides which), latest first; the grid is arranged by dragging a widget's handle
(move) and its right edge (width), then saved: the order and widths are stored and shown after
a reload. A viewer gets no Arrange button. Screenshots: dashboard-alerts-widget.png,
dashboard-arranging.png, dashboard-arranged.png."""
from datetime import datetime, timedelta, timezone

import pytest

from accounts.models import Role
from alerts.models import AlertEvent
from dashboards import services
from dashboards.models import Widget
from tests.dashboards.e2e_support import loaded, no_errors, seed, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def widget(page, title):
    return page.locator("[data-testid=board-widget]", has=page.locator("h2", has_text=title)).first


def titles(page):
    return page.locator("[data-testid=board-widget] h2").all_inner_texts()


def expected_events(account, start, end, prompt):
    """Events open at some instant of [start, end) whose scope does not name another prompt."""
    rows = [e for e in AlertEvent.objects.for_account(account)
            if e.fired_at < end and (e.resolved_at is None or e.resolved_at >= start)
            and e.scope.get("prompt", prompt) == prompt]
    return [e.rule_name for e in sorted(rows, key=lambda e: (e.fired_at, e.pk), reverse=True)]


def test_alerts_widget_and_drag_to_arrange(live_server, page, shot):
    acme = seed(days=3, per_day=300)
    now = datetime.now(timezone.utc)
    for name, hours, scope, status, resolved in (
            ("Support errors", 2, {"prompt": "support-answer"}, "firing", None),
            ("All traffic p95", 5, {}, "acknowledged", None),
            ("RAG errors", 1, {"prompt": "rag-answer"}, "firing", None),             # another prompt: left out
            ("Old incident", 24 * 20, {}, "resolved", now - timedelta(days=19)),      # over before the range
            ("Yesterday's blip", 30, {"prompt": "support-answer"}, "resolved", now - timedelta(hours=29))):
        AlertEvent.objects.create(account=acme, rule_name=name, metric="error_rate", severity="critical",
                                  status=status, operator="gt", threshold=5.0, value=8.0, scope=scope,
                                  started_at=now - timedelta(hours=hours), fired_at=now - timedelta(hours=hours),
                                  resolved_at=resolved)
    board = services.dashboard_create(acme, name="Support desk", preset="last_7d", widgets=[
        {"title": "Requests", "kind": "metric", "metrics": ["total_requests"], "group_by": "", "width": 1},
        {"title": "Traffic", "kind": "line", "metrics": ["total_requests"], "group_by": "time", "width": 2},
        {"title": "Support alerts", "kind": "alerts", "metrics": [], "group_by": "", "width": 1, "limit": 8,
         "filters": {"prompt": "support-answer"}},
        {"title": "By model", "kind": "table", "metrics": ["total_requests"], "group_by": "model", "width": 2},
    ])
    sign_in(page, live_server.url, "lee@acme.test")
    page.goto(f"{live_server.url}/a/acme/dashboards/{board.pk}/")
    loaded(page)

    # The Alerts widget: the selection's events, latest first, with open / in-range counts.
    alerts = widget(page, "Support alerts")
    alerts.locator("[data-testid=alert-items] li").first.wait_for()
    stamp = page.locator("[data-testid=as-of]")
    start, end = (datetime.fromisoformat(stamp.get_attribute(a)) for a in ("data-start", "data-end"))
    want = expected_events(acme, start, end, "support-answer")
    assert want == ["Support errors", "All traffic p95", "Yesterday's blip"]
    assert alerts.locator("[data-testid=alert-items] li strong").all_inner_texts() == want
    assert alerts.locator("[data-figure=open] b").inner_text() == "2"
    assert alerts.locator("[data-figure=total] b").inner_text() == "3"
    alerts.scroll_into_view_if_needed()
    shot(page, "dashboard-alerts-widget")

    # Arrange: move the Alerts widget first, make the metric card full width, save.
    assert titles(page) == ["Requests", "Traffic", "Support alerts", "By model"]
    page.click("[data-testid=arrange-dashboard]")
    page.wait_for_selector("[data-testid=arrange-bar]:visible")
    page.evaluate("() => window.scrollTo(0, 0)")
    handle = widget(page, "Support alerts").locator("[data-move-handle]")
    target = widget(page, "Requests").bounding_box()
    h = handle.bounding_box()
    page.mouse.move(h["x"] + h["width"] / 2, h["y"] + h["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] + 30, target["y"] + 40, steps=8)
    page.mouse.move(target["x"] + 20, target["y"] + 30, steps=4)
    page.mouse.up()
    assert titles(page) == ["Support alerts", "Requests", "Traffic", "By model"]

    card = widget(page, "Requests")
    edge = card.locator("[data-resize-handle]").bounding_box()
    grid = page.locator("[data-testid=board-grid]").bounding_box()
    page.mouse.move(edge["x"] + edge["width"] / 2, edge["y"] + edge["height"] / 2)
    page.mouse.down()
    page.mouse.move(grid["x"] + grid["width"] - 30, edge["y"] + edge["height"] / 2, steps=6)
    assert "span-2" in card.get_attribute("class")  # to the grid's last column: two of them
    page.mouse.move(grid["x"] + grid["width"] + 12, edge["y"] + edge["height"] / 2, steps=4)
    shot(page, "dashboard-arranging")
    page.mouse.up()
    assert "span-3" in card.get_attribute("class")
    assert card.locator("[data-width-label]").inner_text() == "Full width"

    page.click("[data-testid=save-layout]")
    page.wait_for_function("() => Number(document.body.dataset.layoutSaved || 0) >= 1")
    loaded(page, 2)
    stored = list(Widget.objects.for_account(acme).filter(dashboard=board).order_by("position")
                  .values_list("title", "width"))
    assert stored == [("Support alerts", 1), ("Requests", 3), ("Traffic", 2), ("By model", 2)]
    page.reload()
    loaded(page)
    assert titles(page) == ["Support alerts", "Requests", "Traffic", "By model"]
    assert "span-3" in widget(page, "Requests").get_attribute("class")
    widget(page, "Support alerts").locator("[data-testid=alert-items] li").first.wait_for()
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "dashboard-arranged")
    no_errors(page)

    # A viewer reads the dashboard but cannot arrange it.
    viewer = acme.memberships.get(role=Role.VIEWER).user
    page.context.clear_cookies()
    sign_in(page, live_server.url, viewer.email)
    page.goto(f"{live_server.url}/a/acme/dashboards/{board.pk}/")
    loaded(page)
    assert page.locator("[data-testid=arrange-dashboard]").count() == 0
