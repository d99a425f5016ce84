"""Read replicas (issue 17, item 2) against a real streaming replica of the run's PostgreSQL
(tests/platform/streaming_replica.py): reads of the read-only paths are served by the
replica with the primary's numbers, writes and authentication go to the primary, a replica
behind by more than MODELPULSE_REPLICA_MAX_LAG or not answering is skipped, and "as of"
is no later than what the replica that answered had replayed."""
import time
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import ApiKey
from accounts.services import Actor, api_key_create
from analytics.models import RollupState
from analytics.rollups import rollup_process_dirty
from analytics.selectors import Selection, metrics_summary
from config.replica_health import forget_health, replica_health
from config.replica_reads import current_scope, replica_reads, served
from tests.platform.conftest import REPLICA_DATABASES, add_replica_alias, remove_replica_alias
from tests.traces.test_explorer_api import NOW, ingest_world, item
from traces.exports.services import export_create, export_run
from traces.services import trace_ingest_batch

METRICS = "/api/v1/metrics?preset=last_7d"
pytestmark = pytest.mark.django_db(transaction=True, databases=REPLICA_DATABASES)
TRACES = "/api/v1/traces?preset=last_7d&page_size=100"


def primary_summary(account, body):
    """The same figures computed on the primary (outside any read unit)."""
    assert current_scope() is None
    sel = Selection(account, parse_datetime(body["period"]["start"]), parse_datetime(body["period"]["end"]))
    return metrics_summary(sel, peak=True)


def request_ids(response):
    assert response.status_code == 200, response.content
    return {row["request_id"] for row in response.json()["results"]}


def one_more_trace(account, request_id="req-late"):
    """A trace written on the primary (a minute old, so inside every recent range)."""
    late = item(999, request_id=request_id,
                executed_at=(timezone.now() - timedelta(minutes=1)).replace(microsecond=0).isoformat())
    assert not trace_ingest_batch(account, [late]).errors


@pytest.fixture
def world(account, replica):
    items = ingest_world(account)
    while rollup_process_dirty():
        pass
    replica.catch_up()
    return items


def test_metrics_screens_and_explorer_are_served_by_the_replica_with_the_primarys_numbers(
        account, world, key_client):
    api = key_client(account)
    body = api.get(METRICS).json()
    assert served == {"replica_0": 1}
    assert body["metrics"]["total_requests"] == len([i for i in world if i["executed_at"] >= body["period"]["start"]])
    assert body["metrics"] == primary_summary(account, body)

    production = api.get("/api/v1/analytics/production?preset=last_7d")
    assert production.status_code == 200 and production.json()["kpis"]["total_requests"] == \
        body["metrics"]["total_requests"]
    explorer = api.get(TRACES)
    assert request_ids(explorer) == {i["request_id"] for i in world if i["executed_at"] >= body["period"]["start"]}
    summary = api.get("/api/v1/explorer/summary?preset=last_7d")
    assert summary.status_code == 200 and summary.json()["metrics"]["total_requests"] == \
        body["metrics"]["total_requests"]
    assert served == {"replica_0": 4}
    # The rollup state was replayed too: "as of" is the rollups' own time, the replica being caught up.
    assert parse_datetime(body["as_of"]) == RollupState.objects.get(account=account).as_of


def test_a_paused_replica_serves_what_it_replayed_and_is_skipped_once_too_far_behind(
        account, world, replica, key_client, settings):
    paused_at = timezone.now()
    replica.pause_replay()
    one_more_trace(account)
    RollupState.objects.filter(account=account).delete()  # "as of" is then bounded by the replica alone
    # A key made after the pause: authentication reads the primary, so it is not refused.
    api = key_client(account)
    time.sleep(1.5)

    body = api.get(METRICS).json()
    assert served == {"replica_0": 1}
    assert body["metrics"]["total_requests"] == primary_summary(account, body)["total_requests"] - 1
    assert "req-late" not in request_ids(api.get(TRACES))
    # The replica still has the rollup state the primary deleted, and its "as of" is no
    # later than the last transaction it replayed, before the pause.
    as_of = parse_datetime(body["as_of"])
    assert as_of <= paused_at and as_of == RollupState.objects.using("replica_0").get(account=account).as_of
    lag = replica_health("replica_0").lag_seconds
    assert lag >= 1.5

    settings.MODELPULSE_REPLICA_MAX_LAG = 1.0
    forget_health()
    before = timezone.now()
    body = api.get(METRICS).json()
    assert served == {"replica_0": 2, "default": 1}
    assert body["metrics"] == primary_summary(account, body)
    assert "req-late" in request_ids(api.get(TRACES))
    assert served == {"replica_0": 2, "default": 2}
    assert parse_datetime(body["as_of"]) >= before  # no rollup state on the primary: as of now

    replica.resume_replay()
    replica.catch_up()
    forget_health()
    body = api.get(METRICS).json()
    assert served["replica_0"] == 3
    assert body["metrics"] == primary_summary(account, body)


