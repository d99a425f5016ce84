"""OpenTelemetry GenAI spans (openai-v2, OpenLLMetry/Traceloop, OpenLIT, …).

Current and older semantic-convention names are both read: the first name listed wins.
"""
from traces.otlp.text import as_messages, parse_json

FIRST_OF = {
    "model": ("gen_ai.response.model", "gen_ai.request.model"),
    "provider": ("gen_ai.provider.name", "gen_ai.system"),
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    "cache_read": ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"),
    "ttft_s": ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token"),
}
# Agent and tool spans carry gen_ai.* names too but are not model calls (their model calls
# are child spans): storing them would count tokens twice.
NOT_MODEL_CALLS = {"execute_tool", "invoke_agent", "create_agent"}
# Message text goes to input/output and the payloads (redacted), never to metadata.
TEXT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
             "gen_ai.prompt.", "gen_ai.completion.", "gen_ai.prompt", "gen_ai.completion")
# Span events of older releases: one event per message (role from the name), or one per side.
EVENT_ROLES = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
               "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}


def first(attrs: dict, names):
    for name in names:
        if attrs.get(name) not in (None, ""):
            return attrs[name]
    return None


def is_model_call(attrs: dict) -> bool:
    return any(k.startswith("gen_ai.") for k in attrs) and attrs.get("gen_ai.operation.name") not in NOT_MODEL_CALLS


def fields(attrs: dict) -> dict:
    out = {"model": first(attrs, FIRST_OF["model"]), "provider": first(attrs, FIRST_OF["provider"]),
           "input_tokens": first(attrs, FIRST_OF["input_tokens"]),
           "output_tokens": first(attrs, FIRST_OF["output_tokens"])}
    ttft = first(attrs, FIRST_OF["ttft_s"])
    if isinstance(ttft, (int, float)) and not isinstance(ttft, bool):
        out["ttft_ms"] = ttft * 1000.0
    cache_read = first(attrs, FIRST_OF["cache_read"])
    if isinstance(cache_read, int) and not isinstance(cache_read, bool):
        out["cache_hit"] = cache_read > 0
    return out


def _indexed(attrs: dict, prefix: str) -> list:
    """`gen_ai.prompt.0.role` / `.content`, … (OpenLLMetry before gen_ai.input.messages)."""
    messages, index = [], 0
    while f"{prefix}.{index}.content" in attrs or f"{prefix}.{index}.role" in attrs:
        messages.append({"role": attrs.get(f"{prefix}.{index}.role") or "",
                         "content": str(attrs.get(f"{prefix}.{index}.content") or "")})
        index += 1
    return messages


def _event_messages(events) -> tuple[list, list]:
    """gen_ai.user.message / gen_ai.choice span events, and OpenLIT's older
    gen_ai.content.prompt / gen_ai.content.completion."""
    sent, received = [], []
    for name, attrs in events:
        if name in EVENT_ROLES:
            message = parse_json(attrs.get("message")) if "message" in attrs else None
            if not isinstance(message, dict):
                message = {"role": attrs.get("role") or EVENT_ROLES[name],
                           "content": parse_json(attrs.get("content", attrs.get("gen_ai.event.content", "")))}
            sent.append(message)
        elif name == "gen_ai.choice":
            message = parse_json(attrs.get("message"))
            if not isinstance(message, dict):
                message = {"role": attrs.get("message.role") or "assistant",
                           "content": attrs.get("message.content", attrs.get("content", ""))}
            received.append(message)
        elif name == "gen_ai.content.prompt":
            sent += as_messages(attrs.get("gen_ai.prompt"), "user")
        elif name == "gen_ai.content.completion":
            received += as_messages(attrs.get("gen_ai.completion"), "assistant")
    return sent, received


def messages(attrs: dict, events) -> tuple[list, list]:
    """(sent, received): gen_ai.input/output.messages, else the indexed names, else events."""
    sent = as_messages(attrs.get("gen_ai.input.messages"), "user") or _indexed(attrs, "gen_ai.prompt")
    received = as_messages(attrs.get("gen_ai.output.messages"), "assistant") or _indexed(attrs, "gen_ai.completion")
    if not sent or not received:
        event_sent, event_received = _event_messages(events)
        sent, received = sent or event_sent, received or event_received
    instructions = as_messages(attrs.get("gen_ai.system_instructions"), "system")
    if instructions and not any(m.get("role") == "system" for m in sent):
        # Anthropic-style system prompts arrive apart from the messages: keep them in the payload.
        parts = [p for m in instructions for p in (m["parts"] if isinstance(m.get("parts"), list) else [m])]
        sent = [{"role": "system", "parts": parts}] + sent
    return sent, received


def metadata(attrs: dict) -> dict:
    return {k: v for k, v in attrs.items()
            if k.startswith("gen_ai.") and not k.startswith(TEXT_KEYS) and isinstance(v, (str, int, float, bool))}
