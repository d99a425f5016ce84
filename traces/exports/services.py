"""Export jobs (X5): create, cancel, run, clean up. Everything that writes an ExportJob.

A run reads one consistent snapshot (a REPEATABLE READ transaction on its own
connection): a first pass over the selection's keys finds the chunk boundaries and the
total, then each chunk is a `COPY (SELECT …) TO STDOUT` streamed block by block into a
temporary file. Between chunks the job's progress is saved and its status read back, so
a cancellation stops the run and deletes the partial file. Memory stays constant: the
only thing kept per chunk is its boundary key.

A worker that dies mid-run (SIGKILL, lost host) leaves a `running` job whose heartbeat
stops; `exports_recover` queues it again, to run from scratch on a fresh snapshot, up to
EXPORT_MAX_ATTEMPTS runs. Each run is numbered (`attempts`) and every write of a run names
its number, so a run given up on can never overwrite its successor.
"""
import logging
import re
import tempfile
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.services import audit_record
from config import jobs
from config.replica_reads import replica_reads
from models_registry.models import Model
from traces.explorer.params import ExplorerQuery, explorer_query
from traces.explorer.query import JOINS, explorer_where
from traces.exports.sql import COPY_OPTIONS, header, select_list
from traces.models import ExportJob

log = logging.getLogger(__name__)
Status = ExportJob.Status
STALE_PARTIAL = timedelta(days=1)
NEVER_STARTED = timedelta(days=1)


def _setting(name, default):
    return getattr(settings, name, default)


def export_filename(model: str | None, fmt: str) -> str:
    """`<model>_traces_data.csv` (002), the model name made safe for every file system."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", model or "").strip("._") or "all_models"
    return f"{stem[:120]}_traces_data.{fmt}"


def export_create(account, actor, data) -> ExportJob:
    """Validate `{"format", "filters"}`, fix the selection to instants and queue the job."""
    if not isinstance(data, dict):
        raise ApplicationError("Send a JSON object {\"format\": \"csv\"|\"jsonl\", \"filters\": {…}}.",
                               {"body": ["must be a JSON object"]})
    unknown = sorted(set(data) - {"format", "filters"})
    if unknown:
        raise ApplicationError(f"Unknown field '{unknown[0]}'.", {unknown[0]: ["unknown field; use format, filters"]})
    fmt = data.get("format", "csv")
    if fmt not in ExportJob.Format.values:
        raise ApplicationError("format must be csv or jsonl.", {"format": ["must be csv or jsonl"]})
    filters = data.get("filters") or {}
    if not isinstance(filters, dict):
        raise ApplicationError("filters must be an object.", {"filters": ["must be an object of the list's "
                                                                          "query parameters"]})
    query = explorer_query(account, filters, strict=True, prefix="filters.")
    owner = {"created_by": actor.user} if actor.user is not None else {"api_key": actor.key}
    limit = _setting("EXPORT_MAX_ACTIVE_PER_CREATOR", 3)
    active = ExportJob.objects.for_account(account).filter(status__in=ExportJob.ACTIVE, **owner).count()
    if active >= limit:
        raise ApplicationError(f"You already have {active} exports in progress; wait for one to finish or cancel "
                               "one.", {"exports": [f"at most {limit} at a time"]}, status=429)
    model_name = query.sel.filters.get("model")
    if not model_name and query.sel.filters.get("model_id"):
        model_name = Model.objects.for_account(account).filter(pk=query.sel.filters["model_id"]).values_list(
            "name", flat=True).first()
    with transaction.atomic():
        job = ExportJob.objects.create(account=account, format=fmt, params=query.to_params(),
                                       filename=export_filename(model_name, fmt), **owner)
        audit_record(account, actor, "export.created", job, format=fmt, filename=job.filename,
                     filters=job.params["filters"])
        transaction.on_commit(lambda: _enqueue(job.pk))
    job.refresh_from_db(fields=["status", "error", "finished_at"])
    if job.status == Status.FAILED:  # the queue did not take it: say so rather than "queued"
        raise ApplicationError(job.error, {"queue": [f"unavailable; try again in {QUEUE_RETRY_AFTER} seconds"]},
                               status=503, headers={"Retry-After": str(QUEUE_RETRY_AFTER)})
    return job


QUEUE_RETRY_AFTER = 30


def _enqueue(job_id):
    try:
        jobs.enqueue(jobs.EXPORT_RUN, job_id)
    except jobs.QueueUnavailable:  # the broker is down: the job fails now instead of sitting queued
        log.exception("could not queue export %s", job_id)
        ExportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
            status=Status.FAILED, finished_at=timezone.now(),
            error="The export could not be queued (the task queue is unavailable). Try again shortly.")


def export_cancel(account, actor, job: ExportJob) -> ExportJob:
    """Cancel a queued or running job. A running worker notices between chunks and deletes its partial file."""
    updated = ExportJob.objects.for_account(account).filter(pk=job.pk, status__in=ExportJob.ACTIVE).update(
        status=Status.CANCELLED, finished_at=timezone.now())
    job.refresh_from_db()
    if not updated:
        raise ApplicationError(f"This export has already {job.status}; only queued or running exports can be "
                               "cancelled.", {"status": [job.status]}, status=409)
    audit_record(account, actor, "export.cancelled", job, filename=job.filename)
    return job


def export_record_download(account, actor, job: ExportJob):
    audit_record(account, actor, "export.downloaded", job, filename=job.filename, rows=job.rows_written)


# -- running ---------------------------------------------------------------------------------

class Cancelled(Exception):
    pass


class Superseded(Exception):
    """This run was given up on (its heartbeat went silent) and the job queued again."""


class _MovableFile(File):
    """A finished temporary file: FileSystemStorage moves it into place instead of copying."""

    def temporary_file_path(self):
        return self.file.name


def _partial_dir() -> Path:
    # Beside the stored files when they are local, so finishing is a rename.
    if isinstance(default_storage, FileSystemStorage):
        path = Path(default_storage.location) / "exports" / ".partial"
    else:
        path = Path(tempfile.gettempdir()) / "modelpulse-exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _connect(db: dict | None = None):
    """A connection of its own for the snapshot; progress goes through Django's, so it is seen at once."""
    db = db or connection.settings_dict
    params = {"dbname": db["NAME"], "user": db.get("USER") or None, "password": db.get("PASSWORD") or None,
              "host": db.get("HOST") or None, "port": db.get("PORT") or None, **(db.get("OPTIONS") or {})}
    params.pop("pool", None)
    params.pop("server_side_binding", None)
    return psycopg.connect(**{k: v for k, v in params.items() if v is not None})


