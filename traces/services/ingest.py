"""trace_ingest_batch: the one write path for traces (REST, OTLP, client, demo traffic).

Validate each item (msgspec), resolve registry names once per batch, price what has
no cost, redact, then COPY the batch into a per-connection staging table and move it:
its request ids into traces_requestid with ON CONFLICT DO NOTHING RETURNING, and only the
traces whose id that accepted into traces_trace — idempotent on (account, request_id) although
traces_trace is partitioned by time (docs/decisions/0005-trace-partitions.md) — marking the
touched UTC hours dirty for the rollups in the same transaction. A month that has no
partition yet (a back-dated trace) gets one before the batch is written.
"""
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec
from django.db import IntegrityError, connection, transaction

from models_registry.services import cost_from_prices, prices_for_models, registry_resolve
from traces.partitions import partitions_ensure
from traces.services.redaction import Redactor
from traces.services.validation import ItemError, convert_item, utcnow

COLUMNS = (
    "account_id", "request_id", "executed_at", "received_at", "model_id", "model_type", "provider",
    "deployment_id", "version_id", "connection_id", "source_type", "source", "module", "feature", "prompt",
    "prompt_version", "user_id", "session_id", "status", "error_type", "http_status", "response_time_ms",
    "ttft_ms", "queue_time_ms", "network_time_ms", "input_tokens", "output_tokens", "cost_usd", "credits",
    "cache_hit", "input", "output", "request_payload", "response_payload", "metadata",
)
_COLS = ", ".join(COLUMNS)
STAGE_SQL = (
    f"CREATE TEMP TABLE IF NOT EXISTS trace_stage ON COMMIT DELETE ROWS AS "
    f"SELECT {_COLS} FROM traces_trace WITH NO DATA"
)
# The request ids first: a unique key on the partitioned traces_trace would have to contain
# executed_at, and a request id resent with another timestamp must still be a duplicate. A
# concurrent batch holding the same id waits here for the other's commit, as it did on the
# unique index of the unpartitioned table.
MOVE_SQL = f"""
WITH taken AS (
    INSERT INTO traces_requestid (account_id, request_id, executed_at)
    SELECT account_id, request_id, executed_at FROM trace_stage WHERE account_id = %(account)s
    ON CONFLICT (account_id, request_id) DO NOTHING
    RETURNING request_id
), ins AS (
    INSERT INTO traces_trace ({_COLS})
    SELECT {", ".join("s." + c for c in COLUMNS)} FROM trace_stage s JOIN taken USING (request_id)
    WHERE s.account_id = %(account)s
    RETURNING executed_at
), dirty AS (
    -- first_at: readers take the hour's traces from there on raw, not from minute rollups.
    INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at, first_at)
    SELECT %(account)s, date_trunc('hour', executed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now(),
           min(executed_at)
    FROM ins GROUP BY 2
    ON CONFLICT (account_id, hour_start) DO UPDATE SET marked_at = EXCLUDED.marked_at,
        first_at = LEAST(coalesce(traces_dirtybucket.first_at, traces_dirtybucket.hour_start), EXCLUDED.first_at)
)
SELECT count(*) FROM ins
"""
_json = msgspec.json.Encoder()


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    errors: list = field(default_factory=list)

    def as_dict(self):
        return {"accepted": self.accepted, "duplicates": self.duplicates, "errors": self.errors}


def _dec(value):
    # repr of a float is the shortest text that round-trips: the number as it was sent.
    return None if value is None else Decimal(repr(value))


def _encode(value):
    return None if value is None else _json.encode(value).decode()


