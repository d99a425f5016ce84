"""Storing what the outbox receives."""
from email import message_from_bytes, policy

from accounts.models import Account
from outbox.headers import ACCOUNT_HEADER
from outbox.models import OutboxMessage


def outbox_store(raw: bytes, *, sender: str = "", recipients=()) -> OutboxMessage:
    """Keep one received message; the envelope's recipients win over the To/Cc headers (Bcc too)."""
    parsed = message_from_bytes(raw, policy=policy.default)
    slug = str(parsed.get(ACCOUNT_HEADER, "") or "").strip()
    account = Account.objects.filter(slug=slug).first() if slug else None
    if not recipients:
        recipients = [a.addr_spec for field in ("to", "cc") for a in getattr(parsed.get(field), "addresses", ())]
    return OutboxMessage.objects.create(
        account=account,
        sender=(sender or str(parsed.get("from", "")))[:320],
        recipients=[r[:320] for r in recipients],
        subject=" ".join(str(parsed.get("subject", "")).split())[:998],
        message_id=str(parsed.get("message-id", "")).strip()[:998],
        raw=raw,
        size=len(raw),
    )