def _claim(job_id) -> ExportJob | None:
    """Take a queued job (one atomic UPDATE: of two deliveries of one message, one wins)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE traces_exportjob SET status = %s, started_at = now(), heartbeat_at = now(), "
                       "attempts = attempts + 1 WHERE id = %s AND status = %s RETURNING id",
                       [Status.RUNNING, job_id, Status.QUEUED])
        if cursor.fetchone() is None:
            return None  # cancelled before it started, already taken, or finished
    return ExportJob.objects.select_related("account").get(pk=job_id)


def _progress(job, written: int, total: int | None = None) -> str:
    """Save progress, read back the status (a cancellation shows here)."""
    fields = {"rows_written": written}
    if total is not None:
        fields["rows_total"] = total
    with connection.cursor() as cursor:
        sets = ", ".join(f"{k} = %({k})s" for k in fields)
        cursor.execute(f"UPDATE traces_exportjob SET {sets}, heartbeat_at = now() "
                       "WHERE id = %(id)s AND account_id = %(account)s AND attempts = %(attempt)s RETURNING status",
                       {**fields, "id": job.pk, "account": job.account_id, "attempt": job.attempts})
        row = cursor.fetchone()
    if row is None:
        raise Superseded
    return row[0]


class _Heartbeat(threading.Thread):
    """Touches the job's heartbeat while the run is alive, also inside a long chunk or the first
    pass; it dies with the worker, which is how a lost worker shows."""

    def __init__(self, job, every: float):
        super().__init__(name=f"export-{job.pk}-heartbeat", daemon=True)
        self.job, self.every, self.stopped = job, every, threading.Event()

    def run(self):
        try:
            while not self.stopped.wait(self.every):
                try:
                    ExportJob.objects.filter(pk=self.job.pk, status=Status.RUNNING, attempts=self.job.attempts) \
                        .update(heartbeat_at=timezone.now())
                except Exception:  # the database blinked: the next beat tries again
                    log.warning("export %s: heartbeat not written", self.job.pk, exc_info=True)
        finally:
            connection.close()

    def stop(self):
        self.stopped.set()
        self.join()


def _snapshot_connection(job):
    """The run's snapshot connection (a REPEATABLE READ transaction begun, read only): on a
    replica when one is usable and has replayed the job's own creation — WAL is replayed in
    commit order, so it then holds every trace committed before the job was queued — else on
    the primary. The check is the snapshot's first statement, so it holds for every row read."""
    with replica_reads() as scope:
        alias = scope.reading_alias
    if alias != DEFAULT_DB_ALIAS:
        try:
            conn = _begin_snapshot(_connect(connections[alias].settings_dict))
            if conn.execute("SELECT 1 FROM traces_exportjob WHERE id = %s", [job.pk]).fetchone():
                return conn
            conn.close()
            log.info("export %s: replica %s has not replayed the job yet; reading the primary", job.pk, alias)
        except psycopg.OperationalError:
            log.warning("export %s: replica %s failed; reading the primary", job.pk, alias, exc_info=True)
    return _begin_snapshot(_connect())


