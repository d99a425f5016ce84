"""The console in headless Chromium: sign in, settings, keys, members, registry, account switch.

Screenshots of each page land in the tests' output folder (tests/e2e/conftest.py).
"""
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import ApiKey, AuditEvent, Membership, Role
from accounts.services import Actor, account_create, api_key_create, api_key_revoke, membership_invite, \
    user_get_or_create
from models_registry.models import Connection, Deployment, DeploymentVersion, HardwareRate, Model, ModelPrice

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def seed():
    acme, maya, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                   password="console-pass-1", timezone_name="Asia/Kolkata")
    globex, _, _ = account_create(slug="globex", name="Globex", owner_email="ops@globex.test", password="x-pass-123")
    membership_invite(globex, Actor.system(), email="maya@acme.test", role=Role.VIEWER)
    owner = Actor(user=maya)
    for email, role in [("raj@acme.test", Role.ADMIN), ("lee@acme.test", Role.MEMBER), ("ana@acme.test", Role.VIEWER)]:
        membership_invite(acme, owner, email=email, role=role)
    user_get_or_create("raj@acme.test", password="p-raj-12345")
    user_get_or_create("lee@acme.test", password="p-lee-12345")
    ingest, _ = api_key_create(acme, owner, scopes=["ingest"], name="support-bot ingest")
    ApiKey.objects.filter(pk=ingest.pk).update(last_used_at=datetime.now(timezone.utc))
    old, _ = api_key_create(acme, owner, scopes=["ingest", "read"], name="staging (old)")
    api_key_revoke(acme, owner, old)

    gpt = Model.objects.create(account=acme, name="gpt-4o", model_type="external", provider="openai")
    Model.objects.create(account=acme, name="claude-sonnet", model_type="external", provider="anthropic")
    ft = Model.objects.create(account=acme, name="support-llama-ft", model_type="fine_tuned",
                              base_model="llama-3.1-8b", provider="self-hosted")
    mistral = Model.objects.create(account=acme, name="mistral-7b-instruct", model_type="open_source",
                                   base_model="mistral-7b")
    first = Deployment.objects.create(account=acme, model=ft, name="support-prod", hardware="A100-80GB", max_replicas=4,
                                      deployed_at="2026-10-01T04:30:00Z", undeployed_at="2026-10-20T09:00:00Z")
    again = Deployment.objects.create(account=acme, model=ft, name="support-prod", hardware="A100-80GB",
                                      max_replicas=6, deployed_at="2026-10-20T09:30:00Z")
    Deployment.objects.create(account=acme, model=mistral, name="mistral-chat", hardware="L4", max_replicas=2,
                              deployed_at="2026-11-02T06:00:00Z")
    for dep, versions in ((first, ["v1", "v2"]), (again, ["v3"])):
        for v in versions:
            DeploymentVersion.objects.create(account=acme, deployment=dep, version=v)
    Connection.objects.create(account=acme, name="openai-prod", provider="openai")
    ModelPrice.objects.create(account=acme, model=gpt, input_per_million_usd=Decimal("5"),
                              output_per_million_usd=Decimal("15"), effective_from=T0 - timedelta(days=200))
    ModelPrice.objects.create(account=acme, model=gpt, input_per_million_usd=Decimal("2.5"),
                              output_per_million_usd=Decimal("10"), effective_from=T0)
    HardwareRate.objects.create(account=acme, hardware="A100-80GB", credits_per_replica_hour=Decimal("4.2"),
                                effective_from=T0)
    HardwareRate.objects.create(account=acme, hardware="L4", credits_per_replica_hour=Decimal("0.8"),
                                effective_from=T0)
    return acme, globex


def nav(page, label):
    page.locator(".sidebar .nav-item", has_text=label).click()


def tab(page, label):
    page.locator("nav.tabs a", has_text=label).click()


