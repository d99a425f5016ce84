"""I5: the Python client batches in the background, retries politely, never hurts the app."""
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from modelpulse_client import Client

CLIENT_DIR = Path(__file__).resolve().parents[2] / "traces" / "client"


def test_batches_and_fills_ids_and_times(server):
    mp = Client(server.url, "mp_test_key", batch_size=50, flush_interval=0.2)
    ids = [mp.log_request(model="gpt-4o", status="success", response_time_ms=i) for i in range(120)]
    assert mp.flush(5)
    sent = [t for r in server.requests for t in r["body"]["traces"]]
    assert [t["request_id"] for t in sent] == ids
    assert all(t["executed_at"].endswith("+00:00") for t in sent)
    assert all(len(r["body"]["traces"]) <= 50 for r in server.requests)
    assert server.requests[0]["auth"] == "Bearer mp_test_key"
    assert mp.stats()["sent"] == 120
    mp.close()


def test_retries_429_honouring_retry_after_then_5xx_with_backoff(server):
    server.script = [(429, {"Retry-After": "1"}), (500, {}), (503, {}), (200, {})]
    mp = Client(server.url, "k", flush_interval=0.05, backoff_base=0.05)
    started = time.monotonic()
    mp.log_request(model="m", status="success", response_time_ms=1)
    assert mp.flush(10)
    elapsed = time.monotonic() - started
    assert [r["status"] for r in server.requests] == [429, 500, 503, 200]
    assert elapsed >= 1.0  # waited for Retry-After
    assert len({r["body"]["traces"][0]["request_id"] for r in server.requests}) == 1  # the same batch resent
    assert mp.stats()["sent"] == 1 and mp.stats()["failed"] == 0
    mp.close()


def test_gives_up_after_max_retries_and_on_client_errors(server):
    server.script = [(500, {})] * 3 + [(400, {})]
    mp = Client(server.url, "k", flush_interval=0.05, backoff_base=0.01, max_retries=2)
    mp.log_request(model="m", status="success", response_time_ms=1)
    assert mp.flush(5)
    mp.log_request(model="m", status="success", response_time_ms=1)
    assert mp.flush(5)
    assert len(server.requests) == 4 and mp.stats()["failed"] == 2
    mp.close()


def test_a_dead_server_never_blocks_or_raises():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    mp = Client(dead, "k", flush_interval=0.01, backoff_base=0.01, max_retries=1, timeout=0.5)
    started = time.monotonic()
    for i in range(1000):
        mp.log_request(model="m", status="success", response_time_ms=i)
    assert time.monotonic() - started < 0.5  # logging is only a queue put
    assert mp.flush(10)
    assert mp.stats()["failed"] == 1000
    mp.close()


def test_full_queue_drops_without_blocking(server):
    server.script = [(503, {})] * 50
    mp = Client(server.url, "k", max_queue=10, batch_size=1, flush_interval=0.01, backoff_base=0.5)
    started = time.monotonic()
    for i in range(100):
        mp.log_request(model="m", status="success", response_time_ms=i)
    assert time.monotonic() - started < 0.5
    assert mp.stats()["dropped"] >= 80
    mp.close(timeout=0.1)


def test_track_times_and_records_failures(server):
    mp = Client(server.url, "k", flush_interval=0.05)
    with mp.track(model="m", feature="Chatbot") as record:
        time.sleep(0.02)
        record["output_tokens"] = 7
    with pytest.raises(ValueError):
        with mp.track(model="m"):
            raise ValueError("boom")
    mp.log_feedback("r-1", rating=5)
    assert mp.flush(5)
    traces = [t for r in server.requests if r["path"].endswith("/ingest") for t in r["body"]["traces"]]
    ok, failed = traces
    assert ok["status"] == "success" and ok["response_time_ms"] >= 20 and ok["output_tokens"] == 7
    assert failed["status"] == "failure" and failed["error_type"] == "system"
    assert any(r["path"] == "/api/v1/feedback" and r["body"] == {"request_id": "r-1", "rating": 5}
               for r in server.requests)
    mp.close()


def test_pending_traces_are_flushed_at_exit(server):
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(CLIENT_DIR)!r})
        from modelpulse_client import Client
        mp = Client({server.url!r}, "k", flush_interval=30)
        for i in range(5):
            mp.log_request(model="m", status="success", response_time_ms=i)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    assert sum(len(r["body"]["traces"]) for r in server.requests) == 5