def _begin_snapshot(conn):
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def _boundaries(cur, q: ExplorerQuery, where: str, params: dict, chunk: int):
    """[(executed_at, id) ending each full chunk], and the number of rows — one pass over the keys."""
    order = "DESC" if q.sort == "desc" else "ASC"
    cur.execute(
        f"SELECT executed_at, id, n, last FROM ("
        f" SELECT t.executed_at, t.id, row_number() OVER w AS n, lead(t.id) OVER w IS NULL AS last"
        f" FROM traces_trace t WHERE {where} WINDOW w AS (ORDER BY t.executed_at {order}, t.id {order})"
        f") x WHERE n %% %(chunk)s = 0 OR last", {**params, "chunk": chunk})
    keys, total = [], 0
    for executed_at, pk, n, last in cur:
        if n % chunk == 0:
            keys.append((executed_at, pk))
        if last:
            total = n
    return keys, total


def _stream(job, q: ExplorerQuery, out, chunk: int) -> int:
    where, params = explorer_where(q)
    order = "DESC" if q.sort == "desc" else "ASC"
    before = "<" if q.sort == "desc" else ">"
    select = select_list(job.format)
    options = COPY_OPTIONS[job.format]
    # NOTE: on a replica the snapshot transaction is already open (the job-row check ran in it);
    # conn.transaction() is then a savepoint inside it, so every chunk reads the same snapshot.
    with _snapshot_connection(job) as conn:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT set_config('TimeZone', %s, true)", [job.account.timezone])
            keys, total = _boundaries(cur, q, where, params, chunk)
            if _progress(job, 0, total) == Status.CANCELLED:
                raise Cancelled
            out.write(header(job.format))
            written, previous = 0, None
            # Each chunk starts after the previous chunk's last key and takes `chunk` rows in
            # order (the last one what is left): in the snapshot that ends exactly at the next
            # boundary. A LIMIT rather than a second bound keeps the planner on the ordered
            # index scan instead of sorting the chunk.
            for bound in [*keys, None]:
                clauses = [where]
                if previous is not None:
                    clauses.append(f"(t.executed_at, t.id) {before} (%(p_at)s, %(p_id)s)")
                chunk_params = {**params, "p_at": previous and previous[0], "p_id": previous and previous[1],
                                "limit": chunk}
                statement = (f"COPY (SELECT {select} {JOINS} WHERE {' AND '.join(clauses)} "
                             f"ORDER BY t.executed_at {order}, t.id {order} LIMIT %(limit)s) TO STDOUT WITH ({options})")
                with cur.copy(statement, chunk_params) as copy:
                    for block in copy:
                        out.write(block)
                written += cur.rowcount
                previous = bound
                if _progress(job, written) == Status.CANCELLED:
                    raise Cancelled
    return written


def export_run(job_id) -> ExportJob | None:
    """Run a queued job to its end: succeeded (file stored), cancelled (no file) or failed (reason kept)."""
    job = _claim(job_id)
    if job is None:
        return None
    chunk = max(1, int(_setting("EXPORT_CHUNK_ROWS", 50_000)))
    partial, stored = None, None
    heartbeat = _Heartbeat(job, float(_setting("EXPORT_HEARTBEAT_SECONDS", 10.0)))
    heartbeat.start()
    mine = {"pk": job.pk, "status": Status.RUNNING, "attempts": job.attempts}
    try:
        partial = _partial_dir() / f"{job.account_id}-{job.pk}-{uuid.uuid4().hex}.part"
        q = ExplorerQuery.from_params(job.account, job.params)
        with open(partial, "wb", buffering=1 << 20) as out:
            written = _stream(job, q, out, chunk)
        size = partial.stat().st_size
        with open(partial, "rb") as finished:
            stored = default_storage.save(f"exports/{job.account_id}/{job.pk}/{job.filename}", _MovableFile(finished))
        now = timezone.now()
        hours = _setting("EXPORT_RETENTION_HOURS", 168)
        done = ExportJob.objects.filter(**mine).update(
            status=Status.SUCCEEDED, file=stored, rows_written=written, size_bytes=size, finished_at=now,
            heartbeat_at=now, expires_at=now + timedelta(hours=hours))
        if not done:  # cancelled after the last chunk: the user asked for no file
            default_storage.delete(stored)
    except Cancelled:
        log.info("export %s cancelled after %s rows", job.pk, job.rows_written)
    except Superseded:
        log.warning("export %s: run %s was given up on and the job queued again; stopping", job.pk, job.attempts)
    except Exception as exc:  # recorded on the job for the user; the traceback goes to the log
        log.exception("export %s failed", job.pk)
        if stored:
            default_storage.delete(stored)
        ExportJob.objects.filter(**mine).update(status=Status.FAILED, error=_reason(exc), finished_at=timezone.now())
    finally:
        heartbeat.stop()
        if partial is not None:
            partial.unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def _reason(exc) -> str:
    if isinstance(exc, OSError):
        return f"The file could not be written ({exc.strerror or type(exc).__name__})."
    if isinstance(exc, psycopg.Error):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"The database stopped the export: {first[:300]}"
    return f"The export failed: {type(exc).__name__}: {str(exc)[:300]}"


