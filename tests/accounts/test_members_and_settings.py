"""T1/T2/T6/T7: membership rules, X-Account, account settings and the audit log."""
from accounts.models import AuditEvent, Membership, Role


def test_invite_change_role_and_remove_are_audited(account, member_of, session_client):
    owner = account.memberships.get(role=Role.OWNER).user
    client = session_client(owner, account)
    response = client.post("/api/v1/members", {"email": "New@Example.com", "role": "viewer"}, format="json")
    assert response.status_code == 201
    assert response.json()["email"] == "new@example.com"
    mid = response.json()["id"]
    assert client.patch(f"/api/v1/members/{mid}", {"role": "admin"}, format="json").json()["role"] == "admin"
    assert client.delete(f"/api/v1/members/{mid}").status_code == 204
    actions = list(AuditEvent.objects.for_account(account).order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["membership.invited", "membership.role_changed", "membership.removed"]
    changed = AuditEvent.objects.for_account(account).get(action="membership.role_changed")
    assert changed.actor_user == owner and changed.details["from"] == "viewer" and changed.details["to"] == "admin"


def test_duplicate_invite_and_bad_role_are_400(account, member_of, session_client):
    client = session_client(account.memberships.get(role=Role.OWNER).user, account)
    member_of(account, Role.MEMBER, email="dup@acme.test")
    response = client.post("/api/v1/members", {"email": "dup@acme.test"}, format="json")
    assert response.status_code == 400 and "email" in response.json()["errors"]
    response = client.post("/api/v1/members", {"email": "x@acme.test", "role": "god"}, format="json")
    assert response.status_code == 400 and "role" in response.json()["errors"]
    response = client.post("/api/v1/members", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400 and "email" in response.json()["errors"]


def test_only_owners_grant_owner_and_the_last_owner_stays(account, member_of, session_client):
    admin = member_of(account, Role.ADMIN)
    target = Membership.objects.get(account=account, user=member_of(account, Role.MEMBER))
    admin_client = session_client(admin, account)
    assert admin_client.patch(f"/api/v1/members/{target.pk}", {"role": "owner"}, format="json").status_code == 403
    owner_membership = account.memberships.get(role=Role.OWNER)
    assert admin_client.delete(f"/api/v1/members/{owner_membership.pk}").status_code == 403
    owner_client = session_client(owner_membership.user, account)
    response = owner_client.patch(f"/api/v1/members/{owner_membership.pk}", {"role": "admin"}, format="json")
    assert response.status_code == 400 and "owner" in response.json()["message"]
    # Transfer: make another owner first, then step down.
    assert owner_client.patch(f"/api/v1/members/{target.pk}", {"role": "owner"}, format="json").status_code == 200
    assert owner_client.patch(f"/api/v1/members/{owner_membership.pk}", {"role": "admin"}, format="json").status_code == 200


def test_x_account_selects_among_several_accounts(account, other_account, member_of, session_client):
    user = member_of(account, Role.VIEWER, email="both@x.test")
    member_of(other_account, Role.VIEWER, email="both@x.test")
    assert session_client(user, account).get("/api/v1/account").json()["slug"] == "acme"
    assert session_client(user, other_account).get("/api/v1/account").json()["slug"] == "globex"
    response = session_client(user).get("/api/v1/account")
    assert response.status_code == 400 and "X-Account" in response.json()["errors"]


def test_unknown_and_foreign_accounts_look_the_same(account, other_account, member_of, session_client):
    user = member_of(account, Role.OWNER)
    client = session_client(user)
    foreign = client.get("/api/v1/account", HTTP_X_ACCOUNT=other_account.slug)
    missing = client.get("/api/v1/account", HTTP_X_ACCOUNT="no-such-account")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_settings_change_is_validated_and_audited(account, member_of, session_client):
    client = session_client(member_of(account, Role.ADMIN), account)
    for body, field in [({"timezone": "Mars/Olympus"}, "timezone"), ({"retention_days": 0}, "retention_days"),
                        ({"retention_days": "many"}, "retention_days"), ({"store_text": "perhaps"}, "store_text"),
                        ({"retention_days": 10**30}, "retention_days"), ({"name": "x\x00y"}, "name")]:
        response = client.patch("/api/v1/account", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], (body, response.json())
    response = client.patch("/api/v1/account", {"timezone": "Asia/Kolkata", "store_text": False}, format="json")
    assert response.status_code == 200 and response.json()["timezone"] == "Asia/Kolkata"
    event = AuditEvent.objects.for_account(account).get(action="account.settings_changed")
    assert event.details["changes"]["timezone"] == {"from": "UTC", "to": "Asia/Kolkata"}
    assert client.patch("/api/v1/account", {"slug": "stolen"}, format="json").json()["slug"] == "acme"


def test_viewers_read_but_cannot_change(account, member_of, session_client):
    client = session_client(member_of(account, Role.VIEWER), account)
    assert client.get("/api/v1/members").status_code == 200
    assert client.get("/api/v1/audit-log").status_code == 200
    assert client.patch("/api/v1/account", {"name": "x"}, format="json").status_code == 403


def test_audit_log_is_filterable_and_newest_first(account, member_of, session_client):
    client = session_client(account.memberships.get(role=Role.OWNER).user, account)
    client.post("/api/v1/api-keys", {"scopes": ["read"]}, format="json")
    client.post("/api/v1/api-keys", {"scopes": ["ingest"]}, format="json")
    rows = client.get("/api/v1/audit-log?action=api_key.created").json()["results"]
    assert [r["action"] for r in rows] == ["api_key.created", "api_key.created"]
    assert rows[0]["details"]["scopes"] == ["ingest"]
    assert rows[0]["actor"] == account.memberships.get(role=Role.OWNER).user.email
