"""The database router: reads inside `replica_reads()` go to the replica it chose, every
write (and every read outside such a unit) to the primary. See config/replica_reads.py."""
from django.db import DEFAULT_DB_ALIAS

from config.replica_reads import current_scope


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        scope = current_scope()
        return scope.reading_alias if scope is not None else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        scope = current_scope()
        if scope is not None:
            # Read your own writes: the rest of the unit reads from the primary.
            scope.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Replicas hold the primary's rows: an object read from one relates to any other.
        return True

    def allow_migrate(self, db, app_label, **hints):
        return False if db.startswith("replica_") else None
