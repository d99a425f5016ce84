"""Account deletion by the owner (T2, issue 19 item 5): confirmed by the slug, run by a real
Celery worker, every row of every table holding the account and every export file gone,
the other account untouched, the deletion's record kept, the owner told through a real
SMTP server."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.deletion import account_deletion_request, account_deletion_run, tenant_models
from accounts.errors import ApplicationError
from accounts.models import Account, AccountDeletion, ApiKey, AuditEvent, Membership, Role
from accounts.services import Actor
from tests.accounts.test_isolation import snapshot
from tests.alerts.conftest import smtp_server  # noqa: F401  (a real SMTP server, aiosmtpd)
from tests.factories import FACTORIES
from traces.models import ExportJob

ROOT = Path(__file__).resolve().parents[2]


def account_id_tables():
    """Every table of the database with an account_id column (not only the ones a model names).
    A partition counts as part of its partitioned table (traces_trace, traces_requestid)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.table_name FROM information_schema.columns c "
                       "JOIN pg_class r ON r.oid = to_regclass(quote_ident(c.table_name)) "
                       "WHERE c.table_schema = current_schema() AND c.column_name = 'account_id' "
                       "AND NOT r.relispartition ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def rows_of(account_id):
    counts = {}
    with connection.cursor() as cursor:
        for table in account_id_tables():
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE account_id = %s', [account_id])
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM accounts_account WHERE id = %s", [account_id])
        counts["accounts_account"] = cursor.fetchone()[0]
    return counts


def export_files(media, account, marker, n=2):
    """Export jobs with their files on disk, as the export worker leaves them, plus a partial."""
    paths = []
    for i in range(n):
        job = FACTORIES[ExportJob](account, f"{marker}{i}")
        name = f"exports/{account.pk}/{job.pk}/{job.filename}"
        path = media / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"status,request_id\nsuccess,{marker}\n")
        ExportJob.objects.filter(pk=job.pk).update(file=name, status="succeeded")
        paths.append(path)
    partial = media / "exports" / ".partial" / f"{account.pk}-999-abc.part"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("half")
    return paths + [partial]


# -- the request ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_only_an_owner_with_the_slug_can_ask(account, member_of):
    admin = member_of(account, Role.ADMIN)
    owner = account.memberships.get(role=Role.OWNER).user
    with pytest.raises(ApplicationError) as info:
        account_deletion_request(account, Actor(user=admin), confirm=account.slug)
    assert info.value.status == 403 and "role" in info.value.errors
    for wrong in ("", "ACME", "acme2", "Acme"):
        with pytest.raises(ApplicationError) as info:
            account_deletion_request(account, Actor(user=owner), confirm=wrong)
        assert info.value.status == 400 and "confirm" in info.value.errors
    assert not AccountDeletion.objects.exists()
    assert Account.objects.filter(pk=account.pk).exists()


@pytest.mark.django_db
def test_console_danger_zone_refuses_bad_input_naming_the_field(account, member_of, client):
    owner = account.memberships.get(role=Role.OWNER).user
    client.force_login(owner)
    page = client.get(f"/a/{account.slug}/settings/")
    assert b'data-testid="danger-zone"' in page.content and b"delete-form" in page.content
    response = client.post(f"/a/{account.slug}/settings/delete/", {"confirm": "nope"})
    assert response.status_code == 400
    assert f"type &#x27;{account.slug}&#x27; exactly to confirm".encode() in response.content
    response = client.post(f"/a/{account.slug}/settings/delete/", {})
    assert response.status_code == 400 and b"id_confirm" in response.content
    # An admin sees no form and cannot post one.
    admin = member_of(account, Role.ADMIN)
    client.force_login(admin)
    assert b"delete-form" not in client.get(f"/a/{account.slug}/settings/").content
    assert client.post(f"/a/{account.slug}/settings/delete/", {"confirm": account.slug}).status_code == 403
    assert Account.objects.filter(pk=account.pk).exists() and not AccountDeletion.objects.exists()


@pytest.mark.django_db
def test_asking_shuts_the_account_at_once(account, member_of, key_client, client):
    owner = account.memberships.get(role=Role.OWNER).user
    member_of(account, Role.VIEWER)
    api = key_client(account, scopes=("read",))
    assert api.get("/api/v1/models").status_code == 200
    client.force_login(owner)
    response = client.post(f"/a/{account.slug}/settings/delete/", {"confirm": account.slug})
    assert response.status_code == 302
    deletion = AccountDeletion.objects.get()
    assert (deletion.status, deletion.account_slug, deletion.requested_by_email) == ("queued", "acme", owner.email)
    assert not Membership.objects.filter(account=account).exists()
    assert not ApiKey.objects.filter(account=account, revoked_at__isnull=True).exists()
    assert api.get("/api/v1/models").status_code == 401
    assert client.get(f"/a/{account.slug}/settings/").status_code == 404
    assert AuditEvent.objects.filter(account=account, action="account.deletion_requested").exists()


