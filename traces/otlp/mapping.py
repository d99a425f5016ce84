"""Map OTLP spans onto ModelPulse's trace fields (API.md, OTLP section; docs/integrations.md).

Three dialects of LLM spans are read: OpenTelemetry GenAI (`gen_ai.*`), OpenInference
(`openinference.span.kind`, `llm.*`) and Langfuse (`langfuse.observation.*`). Each module
says which of its spans are model calls; every other span (a chain, a retriever, an HTTP
call, an agent step) is skipped — counted, but not an error.
"""
import re
from datetime import datetime, timezone

from traces.otlp import genai, langfuse, openinference
from traces.otlp.text import set_text

STATUS_ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR
FIRST_OF = {  # dialect-neutral attributes: the first name present wins
    "http_status": ("http.response.status_code", "http.status_code"),
    "user_id": ("user.id", "enduser.id", "gen_ai.user.id", "traceloop.association.properties.user_id",
                "gen_ai.request.user"),
    "session_id": ("session.id", "gen_ai.conversation.id", "traceloop.association.properties.session_id"),
    "prompt": ("gen_ai.prompt.name", "gen_ai.prompt.id", "langfuse.observation.prompt.name"),
    "feature": ("app.feature", "modelpulse.feature"),
    "module": ("app.module", "modelpulse.module"),
}
ERROR_TYPES = [  # (substring of the error's type or message, our error_type) — first match wins
    ("timeout", "timeout"), ("timed out", "timeout"), ("ratelimit", "rate_limit"), ("rate_limit", "rate_limit"),
    ("rate limit", "rate_limit"), ("validation", "validation"), ("invalid", "validation"),
    ("badrequest", "validation"), ("internalserver", "llm_error"), ("servererror", "llm_error"),
    ("apistatus", "llm_error"), ("overloaded", "llm_error"), ("connection", "network"), ("network", "network"),
    ("dns", "network"), ("api", "llm_error"), ("llm", "llm_error"),
]
# "Error code: 429 - {...}" (openai, anthropic clients), "429 Too Many Requests", "status 503"
_STATUS_IN_TEXT = re.compile(r"(?:error code|status(?: code)?)\W{0,3}([1-5]\d\d)\b|^([1-5]\d\d)\b", re.I)


def attribute_value(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [attribute_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: attribute_value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def attributes(key_values) -> dict:
    return {kv.key: attribute_value(kv.value) for kv in key_values}


def status_code_in(text: str):
    for match in _STATUS_IN_TEXT.finditer(text or ""):
        return int(match.group(1) or match.group(2))
    return None


def error_type_of(raw, http_status=None) -> str:
    """The HTTP status decides when there is one (429 → rate_limit, 408/504 → timeout, other
    4xx → validation, 5xx → llm_error); else words in the exception type or message."""
    if not isinstance(http_status, int) or isinstance(http_status, bool):
        http_status = None  # a string or a list sent as the status: validation reports it
    if http_status == 429:
        return "rate_limit"
    if http_status in (408, 504):
        return "timeout"
    if http_status and 400 <= http_status < 500 and http_status not in (401, 403):
        return "validation"
    if http_status and http_status >= 500:
        return "llm_error"
    text = str(raw or "").lower()
    return next((error_type for needle, error_type in ERROR_TYPES if needle in text), "system")


def dialect_of(attrs: dict):
    """The module that maps this span, or None when the span is not a model call."""
    if openinference.is_openinference(attrs):
        return openinference if openinference.is_model_call(attrs) else None
    if langfuse.is_langfuse(attrs):
        return langfuse if langfuse.is_model_call(attrs) else None
    return genai if genai.is_model_call(attrs) else None


def _timestamp(nanos: int) -> str:
    return datetime.fromtimestamp(nanos // 1_000_000_000, tz=timezone.utc) \
        .replace(microsecond=(nanos % 1_000_000_000) // 1000).isoformat()


def _mapped(dialect, span, attrs: dict, events: list) -> tuple[dict, list, list]:
    if dialect is langfuse:
        return langfuse.fields(span, attrs), *langfuse.messages(attrs)
    if dialect is openinference:
        return openinference.fields(attrs), *openinference.messages(attrs)
    return genai.fields(attrs), *genai.messages(attrs, events)


def _set_failure(item: dict, span, attrs: dict, events: list, langfuse_message):
    exceptions = [e for name, e in events if name == "exception"]
    described = " ".join(str(x) for x in (
        attrs.get("error.type"), *(e.get("exception.type") for e in exceptions),
        span.status.message, langfuse_message, *(e.get("exception.message") for e in exceptions)) if x)
    if "http_status" not in item:
        found = status_code_in(span.status.message) or status_code_in(langfuse_message or "") or next(
            (c for c in (status_code_in(str(e.get("exception.message") or "")) for e in exceptions) if c), None)
        if found:
            item["http_status"] = found
    item["error_type"] = error_type_of(described, item.get("http_status"))


def span_to_trace(dialect, span, resource_attrs: dict, attrs: dict) -> dict:
    """One model-call span as an ingestion item (validated afterwards like any REST item)."""
    events = [(event.name, attributes(event.attributes)) for event in span.events]
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    mapped, sent, received = _mapped(dialect, span, attrs, events)
    langfuse_failure = mapped.pop("failed", None)
    item = {
        "request_id": f"{span.trace_id.hex()}-{span.span_id.hex()}",
        "executed_at": _timestamp(start),
        "response_time_ms": (end - start) / 1e6 if end >= start else -1.0,
        "status": "failure" if span.status.code == STATUS_ERROR or langfuse_failure else "success",
        "source": str(resource_attrs.get("service.name") or ""),
        **{k: v for k, v in mapped.items() if v is not None},
    }
    if item.get("provider") is not None:
        item["provider"] = str(item["provider"])
    for field, names in FIRST_OF.items():
        value = genai.first(attrs, names)
        if value is not None and field not in item:
            item[field] = value if field == "http_status" else str(value)
    if item["status"] == "failure":
        _set_failure(item, span, attrs, events, langfuse_failure)
    set_text(item, sent, received)
    item["metadata"] = {"span_name": span.name, "parent_span_id": span.parent_span_id.hex() or None,
                        **dialect.metadata(attrs)}
    return item


def export_request_items(message) -> tuple[list, int]:
    """(ingestion items of the model-call spans, number of other spans skipped)."""
    items, skipped = [], 0
    for resource_spans in message.resource_spans:
        resource_attrs = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attrs = attributes(span.attributes)
                dialect = dialect_of(attrs)
                if dialect is None:
                    skipped += 1
                    continue
                items.append(span_to_trace(dialect, span, resource_attrs, attrs))
    return items, skipped
