"""The local SMTP outbox: an aiosmtpd server that keeps every message in the database.

`manage.py start` runs it when no SMTP server is configured and points the product's
EMAIL_URL at it, so reports, alerts and invitations arrive somewhere a person can read
them (the console's Outbox page, GET /api/v1/outbox).
"""
import asyncio
import logging

from aiosmtpd.controller import Controller
from django.db import connection

from outbox.services import outbox_store

logger = logging.getLogger(__name__)


def _store(raw: bytes, sender: str, recipients: list[str]):
    try:
        return outbox_store(raw, sender=sender, recipients=recipients)
    finally:
        # Mail is rare: a connection per message, none left open between them.
        connection.close()


class OutboxHandler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        try:
            # The ORM is synchronous: store from a worker thread, off the event loop.
            message = await asyncio.to_thread(_store, raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        except Exception:
            logger.exception("outbox could not store a message")
            return "451 Requested action aborted: local error in processing"
        logger.info("outbox stored message %s for %s", message.pk, ",".join(message.recipients))
        return "250 Message accepted for delivery"


def outbox_controller(host: str, port: int) -> Controller:
    # 25 MiB: reports with their charts are well under a megabyte.
    return Controller(OutboxHandler(), hostname=host, port=port, data_size_limit=25 * 1024 * 1024)
