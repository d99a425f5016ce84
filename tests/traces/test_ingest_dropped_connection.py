"""Ingest when PostgreSQL kills the request's connection (`pg_terminate_backend`, as a failover or
an operator would): the batch is stored exactly once with a 200, or — when the retry loses its
connection too — answered 503 with Retry-After and nothing stored. Never a 500.

The connection really dies: a second connection terminates the server backend of the request's
connection at a chosen statement and waits until it is gone."""
import json
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from django.db import connection

from traces.models import Trace

URL = "/api/v1/traces/ingest"
NOW = datetime.now(timezone.utc).replace(microsecond=0)

pytestmark = pytest.mark.django_db(transaction=True)


def batch(prefix, n=5):
    return json.dumps({"traces": [
        {"request_id": f"{prefix}-{i}", "executed_at": (NOW - timedelta(minutes=i)).isoformat(), "model": "gpt-4o",
         "status": "success", "response_time_ms": 100 + i} for i in range(n)]})


def terminate_backend_of_this_connection():
    """Kill the server process behind Django's connection and wait until PostgreSQL has reaped it."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    s = connection.settings_dict
    with psycopg.connect(host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"] or None,
                         password=s["PASSWORD"] or None, dbname=s["NAME"], autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        for _ in range(500):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            admin.execute("SELECT pg_sleep(0.01)")
    raise AssertionError(f"backend {pid} still alive")


@contextmanager
def kill_at(statement_start, times):
    """Terminate the connection's backend right before the first `times` statements that start so."""
    left = {"n": times}

    def wrapper(execute, sql, params, many, context):
        if left["n"] and sql.lstrip().startswith(statement_start):
            left["n"] -= 1
            terminate_backend_of_this_connection()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield left


def stored(prefix):
    return sorted(Trace.objects.filter(request_id__startswith=f"{prefix}-").values_list("request_id", flat=True))


@pytest.fixture
def api(account, key_client):
    return key_client(account, ["ingest", "read"])


def test_a_connection_killed_between_requests_is_replaced(account, api):
    terminate_backend_of_this_connection()
    response = api.post(URL, data=batch("idle"), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 5
    assert stored("idle") == [f"idle-{i}" for i in range(5)]


def test_a_connection_killed_inside_the_ingest_transaction_is_retried_once(account, api):
    with kill_at("WITH taken AS", times=1) as left:
        response = api.post(URL, data=batch("mid"), content_type="application/json")
    assert left["n"] == 0, "the kill never happened: the statement prefix no longer matches the ingest SQL"
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 5, "duplicates": 0, "errors": []}
    assert stored("mid") == [f"mid-{i}" for i in range(5)]  # each exactly once
    again = api.post(URL, data=batch("mid"), content_type="application/json").json()
    assert again["accepted"] == 0 and again["duplicates"] == 5 and stored("mid") == [f"mid-{i}" for i in range(5)]


def test_when_the_retry_loses_its_connection_too_the_answer_is_503(account, api):
    with kill_at("WITH taken AS", times=2) as left:
        response = api.post(URL, data=batch("lost"), content_type="application/json")
    assert left["n"] == 0
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) > 0 and response["Content-Type"].startswith("application/json")
    assert "Retry" in response.json()["message"]
    assert stored("lost") == []
    # The next request gets a working connection and stores the batch.
    assert api.post(URL, data=batch("lost"), content_type="application/json").status_code == 200
    assert stored("lost") == [f"lost-{i}" for i in range(5)]