def test_console_journey(live_server, browser, page, shot):
    acme, globex = seed()
    base = live_server.url

    # Sign in: a wrong password first, then the right one.
    page.goto(f"{base}/login/")
    shot(page, "login")
    page.fill("#id_username", "maya@acme.test")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "don't match" in page.locator(".notice").inner_text()
    page.fill("#id_password", "console-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/a/acme/**")  # the account's home page
    nav(page, "Settings")
    page.wait_for_url("**/a/acme/settings/")
    assert page.locator("h1").inner_text() == "Account"
    assert page.locator("[data-testid=role]").inner_text() == "owner"
    # Every page of the sidebar exists: all of them are links, none is muted.
    assert page.locator(".sidebar a.nav-item", has_text="Settings").count() == 1
    assert page.locator(".sidebar a.nav-item").count() == 11  # Budgets included
    assert page.locator(".sidebar span.nav-item.unavailable").count() == 0

    # Timezone and retention.
    page.select_option("#id_timezone", "America/New_York")
    page.fill("#id_retention_days", "45")
    page.click("[data-testid=settings-form] button[type=submit]")
    page.wait_for_selector(".toast.success")
    acme.refresh_from_db()
    assert (acme.timezone, acme.retention_days) == ("America/New_York", 45)
    assert page.locator(".sidebar-foot").inner_text().endswith("America/New_York")
    shot(page, "console")
    # Info tooltips open on hover.
    tip = page.locator("label[for=id_retention_days] .tip")
    tip.hover()
    page.wait_for_function("(el) => getComputedStyle(el, '::after').opacity === '1'", arg=tip.element_handle())
    assert "aggregates are kept" in tip.get_attribute("data-tip")
    page.mouse.move(0, 0)

    # A key, shown once, copied to the clipboard.
    tab(page, "API keys")
    page.fill("#id_name", "production ingest")
    page.check("input[name=scopes][value=read]")
    page.click("[data-testid=key-form] button[type=submit]")
    value = page.locator("#new-key-value").inner_text()
    key = ApiKey.objects.for_account(acme).get(name="production ingest")
    assert value.startswith(key.prefix + "_") and key.scopes == ["ingest", "read"]
    page.click("[data-copy='#new-key-value']")
    page.wait_for_function("() => document.querySelector(\"[data-copy='#new-key-value']\").dataset.copied === '1'")
    assert page.evaluate("navigator.clipboard.readText()") == value
    page.mouse.move(0, 0)
    shot(page, "api-keys")
    page.reload()
    assert page.locator("#new-key-value").count() == 0
    assert page.locator(f"tr[data-key='{key.prefix}']").count() == 1
    assert value not in page.content()

    # Revoke the old ingest key (confirm dialog accepted).
    page.once("dialog", lambda dialog: dialog.accept())
    ingest = ApiKey.objects.for_account(acme).get(name="support-bot ingest")
    page.locator(f"tr[data-key='{ingest.prefix}'] button", has_text="Revoke").click()
    page.wait_for_selector(".toast.success")
    ingest.refresh_from_db()
    assert ingest.revoked_at is not None

    # Invite a member (e-mail with a set-password link) and change a role.
    tab(page, "Members")
    page.fill("#id_email", "sam@acme.test")
    page.select_option("#id_role", "viewer")
    page.click("[data-testid=invite-form] button[type=submit]")
    link = page.locator("#invite-link").inner_text()
    assert "/reset/" in link
    assert any(m.to == ["sam@acme.test"] and link in m.body for m in mail.outbox)
    shot(page, "members")
    row = page.locator("tr[data-member='sam@acme.test']")
    row.locator("select[name=role]").select_option("member")
    row.locator("button", has_text="Change role").click()
    page.wait_for_selector(".toast.success")
    assert Membership.objects.get(account=acme, user__email="sam@acme.test").role == Role.MEMBER
    # The last owner can't be demoted: the service's error is shown.
    row = page.locator("tr[data-member='maya@acme.test']")
    row.locator("select[name=role]").select_option("admin")
    row.locator("button", has_text="Change role").click()
    page.wait_for_selector(".toast.error")
    assert "at least one owner" in page.locator(".toast.error").inner_text()
    page.locator(".toast.error .toast-close").click()
    page.wait_for_selector(".toast", state="detached")

    # The audit log has all of it.
    tab(page, "Audit log")
    text = page.locator("table.data").inner_text()
    for action in ("account.settings_changed", "api_key.created", "api_key.revoked", "membership.invited",
                   "membership.role_changed"):
        assert action in text, action
    assert "America/New_York" in text
    page.select_option("[data-testid=audit-filter] select", "api_key.revoked")
    page.wait_for_url("**action=api_key.revoked**")
    assert page.locator("table.data tbody tr").count() == 2
    page.select_option("[data-testid=audit-filter] select", "")
    page.wait_for_url(re.compile(r"/settings/audit/\?action=$"))
    shot(page, "audit-log")

    # The invited person sets a password through the e-mailed link and signs in.
    guest = browser.new_context(viewport={"width": 1360, "height": 860})
    other = guest.new_page()
    other.goto(link)
    other.wait_for_selector("#id_new_password1")
    shot(other, "set-password")
    other.fill("#id_new_password1", "a-Strong-pass-9")
    other.fill("#id_new_password2", "a-Strong-pass-9")
    other.click("button[type=submit]")
    other.wait_for_url("**/a/acme/**")
    assert "Welcome" in other.locator(".toast.success").inner_text()
    nav(other, "Settings")
    other.wait_for_url("**/a/acme/settings/")
    assert other.locator("[data-testid=role]").inner_text() == "member"
    assert other.locator("[data-testid=read-only]").count() == 1
    guest.close()

    # Registry pages.
    nav(page, "Model registry")
    page.wait_for_selector("[data-testid=registry-table]")
    assert page.locator("[data-testid=registry-table] tbody tr").count() == 4
    shot(page, "registry-models")
    tab(page, "Deployments")
    text = page.locator("[data-testid=registry-table]").inner_text()
    assert text.count("support-prod") == 2 and "v3" in text
    shot(page, "registry-deployments")
    page.locator("[data-testid=registry-table] tr", has_text="v3").locator("a", has_text="Edit").click()
    page.wait_for_selector("[data-testid=registry-edit-form]")
    assert page.locator("#id_max_replicas").input_value() == "6"
    page.fill("#id_max_replicas", "8")
    shot(page, "registry-deployment-edit")
    page.click("[data-testid=registry-edit-form] button[type=submit]")
    page.wait_for_selector(".toast.success")
    assert Deployment.objects.for_account(acme).get(max_replicas=8).versions.get().version == "v3"
    tab(page, "Prices")
    assert "In force" in page.locator("[data-testid=registry-table]").inner_text()
    page.select_option("#id_model", label="claude-sonnet")
    page.fill("#id_input_per_million_usd", "3")
    page.fill("#id_output_per_million_usd", "15")
    page.fill("#id_effective_from", "2026-01-01T00:00")
    page.click("[data-testid=registry-form] button[type=submit]")
    page.wait_for_selector(".toast.success")
    price = ModelPrice.objects.for_account(acme).get(model__name="claude-sonnet")
    assert price.effective_from == datetime(2026, 1, 1, 5, 0, tzinfo=timezone.utc)  # New York midnight
    page.mouse.move(0, 0)
    shot(page, "registry-prices")
    tab(page, "Hardware rates")
    shot(page, "registry-hardware-rates")
    assert AuditEvent.objects.for_account(acme).filter(action="registry.modelprice.created").exists()

    # Switch to the other account, where Maya is a viewer: the same page, read-only.
    page.click("[data-testid=account-switcher]")
    shot(page, "account-switcher")
    page.locator(".switcher .menu a", has_text="Globex").click()
    page.wait_for_url("**/a/globex/registry/hardware-rates/")
    assert page.locator("[data-testid=role]").inner_text() == "viewer"
    assert page.locator("[data-testid=registry-form]").count() == 0
    nav(page, "Settings")
    page.wait_for_url("**/a/globex/settings/")
    assert page.locator("#id_timezone").is_disabled()
    assert page.locator("[data-testid=settings-form] button[type=submit]").count() == 0
    shot(page, "settings-viewer")
    tab(page, "API keys")
    assert page.locator("[data-testid=key-form]").count() == 0
    assert "No API keys yet" in page.locator(".empty").inner_text()

    assert not page.console_errors, page.console_errors

    # Another account's pages, or ones that don't exist: the same styled 404.
    response = page.goto(f"{base}/a/initech/settings/")
    assert response.status == 404 and "Page not found" in page.locator("h1").inner_text()
    shot(page, "not-found")