def test_as_of_subtracts_the_lag_of_the_replica_that_answered(account, replica, key_client):
    """With no rollup yet, "as of" is now on the primary; on a replica 2 s behind it is 2 s earlier."""
    api = key_client(account)
    replica.catch_up()
    replica.pause_replay()
    paused_at = timezone.now()
    one_more_trace(account)  # WAL waiting to be replayed: the lag counts
    time.sleep(2.0)
    asked_at = timezone.now()
    body = api.get(METRICS).json()
    assert served == {"replica_0": 1}
    as_of = parse_datetime(body["as_of"])
    lag = replica_health("replica_0").lag_seconds
    assert lag >= 2.0
    assert as_of <= paused_at and asked_at - as_of >= timedelta(seconds=2)
    assert abs((asked_at - timedelta(seconds=lag)) - as_of) < timedelta(seconds=1)


def test_an_unreachable_replica_is_skipped(account, world, replica, key_client):
    api = key_client(account)
    for _ in range(3):
        assert api.get(METRICS).status_code == 200
    assert served == {"replica_0": 3}
    health = replica_health("replica_1")
    assert not health.reachable and not health.usable(30)

    remove_replica_alias("replica_0")  # only the one that does not answer is left
    try:
        body = api.get(METRICS).json()
        assert served == {"replica_0": 3, "default": 1}
        assert body["metrics"] == primary_summary(account, body)
    finally:
        add_replica_alias("replica_0", replica.port)


def test_writes_go_to_the_primary_and_later_reads_of_the_unit_follow_them(account, world, replica):
    replica.pause_replay()
    with replica_reads() as scope:
        assert scope.alias == "replica_0"
        key, _ = api_key_create(account, Actor.system(), scopes=["read"], name="written-in-a-read-unit")
        # Read your writes: after a write the unit reads from the primary.
        assert scope.wrote and ApiKey.objects.filter(pk=key.pk).exists()
    with replica.connect(connections["default"].settings_dict["NAME"]) as on_replica:
        assert on_replica.execute("SELECT count(*) FROM accounts_apikey WHERE id = %s", [key.pk]).fetchone()[0] == 0
    with replica_reads() as scope:
        assert not ApiKey.objects.filter(pk=key.pk).exists()  # on the replica, which has not replayed it
    # Inside a transaction on the primary, a read unit stays there: it may read the transaction's writes.
    with transaction.atomic(), replica_reads() as scope:
        assert scope.alias == "default" and ApiKey.objects.filter(pk=key.pk).exists()


def test_an_export_reads_the_replica_once_it_has_replayed_the_job_else_the_primary(
        account, world, replica, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    expected = len([i for i in world if parse_datetime(i["executed_at"]) >= NOW - timedelta(days=30)])
    job = export_create(account, Actor.system(), {"format": "csv", "filters": {}})
    replica.catch_up()
    done = export_run(job.pk)
    assert done.status == "succeeded" and done.rows_written == expected
    assert served == {"replica_0": 1}

    replica.pause_replay()
    one_more_trace(account)
    job = export_create(account, Actor.system(), {"format": "csv", "filters": {}})
    done = export_run(job.pk)
    # The replica has not replayed this job (nor the trace before it): the snapshot is the primary's.
    assert done.status == "succeeded" and done.rows_written == expected + 1


def test_a_report_run_builds_from_the_replica_while_holding_its_row_lock(account, world, replica):
    from alerts.models import ReportFrequency
    from alerts.services.reports import report_build

    today = timezone.now().date()
    with transaction.atomic():  # as report_run_send: the transaction holds only the run's row lock
        data = report_build(account, ReportFrequency.WEEKLY, today - timedelta(days=7), today + timedelta(days=1))
    assert served == {"replica_0": 1}
    assert data["current"]["total_requests"] > 0
    assert data["current"] == metrics_summary(Selection(account, data["start"], data["end"]))
