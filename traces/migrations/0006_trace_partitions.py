"""traces_trace becomes partitioned by month of executed_at; (account, request_id) stays unique
through traces_requestid (docs/decisions/0005-trace-partitions.md).

Forwards, with the rows: the old table is renamed, a partitioned table of the same columns
takes its name, a partition is made for every month holding rows (and the months around
the current one), the rows are copied, then the indexes (per partition, attached to
partitioned indexes of the same names as before) and the foreign keys are built, and the old
table goes. The request ids of the copied rows fill traces_requestid. Backwards is the same
in the other direction. The table is locked meanwhile: on a large installation this runs in a
maintenance window (docs/scaling.md).

In Django's state the model keeps `id` as its primary key; in the database the primary key is
(id, executed_at), and id takes its values from the sequence traces_trace_id_seq (identity
columns are not allowed on partitioned tables before PostgreSQL 17).
"""
import re
from datetime import datetime, timezone

import django.db.models.deletion
from django.db import migrations, models

from traces.partitions import MONTHS_AHEAD, MONTHS_BEHIND, _partition_create, month_add, month_of

REQUEST_ID_HASH_PARTITIONS = 8
_INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (?:ONLY )?(\S+) (USING .*)$", re.S)


def _secondary_indexes(cursor, table):
    """[(name, definition)] of a table's indexes that back no constraint."""
    cursor.execute("SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                   "JOIN pg_class c ON c.oid = x.indexrelid "
                   "LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid "
                   "WHERE x.indrelid = %s::regclass AND k.oid IS NULL ORDER BY c.relname", [table])
    return cursor.fetchall()


def _foreign_keys(cursor, table):
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = %s::regclass AND contype = 'f' AND conparentid = 0 ORDER BY conname", [table])
    return cursor.fetchall()


