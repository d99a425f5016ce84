"""Bad input answers a 4xx naming the field and its reason, as JSON — never a 500 or an HTML page.

Every paginated list of the schema is walked (so lists added later are covered), with the
inputs that used to reach SQL: numbers past bigint, negative and non-numeric page bounds,
NUL bytes, invalid UTF-8."""
import json

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.pagination import MAX_LIMIT
from alerts.models import Notification

HUGE = "99999999999999999999"


def _paginated_lists():
    document = SchemaGenerator().get_schema(request=None, public=True)
    lists = {}
    for path, ops in document["paths"].items():
        params = {p["name"]: p for p in ops.get("get", {}).get("parameters", [])}
        if {"limit", "offset"} <= set(params):
            lists[path] = params["limit"]["schema"]["maximum"]
    return sorted(lists.items())


PAGINATED = _paginated_lists()


def test_the_walk_finds_the_lists():
    paths = dict(PAGINATED)
    assert len(paths) >= 20 and "/api/v1/models" in paths and "/api/v1/notifications" in paths
    assert max(paths.values()) <= MAX_LIMIT


@pytest.mark.parametrize("path,maximum", PAGINATED)
def test_page_bounds_are_checked_on_every_list(path, maximum, account, key_client):
    client = key_client(account, scopes=("read", "ingest"))
    for name, value in [("limit", HUGE), ("limit", "9223372036854775807"), ("limit", "0"), ("limit", "-1"),
                        ("limit", "ten"), ("limit", str(maximum + 1)), ("limit", "1\x00"), ("limit", "²"),
                        ("offset", HUGE), ("offset", "-5"), ("offset", "1.5")]:
        response = client.get(path, {name: value})
        assert response.status_code == 400, (path, name, value, response.status_code)
        body = response.json()
        assert name in body["errors"] and "whole number" in body["errors"][name][0], body
    page = client.get(path, {"limit": str(maximum), "offset": "0"})
    assert page.status_code == 200 and len(page.json()["results"]) <= maximum


def test_a_list_without_limit_gets_the_default_page(account, key_client):
    from tests.factories import FACTORIES
    from models_registry.models import Model

    for i in range(3):
        FACTORIES[Model](account, f"M{i}")
    client = key_client(account)
    body = client.get("/api/v1/models", {"limit": "2"}).json()
    assert len(body["results"]) == 2 and body["count"] == Model.objects.for_account(account).count()


@pytest.mark.parametrize("path,name", [("/api/v1/dashboards/widgets", "dashboard"),
                                       ("/api/v1/report-runs", "schedule")])
def test_id_filters_refuse_numbers_past_bigint(path, name, account, key_client):
    response = key_client(account).get(path, {name: HUGE})
    assert response.status_code == 400 and name in response.json()["errors"]


def test_unread_notifications_with_a_key_are_an_empty_list(account, key_client):
    from tests.factories import FACTORIES

    FACTORIES[Notification](account, "BELL")
    client = key_client(account)
    assert client.get("/api/v1/notifications", {"unread": "true"}).json()["results"] == []
    bad = client.get("/api/v1/notifications", {"unread": "maybe"})
    assert bad.status_code == 400 and "unread" in bad.json()["errors"]


def test_unread_notifications_for_a_member(account, session_client):
    from tests.factories import FACTORIES

    notification = FACTORIES[Notification](account, "BELL")
    owner = account.memberships.get(role="owner").user
    client = session_client(owner, account)
    assert [n["id"] for n in client.get("/api/v1/notifications", {"unread": "true"}).json()["results"]] == \
        [notification.pk]
    client.post(f"/api/v1/notifications/{notification.pk}/read", {}, format="json")
    assert client.get("/api/v1/notifications", {"unread": "1"}).json()["results"] == []


def _is_json_error(response, status):
    assert response.status_code == status, response.status_code
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body["message"], str) and isinstance(body["errors"], dict)
    return body


@pytest.mark.parametrize("path", ["/api/v1/exports/0.5/cancel", "/api/v1/models/1/nothing", "/api/v1/nothing",
                                  "/api/v1/models/", "/api/nothing", "/api/v1/traces/%00"])
def test_unrouted_api_paths_are_json_404s(path, account, key_client):
    _is_json_error(key_client(account).post(path, {}, format="json") if "cancel" in path
                   else key_client(account).get(path), 404)


def test_a_malformed_id_on_a_routed_path_is_a_json_404(account, key_client):
    _is_json_error(key_client(account).get("/api/v1/models/abc"), 404)
    _is_json_error(key_client(account).get(f"/api/v1/models/{HUGE}"), 404)


def test_console_paths_keep_the_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_wrong_method_and_csrf_failure_are_json(account, session_client):
    owner = account.memberships.get(role="owner").user
    _is_json_error(session_client(owner, account).delete("/api/v1/models"), 405)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(owner)
    body = _is_json_error(browser.post("/api/v1/models", {"name": "x"}, format="json", HTTP_X_ACCOUNT=account.slug),
                          403)
    assert "CSRF" in body["message"]


def test_a_request_refused_before_any_view_is_json(account, session_client):
    bad_host = Client(HTTP_HOST="evil.example")
    _is_json_error(bad_host.get("/api/v1/models"), 400)
    owner = account.memberships.get(role="owner").user
    too_big = session_client(owner, account).generic("PATCH", "/api/v1/account", b"{" + b" " * 3_000_000 + b"}",
                                           content_type="application/json")
    assert too_big.status_code in (400, 413) and too_big["Content-Type"].startswith("application/json")


def test_an_unexpected_error_is_a_json_500(rf):
    from config.error_views import server_error

    _is_json_error(server_error(rf.get("/api/v1/models")), 500)
    assert server_error(rf.get("/"))["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("body", [b"\xff\xfe{not utf-8", b'{"name": "a\\u0000b"}', b'{"name": ["x"]}',
                                  b'{"name": "\\ud800"}', b'{"name": "ok", "model_type": "\\udfff"}', b"[1, 2]",
                                  b"null", b'{"name": "' + b"x" * 5000 + b'"}'])
def test_nasty_bodies_are_4xx_with_a_reason(body, account, member_of, session_client):
    client = session_client(account.memberships.get(role="owner").user, account)
    response = client.generic("POST", "/api/v1/models", body, content_type="application/json")
    assert 400 <= response.status_code < 500, (body[:40], response.status_code)
    assert response.json()["message"]


def test_a_lone_surrogate_is_named_never_a_500(account, member_of, session_client, key_client):
    client = session_client(account.memberships.get(role="owner").user, account)
    response = client.generic("POST", "/api/v1/models", b'{"name": "m", "model_type": "\\ud800"}',
                              content_type="application/json")
    assert response.status_code == 400 and "surrogate" in response.json()["errors"]["model_type"][0]
    feedback = key_client(account, ["ingest"]).generic("POST", "/api/v1/feedback",
                                                       b'{"request_id": "r1", "comment": "\\udc00"}',
                                                       content_type="application/json")
    assert feedback.status_code == 400 and "comment" in feedback.json()["errors"]


def test_the_renderer_escapes_what_utf8_cannot_encode():
    from accounts.json_io import SafeJSONRenderer

    assert json.loads(SafeJSONRenderer().render({"detail": "bad \ud800 value"})) == {"detail": "bad \ud800 value"}
