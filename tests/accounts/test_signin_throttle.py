"""Sign-in throttling (django-axes, through the product's login page) and the per-key rate
limit of API reads (Redis minute window, as ingestion's): a lockout after the failure limit
per e-mail and per client address with a clear page, audited; reads answer 429 with
Retry-After and a JSON body."""
import pytest
from django.test import Client

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db

LOGIN = "/login/"


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    return settings


def sign_in(client, email, password, address="203.0.113.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_lock_the_user_out_with_a_clear_page_and_audit(account, limits):
    client = Client()
    for _ in range(4):
        response = sign_in(client, "owner@acme.test", "wrong-password")
        assert response.status_code == 200 and "don't match" in response.content.decode()
    # The fifth failure reaches the limit: from now on even the right password is refused.
    assert sign_in(client, "owner@acme.test", "wrong-password").status_code == 429
    response = sign_in(client, "owner@acme.test", "pw-owner-123")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-ins" in html and "Try again in" in html
    assert "_auth_user_id" not in client.session
    actions = list(AuditEvent.objects.for_account(account).values_list("action", flat=True))
    assert actions.count("auth.sign_in_failed") >= 5 and "auth.locked_out" in actions
    failed = AuditEvent.objects.for_account(account).filter(action="auth.sign_in_failed").first()
    assert failed.details["client_address"] == "203.0.113.7"
    # From another address the same e-mail is locked too (per user).
    assert sign_in(Client(), "owner@acme.test", "pw-owner-123", address="198.51.100.4").status_code == 429


def test_one_address_guessing_many_users_is_locked_out(make_account, limits):
    make_account("globex")
    client = Client()
    for n in range(5):
        sign_in(client, f"nobody{n}@example.test", "guess", address="192.0.2.50")
    assert sign_in(client, "owner@globex.test", "pw-owner-123", address="192.0.2.50").status_code == 429
    # Another address signs in as usual.
    response = sign_in(Client(), "owner@globex.test", "pw-owner-123", address="192.0.2.51")
    assert response.status_code == 302


def test_success_before_the_limit_signs_in_and_resets_the_count(account, limits):
    client = Client()
    for _ in range(4):
        sign_in(client, "owner@acme.test", "wrong-password")
    assert sign_in(client, "owner@acme.test", "pw-owner-123").status_code == 302
    other = Client()
    for _ in range(4):
        assert sign_in(other, "owner@acme.test", "wrong-password").status_code == 200
    assert sign_in(other, "owner@acme.test", "pw-owner-123").status_code == 302


def test_api_reads_are_rate_limited_per_key_with_retry_after(account, key_client, settings):
    settings.API_READ_RATE_LIMIT_PER_MINUTE = 5
    first, second = key_client(account), key_client(account)
    for _ in range(5):
        assert first.get("/api/v1/models").status_code == 200
    response = first.get("/api/v1/models")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "message" in response.json() and response.json()["errors"] == {}
    assert first.get("/api/v1/traces").status_code == 429  # every read route shares the key's budget
    assert second.get("/api/v1/models").status_code == 200  # another key has its own
    settings.API_READ_RATE_LIMIT_PER_MINUTE = 0
    assert first.get("/api/v1/models").status_code == 200  # 0 turns the limit off
