import pytest
from django.conf import settings as django_settings
from django.db import connections

from config.replica_health import forget_health
from config.replica_reads import served
from tests.platform.streaming_replica import ReplicaUnavailable, StreamingReplica, free_port

# What a test that reads through replicas declares: pytest-django then lets it connect to
# them. They mirror default, so nothing is ever created or flushed on a replica.
REPLICA_DATABASES = ["default", "replica_0", "replica_1"]


@pytest.fixture(scope="session")
def streaming_replica(django_db_setup):
    """One streaming replica for the whole run (stopped before the test database is dropped)."""
    db = django_settings.DATABASES["default"]
    primary = {"host": db.get("HOST") or "127.0.0.1", "port": str(db.get("PORT") or 5432),
               "user": db.get("USER") or "postgres", "dbname": db["NAME"]}
    try:
        replica = StreamingReplica(primary).start()
    except ReplicaUnavailable as exc:
        # The router's tests need a real replica: a machine that cannot make one fails them.
        pytest.fail(f"no streaming replica: {exc}")
    yield replica
    replica.stop()


def add_replica_alias(alias: str, port: int) -> None:
    """What DATABASE_REPLICA_URLS does at start-up, done at run time: the test database exists
    only once pytest-django has made it, and the aliases must be gone for the other tests."""
    default = connections["default"].settings_dict
    connections.settings[alias] = {
        **default, "HOST": "127.0.0.1", "PORT": port,
        "OPTIONS": {**default.get("OPTIONS", {}), "connect_timeout": 2},
        "TEST": {**default.get("TEST", {}), "MIRROR": "default"}}
    django_settings.DATABASES[alias] = connections.settings[alias]


def remove_replica_alias(alias: str) -> None:
    if alias in connections.settings:
        connections[alias].close()
        del connections[alias]
    connections.settings.pop(alias, None)
    django_settings.DATABASES.pop(alias, None)


@pytest.fixture(scope="module")
def replica_aliases(streaming_replica):
    """DATABASE_REPLICA_URLS = the streaming replica (replica_0) and one that never answers
    (replica_1: a port nothing listens on), for the tests of one module. Module-scoped so the
    aliases exist before pytest-django sets up each test's allowed databases."""
    add_replica_alias("replica_0", streaming_replica.port)
    add_replica_alias("replica_1", free_port())
    yield
    remove_replica_alias("replica_0")
    remove_replica_alias("replica_1")
    forget_health()


@pytest.fixture
def replica(replica_aliases, streaming_replica, settings):
    """The streaming replica, measured afresh and with the router's counters at zero."""
    settings.MODELPULSE_REPLICA_MAX_LAG = 30.0
    forget_health()
    served.clear()
    yield streaming_replica
    streaming_replica.resume_replay()
    forget_health()
