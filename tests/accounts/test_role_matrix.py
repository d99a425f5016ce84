"""T2: each role × each write endpoint of the API.

Viewers never write. Below the role a view asks for, a write is 403; at or above it,
the permission check passes (the empty body may then be a 400 — that is the point:
the request got past authorisation). Accounts and registry management need admin.
"""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from tests.accounts.test_isolation import MARKER_A, build_world, url_kwargs
from tests.accounts.urlwalk import api_routes

ROLES = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]
ADMIN_ONLY_APPS = ("accounts.", "models_registry.")


def write_cases():
    cases = []
    for route in api_routes():
        for method in route.methods:
            if method in ("post", "put", "patch", "delete"):
                cases.append(pytest.param(route, method, id=f"{method.upper()} {route.pattern}"))
    return cases


def required_role(route, method):
    cls = route.view_class
    action = getattr(route.callback, "actions", {}).get(method)
    return cls.action_roles.get(action, cls.write_role) if action else cls.write_role


def test_there_are_write_endpoints_to_check():
    assert len(write_cases()) >= 5


@pytest.mark.parametrize("route,method", write_cases())
def test_role_matrix(route, method, make_account, member_of):
    account = make_account("alpha")
    needed = required_role(route, method)
    if route.view_class.__module__.startswith(ADMIN_ONLY_APPS):
        # SPEC T2: API keys, members, prices and the registry are admin business.
        assert needed == Role.ADMIN, f"{route.pattern} should need admin, asks {needed}"
    assert needed != Role.VIEWER, f"{route.pattern} lets viewers write"

    for role in ROLES:
        # A fresh object per role: an admin's successful DELETE must not hide the owner's check.
        world = build_world(account, f"{MARKER_A}{role.upper()}")
        url = reverse(route.full_name, kwargs=url_kwargs(route, world, account))
        user = member_of(account, role, email=f"{role}-matrix@alpha.test")
        client = APIClient()
        client.force_login(user)
        client.credentials(HTTP_X_ACCOUNT=account.slug)
        response = getattr(client, method)(url, data={}, format="json")
        if Role.at_least(role, needed):
            assert response.status_code not in (401, 403, 404), (
                f"{role} {method.upper()} {url} -> {response.status_code} {response.content[:200]}"
            )
        else:
            assert response.status_code == 403, f"{role} {method.upper()} {url} -> {response.status_code}"
