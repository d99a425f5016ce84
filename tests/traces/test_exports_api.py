"""X5 through the API with the export run in-process (the real-worker path is in
test_exports_worker.py): validation, who sees what, cancel, download, failure, clean-up."""
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import AuditEvent, Role
from tests.traces.test_explorer_api import ingest_world
from traces.exports.services import export_filename, export_run, exports_cleanup, exports_recover
from traces.models import ExportJob

URL = "/api/v1/exports"
pytestmark = pytest.mark.django_db(transaction=True)  # the export reads on a connection of its own


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def people(account, member_of, session_client):
    return {role: session_client(member_of(account, role), account)
            for role in (Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER)}


def stored_files(media):
    return sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())


def run(job_id):
    """What the worker does with the task."""
    return export_run(job_id)


def test_a_member_exports_the_filtered_selection_to_csv(account, people, media):
    world = ingest_world(account)
    filters = {"model": "support-llama-ft", "filter": ["status:eq:success", "response_time:gte:0:1:0"]}
    response = people[Role.MEMBER].post(URL, {"format": "csv", "filters": filters}, format="json")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued" and job["filename"] == "support-llama-ft_traces_data.csv"
    assert job["filters"]["preset"] is None and job["filters"]["filter"] == ["status:eq:success",
                                                                             "and:response_time:gte:0:01:000"]
    assert job["download_url"] is None
    finished = run(job["id"])
    assert finished.status == "succeeded", finished.error
    body = people[Role.MEMBER].get(f"{URL}/{job['id']}").json()
    want = [i for i in sorted(world, key=lambda i: i["executed_at"], reverse=True)
            if i["model"] == "support-llama-ft" and i["status"] == "success" and i["response_time_ms"] >= 1000]
    assert body["rows_written"] == body["rows_total"] == len(want) > 3 and body["progress"] == 100
    download = people[Role.MEMBER].get(body["download_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert 'filename="support-llama-ft_traces_data.csv"' in download["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [r["request_id"] for r in rows] == [i["request_id"] for i in want]
    assert stored_files(media) == [f"exports/{account.pk}/{job['id']}/support-llama-ft_traces_data.csv"]
    assert AuditEvent.objects.for_account(account).filter(action="export.downloaded").count() == 1


def test_bad_requests_are_400_with_the_field(account, people):
    member = people[Role.MEMBER]
    cases = [
        ({"format": "xml"}, "format"),
        ({"filters": ["model"]}, "filters"),
        ({"filters": {"colour": "red"}}, "filters.colour"),
        ({"filters": {"filter": ["status:eq:failure", "or:source:eq:a", "and:source:eq:b"]}}, "filters.filter"),
        ({"filters": {"filter": ["response_time:gt:1:99:0"]}}, "filters.filter"),
        ({"filters": {"preset": "someday"}}, "filters.preset"),
        ({"filters": {"start": "2026-03-01", "end": "2026-02-01"}}, "filters.end"),
        ({"filters": {"model": 7}}, "filters.model"),
        ({"filters": {}, "notify": True}, "notify"),
    ]
    for body, field in cases:
        response = member.post(URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["errors"], (body, response.json())
    assert member.post(URL, "[1, 2]", content_type="application/json").status_code == 400
    assert not ExportJob.objects.for_account(account).exists()


def test_roles_and_keys(account, people, key_client):
    assert people[Role.VIEWER].post(URL, {}, format="json").status_code == 403
    assert key_client(account, ["ingest"]).post(URL, {}, format="json").status_code == 403
    response = key_client(account, ["read"]).post(URL, {}, format="json")
    assert response.status_code == 202 and response.json()["created_by"].startswith("key ")
    assert response.json()["filename"] == "all_models_traces_data.csv"


def test_each_user_sees_cancels_and_downloads_only_their_own(account, other_account, people, member_of,
                                                              session_client, key_client, media):
    ingest_world(account, n=12)
    mine = people[Role.MEMBER]
    colleague = session_client(member_of(account, Role.MEMBER, email="second-member@acme.test"), account)
    job = mine.post(URL, {"format": "jsonl"}, format="json").json()
    run(job["id"])
    key = key_client(account, ["read"])
    key_job = key.post(URL, {}, format="json").json()
    outsider_key = key_client(other_account, ["read"])
    outsider_session = session_client(other_account.memberships.get(role=Role.OWNER).user, other_account)
    for client in (colleague, key, outsider_key, outsider_session, people[Role.VIEWER]):
        assert client.get(f"{URL}/{job['id']}").status_code == 404
        assert client.get(f"{URL}/{job['id']}/download").status_code == 404
        assert job["id"] not in [j["id"] for j in client.get(URL).json()["results"]]
    for client in (colleague, key, outsider_key, outsider_session):
        assert client.post(f"{URL}/{job['id']}/cancel").status_code == 404
    # The key's job is the key's; admins and owners see and download everyone's.
    assert [j["id"] for j in key.get(URL).json()["results"]] == [key_job["id"]]
    assert mine.get(f"{URL}/{key_job['id']}").status_code == 404
    for role in (Role.ADMIN, Role.OWNER):
        listed = {j["id"] for j in people[role].get(URL).json()["results"]}
        assert {job["id"], key_job["id"]} <= listed
        assert people[role].get(f"{URL}/{job['id']}/download").status_code == 200
    assert mine.get(f"{URL}/{job['id']}/download").status_code == 200
    assert mine.get(f"{URL}/{job['id']}").json()["status"] == "succeeded"
    # Admins see a running export of someone else's but cannot cancel it: one user's cancellation
    # never touches another's export (002).
    running = mine.post(URL, {}, format="json").json()
    response = people[Role.ADMIN].post(f"{URL}/{running['id']}/cancel")
    assert response.status_code == 403 and "Only whoever started" in response.json()["message"]
    assert ExportJob.objects.get(pk=running["id"]).status == "queued"
    assert mine.post(f"{URL}/{running['id']}/cancel").json()["status"] == "cancelled"


def test_cancel_before_the_worker_starts_means_no_run_and_no_file(account, people, media):
    ingest_world(account, n=5)
    member = people[Role.MEMBER]
    job = member.post(URL, {}, format="json").json()
    response = member.post(f"{URL}/{job['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert run(job["id"]) is None  # the worker finds nothing to do
    assert ExportJob.objects.get(pk=job["id"]).rows_written == 0 and stored_files(media) == []
    again = member.post(f"{URL}/{job['id']}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["message"]
    assert member.get(f"{URL}/{job['id']}/download").status_code == 409


def test_a_failure_is_recorded_with_its_reason(account, people, settings, tmp_path):
    ingest_world(account, n=5)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.MEDIA_ROOT = str(blocker)
    job = people[Role.MEMBER].post(URL, {}, format="json").json()
    finished = run(job["id"])
    assert finished.status == "failed" and "could not be written" in finished.error
    body = people[Role.MEMBER].get(f"{URL}/{job['id']}").json()
    assert body["status"] == "failed" and body["error"] == finished.error and body["download_url"] is None


def test_at_most_three_at_a_time_per_creator(account, people):
    member = people[Role.MEMBER]
    for _ in range(3):
        assert member.post(URL, {}, format="json").status_code == 202
    response = member.post(URL, {}, format="json")
    assert response.status_code == 429 and "3 exports in progress" in response.json()["message"]
    assert people[Role.ADMIN].post(URL, {}, format="json").status_code == 202  # someone else's limit


def test_clean_up_expired_files_lost_workers_and_orphans(account, people, media):
    ingest_world(account, n=5)
    member = people[Role.MEMBER]
    old = run(member.post(URL, {}, format="json").json()["id"])
    fresh = run(member.post(URL, {}, format="json").json()["id"])
    assert len(stored_files(media)) == 2
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    lost = ExportJob.objects.create(account=account, created_by=old.created_by, filename="x_traces_data.csv",
                                    status="queued")
    ExportJob.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(days=2))
    orphan = media / "exports" / ".partial" / "9-9-dead.part"
    orphan.write_text("half a file")
    import os
    os.utime(orphan, (0, 0))
    assert exports_cleanup() == {"expired": 1, "lost": 1, "orphans": 1}
    assert stored_files(media) == [f"exports/{account.pk}/{fresh.pk}/all_models_traces_data.csv"]
    assert member.get(f"{URL}/{old.pk}/download").status_code == 410
    body = member.get(f"{URL}/{old.pk}").json()
    assert body["expired"] is True and body["download_url"] is None
    assert ExportJob.objects.get(pk=lost.pk).status == "failed"
    assert member.get(f"{URL}/{fresh.pk}/download").status_code == 200


def test_recovery_requeues_silent_runs_and_fails_them_after_the_last_attempt(account, media, settings):
    import redis

    settings.JOBS_STALE_SECONDS, settings.EXPORT_MAX_ATTEMPTS = 60, 3
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("exports")
    now = timezone.now()

    def job(status, attempts, silent_for):
        made = ExportJob.objects.create(account=account, filename="x_traces_data.csv",
                                        status=status, attempts=attempts, rows_written=400, rows_total=1000,
                                        heartbeat_at=now - timedelta(seconds=silent_for))
        return made.pk

    lost_once, lost_thrice, alive = job("running", 1, 90), job("running", 3, 90), job("running", 1, 5)
    waiting_long, waiting = job("queued", 0, 90), job("queued", 0, 5)
    partial = media / "exports" / ".partial" / f"{account.pk}-{lost_once}-abc.part"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("half a file")
    assert exports_recover(now) == {"requeued": 1, "failed": 1, "resent": 1}
    again = ExportJob.objects.get(pk=lost_once)
    assert (again.status, again.attempts, again.rows_written, again.rows_total) == ("queued", 1, 0, None)
    assert not partial.exists()
    given_up = ExportJob.objects.get(pk=lost_thrice)
    assert given_up.status == "failed" and "went away 3 times" in given_up.error
    assert ExportJob.objects.get(pk=alive).status == "running"
    assert ExportJob.objects.get(pk=waiting).status == ExportJob.objects.get(pk=waiting_long).status == "queued"
    assert broker.llen("exports") == 2  # lost_once queued again, waiting_long's message sent again
    assert exports_recover(now) == {"requeued": 0, "failed": 0, "resent": 0}  # nothing twice
    broker.delete("exports")


def test_file_names_and_the_schedule():
    assert export_filename("GPT4", "csv") == "GPT4_traces_data.csv"
    assert export_filename("org/../llama 3:8b", "jsonl") == "org_.._llama_3_8b_traces_data.jsonl"
    assert export_filename(None, "csv") == "all_models_traces_data.csv"
    entry = settings.CELERY_BEAT_SCHEDULE["clean-up-exports"]
    assert entry["task"] == "traces.tasks.exports_cleanup_task" and entry["options"]["expires"] < entry["schedule"]
