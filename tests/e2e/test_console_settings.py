"""The console in headless Chromium: sign in, switch account, keys, members, settings."""
import pytest

from accounts.models import ApiKey, Membership, Role
from accounts.services import account_create, membership_invite, Actor, user_get_or_create
from models_registry.models import Deployment, HardwareRate, Model, ModelPrice

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def seed():
    acme, owner, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                    password="console-pass-1", timezone_name="Asia/Kolkata")
    other, _, _ = account_create(slug="globex", name="Globex", owner_email="ops@globex.test", password="x-pass-123")
    membership_invite(other, Actor.system(), email="maya@acme.test", role="viewer")
    for email, role in [("raj@acme.test", "admin"), ("lee@acme.test", "member"), ("ana@acme.test", "viewer")]:
        membership_invite(acme, Actor.system(), email=email, role=role)
    user_get_or_create("raj@acme.test", password="p-raj-12345")
    gpt = Model.objects.create(account=acme, name="gpt-4o", model_type="external", provider="openai")
    ft = Model.objects.create(account=acme, name="support-llama-ft", model_type="fine_tuned", base_model="llama-3.1-8b")
    Model.objects.create(account=acme, name="mistral-7b", model_type="open_source", base_model="mistral-7b")
    Deployment.objects.create(account=acme, model=ft, name="support-prod", hardware="A100-80GB", max_replicas=4,
                              deployed_at="2026-11-01T04:30:00Z")
    ModelPrice.objects.create(account=acme, model=gpt, input_per_million_usd="2.5", output_per_million_usd="10",
                              effective_from="2026-01-01T00:00:00Z")
    HardwareRate.objects.create(account=acme, hardware="A100-80GB", credits_per_replica_hour="4.2",
                                effective_from="2026-01-01T00:00:00Z")
    return acme, other


def test_settings_journey(live_server, page, shot):
    acme, other = seed()
    page.goto(f"{live_server.url}/login/")
    shot(page, "login")
    page.fill("#id_username", "maya@acme.test")
    page.fill("#id_password", "console-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/a/acme/settings/")
    assert page.locator("h1").inner_text() == "Settings"

    # Timezone and retention.
    page.select_option("#id_timezone", "America/New_York")
    page.fill("#id_retention_days", "45")
    page.click("[data-testid=settings-form] button[type=submit]")
    page.wait_for_selector(".toast")
    acme.refresh_from_db()
    assert (acme.timezone, acme.retention_days) == ("America/New_York", 45)
    shot(page, "console")

    # A key, shown once, copied.
    page.click("text=API keys")
    page.fill("#id_name", "production ingest")
    page.click("[data-testid=key-form] button[type=submit]")
    value = page.locator("#new-key-value").inner_text()
    key = ApiKey.objects.for_account(acme).get(name="production ingest")
    assert value.startswith(key.prefix + "_")
    page.click("[data-copy='#new-key-value']")
    assert page.locator("[data-copy='#new-key-value']").get_attribute("data-copied") == "1"
    shot(page, "api-keys")
    page.reload()
    assert page.locator("#new-key-value").count() == 0

    # Invite and change a role.
    page.click("nav.tabs >> text=Members")
    page.fill("#id_email", "sam@acme.test")
    page.select_option("#id_role", "viewer")
    page.click("[data-testid=invite-form] button[type=submit]")
    page.wait_for_selector("#invite-link")
    row = page.locator("tr[data-member='sam@acme.test']")
    row.locator("select[name=role]").select_option("member")
    row.locator("text=Change").click()
    page.wait_for_selector(".toast")
    assert Membership.objects.get(account=acme, user__email="sam@acme.test").role == Role.MEMBER
    shot(page, "members")

    # Registry pages.
    page.click("text=Model registry")
    page.wait_for_selector("table.data")
    assert page.locator("table.data tbody tr").count() == 3
    shot(page, "registry-models")
    page.click("nav.tabs >> text=Deployments")
    assert "support-prod" in page.locator("table.data").inner_text()
    shot(page, "registry-deployments")

    # Switch to the other account, where Maya is a viewer: read-only.
    page.click("[data-testid=account-switcher]")
    page.click(".switcher .menu >> text=Globex")
    page.wait_for_url("**/a/globex/registry/deployments/")
    assert page.locator("[data-testid=role]").inner_text() == "viewer"
    assert page.locator("[data-testid=registry-form]").count() == 0
    page.click("text=Settings")
    assert page.locator("#id_timezone").is_disabled()
    shot(page, "settings-viewer")
    assert not page.console_errors, page.console_errors
