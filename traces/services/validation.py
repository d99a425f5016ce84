"""Per-item validation of ingested traces with msgspec's compiled converter.

A batch is decoded once; each item is then converted on its own, so one bad item is
reported (index, field, message) and the rest are stored.
"""
import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

MAX_INT32 = 2**31 - 1
MAX_MS = 1e10          # ~115 days: anything larger is a unit mistake
MAX_MONEY = 1e9
MAX_JSON_DEPTH = 20
MAX_TEXT = 1_000_000   # characters per input/output text
FUTURE_TOLERANCE = timedelta(days=1)

RequestId = Annotated[str, Meta(min_length=1, max_length=128)]
Name = Annotated[str, Meta(max_length=200)]
ShortName = Annotated[str, Meta(max_length=100)]
Ms = Annotated[float, Meta(ge=0, le=MAX_MS)]
Tokens = Annotated[int, Meta(ge=0, le=MAX_INT32)]
Money = Annotated[float, Meta(ge=0, le=MAX_MONEY)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Timestamp = Annotated[datetime, Meta(tz=True)]


class TraceIn(msgspec.Struct, forbid_unknown_fields=False):
    request_id: RequestId
    executed_at: Timestamp
    model: Annotated[str, Meta(min_length=1, max_length=200)]
    status: Literal["success", "failure"]
    response_time_ms: Ms
    model_type: Literal["fine_tuned", "open_source", "external"] = "external"
    base_model: Name = ""
    provider: ShortName = ""
    connection: Name = ""
    deployment: Name = ""
    version: ShortName = ""
    source_type: Literal["workflow", "prompt", "api_key", "agent", "other"] = "other"
    source: Name = ""
    module: Name = ""
    feature: Name = ""
    prompt: Name = ""
    prompt_version: ShortName = ""
    user_id: Name = ""
    session_id: Name = ""
    error_type: Literal["timeout", "rate_limit", "llm_error", "validation", "system", "network", ""] = ""
    http_status: Annotated[int, Meta(ge=100, le=599)] | None = None
    ttft_ms: Ms | None = None
    queue_time_ms: Ms | None = None
    network_time_ms: Ms | None = None
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    cost_usd: Money | None = None
    credits: Money | None = None
    cache_hit: bool | None = None
    input: Text | None = None
    output: Text | None = None
    request_payload: dict | None = None
    response_payload: dict | None = None
    metadata: dict | None = None


class FeedbackIn(msgspec.Struct, forbid_unknown_fields=False):
    request_id: RequestId
    rating: Annotated[int, Meta(ge=1, le=5)] | None = None
    thumbs: Literal["up", "down"] | None = None
    accepted: bool | None = None
    edited: bool | None = None
    regenerated: bool | None = None
    task_success: bool | None = None
    comment: Annotated[str, Meta(max_length=10_000)] = ""


STRING_FIELDS = [f for f, t in TraceIn.__annotations__.items() if "str" in str(t) or "Name" in str(t)]
JSON_FIELDS = ("request_payload", "response_payload", "metadata")
_PATH = re.compile(r"at `\$\.([A-Za-z_]+)")


class ItemError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _first_bad_string(value, depth=0):
    """(problem, depth exceeded) for strings inside JSON: NUL or undecodable bytes."""
    if depth > MAX_JSON_DEPTH:
        return "nested deeper than %d levels" % MAX_JSON_DEPTH
    if isinstance(value, str):
        return _string_problem(value)
    if isinstance(value, dict):
        for k, v in value.items():
            problem = _string_problem(k) or _first_bad_string(v, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for v in value:
            problem = _first_bad_string(v, depth + 1)
            if problem:
                return problem
    elif isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "contains NaN or Infinity"
    return None


def _string_problem(text: str):
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    # Undecodable input bytes arrive as lone surrogates (see body.decode_json_body).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    return None


def convert_item(item, now: datetime, struct=TraceIn):
    """Validate one item; return the struct or raise ItemError(field, message)."""
    if not isinstance(item, dict):
        raise ItemError("", f"each item must be an object, got {type(item).__name__}")
    try:
        value = msgspec.convert(item, struct)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH.search(text)
        field = match.group(1) if match else ""
        message = text.split(" - at ")[0]
        if message.startswith("Object missing required field"):
            field = text.split("`")[1]
            message = "is required"
        raise ItemError(field, message)
    for name in STRING_FIELDS if struct is TraceIn else struct.__struct_fields__:
        text = getattr(value, name, None)
        if text and isinstance(text, str):
            problem = _string_problem(text)
            if problem:
                raise ItemError(name, problem)
    if struct is TraceIn:
        for name in JSON_FIELDS:
            payload = getattr(value, name)
            if payload is not None:
                problem = _first_bad_string(payload)
                if problem:
                    raise ItemError(name, problem)
        if value.executed_at > now + FUTURE_TOLERANCE:
            raise ItemError("executed_at", "is more than 1 day in the future")
        if value.executed_at.year < 2000:
            raise ItemError("executed_at", "is before the year 2000")
        if value.error_type and value.status != "failure":
            raise ItemError("error_type", "only failures have an error_type")
    return value


def utcnow():
    return datetime.now(timezone.utc)
