"""Reading stored messages: their text, their HTML with images inline, their CID parts."""
import base64
import re
from dataclasses import dataclass
from email import message_from_bytes, policy

from outbox.models import OutboxMessage

CID_REF = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)


@dataclass
class Part:
    content_type: str
    data: bytes


def _parsed(message: OutboxMessage):
    return message_from_bytes(bytes(message.raw), policy=policy.default)


def message_bodies(message: OutboxMessage) -> tuple[str, str]:
    """(text, html) of the message; either may be empty."""
    parsed = _parsed(message)
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    return (text.get_content() if text else "", html.get_content() if html else "")


def message_parts(message: OutboxMessage) -> dict[str, Part]:
    """Every part with a Content-ID, by that id (without the angle brackets)."""
    parts = {}
    for part in _parsed(message).walk():
        cid = str(part.get("content-id", "") or "").strip().strip("<>")
        if cid and not part.is_multipart():
            parts[cid] = Part(part.get_content_type(), part.get_payload(decode=True) or b"")
    return parts


def message_html_inline(message: OutboxMessage) -> str:
    """The HTML body with every cid: image replaced by a data: URI, so it renders on its own."""
    _, html = message_bodies(message)
    if not html:
        return ""
    parts = message_parts(message)

    def inline(match):
        part = parts.get(match.group(1))
        if part is None:
            return match.group(0)
        return f"data:{part.content_type};base64,{base64.b64encode(part.data).decode()}"

    return CID_REF.sub(inline, html)
