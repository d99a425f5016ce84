"""The local SMTP outbox: a real aiosmtpd server storing what the product sends, per account,
read back on the console's Outbox page and at GET /api/v1/outbox."""
import base64
import smtplib
import time
from email.message import EmailMessage

import pytest
from django.core import mail as django_mail
from django.urls import reverse

from accounts.models import Role
from accounts.services import Actor
from alerts.models import ReportRun
from alerts.services import reports
from outbox.api import OutboxPagination
from outbox.models import OutboxMessage
from outbox.services import outbox_store
from outbox.smtp import outbox_controller
from tests.alerts.conftest import free_port
from tests.factories import FACTORIES


@pytest.fixture
def outbox(settings, transactional_db):
    """The product's outbox on a free port; the product's mail goes to it, as under `start`."""
    controller = outbox_controller("127.0.0.1", free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.OUTBOX_ENABLED = True
    try:
        yield controller
    finally:
        controller.stop()


def wait_for_messages(count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if OutboxMessage.objects.count() >= count:
            return list(OutboxMessage.objects.order_by("pk"))
        time.sleep(0.05)
    return list(OutboxMessage.objects.order_by("pk"))


def test_a_report_sent_now_arrives_in_the_account_outbox_with_its_charts(outbox, make_account, client):
    account = make_account("acme", tz="Asia/Kolkata")
    schedule = reports.schedule_create(account, Actor.system(), name="Weekly", frequency="weekly",
                                       recipients=["boss@acme.test", "ops@acme.test"])
    run = reports.report_send_now(account, Actor.system(), schedule)
    assert run.status == ReportRun.Status.SENT, run.error
    [message] = wait_for_messages(1)
    assert message.account_id == account.pk
    assert message.subject == run.subject and sorted(message.recipients) == ["boss@acme.test", "ops@acme.test"]

    owner = account.memberships.get(role=Role.OWNER).user
    client.force_login(owner)
    page = client.get(reverse("outbox", args=[account.slug]))
    assert page.status_code == 200 and run.subject in page.content.decode()
    detail = client.get(reverse("outbox-message", args=[account.slug, message.pk])).content.decode()
    assert 'sandbox src="' in detail and "boss@acme.test" in detail
    html = client.get(reverse("outbox-message-html", args=[account.slug, message.pk]))
    assert html["Content-Security-Policy"].startswith("sandbox")
    assert html["X-Frame-Options"] == "SAMEORIGIN"
    body = html.content.decode()
    # The three charts are inline PNGs; no cid: reference is left for the browser to miss.
    assert body.count("data:image/png;base64,") == 3 and "cid:" not in body
    png = base64.b64decode(body.split("data:image/png;base64,")[1].split('"')[0])
    assert png.startswith(b"\x89PNG")
    part = client.get(reverse("outbox-message-part", args=[account.slug, message.pk, "requests-chart"]))
    assert part.status_code == 200 and part["Content-Type"] == "image/png" and part.content == png


def test_an_invitation_arrives_and_mail_of_no_account_stays_out_of_every_account(outbox, make_account, client):
    account = make_account("acme")
    client.force_login(account.memberships.get(role=Role.OWNER).user)
    response = client.post(reverse("account-members", args=[account.slug]), {"email": "new@acme.test",
                                                                                "role": "member"})
    assert response.status_code == 302
    with smtplib.SMTP("127.0.0.1", outbox.port) as smtp:  # a message nobody marked with an account
        plain = EmailMessage()
        plain["Subject"], plain["From"], plain["To"] = "Hello", "x@example.test", "y@example.test"
        plain.set_content("no account")
        smtp.send_message(plain)
    invitation, stray = wait_for_messages(2)
    assert invitation.account_id == account.pk and invitation.recipients == ["new@acme.test"]
    assert "/reset/" in client.get(reverse("outbox-message", args=[account.slug, invitation.pk])).content.decode()
    assert stray.account_id is None
    assert client.get(reverse("outbox-message", args=[account.slug, stray.pk])).status_code == 404


def test_outbox_api_lists_the_account_mail_newest_first_with_a_capped_page(account, other_account, key_client,
                                                                          session_client, member_of):
    for i in range(3):
        FACTORIES[OutboxMessage](account, f"MARK{i}")
    FACTORIES[OutboxMessage](other_account, "OTHER")
    client = key_client(account, scopes=["read"])
    data = client.get("/api/v1/outbox").json()
    assert data["count"] == 3 and [r["subject"] for r in data["results"]] == [f"MARK{i} report" for i in (2, 1, 0)]
    assert set(data["results"][0]) == {"id", "received_at", "sender", "recipients", "subject", "size"}
    assert client.get("/api/v1/outbox?limit=1").json()["next"]
    # A page is capped: a limit above the cap is a 400 naming the field, the cap itself is served.
    OutboxPagination.max_limit, cap = 2, OutboxPagination.max_limit
    try:
        refused = client.get("/api/v1/outbox?limit=100000")
        assert refused.status_code == 400 and "limit" in refused.json()["errors"]
        assert len(client.get("/api/v1/outbox?limit=2").json()["results"]) == 2
    finally:
        OutboxPagination.max_limit = cap
    detail = client.get(f"/api/v1/outbox/{data['results'][0]['id']}").json()
    assert detail["text"].strip() == "MARK2 text"
    assert "data:image/png;base64," in detail["html"] and "cid:" not in detail["html"]
    assert detail["parts"] == [{"content_id": "requests-chart", "content_type": "image/png", "size": 13}]
    assert key_client(account, scopes=["ingest"]).get("/api/v1/outbox").status_code == 403
    assert session_client(member_of(account, Role.MEMBER), account).get("/api/v1/outbox").status_code == 403
    assert session_client(member_of(account, Role.ADMIN), account).get("/api/v1/outbox").json()["count"] == 3


def test_console_outbox_is_for_owners_and_admins(account, client, member_of):
    message = FACTORIES[OutboxMessage](account, "MARK")
    client.force_login(member_of(account, Role.MEMBER))
    assert client.get(reverse("outbox", args=[account.slug])).status_code == 403
    assert client.get(reverse("outbox-message-html", args=[account.slug, message.pk])).status_code == 403
    client.force_login(member_of(account, Role.ADMIN))
    page = client.get(reverse("outbox", args=[account.slug])).content.decode()
    assert "MARK report" in page and 'data-testid="outbox-off"' in page  # the outbox is off in this process


def test_envelope_recipients_win_and_bcc_is_kept(account):
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"], msg["X-ModelPulse-Account"] = "S", "a@x.test", "b@x.test", account.slug
    msg.set_content("body")
    stored = outbox_store(msg.as_bytes(), sender="a@x.test", recipients=["b@x.test", "hidden@x.test"])
    assert stored.recipients == ["b@x.test", "hidden@x.test"] and stored.account_id == account.pk
    stored = outbox_store(msg.as_bytes())
    assert stored.recipients == ["b@x.test"] and stored.sender == "a@x.test"
