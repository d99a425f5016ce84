"""Ingestion through a real HTTP server: the size limit is enforced before the body is read."""
import json
import socket
import urllib.request
from urllib.parse import urlparse

import pytest

from accounts.services import Actor, account_create, api_key_create
from traces.models import Trace
from tests.traces.test_ingest import trace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_key(live_server):
    account, _, _ = account_create(slug="live", name="Live", owner_email="o@live.test")
    return account, api_key_create(account, Actor.system(), scopes=["ingest"])[1]


def test_declared_oversize_body_is_refused_without_sending_it(live_server, live_key):
    _, key = live_key
    url = urlparse(live_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall((f"POST /api/v1/traces/ingest HTTP/1.1\r\nHost: {url.hostname}\r\n"
                      f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {11 * 1024 * 1024}\r\nConnection: close\r\n\r\n").encode())
        # No body is sent: the server must answer from the headers alone.
        reply = sock.recv(65536).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413")


def test_batch_over_http(live_server, live_key):
    account, key = live_key
    body = json.dumps({"traces": [trace(i) for i in range(300)]}).encode()
    request = urllib.request.Request(f"{live_server.url}/api/v1/traces/ingest", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"accepted": 300, "duplicates": 0, "errors": []}
    assert Trace.objects.for_account(account).count() == 300
