"""The console's settings and registry pages for each role."""
import re

import pytest
from django.test import Client

from accounts.models import ApiKey, AuditEvent, Membership, Role
from models_registry.models import Model

PAGES = ["settings/", "settings/members/", "settings/api-keys/", "settings/audit/", "registry/",
         "registry/deployments/", "registry/versions/", "registry/connections/", "registry/prices/",
         "registry/hardware-rates/"]


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER])
def test_every_page_renders_for_every_role(account, member_of, role):
    client = login(member_of(account, role))
    for page in PAGES:
        response = client.get(f"/a/{account.slug}/{page}")
        assert response.status_code == 200, page
        html = response.content.decode()
        assert account.name in html and "Sign out" in html
        writable = Role.at_least(role, Role.ADMIN)
        has_submit = bool(re.search(r'<button class="btn primary" type="submit"', html))
        if page != "settings/audit/":  # the audit log is read-only for everyone
            assert has_submit == writable, (role, page)


def test_viewers_and_members_cannot_post(account, member_of):
    for role in (Role.VIEWER, Role.MEMBER):
        client = login(member_of(account, role))
        for page in PAGES:
            assert client.post(f"/a/{account.slug}/{page}", {"name": "x"}).status_code == 403, (role, page)


def test_home_redirects_to_the_account(account):
    client = login(account.memberships.get(role=Role.OWNER).user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == f"/a/{account.slug}/settings/"


def test_switcher_keeps_the_page(account, other_account, member_of):
    user = member_of(account, Role.ADMIN, email="two@x.test")
    member_of(other_account, Role.VIEWER, email="two@x.test")
    client = login(user)
    response = client.get(f"/switch/{other_account.slug}/?next=/a/{account.slug}/settings/api-keys/")
    assert response["Location"] == f"/a/{other_account.slug}/settings/api-keys/"
    assert client.get("/switch/nope/").status_code == 404
    assert client.get(f"/switch/{other_account.slug}/?next=https://evil.test/a/x/").status_code == 302


def test_key_is_shown_once(account):
    client = login(account.memberships.get(role=Role.OWNER).user)
    response = client.post(f"/a/{account.slug}/settings/api-keys/", {"name": "prod", "scopes": ["ingest", "read"]},
                           follow=True)
    key = ApiKey.objects.for_account(account).get(name="prod")
    match = re.search(r'id="new-key-value">([^<]+)<', response.content.decode())
    assert match and match.group(1).startswith(key.prefix)
    again = client.get(f"/a/{account.slug}/settings/api-keys/").content.decode()
    assert match.group(1) not in again and key.prefix in again


def test_invite_role_change_remove_and_settings_from_the_console(account, mailoutbox=None):
    owner = account.memberships.get(role=Role.OWNER).user
    client = login(owner)
    response = client.post(f"/a/{account.slug}/settings/members/", {"email": "new@acme.test", "role": "viewer"},
                           follow=True)
    html = response.content.decode()
    assert "new@acme.test" in html and "/reset/" in html  # the set-password link is shown
    membership = Membership.objects.for_account(account).get(user__email="new@acme.test")
    client.post(f"/a/{account.slug}/settings/members/{membership.pk}/role/", {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    own = account.memberships.get(user=owner)
    response = client.post(f"/a/{account.slug}/settings/members/{own.pk}/remove/", follow=True)
    assert "at least one owner" in response.content.decode()
    client.post(f"/a/{account.slug}/settings/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()
    response = client.post(f"/a/{account.slug}/settings/", {"name": "Acme Corp", "timezone": "Asia/Kolkata",
                                                            "retention_days": 30, "store_text": ""}, follow=True)
    account.refresh_from_db()
    assert (account.name, account.timezone, account.retention_days, account.store_text) == \
        ("Acme Corp", "Asia/Kolkata", 30, False)
    actions = set(AuditEvent.objects.for_account(account).values_list("action", flat=True))
    assert {"membership.invited", "membership.role_changed", "membership.removed", "account.settings_changed"} <= actions


def test_invited_user_sets_a_password_and_signs_in(account):
    client = login(account.memberships.get(role=Role.OWNER).user)
    html = client.post(f"/a/{account.slug}/settings/members/", {"email": "join@acme.test", "role": "member"},
                       follow=True).content.decode()
    link = re.search(r'id="invite-link">([^<]+)<', html).group(1)
    guest = Client()
    response = guest.get(link.replace("http://testserver", ""), follow=True)
    form_url = response.redirect_chain[-1][0]
    response = guest.post(form_url, {"new_password1": "a-Strong-pass-9", "new_password2": "a-Strong-pass-9"})
    assert response.status_code == 302
    assert Client().login(username="join@acme.test", password="a-Strong-pass-9")


def test_registry_pages_create_edit_delete_in_account_time(account):
    account.timezone = "Asia/Kolkata"
    account.save()
    client = login(account.memberships.get(role=Role.OWNER).user)
    client.post(f"/a/{account.slug}/registry/models/", {"name": "llama-ft", "model_type": "fine_tuned"})
    model = Model.objects.for_account(account).get(name="llama-ft")
    response = client.post(f"/a/{account.slug}/registry/deployments/", {
        "model": model.pk, "name": "prod", "hardware": "A100", "max_replicas": 2, "deployed_at": "2026-11-20T10:30"})
    assert response.status_code == 302
    dep = model.deployments.get()
    assert dep.deployed_at.isoformat() == "2026-11-20T05:00:00+00:00"  # 10:30 in Kolkata
    # A duplicate shows the constraint error on the form instead of failing.
    response = client.post(f"/a/{account.slug}/registry/models/", {"name": "llama-ft", "model_type": "external"})
    assert response.status_code == 200 and "already exists" in response.content.decode()
    client.post(f"/a/{account.slug}/registry/models/{model.pk}/", {"name": "llama-ft", "model_type": "fine_tuned",
                                                                   "provider": "meta"})
    model.refresh_from_db()
    assert model.provider == "meta"
    client.post(f"/a/{account.slug}/registry/deployments/{dep.pk}/delete/")
    assert not model.deployments.exists()
