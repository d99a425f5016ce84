"""Each test run gets its own PostgreSQL database and Redis database, so two runs on one
machine (two checkouts, or one checkout twice) never share state.

The database is named after the run's process id (pytest-xdist adds its worker suffix).
A Redis database is claimed with a key holding the run's pid; a claim whose process is
gone is taken over, so a killed run does not keep its database forever.
"""
import os

import redis

CLAIM_KEY = "modelpulse:test-run-claim"
# Database 0 is left to the product itself (a developer's `manage.py start`).
CANDIDATE_DBS = range(1, 16)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def with_db(url: str, number: int) -> str:
    if url.startswith("unix://"):
        base = url.split("?", 1)[0]
        return f"{base}?db={number}"
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return f"{base}/{number}"


def claim_redis_db(url: str) -> str:
    """The URL of a Redis database no live test run holds, claimed for this process."""
    run_pid = int(os.environ.setdefault("MODELPULSE_TEST_RUN_PID", str(os.getpid())))
    for number in CANDIDATE_DBS:
        candidate = with_db(url, number)
        client = redis.Redis.from_url(candidate)
        holder = client.get(CLAIM_KEY)
        if holder is not None and int(holder) == run_pid:
            return candidate
        if client.set(CLAIM_KEY, run_pid, nx=True) or not pid_alive(int(holder)):
            if holder is not None:
                client.flushdb()
            client.set(CLAIM_KEY, run_pid)
            return candidate
    raise RuntimeError("every Redis database is held by a live test run")


def database_suffix() -> str:
    return os.environ.setdefault("MODELPULSE_TEST_RUN_PID", str(os.getpid()))


def drop_stale_databases(connect_kwargs: dict) -> None:
    """Drop test databases left by runs whose process is gone (killed runs never clean up)."""
    import psycopg

    with psycopg.connect(**connect_kwargs, dbname="postgres", autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'test\\_modelpulse\\_%'")]
        for name in names:
            pid = name.removeprefix("test_modelpulse_").split("_", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
