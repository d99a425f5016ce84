"""The Django admin in headless Chromium: a filtered list, its CSV export from the button,
under the site's CSP. Screenshot: tests/output/screenshots/admin-models-filtered.png."""
import csv
import io

import pytest
from django.contrib.auth import get_user_model

from accounts.services import account_create
from models_registry.models import Model

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_filtered_list_exports_what_it_shows(live_server, page, shot):
    acme, _, _ = account_create(slug="acme", name="Acme", owner_email="maya@acme.test", password="pw-maya-123")
    globex, _, _ = account_create(slug="globex", name="Globex", owner_email="ops@globex.test", password="pw-ops-123")
    for name, kind in (("gpt-4o", "external"), ("=cmd|' /C calc'!A0", "external"), ("llama-ft", "fine_tuned")):
        Model.objects.create(account=acme, name=name, model_type=kind, provider="x")
    Model.objects.create(account=globex, name="globex-gpt", model_type="external", provider="x")
    get_user_model().objects.create_superuser("root@ops.test", "root@ops.test", "pw-root-1234")
    base = live_server.url
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "root@ops.test")
    page.fill("#id_password", "pw-root-1234")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.goto(f"{base}/admin/models_registry/model/")
    page.locator("#changelist-filter a", has_text="external").click()
    page.locator("#changelist-filter a", has_text="acme").click()
    page.wait_for_url("**account__id__exact=*")
    assert page.locator("#result_list tbody tr").count() == 2
    shot(page, "admin-models-filtered")
    with page.expect_download() as info:
        page.locator(".object-tools a", has_text="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert sorted(r["name"] for r in rows) == ["'=cmd|' /C calc'!A0", "gpt-4o"]
    assert {r["account_id"] for r in rows} == {str(acme.pk)}
    # (The admin has no favicon: its 404 is the only console error allowed.)
    assert not [e for e in page.console_errors if "404" not in e], page.console_errors
