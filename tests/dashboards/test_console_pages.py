"""The dashboard pages as served: every role sees them, the range and filters come from the URL,
editors are for members and above, and another account's dashboard is a 404."""
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from dashboards.models import Dashboard
from models_registry.models import Model

PAGES = ["overview", "performance", "model-analytics", "production", "usage", "dashboards"]


def login(user):
    client = Client()
    client.force_login(user)
    return client


def context_of(html):
    return json.loads(re.search(r'<script id="mp-context" type="application/json">(.*?)</script>', html, re.S).group(1))


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER])
def test_every_page_renders_for_every_role(account, member_of, role):
    client = login(member_of(account, role))
    for name in PAGES:
        response = client.get(reverse(name, kwargs={"account_slug": account.slug}))
        assert response.status_code == 200, name
        html = response.content.decode()
        # The shell, the sidebar item active, Chart.js from our own static files, the page script.
        assert re.search(r'class="nav-item active"', html), name
        assert "/static/vendor/chartjs/chart.umd.min.js" in html
        assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html), "no CDN"
        assert "/static/console/dashboards-common.js" in html
        ctx = context_of(html)
        assert ctx["account"] == account.slug and ctx["tz"] == account.timezone and ctx["csrf"]
    board = Dashboard.objects.for_account(account).get(prebuilt="cost")
    view = client.get(reverse("dashboard-view", kwargs={"account_slug": account.slug, "pk": board.pk}))
    assert view.status_code == 200 and "Cost" in view.content.decode()
    can_write = Role.at_least(role, Role.MEMBER)
    assert ("Edit dashboard" in view.content.decode()) == can_write
    edit = client.get(reverse("dashboard-edit", kwargs={"account_slug": account.slug, "pk": board.pk}))
    new = client.get(reverse("dashboard-new", kwargs={"account_slug": account.slug}))
    assert (edit.status_code, new.status_code) == ((200, 200) if can_write else (403, 403))


def test_the_range_and_filters_come_from_the_url(account, member_of):
    Model.objects.create(account=account, name="gpt-4o")
    client = login(member_of(account, Role.VIEWER))
    html = client.get("/a/acme/performance/?preset=last_30d&model=gpt-4o").content.decode()
    assert re.search(r'<option value="last_30d" selected>Last 30 days</option>', html)
    assert re.search(r'<option value="gpt-4o" selected>gpt-4o</option>', html)
    html = client.get("/a/acme/performance/?start=2026-11-01&end=2026-11-07").content.decode()
    assert re.search(r'<option value="custom" selected>', html)
    assert 'value="2026-11-01"' in html and 'value="2026-11-07"' in html
    # A dashboard opens on its own default range.
    board = Dashboard.objects.for_account(account).get(prebuilt="quality")
    Dashboard.objects.filter(pk=board.pk).update(preset="last_90d")
    html = client.get(f"/a/acme/dashboards/{board.pk}/").content.decode()
    assert re.search(r'<option value="last_90d" selected>', html)
    assert context_of(html)["default_preset"] == "last_90d"


def test_another_accounts_dashboard_is_a_404(account, other_account, member_of):
    theirs = Dashboard.objects.for_account(other_account).get(prebuilt="executive")
    client = login(member_of(account, Role.OWNER))
    for name in ("dashboard-view", "dashboard-edit"):
        own_slug = reverse(name, kwargs={"account_slug": account.slug, "pk": theirs.pk})
        their_slug = reverse(name, kwargs={"account_slug": other_account.slug, "pk": theirs.pk})
        for url in (own_slug, their_slug):
            response = client.get(url)
            assert response.status_code == 404, url
            assert other_account.name not in response.content.decode()
    listed = client.get("/a/acme/dashboards/").content.decode()
    assert f'data-board="{theirs.pk}"' not in listed
    assert listed.count('data-testid="board"') == 4
