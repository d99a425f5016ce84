"""Real servers for the alerts tests: an SMTP server (aiosmtpd) and an HTTP server on 127.0.0.1,
plus helpers that ingest traces through the ingestion service and roll them up."""
import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from analytics.rollups import rollup_process_dirty
from traces.services import trace_ingest_batch

UTC = timezone.utc


def ingest(account, items, now=None):
    result = trace_ingest_batch(account, items, now=now or datetime.now(UTC) + timedelta(days=400))
    assert not result.errors, result.errors
    return result


def roll_all():
    while rollup_process_dirty():
        pass


def traffic(prefix, start, minutes, per_minute, *, fail_every=0, latency=200.0, cost=None, **fields):
    """per_minute requests in each minute of [start, start + minutes); every fail_every-th one fails."""
    items, n = [], 0
    for m in range(minutes):
        for k in range(per_minute):
            at = start + timedelta(minutes=m, seconds=(k * 60.0 / per_minute))
            failed = bool(fail_every) and n % fail_every == 0
            item = {"request_id": f"{prefix}-{m}-{k}", "executed_at": at.isoformat(), "model": "gpt-4o",
                    "status": "failure" if failed else "success", "response_time_ms": latency, **fields}
            if failed:
                item["error_type"] = "llm_error"
            if cost is not None:
                item["cost_usd"] = cost
            items.append(item)
            n += 1
    return items


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- SMTP ------------------------------------------------------------------------------------

class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": msg})
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend points at it."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    inbox.port = settings.EMAIL_PORT
    try:
        yield inbox
    finally:
        controller.stop()


# -- HTTP ------------------------------------------------------------------------------------

class Receiver:
    """Records every request; answers with the next queued status (default 200)."""

    def __init__(self):
        self.requests = []
        self.statuses = []
        self.lock = threading.Lock()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        return list(self.requests)


@pytest.fixture
def http_receiver(settings):
    """A real HTTP server on 127.0.0.1, whose network the operator allowed (the product refuses
    loopback targets otherwise)."""
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "json": json.loads(body) if body else None, "at": time.monotonic()})
                code = receiver.path_status.get(self.path) or (
                    receiver.statuses.pop(0) if receiver.statuses else receiver.default_status)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}' if code < 300 else b'{"error": "nope"}')

        def log_message(self, *args):
            pass

    receiver.default_status = 200
    receiver.path_status = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def send_pending(account=None):
    """Run every pending delivery to its end now (the worker would wait out the backoff between tries)."""
    from alerts.models import Delivery, DeliveryStatus
    from alerts.services.delivery import delivery_attempt

    sent = 0
    for _ in range(100):
        pending = Delivery.objects.filter(status=DeliveryStatus.PENDING)
        if account is not None:
            pending = pending.filter(account=account)
        ids = list(pending.order_by("pk").values_list("pk", flat=True))
        if not ids:
            return sent
        # The backoff has run out, as it would have for the worker's next try.
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=None)
        for pk in ids:
            delivery_attempt(pk)
            sent += 1
    raise AssertionError("deliveries never settled")


def signed(request, secret):
    import hashlib
    import hmac

    expected = hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(request["headers"].get("X-Signature", ""), expected)
