"""Settings in headless Chromium: the Redaction page (create, test on a sample, list, delete)
and the danger zone (the button waits for the slug; deleting signs the owner out of the
account at once). Screenshots: tests/output/screenshots/settings-*.png."""
import pytest

from accounts.deletion import account_deletion_run
from accounts.models import Account, AccountDeletion, Membership, Role
from accounts.services import Actor, account_create, membership_invite
from traces.models import RedactionRule

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLE = "Contact ana@acme.test, order ORD-2026-000123, card 4111 1111 1111 1111."


def sign_in(page, base, email, password):
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/a/**")


def test_redaction_rules_page(live_server, page, shot):
    acme, maya, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                   password="console-pass-1")
    RedactionRule.objects.create(account=acme, kind="email")
    base = live_server.url
    sign_in(page, base, "maya@acme.test", "console-pass-1")
    page.goto(f"{base}/a/acme/settings/")
    page.locator("nav.tabs a", has_text="Redaction").click()
    page.wait_for_url("**/settings/redaction/")
    assert page.locator("h1").inner_text() == "Redaction"
    assert page.locator("[data-testid=redaction-rules] tbody tr").count() == 1

    # A bad pattern: the field says why.
    page.select_option("#id_kind", "regex")
    page.fill("#id_pattern", "ORD-(\\d{4}")
    page.click("[data-testid=redaction-test]")
    assert "missing )" in page.locator(".field.has-error .error").first.inner_text()
    assert page.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    page.console_errors.clear()  # the 400 above was the point

    # Test a rule on sample text: nothing is saved, the result is shown.
    page.fill("#id_pattern", r"ORD-\d{4}-\d{6}")
    page.fill("#id_replacement", "[ORDER]")
    page.fill("#id_sample", SAMPLE)
    page.click("[data-testid=redaction-test]")
    page.wait_for_selector("[data-testid=redaction-preview]")
    assert page.locator("[data-testid=redaction-result]").inner_text() == SAMPLE.replace("ORD-2026-000123", "[ORDER]")
    stored = page.locator("[data-testid=redaction-stored]").inner_text()
    assert "[ORDER]" in stored and "[REDACTED:email]" in stored and "ana@acme.test" not in stored
    assert RedactionRule.objects.for_account(acme).count() == 1
    shot(page, "settings-redaction-test")

    # Save it: listed, in order.
    page.click("[data-testid=redaction-create]")
    page.wait_for_selector(".toast.success")
    rows = page.locator("[data-testid=redaction-rules] tbody tr")
    assert rows.count() == 2
    assert r"ORD-\d{4}-\d{6}" in rows.nth(1).inner_text() and "[ORDER]" in rows.nth(1).inner_text()
    page.mouse.move(0, 0)
    shot(page, "settings-redaction")

    # Delete the e-mail rule (confirmation accepted).
    email_rule = RedactionRule.objects.for_account(acme).get(kind="email")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr[data-rule='{email_rule.pk}'] button", has_text="Delete").click()
    page.wait_for_selector(".toast.success")
    assert page.locator("[data-testid=redaction-rules] tbody tr").count() == 1
    assert list(RedactionRule.objects.for_account(acme).values_list("kind", flat=True)) == ["regex"]
    assert not page.console_errors, page.console_errors


def test_danger_zone_deletes_the_account(live_server, page, shot, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    acme, maya, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                   password="console-pass-1")
    globex, _, _ = account_create(slug="globex", name="Globex", owner_email="ops@globex.test", password="x-pass-123")
    membership_invite(globex, Actor.system(), email="maya@acme.test", role=Role.VIEWER)
    base = live_server.url
    sign_in(page, base, "maya@acme.test", "console-pass-1")
    page.goto(f"{base}/a/acme/settings/")
    zone = page.locator("[data-testid=danger-zone]")
    zone.scroll_into_view_if_needed()
    button = page.locator("#delete-account-button")
    assert button.is_disabled()
    page.fill("#id_confirm", "acm")
    assert button.is_disabled()
    page.fill("#id_confirm", "acme")
    assert button.is_enabled()
    shot(page, "settings-danger-zone")

    button.click()
    page.wait_for_url("**/a/globex/**")  # the owner's other account: acme is gone from view
    assert "is being deleted" in page.locator(".toast.success").inner_text()
    assert page.locator("details.switcher:not(.bell)").inner_text().count("Acme") == 0
    shot(page, "settings-account-deleted")
    deletion = AccountDeletion.objects.get()
    assert deletion.account_slug == "acme" and not Membership.objects.filter(account=acme).exists()
    response = page.goto(f"{base}/a/acme/settings/")
    assert response.status == 404

    account_deletion_run(deletion.pk)  # what the worker does (tests/accounts/test_account_deletion.py)
    assert not Account.objects.filter(slug="acme").exists() and Account.objects.filter(slug="globex").exists()
    assert not page.console_errors or all("404" in e for e in page.console_errors), page.console_errors
