"""The explorer's reads (X1, X2, X4): one WHERE for the table, the summary's scope and
exports; keyset pages over (executed_at, id) so page 200 costs what page 1 does.

Raw SQL throughout: the account id is always an explicit parameter, and every query
starts from an index that leads with account_id.
"""
import base64
import binascii
import json
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from analytics.selectors import metrics_summary
from analytics.selectors.metrics import BY_NAME
from config.replica_reads import read_connection
from models_registry.models import Model
from traces.explorer.filters import conditions_sql
from traces.explorer.params import ExplorerQuery

# Must stay the expression of the trace_search_trgm index (migration 0003).
SEARCH_TEXT = "(t.request_id::text || ' ' || coalesce(t.input, '') || ' ' || coalesce(t.output, ''))"
ID_COLUMNS = {"model_id", "deployment_id", "version_id", "connection_id"}
LIST_TEXT = 500  # characters of input/output in table rows; the detail has the whole text
DEFAULT_PAGE, MAX_PAGE = 50, 500
REQUEST_ID_SEARCH = "t.request_id = %(search)s"
REQUEST_ID_KEY = "t.account_id = %(account)s AND t.request_id = %(search)s"

JOINS = """
FROM traces_trace t
JOIN models_registry_model m ON m.id = t.model_id
LEFT JOIN models_registry_deployment d ON d.id = t.deployment_id
LEFT JOIN models_registry_deploymentversion v ON v.id = t.version_id
LEFT JOIN models_registry_connection c ON c.id = t.connection_id
"""
LIST_FIELDS = [
    ("id", "t.id"), ("request_id", "t.request_id"), ("executed_at", "t.executed_at"), ("model", "m.name"),
    ("model_type", "t.model_type"), ("provider", "t.provider"), ("deployment", "d.name"), ("version", "v.version"),
    ("connection", "c.name"), ("source_type", "t.source_type"), ("source", "t.source"), ("module", "t.module"),
    ("feature", "t.feature"), ("prompt", "t.prompt"), ("prompt_version", "t.prompt_version"),
    ("user_id", "t.user_id"), ("session_id", "t.session_id"), ("status", "t.status"),
    ("error_type", "t.error_type"), ("http_status", "t.http_status"), ("response_time_ms", "t.response_time_ms"),
    ("ttft_ms", "t.ttft_ms"), ("input_tokens", "t.input_tokens"), ("output_tokens", "t.output_tokens"),
    ("cost_usd", "t.cost_usd"), ("credits", "t.credits"), ("cache_hit", "t.cache_hit"),
]
LIST_SQL_FIELDS = ", ".join(sql for _, sql in LIST_FIELDS) + f", left(t.input, {LIST_TEXT + 1}), left(t.output, {LIST_TEXT + 1})"
DETAIL_FIELDS = LIST_FIELDS + [
    ("queue_time_ms", "t.queue_time_ms"), ("network_time_ms", "t.network_time_ms"), ("received_at", "t.received_at"),
    ("base_model", "m.base_model"), ("deployment_deployed_at", "d.deployed_at"), ("connection_provider", "c.provider"),
    ("input", "t.input"), ("output", "t.output"), ("request_payload", "t.request_payload"),
    ("response_payload", "t.response_payload"), ("metadata", "t.metadata"),
]
FEEDBACK_FIELDS = ("rating", "thumbs", "accepted", "edited", "regenerated", "task_success", "comment", "updated_at")


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def explorer_where(q: ExplorerQuery, *, with_range: bool = True) -> tuple[str, dict]:
    """WHERE clause over alias t (account first) and its parameters."""
    sel = q.sel
    params = {"account": sel.account.pk}
    clauses = ["t.account_id = %(account)s"]
    if with_range:
        params.update(start=sel.start, end=sel.end)
        clauses += ["t.executed_at >= %(start)s", "t.executed_at < %(end)s"]
    for name, value in sel.filters.items():
        key = f"f_{name}"
        if name in BY_NAME:
            model, attr, column = BY_NAME[name]
            ids = list(model.objects.for_account(sel.account).filter(**{attr: value}).values_list("id", flat=True))
            if len(ids) == 1:
                # A plain equality lets (account, model, executed_at, id) return rows in order.
                clauses.append(f"t.{column} = %({key})s")
                params[key] = ids[0]
            else:
                clauses.append(f"t.{column} = ANY(%({key})s)")
                params[key] = ids or [-1]
        elif name in ID_COLUMNS:
            clauses.append(f"t.{name} = %({key})s")
            params[key] = int(value)
        else:
            clauses.append(f"t.{name} = %({key})s")
            params[key] = value
    if q.status:
        clauses.append("t.status = %(status)s")
        params["status"] = q.status
    if q.search and _is_request_id(sel.account, q.search):
        # An existing request ID finds its trace through the unique index: a substring
        # search for it reads the trigram lists of every similar ID (half a second at 1M).
        clauses.append(REQUEST_ID_SEARCH)
        params["search"] = q.search
    elif q.search:
        # Request ID or text, through the account-led trigram index.
        clauses.append(f"{SEARCH_TEXT} ILIKE %(search)s")
        params["search"] = _like(q.search)
    columns = conditions_sql(q.conditions, q.join, params)
    if columns:
        clauses.append(columns)
    return " AND ".join(clauses), params


