"""Sending a delivery (L3): e-mail over SMTP, signed generic webhook, Slack incoming webhook,
PagerDuty Events API v2. Each attempt is recorded; failures are retried with exponential
backoff up to ALERT_DELIVERY_MAX_ATTEMPTS, then the delivery is marked failed (and shown
in the console's channel page).
"""
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.localtime import local_text
from alerts.models import ChannelKind, Delivery, DeliveryPurpose, DeliveryStatus, Transition
from alerts.services.notify import deliver_in_app, message, webhook_payload
from config import jobs, outbound
from outbox.headers import account_headers

USER_AGENT = "ModelPulse-Alerts/1.0"
PD_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
PD_ACTION = {Transition.FIRED: "trigger", Transition.REMINDER: "trigger", Transition.ACKNOWLEDGED: "acknowledge",
             Transition.RESOLVED: "resolve", Transition.TEST: "trigger"}
SLACK_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


class SendError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def signature(secret: str, body: bytes) -> str:
    """`X-Signature`: hex HMAC-SHA256 of the exact request body with the channel's secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(url: str, body: bytes, headers: dict) -> int:
    """Through the outbound guard (config/outbound.py). A failed answer keeps only its status:
    the receiver's body is not ours to show to the account's users."""
    try:
        response = outbound.post(url, body, {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
                                 timeout=settings.ALERT_HTTP_TIMEOUT_SECONDS)
    except outbound.Refused as exc:
        raise SendError(f"Refused: {exc.reason}") from None
    except outbound.SendFailed as exc:
        raise SendError(str(exc)[:300]) from None
    if not response.ok:
        redirect = " (redirects are not followed)" if 300 <= response.status < 400 else ""
        raise SendError(f"HTTP {response.status}{redirect}", response.status)
    return response.status


def _json(data) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str).encode()


def send_webhook(delivery: Delivery) -> int:
    """A notification's body is built when sent; an action's was fixed when its transition happened."""
    channel = delivery.channel
    action = delivery.purpose == DeliveryPurpose.ACTION
    body = _json(delivery.payload if action else webhook_payload(delivery.event, delivery.transition))
    return _post(channel.url, body, {"X-Signature": signature(channel.secret, body),
                                     "X-ModelPulse-Delivery": str(delivery.pk),
                                     **({"X-ModelPulse-Kind": "action"} if action else {})})


def slack_body(delivery: Delivery) -> dict:
    event = delivery.event
    text = message(event, delivery.transition)
    link = webhook_payload(event, delivery.transition)["url"]
    headline = f"{SLACK_EMOJI.get(event.severity, '')} *{text['title']}*".strip()
    return {
        "text": f"{text['title']} — {text['text']}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{headline}\n{text['text']}"}},
            {"type": "context", "elements": [{"type": "mrkdwn",
                                              "text": f"ModelPulse · {event.account.name} · <{link}|Open the event>"}]},
        ],
    }


def send_slack(delivery: Delivery) -> int:
    return _post(delivery.channel.url, _json(slack_body(delivery)), {})


def pagerduty_body(delivery: Delivery) -> dict:
    event = delivery.event
    action = PD_ACTION[delivery.transition]
    body = {"routing_key": delivery.channel.routing_key, "event_action": action,
            "dedup_key": f"modelpulse-{event.account.slug}-{event.pk}"}
    if action == "trigger":
        payload = webhook_payload(event, delivery.transition)
        body["payload"] = {
            "summary": message(event, delivery.transition)["title"][:1024],
            "source": f"modelpulse/{event.account.slug}",
            "severity": PD_SEVERITY.get(event.severity, "warning"),
            "timestamp": payload["timestamp"],
            "component": event.metric,
            "class": payload["alert_type"],
            "custom_details": payload,
        }
        body["client"] = "ModelPulse"
        body["client_url"] = payload["url"]
    return body


def send_pagerduty(delivery: Delivery) -> int:
    url = delivery.channel.url or settings.PAGERDUTY_EVENTS_URL
    return _post(url, _json(pagerduty_body(delivery)), {})


def send_email(delivery: Delivery) -> int:
    event = delivery.event
    text = message(event, delivery.transition)
    context = {"event": event, "msg": text, "link": webhook_payload(event, delivery.transition)["url"],
               "transition": delivery.transition,
               "fired_at": local_text(event.fired_at, event.account.tzinfo) if event.fired_at else "—"}
    mail = EmailMultiAlternatives(subject=text["title"], body=render_to_string("console/alerts_email.txt", context),
                                  to=list(delivery.channel.recipients), headers=account_headers(delivery.account),
                                  connection=get_connection(timeout=settings.ALERT_HTTP_TIMEOUT_SECONDS))
    mail.attach_alternative(render_to_string("console/alerts_email.html", context), "text/html")
    try:
        mail.send()
    except Exception as exc:  # smtplib, socket and DNS errors alike: recorded, retried
        raise SendError(f"{type(exc).__name__}: {str(exc)[:300]}") from None
    return 250


SENDERS = {ChannelKind.WEBHOOK: send_webhook, ChannelKind.SLACK: send_slack, ChannelKind.PAGERDUTY: send_pagerduty,
           ChannelKind.EMAIL: send_email}


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failures: base × 2^(n-1), at most an hour."""
    return min(settings.ALERT_DELIVERY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), 3600.0)


