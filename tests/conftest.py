import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Role
from config import test_isolation
from accounts.services import Actor, account_create, api_key_create, membership_invite, user_get_or_create


def pytest_sessionstart(session):
    """Databases of earlier runs that were killed are dropped (each run has its own)."""
    db = settings.DATABASES["default"]
    test_isolation.drop_stale_databases({key: value for key, value in {
        "host": db.get("HOST") or None, "port": db.get("PORT") or None, "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None}.items() if value})


@pytest.fixture(scope="session", autouse=True)
def clean_redis():
    """The run's Redis database starts empty (rate-limit windows, cache), keeping the run's claim on it."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    client.set(test_isolation.CLAIM_KEY, test_isolation.database_suffix())


@pytest.fixture
def make_account(db):
    def make(slug="acme", tz="UTC", owner=None):
        account, owner_user, _ = account_create(
            slug=slug, name=slug.title(), owner_email=owner or f"owner@{slug}.test", password="pw-owner-123",
            timezone_name=tz,
        )
        return account
    return make


@pytest.fixture
def account(make_account):
    return make_account("acme")


@pytest.fixture
def other_account(make_account):
    return make_account("globex")


@pytest.fixture
def member_of(db):
    """member_of(account, role) -> a user with that role in that account."""
    def make(account, role=Role.MEMBER, email=None):
        email = email or f"{role}@{account.slug}.test"
        if role == Role.OWNER:
            return account.memberships.get(role=Role.OWNER).user
        membership, _ = membership_invite(account, Actor.system(), email=email, role=role)
        user = membership.user
        if not user.has_usable_password():
            user = user_get_or_create(email, password="pw-user-123")
        return user
    return make


@pytest.fixture
def session_client():
    """session_client(user, account) -> an APIClient logged in with X-Account set."""
    def make(user, account=None):
        client = APIClient(enforce_csrf_checks=False)
        client.force_login(user)
        if account is not None:
            client.credentials(HTTP_X_ACCOUNT=account.slug)
        return client
    return make


@pytest.fixture
def key_client():
    """key_client(account, scopes) -> an APIClient authenticated with a new API key."""
    def make(account, scopes=("read",)):
        _, plaintext = api_key_create(account, Actor.system(), scopes=list(scopes))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        client.plaintext_key = plaintext
        return client
    return make