def _sequence_next(cursor, table):
    """The next id to hand out: past the sequence and past every stored id."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    value = 0
    if sequence:
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {sequence}")
        value = cursor.fetchone()[0]
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
    return max(value, cursor.fetchone()[0]) + 1


def _index_partitioned(cursor, definition, partitions):
    """One index on every partition (named `<index>_pYYYYMM`), attached to a partitioned index
    of the index's own name: the build is per partition, after the rows are in."""
    unique, name, _, rest = _INDEX_DEF.match(definition).groups()
    unique = unique or ""
    cursor.execute(f'CREATE {unique}INDEX "{name}" ON ONLY traces_trace {rest}')
    for partition in partitions:
        child = f"{name}_{partition.rsplit('_', 1)[1]}"
        cursor.execute(f'CREATE {unique}INDEX "{child}" ON "{partition}" {rest}')
        cursor.execute(f'ALTER INDEX "{name}" ATTACH PARTITION "{child}"')


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("LOCK TABLE traces_trace IN ACCESS EXCLUSIVE MODE")
        indexes = [d for name, d in _secondary_indexes(cursor, "traces_trace")]
        foreign_keys = _foreign_keys(cursor, "traces_trace")
        next_id = _sequence_next(cursor, "traces_trace")
        for name, _ in _secondary_indexes(cursor, "traces_trace"):
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("ALTER TABLE traces_trace RENAME TO traces_trace_unpartitioned")
        cursor.execute("ALTER TABLE traces_trace_unpartitioned RENAME CONSTRAINT traces_trace_pkey "
                       "TO traces_trace_unpartitioned_pkey")
        cursor.execute("ALTER TABLE traces_trace_unpartitioned ALTER COLUMN id DROP IDENTITY IF EXISTS")
        cursor.execute("CREATE TABLE traces_trace (LIKE traces_trace_unpartitioned INCLUDING DEFAULTS "
                       "INCLUDING STORAGE) PARTITION BY RANGE (executed_at)")
        cursor.execute("CREATE SEQUENCE traces_trace_id_seq AS bigint OWNED BY traces_trace.id")
        cursor.execute("SELECT setval('traces_trace_id_seq', %s, false)", [next_id])
        cursor.execute("ALTER TABLE traces_trace ALTER COLUMN id SET DEFAULT nextval('traces_trace_id_seq')")
        cursor.execute("ALTER TABLE traces_trace ADD CONSTRAINT traces_trace_pkey PRIMARY KEY (id, executed_at)")

        cursor.execute("SELECT DISTINCT date_trunc('month', executed_at AT TIME ZONE 'UTC')::date "
                       "FROM traces_trace_unpartitioned")
        months = {row[0] for row in cursor.fetchall()}
        current = month_of(datetime.now(timezone.utc))
        months |= {month_add(current, n) for n in range(-MONTHS_BEHIND, MONTHS_AHEAD + 1)}
        for month in sorted(months):
            _partition_create(cursor, month)  # the parent has only its primary key yet
        cursor.execute("INSERT INTO traces_trace SELECT * FROM traces_trace_unpartitioned")
        cursor.execute("DROP TABLE traces_trace_unpartitioned")

        partitions = [f"traces_trace_p{m.year:04d}{m.month:02d}" for m in sorted(months)]
        indexes.append("CREATE INDEX trace_account_request ON public.traces_trace USING btree (account_id, request_id)")
        for definition in indexes:
            _index_partitioned(cursor, definition, partitions)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE traces_trace ADD CONSTRAINT "{name}" {definition}')

        cursor.execute(
            "CREATE TABLE traces_requestid (account_id bigint NOT NULL, request_id varchar(128) NOT NULL, "
            "executed_at timestamp with time zone NOT NULL, "
            "CONSTRAINT traces_requestid_pkey PRIMARY KEY (account_id, request_id)) PARTITION BY HASH (account_id)")
        for remainder in range(REQUEST_ID_HASH_PARTITIONS):
            cursor.execute(f"CREATE TABLE traces_requestid_h{remainder} PARTITION OF traces_requestid "
                           f"FOR VALUES WITH (MODULUS {REQUEST_ID_HASH_PARTITIONS}, REMAINDER {remainder})")
        cursor.execute("INSERT INTO traces_requestid (account_id, request_id, executed_at) "
                       "SELECT account_id, request_id, executed_at FROM traces_trace")
        cursor.execute("CREATE INDEX requestid_account_time ON traces_requestid (account_id, executed_at)")
        # ON DELETE CASCADE in the database too: an account removed with SQL (not through the
        # ORM's collector) takes its request ids with it.
        cursor.execute("ALTER TABLE traces_requestid ADD CONSTRAINT traces_requestid_account_id_fk_accounts_account_id "
                       "FOREIGN KEY (account_id) REFERENCES accounts_account (id) ON DELETE CASCADE "
                       "DEFERRABLE INITIALLY DEFERRED")


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("LOCK TABLE traces_trace IN ACCESS EXCLUSIVE MODE")
        indexes = [d for name, d in _secondary_indexes(cursor, "traces_trace") if name != "trace_account_request"]
        foreign_keys = _foreign_keys(cursor, "traces_trace")
        next_id = _sequence_next(cursor, "traces_trace")
        cursor.execute("CREATE TABLE traces_trace_unpartitioned (LIKE traces_trace INCLUDING DEFAULTS "
                       "INCLUDING STORAGE)")
        cursor.execute("ALTER TABLE traces_trace_unpartitioned ALTER COLUMN id DROP DEFAULT")
        cursor.execute("INSERT INTO traces_trace_unpartitioned SELECT * FROM traces_trace")
        cursor.execute("DROP TABLE traces_trace")  # its partitions, indexes and sequence with it
        cursor.execute("DROP TABLE traces_requestid")
        cursor.execute("ALTER TABLE traces_trace_unpartitioned RENAME TO traces_trace")
        cursor.execute("ALTER TABLE traces_trace ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute("SELECT setval(pg_get_serial_sequence('traces_trace', 'id'), %s, false)", [next_id])
        cursor.execute("ALTER TABLE traces_trace ADD CONSTRAINT traces_trace_pkey PRIMARY KEY (id)")
        cursor.execute("ALTER TABLE traces_trace ADD CONSTRAINT trace_account_request_uniq "
                       "UNIQUE (account_id, request_id)")
        for definition in indexes:
            unique, name, _, rest = _INDEX_DEF.match(definition).groups()
            cursor.execute(f'CREATE {unique or ""}INDEX "{name}" ON traces_trace {rest}')
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE traces_trace ADD CONSTRAINT "{name}" {definition}')


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_traces_deleted_before'),
        ('models_registry', '0002_replica_event_unique'),
        ('traces', '0005_exportjob_attempts'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.CreateModel(
                    name='RequestId',
                    fields=[
                        ('pk', models.CompositePrimaryKey('account_id', 'request_id', blank=True, editable=False,
                                                          primary_key=True, serialize=False)),
                        ('request_id', models.CharField(max_length=128)),
                        ('executed_at', models.DateTimeField()),
                        ('account', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                                      related_name='+', to='accounts.account')),
                    ],
                    options={
                        'db_table': 'traces_requestid',
                        'indexes': [models.Index(fields=['account', 'executed_at'], name='requestid_account_time')],
                    },
                ),
                migrations.RemoveConstraint(
                    model_name='trace',
                    name='trace_account_request_uniq',
                ),
                migrations.AddIndex(
                    model_name='trace',
                    index=models.Index(fields=['account', 'request_id'], name='trace_account_request'),
                ),
            ],
        ),
    ]