def trace_ingest_batch(account, items: list, *, now=None) -> IngestResult:
    now = now or utcnow()
    result = IngestResult()
    valid, seen = [], set()
    for index, item in enumerate(items):
        try:
            trace = convert_item(item, now)
            if trace.version and not trace.deployment:
                raise ItemError("version", "a version needs its deployment")
        except ItemError as exc:
            request_id = item.get("request_id") if isinstance(item, dict) else None
            result.errors.append({"index": index, "request_id": request_id if isinstance(request_id, str) else None,
                                  "field": exc.field, "message": exc.message})
            continue
        if trace.request_id in seen:
            result.duplicates += 1  # repeated inside the batch: the first one counts
            continue
        seen.add(trace.request_id)
        valid.append(trace)
    if not valid:
        return result

    months = {t.executed_at for t in valid}
    for attempt in range(2):
        # In its own short transaction when the caller has none: the partition is then there
        # for every writer, and its DDL lock is not held through the batch.
        partitions_ensure(months)
        try:
            with transaction.atomic():
                rows = _rows(account, valid, now)
                with connection.cursor() as cursor:
                    cursor.execute(STAGE_SQL)
                    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                    with raw.copy(f"COPY trace_stage ({_COLS}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    # The staged rows meet the request ids the batch took by hash: the temp table has
                    # no statistics, and a nested loop compared every pair (99 of 114 ms a batch).
                    cursor.execute("SELECT current_setting('enable_nestloop'), "
                                   "set_config('enable_nestloop', 'off', true)")
                    nestloop = cursor.fetchone()[0]
                    cursor.execute(MOVE_SQL, {"account": account.pk})
                    inserted = cursor.fetchone()[0]
                    cursor.execute("SELECT set_config('enable_nestloop', %s, true)", [nestloop])
                    cursor.execute("TRUNCATE trace_stage")
            break
        except IntegrityError as exc:
            # NOTE: retention dropped the month of a very old trace between the check and the
            # write (it was older than every account's retention): make it again, once.
            if attempt or "no partition of relation" not in str(exc):
                raise
    result.accepted = inserted
    result.duplicates += len(valid) - inserted
    return result


def _rows(account, traces, now):
    models, deployments, versions, connections = {}, {}, set(), {}
    for t in traces:
        models.setdefault(t.model, {"model_type": t.model_type, "base_model": t.base_model, "provider": t.provider})
        if t.deployment:
            key = (t.model, t.deployment)
            if key not in deployments or t.executed_at < deployments[key]:
                deployments[key] = t.executed_at
            if t.version:
                versions.add((t.model, t.deployment, t.version))
        if t.connection:
            connections.setdefault(t.connection, t.provider)
    resolved = registry_resolve(account, models=models, deployments=deployments, versions=versions,
                                connections=connections)
    need_price = {resolved.models[t.model] for t in traces if t.cost_usd is None}
    prices = prices_for_models(account, need_price) if need_price else {}
    redactor = Redactor(account)
    keep_text = account.store_text
    account_id = account.pk
    rows = []
    for t in traces:
        model_id = resolved.models[t.model]
        cost = _dec(t.cost_usd)
        if cost is None and prices:
            cost = cost_from_prices(prices, model_id, t.executed_at, t.input_tokens, t.output_tokens)
        if keep_text:
            text_in, text_out = redactor.text(t.input), redactor.text(t.output)
            req, resp = _encode(redactor.json(t.request_payload)), _encode(redactor.json(t.response_payload))
        else:
            text_in = text_out = req = resp = None
        rows.append((
            account_id, t.request_id, t.executed_at, now, model_id, resolved.model_types[t.model], t.provider,
            resolved.deployments.get((t.model, t.deployment)) if t.deployment else None,
            resolved.versions.get((t.model, t.deployment, t.version)) if t.version else None,
            resolved.connections.get(t.connection) if t.connection else None,
            t.source_type, t.source, t.module, t.feature, t.prompt, t.prompt_version, t.user_id, t.session_id,
            t.status, t.error_type, t.http_status, t.response_time_ms, t.ttft_ms, t.queue_time_ms,
            t.network_time_ms, t.input_tokens, t.output_tokens, cost, _dec(t.credits), t.cache_hit,
            text_in, text_out, req, resp, _encode(t.metadata),
        ))
    return rows