# -- cursors ---------------------------------------------------------------------------

def encode_cursor(executed_at: datetime, pk: int, direction: str, sort: str) -> str:
    raw = json.dumps({"t": executed_at.isoformat(), "i": pk, "d": direction, "s": sort}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> tuple[datetime, int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        at, pk, direction = parse_datetime(data["t"]), int(data["i"]), data["d"]
        if at is None or direction not in ("next", "prev") or data.get("s") != sort:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": ["is not a cursor of this listing; use the next/previous links as given"]})
    return at, pk, direction


def _row(cursor_row) -> dict:
    names = [name for name, _ in LIST_FIELDS]
    item = dict(zip(names, cursor_row[:len(names)]))
    for key, text in (("input", cursor_row[-2]), ("output", cursor_row[-1])):
        truncated = text is not None and len(text) > LIST_TEXT
        item[key] = text[:LIST_TEXT] if truncated else text
        item[f"{key}_truncated"] = truncated
    return _plain(item)


def _plain(item: dict) -> dict:
    for key in ("cost_usd", "credits"):
        if item.get(key) is not None:
            item[key] = float(item[key])
    return item


PAGE_COLUMNS = ("t.id, t.request_id, t.executed_at, t.model_id, t.model_type, t.provider, t.deployment_id, "
                "t.version_id, t.connection_id, t.source_type, t.source, t.module, t.feature, t.prompt, "
                "t.prompt_version, t.user_id, t.session_id, t.status, t.error_type, t.http_status, "
                "t.response_time_ms, t.ttft_ms, t.input_tokens, t.output_tokens, t.cost_usd, t.credits, t.cache_hit, "
                "t.input, t.output")
REGISTRY_JOINS = JOINS.split("traces_trace t", 1)[1]


def page_sql(where: str, order: str, one: bool = False) -> str:
    """The page's traces LIMITed on the trace table alone, and the registry's names joined to
    those rows only. The plan is then the walk of an account-led index in the listing's
    order whatever the planner believes about the account's size: right after a bulk load
    its statistics may say two rows, and a join planned before the LIMIT hashes the whole
    account. one=True (a search for an existing request id): its one trace is found first
    through the unique index, rather than by walking the time index until it turns up."""
    ordering = f"t.executed_at {order}, t.id {order}"
    if one:
        # The unique key alone finds the row; the rest of the WHERE (range, filters, cursor)
        # is applied to it afterwards, so stale statistics cannot send the lookup down the
        # time index (half a second at 1M right after a bulk load).
        source = (f"(WITH found AS MATERIALIZED (SELECT * FROM traces_trace t WHERE {REQUEST_ID_KEY}) "
                  f"SELECT {PAGE_COLUMNS} FROM found t WHERE {where} ORDER BY {ordering} LIMIT %(limit)s)")
    else:
        source = f"(SELECT {PAGE_COLUMNS} FROM traces_trace t WHERE {where} ORDER BY {ordering} LIMIT %(limit)s)"
    return f"SELECT {LIST_SQL_FIELDS} FROM {source} t{REGISTRY_JOINS}ORDER BY {ordering}"


# The page is read with sorting priced out: the only ordered way left is the walk of an
# account-led index under the LIMIT. With statistics taken before a bulk load the planner
# believes the account holds one row, and would otherwise fetch all its rows through any
# account-led index (the request-id one, say) and sort them.
PAGE_PLANNER_SETTINGS = "SET LOCAL enable_sort = off"


@contextmanager
def page_cursor(one: bool):
    """A cursor for the page statement of page_sql(one=...), with the planner settings it is
    read under (a search for one request id sorts its few rows, so it keeps sorting)."""
    conn = read_connection()
    with transaction.atomic(using=conn.alias), conn.cursor() as cur:
        if not one:
            cur.execute(PAGE_PLANNER_SETTINGS)
        yield cur


def _is_request_id(account, search: str) -> bool:
    with read_connection().cursor() as cur:
        cur.execute("SELECT 1 FROM traces_trace WHERE account_id = %s AND request_id = %s", [account.pk, search])
        return cur.fetchone() is not None


def trace_page(q: ExplorerQuery, *, cursor: str | None = None, size: int = DEFAULT_PAGE) -> dict:
    """One page of the table: {"results", "next_cursor", "previous_cursor"}.

    Keyset on (executed_at, id): the cursor holds the boundary row, so pages never skip or
    repeat rows however deep, and rows arriving meanwhile only ever appear at the top.
    """
    sort_key = "asc" if q.sort == "asc" else "desc"
    direction, boundary = "next", None
    if cursor:
        at, pk, direction = decode_cursor(cursor, sort_key)
        boundary = (at, pk)
    where, params = explorer_where(q)
    # Walking forwards in the listing's order, or backwards for a "previous" page.
    forwards = direction == "next"
    descending = (sort_key == "desc") == forwards
    if boundary is not None:
        params["b_at"], params["b_id"] = boundary
        where += f" AND (t.executed_at, t.id) {'<' if descending else '>'} (%(b_at)s, %(b_id)s)"
    order = "DESC" if descending else "ASC"
    params["limit"] = size + 1
    one = REQUEST_ID_SEARCH in where
    with page_cursor(one) as cur:
        cur.execute(page_sql(where, order, one=one), params)
        rows = [_row(r) for r in cur.fetchall()]
    more = len(rows) > size
    rows = rows[:size]
    if not forwards:
        rows.reverse()
    has_next = more if forwards else True
    has_prev = (boundary is not None) if forwards else more
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    next_cursor = encode_cursor(last["executed_at"], last["id"], "next", sort_key) if has_next and last else None
    prev_cursor = encode_cursor(first["executed_at"], first["id"], "prev", sort_key) if has_prev and first else None
    if not rows and boundary is not None:
        # An empty page past either end still links back to where the reader came from.
        back = "prev" if forwards else "next"
        # The boundary row itself is the reader's last row: shift the id so it is included.
        token = encode_cursor(boundary[0], boundary[1] + (-1 if descending else 1), back, sort_key)
        next_cursor, prev_cursor = (None, token) if forwards else (token, None)
    for row in rows:
        del row["id"]  # internal: only the cursors carry it
    return {"results": rows, "next_cursor": next_cursor, "previous_cursor": prev_cursor}


def trace_detail(account, request_id: str) -> dict | None:
    """The whole trace with payloads, registry details and feedback, or None (also for other accounts)."""
    fields = ", ".join(sql for _, sql in DETAIL_FIELDS)
    with read_connection().cursor() as cur:
        cur.execute(f"SELECT {fields} {JOINS} WHERE t.account_id = %(account)s AND t.request_id = %(rid)s",
                    {"account": account.pk, "rid": request_id})
        row = cur.fetchone()
        if row is None:
            return None
        item = _plain(dict(zip([name for name, _ in DETAIL_FIELDS], row)))
        cur.execute(f"SELECT {', '.join(FEEDBACK_FIELDS)} FROM traces_feedback "
                    "WHERE account_id = %(account)s AND request_id = %(rid)s", {"account": account.pk, "rid": request_id})
        feedback = cur.fetchone()
    for key in ("request_payload", "response_payload", "metadata"):
        # Django leaves jsonb undecoded on raw cursors.
        if isinstance(item[key], str):
            item[key] = json.loads(item[key])
    item["feedback"] = dict(zip(FEEDBACK_FIELDS, feedback)) if feedback else None
    item["model_label"] = model_label(item)
    item.pop("id")
    return item


def model_label(item: dict) -> str:
    """The model as 002's JSON view names it: with the deployment version for hosted
    models, with the connection for external ones."""
    if item["model_type"] == "external":
        return f"{item['model']} ({item['connection']})" if item.get("connection") else item["model"]
    return f"{item['model']}:{item['version']}" if item.get("version") else item["model"]


def explorer_summary(q: ExplorerQuery) -> dict:
    """X2 for the selected model and period, from the metrics layer (rollups + edges)."""
    metrics = metrics_summary(q.sel)
    hosted = hosting_applies(q)
    return {
        "total_requests": metrics["total_requests"],
        "failed_requests": metrics["failed_requests"],
        "failure_rate": metrics["error_rate"],
        "p90_response_time_ms": metrics["p90_latency_ms"],
        "p99_response_time_ms": metrics["p99_latency_ms"],
        "hosting_credits": metrics["total_credits"] if hosted else None,
    }


def hosting_applies(q: ExplorerQuery) -> bool:
    """Hosting credits are shown for hosted (fine-tuned, open-source) models, not external ones."""
    filters = q.sel.filters
    if filters.get("model_type") == "external" or filters.get("connection"):
        return False
    if filters.get("model"):
        model = Model.objects.for_account(q.account).filter(name=filters["model"]).first()
        return model is None or model.is_hosted
    return True
