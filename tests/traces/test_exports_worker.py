"""X5 through a real Celery worker (solo pool, its own process) on the test database and Redis:
a finished CSV equals the filtered rows, JSONL carries whole traces, a job cancelled mid-run
stops and leaves no file, and nobody else can see, cancel or download it."""
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Role
from tests.traces.test_explorer_api import ingest_world, with_feedback
from traces.models import ExportJob

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/exports"
CHUNK = 200
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def worker(media, transactional_db):
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                          f"/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": "test", "MEDIA_ROOT": str(media),
           "EXPORT_CHUNK_ROWS": str(CHUNK), "DJANGO_SETTINGS_MODULE": "config.settings"}
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                             "--loglevel", "WARNING"], cwd=ROOT, env=env, start_new_session=True)
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def wait_for(client, job_id, statuses, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"{URL}/{job_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.1)
    raise AssertionError(f"export {job_id} never reached {statuses}: {body}")


def all_pages(client, params):
    rows, url = [], "/api/v1/traces"
    query = {**params, "page_size": 500}
    while url:
        body = client.get(url, query).json()
        rows += body["results"]
        url, query = body["next"], None
    return rows


def files(media):
    return sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())


def bulk_traces(account, n):
    """n more traces of the account, made in the database (fast) from one ingested trace."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO traces_trace (account_id, request_id, executed_at, received_at, model_id, model_type, "
            "provider, source_type, source, module, feature, prompt, prompt_version, user_id, session_id, status, "
            "error_type, response_time_ms, input_tokens, output_tokens, input, output) "
            "SELECT account_id, 'bulk-' || g, executed_at - g * interval '1 second', received_at, model_id, "
            "model_type, provider, source_type, source, module, feature, prompt, prompt_version, user_id, "
            "session_id, status, error_type, response_time_ms + g, 1, 1, repeat('question ', 20) || g, "
            "repeat('answer ', 30) || g FROM traces_trace, generate_series(1, %s) g "
            "WHERE account_id = %s AND request_id = 'req-001'", [n, account.pk])


def test_a_finished_csv_equals_the_filtered_rows(make_account, member_of, session_client, worker, media):
    account = make_account("kolkata", tz="Asia/Kolkata")
    world = ingest_world(account)
    member = session_client(member_of(account, Role.MEMBER), account)
    filters = {"preset": "last_30d", "model": "support-llama-ft",
               "filter": ["source:contains:bot", "or:response_time:gt:0:30:0", "or:status:eq:failure"]}
    job = member.post(URL, {"format": "csv", "filters": filters}, format="json").json()
    done = wait_for(member, job["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done["error"]
    response = member.get(done["download_url"])
    assert 'filename="support-llama-ft_traces_data.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    listed = all_pages(member, {k: v for k, v in filters.items()})
    assert len(rows) == len(listed) == done["rows_written"] == done["rows_total"] > 5
    assert len(listed) < len([i for i in world if i["model"] == "support-llama-ft"])
    for row, item in zip(rows, listed):
        assert row["request_id"] == item["request_id"]
        assert (row["status"], row["source_type"], row["source"], row["input"], row["output"]) == (
            item["status"], item["source_type"], item["source"], item["input"], item["output"])
        assert row["deployment_version"] == (item["version"] or "")
        assert float(row["response_time_ms"]) == item["response_time_ms"]
        ms = int(item["response_time_ms"])
        assert row["response_time"] == f"{ms // 60000}:{ms // 1000 % 60:02d}:{ms % 1000:03d}"
        # Executed on in the account's timezone, with its offset, at the same instant.
        assert row["executed_on"].endswith("+05:30")
        assert datetime.fromisoformat(row["executed_on"]) == datetime.fromisoformat(item["executed_at"])
    # Every column of the table is in the file, whatever the visibility.
    assert list(rows[0])[:9] == ["status", "request_id", "response_time", "deployment_version", "source_type",
                                "source", "executed_on", "input", "output"]
    assert files(media) == [f"exports/{account.pk}/{job['id']}/support-llama-ft_traces_data.csv"]


def test_jsonl_carries_whole_traces(account, member_of, session_client, worker, media):
    from traces.services import trace_ingest_batch
    from tests.traces.test_explorer_api import item

    ingest_world(account, n=10)
    trace_ingest_batch(account, [item(77, request_id="with-payload", request_payload={"messages": [{"a": "b\n"}]},
                                      metadata={"k": [1, 2]})])
    with_feedback(account, "with-payload")
    member = session_client(member_of(account, Role.MEMBER), account)
    job = member.post(URL, {"format": "jsonl", "filters": {"search": "with-payload"}}, format="json").json()
    done = wait_for(member, job["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done["error"] and done["filename"] == "all_models_traces_data.jsonl"
    response = member.get(done["download_url"])
    assert response["Content-Type"] == "application/x-ndjson"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["request_id"] == "with-payload" and doc["request_payload"] == {"messages": [{"a": "b\n"}]}
    assert doc["metadata"] == {"k": [1, 2]} and doc["model"] == "support-llama-ft" and doc["input"] == item(77)["input"]


def test_a_job_cancelled_mid_run_stops_and_leaves_no_file(account, member_of, session_client, worker, media):
    ingest_world(account, n=5)
    bulk_traces(account, 60_000)
    member = session_client(member_of(account, Role.MEMBER), account)
    job = member.post(URL, {"format": "csv"}, format="json").json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = member.get(f"{URL}/{job['id']}").json()
        if body["status"] == "running" and body["rows_written"] > 0:
            break
        time.sleep(0.02)
    assert body["status"] == "running" and 0 < body["rows_written"] < body["rows_total"] == 60_005
    assert body["progress"] == int(100 * body["rows_written"] / body["rows_total"])
    cancelled = member.post(f"{URL}/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # The solo worker takes the next job only once the cancelled one has returned.
    after = member.post(URL, {"format": "csv", "filters": {"search": "req-00"}}, format="json").json()
    assert wait_for(member, after["id"], {"succeeded", "failed"})["status"] == "succeeded"
    stopped = ExportJob.objects.get(pk=job["id"])
    assert stopped.status == "cancelled" and stopped.file == "" and stopped.rows_written < 60_005
    assert stopped.rows_written % CHUNK == 0  # it stopped at a chunk boundary
    assert files(media) == [f"exports/{account.pk}/{after['id']}/all_models_traces_data.csv"]
    assert member.get(f"{URL}/{job['id']}/download").status_code == 409


def test_another_user_cannot_see_cancel_or_download(account, other_account, member_of, session_client, worker,
                                                    media):
    ingest_world(account, n=8)
    owner_of_job = session_client(member_of(account, Role.MEMBER), account)
    job = owner_of_job.post(URL, {"format": "csv"}, format="json").json()
    done = wait_for(owner_of_job, job["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded"
    colleague = session_client(member_of(account, Role.MEMBER, email="colleague@acme.test"), account)
    stranger = session_client(other_account.memberships.get(role=Role.OWNER).user, other_account)
    for client in (colleague, stranger):
        assert client.get(f"{URL}/{job['id']}").status_code == 404
        assert client.post(f"{URL}/{job['id']}/cancel").status_code == 404
        assert client.get(f"{URL}/{job['id']}/download").status_code == 404
        assert client.get(URL).json()["results"] == []
    assert owner_of_job.get(done["download_url"]).status_code == 200
    admin = session_client(member_of(account, Role.ADMIN), account)
    assert admin.get(done["download_url"]).status_code == 200
