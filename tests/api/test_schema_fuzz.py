"""The API keeps the contract its OpenAPI schema states, for any input: a schema-driven fuzzer.

The schema is generated from the code at collection time, so every operation — including
ones added later — gets its own test here. Schemathesis generates requests from the schema
(valid ones and, in negative mode, wrong types, out-of-range numbers, missing fields, NUL
bytes) and sends each twice through the real Django app (WSGI, in-process, real PostgreSQL):
once with an API key holding every scope and once with the account owner's console session
(with CSRF), so console-only writes are exercised too. Every answer must be:

- no 5xx;
- a status code the operation documents, with a body matching its documented schema;
- the documented content type — errors are JSON `{"message", "errors"}`, never an HTML page.

The account holds one of every object (tests/factories.py), and the first case of each
operation with an `{id}` addresses a real object, so detail answers are checked too.
"""
import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.checks import not_a_server_error

from accounts.models import Role
from accounts.services import Actor, api_key_create
from tests.factories import FACTORIES

# Examples per operation and generation mode; two callers each. ~165 operations.
EXAMPLES_PER_OPERATION = 6


def _openapi_document() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(_openapi_document())
schema.app = get_wsgi_application()
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
    deterministic=True,
    allow_x00=True,
    with_security_parameters=False,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def error_body_is_json(ctx, response, case):
    """Every 4xx/5xx under /api/ is the API's JSON error shape, whatever layer answered."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), \
        f"{response.status_code} answered as {content_type!r}, not JSON"
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and isinstance(body.get("errors"), dict), \
        f"{response.status_code} body is not {{message, errors}}: {str(body)[:200]}"
    return None


@pytest.fixture(autouse=True)
def connection_kept_between_requests():
    """Django closes a connection that is not in autocommit at the end of each request; the test's
    transaction is such a connection, so (as django.test.Client does) requests leave it open."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def callers(account):
    """Headers of the two callers: an API key with every scope, and the owner's console session."""
    _, plaintext = api_key_create(account, Actor.system(), scopes=["read", "ingest"])
    owner = account.memberships.get(role=Role.OWNER).user
    browser = Client()
    browser.force_login(owner)
    csrf = "f" * 32  # a valid unmasked token: the cookie and the header must only agree
    session = {"headers": {"X-CSRFToken": csrf, "X-Account": account.slug},
               "cookies": {"sessionid": browser.cookies["sessionid"].value, "csrftoken": csrf}}
    return {"key": {"headers": {"Authorization": f"Bearer {plaintext}"}}, "session": session}


@pytest.fixture
def world(account):
    return {model: factory(account, "FUZZMARK") for model, factory in FACTORIES.items()}


def _aim_at_real_object(case, world):
    """Half the valid cases of an `{id}` operation address the seeded object of the route's model
    (the other half keep the generated id, which mostly answers 404)."""
    generated = (case.path_parameters or {}).get("id")
    if case.meta.generation.mode != GenerationMode.POSITIVE or not isinstance(generated, int) or generated % 2:
        return
    view_class = getattr(resolve(case.operation.path.replace("{id}", "1")).func, "cls", None)
    model = getattr(getattr(view_class, "queryset", None), "model", None)
    if model in world:
        case.path_parameters["id"] = world[model].pk


@schema.parametrize()
@settings(deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case, callers, world):
    _aim_at_real_object(case, world)
    for caller in callers.values():
        response = case.call(**caller)
        assert response.status_code != 401, f"the fuzz caller is not signed in: {response.text[:200]}"
        case.validate_response(response, checks=CHECKS, additional_checks=[error_body_is_json],
                               headers=caller["headers"])