# -- cleaning up -----------------------------------------------------------------------------

def exports_cleanup(now=None) -> dict:
    """Hourly: delete expired files, fail jobs whose worker went away, remove orphaned partial files."""
    now = now or timezone.now()
    expired = 0
    for job in ExportJob.objects.filter(status=Status.SUCCEEDED, expired=False, expires_at__lte=now):
        if job.file:
            default_storage.delete(job.file)
        ExportJob.objects.filter(pk=job.pk).update(expired=True, file="")
        expired += 1
    lost = ExportJob.objects.filter(status=Status.QUEUED, created_at__lt=now - NEVER_STARTED).update(
        status=Status.FAILED, finished_at=now, error="No worker picked the export up within a day. Start it again.")
    orphans = 0
    directory = _partial_dir()
    for path in directory.glob("*.part"):
        try:
            if now.timestamp() - path.stat().st_mtime > STALE_PARTIAL.total_seconds():
                path.unlink(missing_ok=True)
                orphans += 1
        except FileNotFoundError:
            continue
    return {"expired": expired, "lost": lost, "orphans": orphans}


# -- a worker went away ----------------------------------------------------------------------

def exports_recover(now=None) -> dict:
    """Every JOBS_RECOVER_INTERVAL_SECONDS: a running job whose heartbeat went silent for
    JOBS_STALE_SECONDS lost its worker — queue it again (from scratch) or, after
    EXPORT_MAX_ATTEMPTS runs, fail it; a queued job silent as long lost its message — send it
    again (a second message is harmless: only one claim wins)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=_setting("JOBS_STALE_SECONDS", 60.0))
    most = _setting("EXPORT_MAX_ATTEMPTS", 3)
    requeued, failed, resent = [], 0, []
    silent = Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale)
    for pk, account_id, attempts in ExportJob.objects.filter(silent, status=Status.RUNNING).values_list(
            "pk", "account_id", "attempts")[:500]:
        same_run = ExportJob.objects.filter(silent, pk=pk, status=Status.RUNNING, attempts=attempts)
        if attempts >= most:
            failed += same_run.update(status=Status.FAILED, finished_at=now, error=(
                f"The export's worker went away {attempts} times before it finished. Start it again, perhaps "
                "with a narrower selection."))
            _remove_partials(account_id, pk)
        elif same_run.update(status=Status.QUEUED, rows_written=0, rows_total=None, heartbeat_at=now):
            _remove_partials(account_id, pk)
            requeued.append(pk)
    for pk in ExportJob.objects.filter(silent, status=Status.QUEUED).values_list("pk", flat=True)[:500]:
        if ExportJob.objects.filter(silent, pk=pk, status=Status.QUEUED).update(heartbeat_at=now):
            resent.append(pk)
    for pk in requeued + resent:
        try:
            jobs.enqueue(jobs.EXPORT_RUN, pk)
        except jobs.QueueUnavailable:  # still queued, silent again in JOBS_STALE_SECONDS: sent then
            log.warning("export %s: the queue is unavailable; trying again on the next pass", pk)
    if requeued or failed:
        log.warning("exports whose worker went away: %s queued again, %s failed", len(requeued), failed)
    return {"requeued": len(requeued), "failed": failed, "resent": len(resent)}


def _remove_partials(account_id, job_id):
    """The dead run's partial file (beside the stored files when storage is local)."""
    for path in _partial_dir().glob(f"{account_id}-{job_id}-*.part"):
        path.unlink(missing_ok=True)
