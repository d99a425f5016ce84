"""Langfuse v3+ spans (the SDK exports OTLP with `langfuse.*` attributes).

Observations of type generation (and embedding) are model calls; spans, events, agents,
tools… are not and are skipped.
"""
from datetime import datetime

from traces.otlp.text import as_messages, parse_json

TYPE = "langfuse.observation.type"
MODEL_CALL_TYPES = {"generation", "embedding"}
USAGE_NAMES = {"input_tokens": ("input", "prompt_tokens", "input_tokens", "promptTokens"),
               "output_tokens": ("output", "completion_tokens", "output_tokens", "completionTokens")}
# Langfuse names no provider; the model name usually tells it (what the Langfuse UI does too).
PROVIDER_BY_MODEL_PREFIX = (("gpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"),
                            ("chatgpt", "openai"), ("text-embedding", "openai"), ("claude", "anthropic"),
                            ("gemini", "google"), ("mistral", "mistral"), ("mixtral", "mistral"),
                            ("command", "cohere"))


def is_langfuse(attrs: dict) -> bool:
    return TYPE in attrs


def is_model_call(attrs: dict) -> bool:
    return attrs.get(TYPE) in MODEL_CALL_TYPES


def provider_of_model(model) -> str | None:
    name = str(model or "").lower().rsplit("/", 1)[-1]
    return next((provider for prefix, provider in PROVIDER_BY_MODEL_PREFIX if name.startswith(prefix)), None)


def _usage(attrs: dict) -> dict:
    usage = parse_json(attrs.get("langfuse.observation.usage_details"))
    if not isinstance(usage, dict):
        return {}
    out = {}
    for field, names in USAGE_NAMES.items():
        value = next((usage[n] for n in names if isinstance(usage.get(n), int) and not isinstance(usage[n], bool)), None)
        if value is not None:
            out[field] = value
    return out


def _ttft_ms(span, attrs: dict):
    """completion_start_time (ISO, when the first token arrived) minus the span start."""
    started = parse_json(attrs.get("langfuse.observation.completion_start_time"))
    try:
        first_token = datetime.fromisoformat(str(started).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    ttft = first_token * 1000.0 - span.start_time_unix_nano / 1e6
    return ttft if ttft >= 0 else None


def fields(span, attrs: dict) -> dict:
    model = attrs.get("langfuse.observation.model.name")
    out = {"model": model, "provider": provider_of_model(model), **_usage(attrs),
           "user_id": attrs.get("langfuse.user.id") or attrs.get("langfuse.trace.user_id"),
           "session_id": attrs.get("langfuse.session.id") or attrs.get("langfuse.trace.session_id")}
    ttft = _ttft_ms(span, attrs)
    if ttft is not None:
        out["ttft_ms"] = ttft
    if attrs.get("langfuse.observation.level") == "ERROR":
        out["failed"] = str(attrs.get("langfuse.observation.status_message") or "ERROR")
    return out


def messages(attrs: dict) -> tuple[list, list]:
    return (as_messages(attrs.get("langfuse.observation.input"), "user"),
            as_messages(attrs.get("langfuse.observation.output"), "assistant"))


def metadata(attrs: dict) -> dict:
    # Observation and trace input/output are message text: never in metadata (not redacted there).
    return {k: v for k, v in attrs.items() if k.startswith("langfuse.") and not k.endswith((".input", ".output"))
            and isinstance(v, (str, int, float, bool))}
