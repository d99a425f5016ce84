"""Prompt and response text of a span, whatever shape the library sent it in.

Libraries send messages as OTel GenAI JSON (`role` + `parts[]`), OpenAI request/response
bodies, plain `{role, content}` dicts or bare strings. Everything here turns those into one
list of message dicts; `set_text` then fills input/output (the text a person reads) and the
payloads (the messages as sent). Redaction and the account's store-text setting apply later,
at ingestion, exactly as for REST.
"""
import json


def parse_json(value):
    """A JSON-looking string as its value; anything else unchanged."""
    if isinstance(value, str) and value[:1] in ("[", "{", '"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def message_text(message) -> str:
    """The readable text of one message: a plain `content`, or its text parts."""
    if isinstance(message, str):
        return message
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    # GenAI JSON keeps text in parts[].content; OpenAI/Anthropic content blocks in content[].text.
    parts = message.get("parts") if isinstance(message.get("parts"), list) else content
    if not isinstance(parts, list):
        return ""
    texts = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type", "text") in ("text", "output_text", "input_text"):
            text = part.get("content", part.get("text"))
            if text is not None:
                texts.append(str(text))
    return "\n".join(texts)


def as_messages(value, role: str) -> list:
    """Any of the shapes above as a list of message dicts (`role` for bare text)."""
    value = parse_json(value)
    if isinstance(value, list):
        return [m if isinstance(m, dict) else {"role": role, "content": str(m)} for m in value if m is not None]
    if isinstance(value, dict):
        if isinstance(value.get("messages"), list):  # an OpenAI request body
            return as_messages(value["messages"], role)
        if isinstance(value.get("choices"), list):  # an OpenAI response body
            return [c["message"] for c in value["choices"] if isinstance(c, dict) and isinstance(c.get("message"), dict)]
        if "role" in value or "content" in value or "parts" in value:
            return [value]
        return [{"role": role, "content": json.dumps(value, default=str)}]
    if value in (None, ""):
        return []
    return [{"role": role, "content": str(value)}]


def set_text(item: dict, sent: list, received: list):
    """input = the last user message (else the last one sent), output = the answer;
    the payloads keep every message."""
    if sent:
        users = [m for m in sent if m.get("role") == "user"] or sent
        item["input"] = message_text(users[-1])
        item["request_payload"] = {"messages": sent}
    if received:
        item["output"] = "\n".join(t for t in (message_text(m) for m in received) if t)
        item["response_payload"] = {"messages": received}