@dataclass
class AttemptResult:
    status: str
    retry_in: float | None = None


def delivery_attempt(delivery_id: int) -> AttemptResult:
    """One attempt, under the delivery's row lock so a duplicated task never sends twice at once."""
    with transaction.atomic():
        delivery = (Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("channel", "event", "event__account", "event__rule", "account")
                    .filter(pk=delivery_id).first())
        if delivery is None:
            return AttemptResult("busy")
        if delivery.status != DeliveryStatus.PENDING:
            return AttemptResult(delivery.status)
        now = timezone.now()
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + EARLY:
            # A duplicate message (redelivered, or queued again by recovery) before the backoff
            # ran out: the message scheduled for that time, or recovery, sends it then.
            return AttemptResult("early")
        if delivery.channel is None:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            delivery.last_error = "The channel was deleted before this could be sent."
            delivery.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
            return AttemptResult(DeliveryStatus.FAILED)
        if delivery.channel.kind == ChannelKind.IN_APP:
            deliver_in_app(delivery)
            return AttemptResult(DeliveryStatus.DELIVERED)
        delivery.attempts += 1
        try:
            if not delivery.channel.enabled:
                raise SendError("the channel is disabled")
            delivery.response_status = SENDERS[delivery.channel.kind](delivery)
        except SendError as exc:
            delivery.last_error = str(exc)
            delivery.response_status = exc.status
            if delivery.attempts >= settings.ALERT_DELIVERY_MAX_ATTEMPTS or not delivery.channel.enabled:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                result = AttemptResult(DeliveryStatus.FAILED)
            else:
                wait = backoff(delivery.attempts)
                delivery.next_attempt_at = now + timedelta(seconds=wait)
                result = AttemptResult(DeliveryStatus.PENDING, retry_in=wait)
        else:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            delivery.last_error = ""
            result = AttemptResult(DeliveryStatus.DELIVERED)
        delivery.save(update_fields=["attempts", "status", "last_error", "response_status", "next_attempt_at",
                                     "delivered_at", "updated_at"])
        return result


EARLY = timedelta(seconds=2)  # clocks of two hosts may differ this much


def deliveries_requeue_stale(now=None, grace=None) -> int:
    """Pending deliveries whose attempt is overdue by JOBS_STALE_SECONDS (the worker holding the
    message died, or the broker was down when it was queued): queue them again. The attempt is
    moved to now, so the next pass leaves them alone unless they go silent again."""
    now = now or timezone.now()
    grace = grace if grace is not None else timedelta(seconds=getattr(settings, "JOBS_STALE_SECONDS", 60.0))
    overdue = (Q(next_attempt_at__lt=now - grace)
               | Q(next_attempt_at__isnull=True, attempts=0, created_at__lt=now - grace))
    due = list(Delivery.objects.filter(overdue, status=DeliveryStatus.PENDING).values_list("pk", flat=True)[:500])
    Delivery.objects.filter(overdue, pk__in=due, status=DeliveryStatus.PENDING).update(next_attempt_at=now)
    for pk in due:
        try:
            jobs.enqueue(jobs.DELIVERY_SEND, pk)
        except jobs.QueueUnavailable:  # overdue again after the grace: sent on a later pass
            break
    return len(due)


@transaction.atomic
def delivery_retry(account, actor, delivery: Delivery) -> Delivery:
    """Send a failed delivery again, with a fresh set of attempts."""
    from accounts.errors import ApplicationError
    from accounts.services import audit_record
    from alerts.services.notify import enqueue

    delivery = Delivery.objects.for_account(account).select_for_update().get(pk=delivery.pk)
    if delivery.status != DeliveryStatus.FAILED:
        raise ApplicationError("Only failed deliveries can be retried.", {"status": [f"is {delivery.status}"]},
                               status=409)
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    if delivery.channel_id is None:
        raise ApplicationError("The channel of this delivery was deleted.", {"channel": ["deleted"]}, status=409)
    audit_record(account, actor, "alert_delivery.retried", delivery, channel=delivery.channel.name)
    enqueue(delivery)
    return delivery
