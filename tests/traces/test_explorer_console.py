"""The Traces console page for every role, preferences per user and account, downloads through
the console, and the Django admin for platform staff."""
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Role
from models_registry.models import Connection
from tests.traces.test_explorer_api import ingest_world
from traces.exports.services import export_run
from traces.models import ExplorerPreference, ExportJob

ROLES = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


def login(user):
    client = Client()
    client.force_login(user)
    return client


def page_data(response):
    html = response.content.decode()
    start = html.index('<script id="tx-data" type="application/json">') + len('<script id="tx-data" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


@pytest.mark.parametrize("role", ROLES)
def test_the_page_renders_for_every_role(account, member_of, role):
    ingest_world(account, n=8)
    Connection.objects.get_or_create(account=account, name="backup-openai", provider="openai")
    response = login(member_of(account, role)).get(f"/a/{account.slug}/traces/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Traces</h1>" in html and 'aria-current="page"' in html
    data = page_data(response)
    assert data["account"] == account.slug and data["timezone"] == account.timezone
    assert [p[0] for p in data["presets"]] == ["all_time", "today", "yesterday", "this_week", "this_month",
                                               "last_month", "last_30d", "last_90d", "this_year", "last_year"]
    models = {m["name"]: m for m in data["models"]}
    hosted, external = models["support-llama-ft"], models["gpt-4o"]
    assert hosted["type"] == "fine_tuned" and hosted["deployments"][0]["name"] == "support-prod"
    assert {v["version"] for v in hosted["deployments"][0]["versions"]} == {"v1", "v2", "v10"}
    assert {c["name"] for c in external["connections"]} == {"openai-prod", "backup-openai"}
    assert len(data["catalog"]["toggleable"]) == 8
    exporter = Role.at_least(role, Role.MEMBER)
    assert data["can_export"] is exporter and ('id="tx-export"' in html) is exporter
    assert ("Read-only for" in html) is not exporter


def test_non_members_get_404_and_visitors_sign_in(account, other_account):
    outsider = login(other_account.memberships.get(role=Role.OWNER).user)
    for url in (f"/a/{account.slug}/traces/", f"/a/{account.slug}/traces/exports/1/download/"):
        assert outsider.get(url).status_code == 404
        assert Client().get(url)["Location"].startswith("/login/")
    assert outsider.post(f"/a/{account.slug}/traces/preferences/", "{}", content_type="application/json"
                         ).status_code == 404


def test_preferences_are_per_user_and_account(account, other_account, member_of):
    viewer = member_of(account, Role.VIEWER)
    client = login(viewer)
    url = f"/a/{account.slug}/traces/preferences/"
    saved = client.post(url, json.dumps({"selection": {"model": "gpt-4o", "connection_id": 4}}),
                        content_type="application/json")
    assert saved.status_code == 200 and saved.json()["selection"] == {"model": "gpt-4o", "connection_id": 4}
    client.post(url, json.dumps({"hidden_columns": ["output", "source", "source"]}), content_type="application/json")
    pref = ExplorerPreference.objects.for_account(account).get(user=viewer)
    assert pref.selection == {"model": "gpt-4o", "connection_id": 4} and pref.hidden_columns == ["source", "output"]
    assert page_data(client.get(f"/a/{account.slug}/traces/"))["preferences"] == {
        "selection": {"model": "gpt-4o", "connection_id": 4}, "hidden_columns": ["source", "output"]}
    # Someone else, or the same person in another account, starts fresh.
    assert page_data(login(member_of(account, Role.MEMBER)).get(f"/a/{account.slug}/traces/"))["preferences"] == {
        "selection": {}, "hidden_columns": []}
    for body, field in [({"hidden_columns": ["status"]}, "hidden_columns"), ({"hidden_columns": "source"}, "hidden_columns"),
                        ({"selection": {"colour": "red"}}, "selection"), ({"selection": {"version_id": "x"}},
                                                                          "selection.version_id"),
                        ({"theme": "dark"}, "body"), ({}, "body")]:
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400 and field in response.json()["errors"], (body, response.content)
    assert client.post(url, "not json", content_type="application/json").status_code == 400
    assert client.get(url).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_downloads_through_the_console_follow_the_same_rules(account, member_of, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    ingest_world(account, n=6)
    author = member_of(account, Role.MEMBER)
    job = ExportJob.objects.create(account=account, created_by=author, filename="all_models_traces_data.csv",
                                   params={"start": "2020-01-01T00:00:00+00:00", "end": "2100-01-01T00:00:00+00:00",
                                           "filters": {}, "filter": []})
    url = f"/a/{account.slug}/traces/exports/{job.pk}/download/"
    assert login(author).get(url).status_code == 409  # not run yet
    export_run(job.pk)
    response = login(author).get(url)
    assert response.status_code == 200 and b"req-000" in b"".join(response.streaming_content)
    assert 'attachment; filename="all_models_traces_data.csv"' == response["Content-Disposition"]
    assert login(member_of(account, Role.MEMBER, email="other-member@acme.test")).get(url).status_code == 404
    assert login(member_of(account, Role.ADMIN)).get(url).status_code == 200


def test_staff_browse_traces_and_exports_in_the_admin(account, member_of):
    ingest_world(account, n=6)
    job = ExportJob.objects.create(account=account, created_by=member_of(account, Role.MEMBER),
                                   filename="gpt-4o_traces_data.csv", status="failed", error="disk full")
    staff = get_user_model().objects.create_superuser("staff@platform.test", "staff@platform.test", "pw-staff-1")
    admin = login(staff)
    listing = admin.get("/admin/traces/trace/", {"status__exact": "failure"})
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "req-000" in html and "req-005" in html and "req-001" not in html
    assert "req-003" in admin.get("/admin/traces/trace/", {"q": "req-003"}).content.decode()
    exports = admin.get("/admin/traces/exportjob/", {"status__exact": "failed"})
    assert exports.status_code == 200 and "gpt-4o_traces_data.csv" in exports.content.decode()
    assert admin.get(f"/admin/traces/exportjob/{job.pk}/change/").status_code == 200
    assert admin.get("/admin/traces/trace/add/").status_code == 403
    # Account members are not platform staff.
    assert login(account.memberships.get(role=Role.OWNER).user).get("/admin/traces/trace/").status_code == 302
