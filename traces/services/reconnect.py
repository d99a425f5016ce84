"""Ingest survives a database connection that dies under it (a failover, a restarted server,
`pg_terminate_backend`): an idempotent unit of work is run once more on a fresh connection,
and a second loss is a clear 503 with Retry-After instead of a 500.

Only safe for work that is idempotent as a whole: trace ingestion is (`ON CONFLICT DO NOTHING`
on the request id, in one transaction the server rolled back when the connection died)."""
import functools
import logging

from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(Exception):
    """The connection dropped again on the retry; nothing of the unit of work was stored."""


# SQLSTATE class 08 (connection exception) and the server's "terminating connection" family:
# admin_shutdown (pg_terminate_backend, a fast shutdown), crash_shutdown, cannot_connect_now.
DROPPED_STATES = ("57P01", "57P02", "57P03")


def connection_dropped(exc: BaseException | None = None) -> bool:
    """The error (or the connection's state) says the connection is gone, not that a query was wrong.

    A backend killed while the connection idles sends its FATAL message first; psycopg reports
    it on the next statement while the connection still looks open, hence the SQLSTATE."""
    state = getattr(getattr(exc, "__cause__", None), "sqlstate", None) or ""
    if state.startswith("08") or state in DROPPED_STATES:
        return True
    raw = connection.connection
    return raw is None or raw.closed or getattr(raw, "broken", False)


def _discard_connection():
    # Django reconnects on the next query once the broken connection is closed.
    try:
        connection.close()
    except (InterfaceError, OperationalError):
        connection.connection = None


def once_more_on_dropped_connection(func):
    """Run `func`; when the connection drops, run it once more on a new one. Inside a caller's
    transaction nothing can be retried (its earlier work is lost too), so the error goes up."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or not connection_dropped(exc):
                raise
            log.warning("database connection dropped during %s (%s); retrying once", func.__name__, exc)
            _discard_connection()
        try:
            return func(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or not connection_dropped(exc):
                raise
            _discard_connection()
            raise DatabaseUnavailable(str(exc)) from exc

    return run
