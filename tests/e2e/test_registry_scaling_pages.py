"""Issue 18 item 6: the scaling events list is paginated (it was one 38,707-px page), newest
first, in the account's timezone; and the dashboard editor offers the Alerts widget (item 10),
which names no metric. Screenshots: registry-scaling-paged.png, dashboard-editor-alerts.png."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dashboards.models import Dashboard
from models_registry.models import Deployment, ReplicaEvent
from tests.dashboards.e2e_support import loaded, no_errors, seed, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_scaling_events_are_paged_and_the_editor_offers_alerts(live_server, page, shot):
    acme = seed(days=2, per_day=200)
    dep = Deployment.objects.for_account(acme).order_by("id").first()
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    ReplicaEvent.objects.bulk_create([ReplicaEvent(account=acme, deployment=dep, at=t0 + timedelta(minutes=7 * i),
                                                   replicas=1 + i % 4, hardware="A100") for i in range(260)])
    total = ReplicaEvent.objects.for_account(acme).count()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/a/acme/registry/scaling/")
    rows = page.locator("[data-testid=registry-table] tbody tr")
    assert rows.count() == 50
    pages = -(-total // 50)
    assert f"1–50 of {total} · page 1 of {pages}" in page.locator("[data-testid=registry-pager]").inner_text()
    newest = ReplicaEvent.objects.for_account(acme).order_by("-at", "-id").first()
    local = newest.at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert f"{local.day} {local:%b %Y %H:%M}" in rows.first.inner_text()
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < 6000, height  # a page, not 38,707 px
    page.locator("[data-testid=registry-pager] a[rel=next]").click()
    page.wait_for_url("**/registry/scaling/?page=2")
    assert "page 2 of" in page.locator("[data-testid=registry-pager]").inner_text()
    page.locator("[data-testid=registry-pager]").scroll_into_view_if_needed()
    shot(page, "registry-scaling-paged")

    # The editor: an Alerts widget hides metrics and grouping and saves with none.
    board = Dashboard.objects.for_account(acme).get(name="Executive")
    page.goto(f"{live_server.url}/a/acme/dashboards/{board.pk}/edit/")
    loaded(page)
    page.click("[data-testid=add-widget]")
    editor = page.locator("[data-testid=widget-editor]").last
    editor.locator("[data-w=title]").fill("Open alerts")
    editor.locator("[data-w=kind]").select_option("alerts")
    assert editor.locator("[data-field=metrics]").is_hidden() and editor.locator("[data-field=group_by]").is_hidden()
    assert editor.locator("[data-field=limit] label").inner_text() == "Events listed"
    editor.scroll_into_view_if_needed()
    shot(page, "dashboard-editor-alerts")
    page.click("[data-testid=save-dashboard]")
    page.wait_for_url(f"**/dashboards/{board.pk}/")
    loaded(page)
    saved = board.widgets.get(title="Open alerts")
    assert (saved.kind, saved.metrics, saved.group_by) == ("alerts", [], "")
    page.locator("[data-widget-id='%d'] [data-alert-list]" % saved.pk).wait_for()
    no_errors(page)
