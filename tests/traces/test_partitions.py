"""traces_trace partitioned by month (docs/decisions/0005-trace-partitions.md): partitions made
ahead and on demand, idempotency on (account, request_id) across partitions, retention by
whole partitions plus chunks, and the migration that moves an unpartitioned table's rows."""
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from django.db import IntegrityError, connection, connections, transaction

from accounts.deletion import account_deletion_run
from accounts.models import AccountDeletion
from analytics.rollups import rollup_process_dirty
from models_registry.models import Model
from traces.models import RequestId, Trace
from traces.partitions import (month_add, month_of, partition_name, partitions_create_ahead, partitions_ensure,
                               partitions_list)
from traces.retention import traces_delete_expired_all
from traces.services import trace_ingest_batch
from traces.tasks import traces_partitions_task

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def item(request_id, at, **overrides):
    return {"request_id": request_id, "executed_at": at.isoformat(), "model": "m", "status": "success",
            "response_time_ms": 10, **overrides}


def request_ids(account):
    return sorted(Trace.objects.for_account(account).values_list("request_id", flat=True))


def taken_ids(account):
    return sorted(RequestId.objects.filter(account=account).values_list("request_id", flat=True))


def test_the_migration_leaves_the_current_months_partitioned(db):
    with connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE relname = 'traces_trace'")
        assert cur.fetchone()[0] == "p"
        cur.execute("SELECT pg_get_partkeydef('traces_trace'::regclass)")
        assert cur.fetchone()[0] == "RANGE (executed_at)"
        cur.execute("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'traces_trace'::regclass AND c.relname LIKE '%%default%%'")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT pg_get_partkeydef('traces_requestid'::regclass)")
        assert cur.fetchone()[0] == "HASH (account_id)"
    current = month_of(datetime.now(timezone.utc))
    assert {partition_name(month_add(current, n)) for n in range(4)} <= set(partitions_list())


