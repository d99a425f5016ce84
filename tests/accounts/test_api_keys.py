"""T3: keys have scopes, are shown once, stored hashed, revocable at once, and record last use."""
import hashlib

from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, Role


def test_create_shows_key_once_and_stores_only_its_hash(account, member_of, session_client):
    admin = member_of(account, Role.ADMIN)
    client = session_client(admin, account)
    response = client.post("/api/v1/api-keys", {"name": "ci", "scopes": ["ingest"]}, format="json")
    assert response.status_code == 201
    plaintext = response.json()["key"]
    key = ApiKey.objects.get(pk=response.json()["id"])
    assert plaintext.startswith(key.prefix + "_")
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(ApiKey.objects.filter(pk=key.pk).values().get())
    listed = client.get("/api/v1/api-keys").json()["results"]
    assert all("key" not in row for row in listed)
    assert client.get(f"/api/v1/api-keys/{key.pk}").json()["prefix"] == key.prefix
    assert "key" not in client.get(f"/api/v1/api-keys/{key.pk}").json()


def test_scopes_are_enforced(account, key_client):
    ingest_only = key_client(account, ["ingest"])
    assert ingest_only.get("/api/v1/account").status_code == 403
    assert "read" in ingest_only.get("/api/v1/account").json()["message"]
    reader = key_client(account, ["read"])
    assert reader.get("/api/v1/account").json()["slug"] == account.slug


def test_missing_unknown_and_malformed_keys_are_401(account, client):
    assert client.get("/api/v1/account").status_code == 401
    for header in ["Bearer mp_00000000_nope", "Bearer", "Bearer a b", "Bearer mp_x", "Bearer ÿÿ"]:
        response = client.get("/api/v1/account", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == "Bearer"


def test_revocation_is_effective_on_the_next_request(account, member_of, session_client, key_client):
    api = key_client(account, ["read"])
    assert api.get("/api/v1/account").status_code == 200
    key = ApiKey.objects.for_account(account).get(prefix=api.plaintext_key[:11])
    admin = session_client(member_of(account, Role.ADMIN), account)
    response = admin.post(f"/api/v1/api-keys/{key.pk}/revoke")
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert api.get("/api/v1/account").status_code == 401
    assert AuditEvent.objects.for_account(account).filter(action="api_key.revoked", target_id=str(key.pk)).exists()


def test_last_used_time_is_recorded(account, key_client):
    api = key_client(account, ["read"])
    key = ApiKey.objects.for_account(account).get(prefix=api.plaintext_key[:11])
    assert key.last_used_at is None
    before = timezone.now()
    api.get("/api/v1/account")
    key.refresh_from_db()
    assert key.last_used_at >= before


def test_bad_scopes_are_a_400_with_the_field(account, member_of, session_client):
    client = session_client(member_of(account, Role.ADMIN), account)
    for scopes in [[], ["admin"], "read", [None], ["read\x00"]]:
        response = client.post("/api/v1/api-keys", {"scopes": scopes}, format="json")
        assert response.status_code == 400, scopes
        assert "scopes" in response.json()["errors"]


def test_keys_cannot_manage_the_account(account, key_client):
    api = key_client(account, ["ingest", "read"])
    assert api.post("/api/v1/api-keys", {"scopes": ["read"]}, format="json").status_code == 403
    assert api.patch("/api/v1/account", {"name": "x"}, format="json").status_code == 403