@pytest.mark.django_db(transaction=True)
def test_run_in_process_deletes_everything_and_is_idempotent(make_account, settings, tmp_path, smtp_server):  # noqa: F811
    settings.MEDIA_ROOT = str(tmp_path / "media")
    a, b = make_account("alpha"), make_account("bravo")
    for model, factory in FACTORIES.items():
        factory(a, "ALPHAMARK7Q")
        factory(b, "BRAVOMARK3Z")
    before_b = snapshot(b)
    owner = a.memberships.get(role=Role.OWNER).user
    deletion = account_deletion_request(a, Actor(user=owner), confirm="alpha")
    account_deletion_run(deletion.pk)
    account_deletion_run(deletion.pk)  # a second delivery of the message changes nothing
    assert not any(rows_of(a.pk).values())
    assert snapshot(b) == before_b
    deletion.refresh_from_db()
    assert deletion.status == "done" and deletion.notified_at is not None
    assert len(smtp_server.messages) == 1


# -- through a real worker -------------------------------------------------------------------

@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def worker(media, transactional_db, smtp_server, tmp_path):  # noqa: F811
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                          f"/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": "test", "MEDIA_ROOT": str(media),
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_server.port), "DJANGO_SETTINGS_MODULE": "config.settings"}
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                             "--loglevel", "INFO"], cwd=ROOT, env=env, start_new_session=True, stdout=log,
                            stderr=subprocess.STDOUT)
    proc.log_path = tmp_path / "worker.log"
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def test_owner_deletes_the_account_through_the_worker_and_is_told(make_account, worker, media, smtp_server,
                                                                  client):
    a, b = make_account("alpha"), make_account("bravo")
    for model, factory in FACTORIES.items():
        factory(a, "ALPHAMARK7Q")
        factory(b, "BRAVOMARK3Z")
    files_a = export_files(media, a, "ALPHAMARK7Q")
    files_b = export_files(media, b, "BRAVOMARK3Z")
    before_b = snapshot(b)
    audit_b = AuditEvent.objects.filter(account=b).count()
    # Every table holding account_id has rows of A before (the walk covers all of them).
    counts = rows_of(a.pk)
    empty = sorted(t for t, n in counts.items() if n == 0)
    assert not empty, f"the world built for A misses tables: {empty}"
    modelled = {m._meta.db_table for m in tenant_models()} | {"accounts_auditevent"}
    assert set(account_id_tables()) <= modelled, "a table holds account_id without a model the deletion walks"

    owner = a.memberships.get(role=Role.OWNER).user
    client.force_login(owner)
    response = client.post(f"/a/{a.slug}/settings/delete/", {"confirm": "alpha"})
    assert response.status_code == 302
    deletion = AccountDeletion.objects.get()

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        deletion.refresh_from_db()
        if deletion.notified_at is not None or deletion.status == "failed":
            break
        time.sleep(0.3)
    assert deletion.status == "done" and deletion.notified_at is not None, (
        deletion.error, worker.log_path.read_text()[-3000:])

    # Every row of A, in every table that holds an account_id, is gone; so is the account.
    left = {t: n for t, n in rows_of(a.pk).items() if n}
    assert not left, f"rows of the deleted account remain: {left}"
    # Its files too; B's rows and files are untouched.
    assert not any(p.exists() for p in files_a)
    assert not (media / "exports" / str(a.pk)).exists()
    assert all(p.exists() for p in files_b)
    assert snapshot(b) == before_b
    assert AuditEvent.objects.filter(account=b).count() == audit_b
    # The deletion's record outlives the account: who, what, how much.
    assert deletion.former_account_id == a.pk and deletion.account_slug == "alpha"
    assert deletion.requested_by_email == owner.email
    assert deletion.rows_deleted["traces.Trace"] >= 1 and deletion.rows_deleted["accounts.AuditEvent"] >= 1
    assert deletion.files_deleted == len(files_a)
    # The owner was told, by a real SMTP server.
    mails = [m for m in smtp_server.messages if owner.email in m["to"]]
    assert len(mails) == 1
    message = mails[0]["message"]
    assert message["Subject"] == "Your ModelPulse account Alpha was deleted"
    assert "has been deleted" in message.get_content() and f"{len(files_a)} export files" in message.get_content()


@pytest.mark.django_db(transaction=True)
def test_a_refused_email_is_tried_again_and_the_data_stays_deleted(make_account, settings, tmp_path,
                                                                  smtp_server):  # noqa: F811
    from tests.alerts.conftest import free_port

    settings.MEDIA_ROOT = str(tmp_path / "media")
    a = make_account("alpha")
    owner = a.memberships.get(role=Role.OWNER).user
    deletion = account_deletion_request(a, Actor(user=owner), confirm="alpha")
    real_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there
    with pytest.raises(OSError):
        account_deletion_run(deletion.pk)
    deletion.refresh_from_db()
    assert deletion.status == "done" and deletion.notified_at is None and deletion.error.startswith("e-mail:")
    assert not Account.objects.filter(pk=a.pk).exists()
    settings.EMAIL_PORT = real_port
    account_deletion_run(deletion.pk)  # the task's retry
    deletion.refresh_from_db()
    assert deletion.notified_at is not None and deletion.error == ""
    assert [m["to"] for m in smtp_server.messages] == [[owner.email]]
