"""T1: every URL needs authentication, and account B never reaches account A's data.

The test walks all URL patterns of the project. It fails when a pattern is unnamed,
has a URL kwarg it cannot fill, a tenant model has no factory, or an API view does
not inherit the account-scoped base — so a new endpoint cannot slip past it.
"""
import json

import pytest
from django.apps import apps
from django.forms.models import model_to_dict
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AccountOwned, Role
from accounts.scoping import _AccountScopedBase
from accounts.services import Actor, api_key_create
from tests.accounts.urlwalk import PUBLIC_NAMES, api_routes, iter_routes, non_public_routes
from tests.factories import FACTORIES, URL_KWARGS

MARKER_A = "ALPHAMARK7Q"
MARKER_B = "BRAVOMARK3Z"


def tenant_models():
    return [m for m in apps.get_models() if issubclass(m, AccountOwned) and not m._meta.abstract]


def build_world(account, marker):
    return {model: factory(account, marker) for model, factory in FACTORIES.items()}


def snapshot(account):
    """Every tenant row of the account, as plain data, to prove nothing changed."""
    data = {}
    for model in tenant_models():
        rows = model.objects.filter(account=account).order_by("pk")
        data[model._meta.label] = [json.dumps(model_to_dict(r), default=str, sort_keys=True) for r in rows]
    return data


def view_model(route):
    initkwargs = getattr(route.callback, "view_initkwargs", {}) or {}
    if initkwargs.get("model") is not None:
        return initkwargs["model"]
    cls = route.view_class
    queryset = getattr(cls, "queryset", None)
    if queryset is not None:
        return queryset.model
    return getattr(cls, "model", None)


def url_kwargs(route, world, account):
    values = {}
    for kwarg in route.kwargs:
        if f"{route.name}.{kwarg}" in URL_KWARGS:
            values[kwarg] = URL_KWARGS[f"{route.name}.{kwarg}"](world)
        elif kwarg in URL_KWARGS:
            values[kwarg] = URL_KWARGS[kwarg](world)
        elif kwarg == "account_slug":
            values[kwarg] = account.slug
        elif kwarg == "pk" and view_model(route) in world:
            values[kwarg] = world[view_model(route)].pk
        else:
            raise AssertionError(
                f"URL '{route.pattern}' ({route.full_name}) has kwarg '{kwarg}' the isolation walk cannot fill: "
                "give the view a queryset/model with a factory, or add URL_KWARGS in tests/factories.py"
            )
    return values


def call(client, method, url):
    return getattr(client, method)(url, data={}, format="json") if method != "get" else client.get(url)


# -- coverage guards -----------------------------------------------------------------

def test_every_pattern_is_named_and_every_api_view_is_account_scoped():
    routes = list(iter_routes())
    assert len(routes) > 10
    unnamed = [r.pattern for r in routes if not r.name]
    assert not unnamed, f"unnamed URL patterns: {unnamed}"
    unscoped = [
        r.pattern for r in api_routes()
        if r.view_class is None or not issubclass(r.view_class, _AccountScopedBase)
    ]
    assert not unscoped, f"API views outside AccountScopedAPIView/ViewSet: {unscoped}"


def test_every_tenant_model_has_a_factory():
    missing = [m._meta.label for m in tenant_models() if m not in FACTORIES]
    assert not missing, f"add factories to tests/factories.py for: {missing}"


# -- the walk ------------------------------------------------------------------------

@pytest.fixture
def two_worlds(make_account, member_of):
    a = make_account("alpha")
    b = make_account("bravo")
    world_a = build_world(a, MARKER_A)
    world_b = build_world(b, MARKER_B)
    return a, b, world_a, world_b


