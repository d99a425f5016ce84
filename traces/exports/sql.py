"""The export file's columns, as SQL over the explorer's joins (alias t, m, d, v, c).

CSV carries the table's columns whatever their visibility (002), then the details an
analyst needs next to them, with text cells made safe for spreadsheets; JSONL carries the
whole trace under the ingestion names, exactly as stored.
"""
# Whole milliseconds as m:ss:mmm — the explorer's notation for response times.
_MS = "floor(t.response_time_ms)::bigint"
# (mod() rather than %: the statements are bound with %-placeholders.)
RESPONSE_TIME = (f"({_MS} / 60000)::text || ':' || lpad(mod({_MS} / 1000, 60)::text, 2, '0') || ':' || "
                 f"lpad(mod({_MS}, 1000)::text, 3, '0')")
# Executed on in the account's timezone (the export connection's TimeZone), with its offset.
EXECUTED_ON = "to_char(t.executed_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MSTZH:TZM')"



def as_text_cell(sql: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP "CSV injection"): text that
    starts with =, +, -, @, a tab or a carriage return gets a leading apostrophe. Only text
    columns pass through here; numeric columns are numbers the product wrote, which a
    spreadsheet reads as numbers (a negative one included)."""
    return (f"CASE WHEN left({sql}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
            f"THEN chr(39) || {sql} ELSE {sql} END")


CSV_COLUMNS = [
    ("status", "t.status"),
    ("request_id", as_text_cell("t.request_id")),
    # m:ss:mmm and the timestamp are written by the product and always start with a digit.
    ("response_time", RESPONSE_TIME),
    ("deployment_version", as_text_cell("v.version")),
    ("source_type", as_text_cell("t.source_type")),
    ("source", as_text_cell("t.source")),
    ("executed_on", EXECUTED_ON),
    ("input", as_text_cell("t.input")),
    ("output", as_text_cell("t.output")),
    ("response_time_ms", "t.response_time_ms"),
    ("model", as_text_cell("m.name")),
    ("deployment", as_text_cell("d.name")),
    ("connection", as_text_cell("c.name")),
    ("error_type", as_text_cell("t.error_type")),
    ("input_tokens", "t.input_tokens"),
    ("output_tokens", "t.output_tokens"),
    ("user_id", as_text_cell("t.user_id")),
]

JSON_FIELDS = [
    ("request_id", "t.request_id"), ("executed_at", "t.executed_at"), ("model", "m.name"),
    ("model_type", "t.model_type"), ("provider", "t.provider"), ("deployment", "d.name"), ("version", "v.version"),
    ("connection", "c.name"), ("source_type", "t.source_type"), ("source", "t.source"), ("module", "t.module"),
    ("feature", "t.feature"), ("prompt", "t.prompt"), ("prompt_version", "t.prompt_version"),
    ("user_id", "t.user_id"), ("session_id", "t.session_id"), ("status", "t.status"),
    ("error_type", "t.error_type"), ("http_status", "t.http_status"), ("response_time_ms", "t.response_time_ms"),
    ("ttft_ms", "t.ttft_ms"), ("queue_time_ms", "t.queue_time_ms"), ("network_time_ms", "t.network_time_ms"),
    ("input_tokens", "t.input_tokens"), ("output_tokens", "t.output_tokens"), ("cost_usd", "t.cost_usd"),
    ("credits", "t.credits"), ("cache_hit", "t.cache_hit"), ("input", "t.input"), ("output", "t.output"),
    ("request_payload", "t.request_payload"), ("response_payload", "t.response_payload"),
    ("metadata", "t.metadata"),
]
JSON_LINE = "json_build_object(" + ", ".join(f"'{name}', {sql}" for name, sql in JSON_FIELDS) + ")::text"

# COPY's CSV format with a quote and delimiter that JSON text never contains (it escapes
# control characters) writes each JSON document exactly as it is, one per line.
COPY_OPTIONS = {"csv": "FORMAT csv", "jsonl": "FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02'"}


def select_list(fmt: str) -> str:
    if fmt == "jsonl":
        return JSON_LINE
    return ", ".join(sql for _, sql in CSV_COLUMNS)


def header(fmt: str) -> bytes:
    return (",".join(name for name, _ in CSV_COLUMNS) + "\n").encode() if fmt == "csv" else b""
