"""Every settings and registry page for every role, non-members, anonymous visitors."""
import re

import pytest
from django.test import Client

from accounts.models import AuditEvent, Role
from tests.console.conftest import console_routes, home_of

ROLES = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


def post_forms(html):
    """The POST forms of a page, apart from the sign-out form every page has."""
    return [f for f in re.findall(r'<form[^>]*method="post"[^>]*>', html) if "/logout/" not in f]


def test_the_walk_covers_the_console():
    names = {r.name for r in console_routes()}
    assert {"account-settings", "account-members", "account-member-role", "account-member-remove",
            "account-api-keys", "account-api-key-revoke", "account-audit", "registry", "registry-models",
            "registry-deployments", "registry-versions", "registry-connections", "registry-prices",
            "registry-hardware-rates", "registry-prices-edit", "registry-prices-delete"} <= names


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_for_every_role(account, member_of, login, console_urls, role):
    client = login(member_of(account, role))
    writable = Role.at_least(role, Role.ADMIN)
    pages = [(route, url) for route, url, methods in console_urls(account) if "get" in methods]
    assert len(pages) >= 20
    for route, url in pages:
        response = client.get(url)
        assert response.status_code == 200, (role, url)
        html = response.content.decode()
        # The shell: account, role badge, e-mail, sign-out, a header with a title and a line.
        assert account.name in html and "Sign out" in html, url
        assert re.search(rf'data-testid="role"[^>]*>{role}<', html), url
        assert re.search(r"<h1>\s*\S", html) and 'class="page-head"' in html, url
        forms = post_forms(html)
        if route.name == "account-audit":
            assert not forms  # the log is read-only for everyone
        elif writable:
            assert forms, (role, url)
        else:
            assert not forms, (role, url)
            assert "Read-only for" in html, (role, url)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_posts_below_admin_are_refused(account, member_of, login, console_urls, role):
    client = login(member_of(account, role))
    urls = console_urls(account)
    before = AuditEvent.objects.for_account(account).count()
    for route, url, methods in urls:
        response = client.post(url, {"name": "x", "role": "owner", "email": "x@y.test", "scopes": ["read"],
                                      "timezone": "UTC", "retention_days": 1})
        assert response.status_code == 403, (role, url)
        assert "Your role can" in response.content.decode()
    assert AuditEvent.objects.for_account(account).count() == before


def test_non_members_get_404_for_every_page(account, other_account, login, console_urls):
    outsider = login(other_account.memberships.get(role=Role.OWNER).user)
    urls = console_urls(account, marker="SECRETROW")
    before = AuditEvent.objects.for_account(account).count()
    for route, url, methods in urls:
        for method in ("get", "post"):
            response = getattr(outsider, method)(url)
            assert response.status_code == 404, (method, url)
            body = response.content.decode()
            assert account.name not in body and "SECRETROW" not in body.upper(), url
    # A slug that doesn't exist answers the same way.
    assert outsider.get("/a/no-such-account/settings/").status_code == 404
    assert AuditEvent.objects.for_account(account).count() == before


def test_anonymous_visitors_are_sent_to_sign_in(account, console_urls):
    client = Client()
    for route, url, methods in console_urls(account):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url


def test_sidebar_links_only_pages_that_exist(account, login):
    html = login(account.memberships.get(role=Role.OWNER).user).get(f"/a/{account.slug}/settings/").content.decode()
    for label in ("Overview", "Performance", "Model Analytics", "Production", "Usage &amp; Quality", "Traces",
                  "Alerts", "Dashboards", "Settings"):
        assert f"<span>{label}</span>" in html, label
    assert re.search(r'<a href="/a/acme/settings/" class="nav-item active"', html)
    assert "TODO" not in html and "coming soon" not in html.lower()
    # Muted items are not links.
    for match in re.finditer(r'<span class="nav-item unavailable"[^>]*>', html):
        assert "href" not in match.group(0)


def test_home_goes_to_the_last_account_used(account, other_account, member_of, login):
    user = member_of(account, Role.ADMIN, email="two@x.test")
    member_of(other_account, Role.VIEWER, email="two@x.test")
    client = login(user)
    first = client.get("/")
    assert first.status_code == 302 and first["Location"] == home_of(account)  # the first by name
    client.get(f"/a/{other_account.slug}/settings/members/")
    assert client.get("/")["Location"] == home_of(other_account)


def test_home_without_an_account_explains(db, login):
    from accounts.services import user_get_or_create

    response = login(user_get_or_create("lonely@x.test", password="pw-lonely-1")).get("/")
    assert response.status_code == 200 and "not in an account yet" in response.content.decode()


def test_switcher_keeps_the_page(account, other_account, member_of, login):
    user = member_of(account, Role.ADMIN, email="two@x.test")
    member_of(other_account, Role.VIEWER, email="two@x.test")
    client = login(user)
    html = client.get(f"/a/{account.slug}/settings/api-keys/").content.decode()
    assert f"/switch/{other_account.slug}/?next=/a/{account.slug}/settings/api-keys/" in html
    response = client.get(f"/switch/{other_account.slug}/?next=/a/{account.slug}/settings/api-keys/")
    assert response["Location"] == f"/a/{other_account.slug}/settings/api-keys/"
    # An object page of the old account opens the list in the new one.
    response = client.get(f"/switch/{other_account.slug}/?next=/a/{account.slug}/registry/prices/12/")
    assert response["Location"] == f"/a/{other_account.slug}/registry/prices/"
    # Only accounts the user belongs to, and only console paths.
    assert client.get("/switch/nope/").status_code == 404
    response = client.get(f"/switch/{other_account.slug}/?next=https://evil.test/a/x/")
    assert response["Location"] == f"/a/{other_account.slug}/settings/"


def test_sign_in_ignores_the_case_of_the_email(account, client):
    response = client.post("/login/", {"username": "  Owner@ACME.test ", "password": "pw-owner-123"})
    assert response.status_code == 302