def test_anonymous_requests_are_refused_everywhere(two_worlds, client):
    a, _, world_a, _ = two_worlds
    checked = 0
    for route in non_public_routes():
        url = reverse(route.full_name, kwargs=url_kwargs(route, world_a, a))
        for method in route.methods:
            if route.is_api:
                response = call(APIClient(), method, url)
                assert response.status_code == 401, f"{method.upper()} {url} -> {response.status_code}"
            else:
                response = getattr(client, method)(url)
                assert response.status_code in (302, 405), f"{method.upper()} {url} -> {response.status_code}"
                if response.status_code == 302:
                    assert "/login/" in response["Location"], f"{method.upper()} {url} redirects elsewhere"
            checked += 1
    assert checked >= 10


def _assert_no_leak(response, label, world_a, world_b):
    body = response.content.decode(errors="replace")
    assert MARKER_A not in body, f"{label} leaked account A's data"
    assert "alpha" not in body.lower() or response.status_code == 404, f"{label} mentions account A"


def _rows(response):
    try:
        data = response.json()
    except (ValueError, TypeError):
        return []
    if isinstance(data, dict):
        data = data.get("results", [])
    return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []


def test_account_b_never_reaches_account_a(two_worlds, member_of):
    a, b, world_a, world_b = two_worlds
    before = snapshot(a)
    b_owner = b.memberships.get(role=Role.OWNER).user

    key_client = APIClient()
    key_client.credentials(HTTP_AUTHORIZATION="Bearer " + api_key_create(b, Actor.system(), scopes=["ingest", "read"])[1])
    own_session = APIClient()
    own_session.force_login(b_owner)
    own_session.credentials(HTTP_X_ACCOUNT=b.slug)
    foreign_session = APIClient()
    foreign_session.force_login(b_owner)
    foreign_session.credentials(HTTP_X_ACCOUNT=a.slug)

    checked = 0
    for route in non_public_routes():
        url_a = reverse(route.full_name, kwargs=url_kwargs(route, world_a, a))
        refers_to_a = bool(route.kwargs)
        for method in route.methods:
            label = f"{method.upper()} {url_a}"
            if route.is_api:
                # B's own credentials, A's object ids: not found (or refused before any lookup).
                for who, client in (("key", key_client), ("session", own_session)):
                    response = call(client, method, url_a)
                    if refers_to_a:
                        assert response.status_code in (403, 404), f"B {who} {label} -> {response.status_code}"
                    _assert_no_leak(response, f"B {who} {label}", world_a, world_b)
                    model = view_model(route)
                    if response.status_code < 300 and model is not None:
                        ids_a = set(model.objects.filter(account=a).values_list("pk", flat=True))
                        leaked = [row for row in _rows(response) if row.get("id") in ids_a]
                        assert not leaked, f"B {who} {label} listed A's rows {leaked}"
                # B's session asking for account A by slug: 404 whatever the path.
                response = call(foreign_session, method, url_a)
                assert response.status_code == 404, f"B session with X-Account=A {label} -> {response.status_code}"
            else:
                response = getattr(own_session, method)(url_a)
                if refers_to_a:
                    assert response.status_code in (404, 405), f"B console {label} -> {response.status_code}"
                _assert_no_leak(response, f"B console {label}", world_a, world_b)
                if "account_slug" in route.kwargs and len(route.kwargs) > 1:
                    # B's own console pages, addressing A's objects by id.
                    kwargs = url_kwargs(route, world_a, a) | {"account_slug": b.slug}
                    url_b = reverse(route.full_name, kwargs=kwargs)
                    response = getattr(own_session, method)(url_b)
                    assert response.status_code in (404, 405), f"B console {method.upper()} {url_b} -> {response.status_code}"
                    _assert_no_leak(response, f"B console {url_b}", world_a, world_b)
            checked += 1
    assert checked >= 10
    assert snapshot(a) == before, "account B's requests changed account A's data"


def test_public_names_exist():
    names = {r.name for r in iter_routes()}
    assert {"healthz", "readyz", "login"} <= names
    assert PUBLIC_NAMES  # the allow-list is explicit and small