def test_the_task_creates_partitions_ahead_once(db):
    later = datetime(2031, 5, 17, tzinfo=timezone.utc)
    assert partitions_create_ahead(now=later) == [date(2031, 5, 1), date(2031, 6, 1), date(2031, 7, 1),
                                                  date(2031, 8, 1)]
    assert partitions_create_ahead(now=later) == []
    traces_partitions_task()  # the beat entry's task: nothing missing, nothing done
    with connection.cursor() as cur:  # each partition has every index of the table
        cur.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'traces_trace_p203106'")
        per_partition = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'traces_trace'")
        assert per_partition == cur.fetchone()[0] >= 5
        cur.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'trace_account_request_p203106'")
        assert cur.fetchone()


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_create_a_month_once():
    month, results, errors = date(2032, 2, 1), [], []
    start = threading.Barrier(4)

    def run():
        try:
            start.wait()
            results.append(partitions_ensure([month]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == [[], [], [], [month]]
    assert partition_name(month) in partitions_list()


def test_a_back_dated_trace_gets_its_partition(account):
    now = datetime.now(timezone.utc)
    old = (now - timedelta(days=3 * 365 - 20)).replace(microsecond=0)
    assert partition_name(month_of(old)) not in partitions_list()
    result = trace_ingest_batch(account, [item("old", old), item("new", now - timedelta(minutes=1))])
    assert result.accepted == 2 and not result.errors
    assert partition_name(month_of(old)) in partitions_list()
    assert Trace.objects.get(account=account, request_id="old").executed_at == old
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text FROM traces_trace WHERE request_id = 'old'")
        assert cur.fetchone()[0] == partition_name(month_of(old))


def test_a_request_id_is_stored_once_whatever_its_timestamp(account, other_account):
    t1, t2 = NOW - timedelta(days=40), NOW - timedelta(days=1)  # two months, two partitions
    first = trace_ingest_batch(account, [item("a", t1), item("b", t1), item("a", t2)], now=NOW)
    assert (first.accepted, first.duplicates) == (2, 1)
    again = trace_ingest_batch(account, [item("a", t2), item("b", t2), item("c", t2)], now=NOW)
    assert (again.accepted, again.duplicates) == (1, 2)
    assert request_ids(account) == taken_ids(account) == ["a", "b", "c"]
    assert Trace.objects.get(account=account, request_id="a").executed_at == t1  # the first one counts
    # Another account's ids are its own.
    assert trace_ingest_batch(other_account, [item("a", t2)], now=NOW).accepted == 1
    # The ORM's writers keep the same contract as the unique key did.
    model = Model.objects.get(account=account, name="m")
    with pytest.raises(IntegrityError), transaction.atomic():
        Trace.objects.create(account=account, request_id="c", executed_at=t1, model=model, model_type="external",
                             status="success", response_time_ms=1)
    made = Trace.objects.create(account=account, request_id="d", executed_at=datetime(2025, 2, 3, tzinfo=timezone.utc),
                                model=model, model_type="external", status="success", response_time_ms=1)
    assert trace_ingest_batch(account, [item("d", t2)], now=NOW).duplicates == 1
    assert made.executed_at.year == 2025 and partition_name(date(2025, 2, 1)) in partitions_list()


def test_retention_drops_whole_partitions_and_chunks_the_rest(make_account):
    short, long_ = make_account("short"), make_account("long")
    short.retention_days, long_.retention_days = 30, 60  # cutoffs 2026-10-23 and 2026-09-23
    short.save()
    long_.save()
    days = {"jul": datetime(2026, 7, 15, tzinfo=timezone.utc), "sep-early": datetime(2026, 9, 10, tzinfo=timezone.utc),
            "sep-late": datetime(2026, 9, 28, tzinfo=timezone.utc), "oct": datetime(2026, 10, 10, tzinfo=timezone.utc),
            "nov": datetime(2026, 11, 20, tzinfo=timezone.utc)}
    for account in (short, long_):
        batch = [item(name, at) for name, at in days.items()]
        assert trace_ingest_batch(account, batch, now=NOW).accepted == 5
    while rollup_process_dirty():
        pass
    partitions_ensure([datetime(2026, 8, 1, tzinfo=timezone.utc)])

    deleted = traces_delete_expired_all(now=NOW)

    names = partitions_list()
    assert "traces_trace_p202607" not in names and "traces_trace_p202608" not in names  # past every retention
    assert "traces_trace_p202609" in names  # the boundary: rows of the long account are still needed there
    assert deleted == 3 + 1  # short: sep-early, sep-late, oct; long: sep-early (chunks); jul went with its partition
    assert request_ids(short) == taken_ids(short) == ["nov"]
    assert request_ids(long_) == taken_ids(long_) == ["nov", "oct", "sep-late"]
    short.refresh_from_db()
    long_.refresh_from_db()
    assert short.traces_deleted_before == NOW - timedelta(days=30)
    assert long_.traces_deleted_before == NOW - timedelta(days=60)
    # An expired request id is free again (as when its row was deleted from the unpartitioned table).
    assert trace_ingest_batch(short, [item("jul", days["jul"])], now=NOW).accepted == 1
    assert "traces_trace_p202607" in partitions_list()


def test_deleting_an_account_deletes_its_traces_and_request_ids(account, other_account):
    trace_ingest_batch(account, [item("x", NOW - timedelta(days=70)), item("y", NOW)], now=NOW)
    trace_ingest_batch(other_account, [item("x", NOW)], now=NOW)
    # An UPDATE may move a row to another month's partition.
    assert Trace.objects.filter(account=account, request_id="y").update(executed_at=NOW - timedelta(days=71)) == 1
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text FROM traces_trace WHERE account_id = %s AND request_id = 'y'",
                    [account.pk])
        assert cur.fetchone()[0] == partition_name(month_of(NOW - timedelta(days=71)))
    # The account deletion run (decision 0004) walks every model with an account, RequestId
    # included, and ends with a DELETE of the account row, which cascades in the database too.
    deletion = AccountDeletion.objects.create(former_account_id=account.pk, account_slug=account.slug,
                                              account_name=account.name, requested_by_email="owner@acme.test")
    account_deletion_run(deletion.pk)
    deletion.refresh_from_db()
    assert deletion.status == "done", deletion.error
    assert deletion.rows_deleted["traces.Trace"] == 2 and deletion.rows_deleted["traces.RequestId"] == 2
    assert not Trace.objects.filter(account_id=account.pk).exists()
    assert not RequestId.objects.filter(account_id=account.pk).exists()
    assert request_ids(other_account) == taken_ids(other_account) == ["x"]


def test_the_migration_moves_an_unpartitioned_tables_rows_and_reverses(account, other_account):
    """Back to the unpartitioned table (0005), rows written there, then forwards again."""
    from django.db.migrations.executor import MigrationExecutor

    trace_ingest_batch(account, [item("seed", NOW)], now=NOW)  # the registry model, and a row moved both ways
    model_id = Trace.objects.get(request_id="seed").model_id
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's rows' deferred checks, before tables are dropped
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("traces")
    executor.migrate([("traces", "0005_exportjob_attempts")])
    with connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE relname = 'traces_trace'")
        assert cur.fetchone()[0] == "r"
        assert "traces_requestid" not in connection.introspection.table_names(cur)
        rows = [(account.pk, "r-2019", datetime(2019, 3, 4, 5, 6, tzinfo=timezone.utc)),
                (account.pk, "r-2025", datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
                (other_account.pk, "r-2025", datetime(2026, 1, 1, tzinfo=timezone.utc))]
        for account_id, request_id, at in rows:
            cur.execute("INSERT INTO traces_trace (account_id, request_id, executed_at, received_at, model_id, "
                        "model_type, provider, source_type, source, module, feature, prompt, prompt_version, user_id, "
                        "session_id, status, error_type, response_time_ms, input_tokens, output_tokens) "
                        "VALUES (%s, %s, %s, now(), %s, 'external', '', 'other', '', '', '', '', '', '', '', "
                        "'success', '', 12.5, 1, 2)", [account_id, request_id, at, model_id])
        with pytest.raises(IntegrityError), transaction.atomic():  # the old unique key is back
            cur.execute("INSERT INTO traces_trace (account_id, request_id, executed_at, received_at, model_id, "
                        "model_type, status, response_time_ms, input_tokens, output_tokens, source_type, source, "
                        "module, feature, prompt, prompt_version, user_id, session_id, provider, error_type) "
                        "SELECT account_id, request_id, executed_at, received_at, model_id, model_type, status, 1, 1, "
                        "1, source_type, source, module, feature, prompt, prompt_version, user_id, session_id, "
                        "provider, error_type FROM traces_trace WHERE request_id = 'seed'")
        cur.execute("SELECT id, account_id, request_id, executed_at FROM traces_trace ORDER BY id")
        before = cur.fetchall()

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    with connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE relname = 'traces_trace'")
        assert cur.fetchone()[0] == "p"
        cur.execute("SELECT id, account_id, request_id, executed_at FROM traces_trace ORDER BY id")
        assert cur.fetchall() == before and len(before) == 4
        cur.execute("SELECT account_id, request_id, executed_at FROM traces_requestid ORDER BY 1, 2")
        assert cur.fetchall() == sorted((a, r, t) for _, a, r, t in before)
        cur.execute("SELECT count(*) FROM pg_indexes WHERE indexname IN ('trace_account_time', "
                    "'trace_account_model_time_id', 'trace_account_request', 'traces_trace_pkey')")
        assert cur.fetchone()[0] == 4
        cur.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'traces_trace'::regclass AND contype = 'f'")
        assert cur.fetchone()[0] == 5
    assert {"traces_trace_p201903", "traces_trace_p202512", "traces_trace_p202601"} <= set(partitions_list())
    # New rows take ids after the moved ones; the moved request ids are taken.
    result = trace_ingest_batch(account, [item("r-2019", NOW), item("after", NOW)], now=NOW)
    assert (result.accepted, result.duplicates) == (1, 1)
    assert Trace.objects.get(account=account, request_id="after").id > max(row[0] for row in before)


def test_a_month_detached_but_not_dropped_is_made_again(account):
    """Retention stopped between its DETACH and its DROP: the table of that name is no
    partition, and a trace for that month still goes in."""
    at = datetime(2001, 5, 6, tzinfo=timezone.utc)
    partitions_ensure([at])
    with connection.cursor() as cur:
        cur.execute('ALTER TABLE traces_trace DETACH PARTITION "traces_trace_p200105"')
    assert "traces_trace_p200105" not in partitions_list()
    assert trace_ingest_batch(account, [item("late", at)], now=NOW).accepted == 1
    assert "traces_trace_p200105" in partitions_list()
    assert request_ids(account) == ["late"]
