"""Account settings, members, API keys and the audit log, driven through the console."""
import re

import pytest
from django.contrib.auth import get_user_model

from accounts.models import ApiKey, AuditEvent, Membership, Role
from accounts.services import Actor, api_key_authenticate, audit_record
from tests.console.conftest import home_of


def owner_of(account):
    return account.memberships.get(role=Role.OWNER).user


def actions(account):
    return list(AuditEvent.objects.for_account(account).values_list("action", flat=True))


# ---------- account settings ----------

def test_settings_change_is_saved_and_audited(account, login):
    client = login(owner_of(account))
    response = client.post(f"/a/{account.slug}/settings/", {"name": "Acme Corp", "timezone": "Asia/Kolkata",
                                                            "retention_days": 30}, follow=True)
    assert "Settings saved." in response.content.decode()
    account.refresh_from_db()
    assert (account.name, account.timezone, account.retention_days, account.store_text) == \
        ("Acme Corp", "Asia/Kolkata", 30, False)  # an unticked box is "off"
    event = AuditEvent.objects.for_account(account).get(action="account.settings_changed")
    assert event.actor_user == owner_of(account)
    assert event.details["changes"]["timezone"] == {"from": "UTC", "to": "Asia/Kolkata"}
    assert event.details["changes"]["store_text"] == {"from": True, "to": False}
    # The page shows the zone with its offset, in the region's group.
    html = client.get(f"/a/{account.slug}/settings/").content.decode()
    assert '<option value="Asia/Kolkata" selected>Asia/Kolkata (UTC+05:30)</option>' in html
    assert '<optgroup label="Asia">' in html


@pytest.mark.parametrize("field,value,message", [
    ("timezone", "Mars/Olympus", "Select a valid choice"),
    ("retention_days", "0", "greater than or equal to 1"),
    ("name", "", "This field is required"),
])
def test_bad_settings_are_shown_on_the_form(account, login, field, value, message):
    client = login(owner_of(account))
    data = {"name": "Acme", "timezone": "UTC", "retention_days": 90, "store_text": "on"} | {field: value}
    response = client.post(f"/a/{account.slug}/settings/", data)
    assert response.status_code == 200 and message in response.content.decode()
    assert "account.settings_changed" not in actions(account)


def test_viewer_sees_settings_read_only(account, member_of, login):
    html = login(member_of(account, Role.VIEWER)).get(f"/a/{account.slug}/settings/").content.decode()
    assert re.search(r'<select name="timezone"[^>]*disabled', html)
    assert re.search(r'<input type="text" name="name"[^>]*disabled', html)
    assert "Save settings" not in html


# ---------- members ----------

def test_invite_sends_a_set_password_link_once(account, login, mailoutbox):
    client = login(owner_of(account))
    html = client.post(f"/a/{account.slug}/settings/members/", {"email": "New@Acme.test", "role": "viewer"},
                       follow=True).content.decode()
    link = re.search(r'id="invite-link">([^<]+)<', html).group(1)
    assert "/reset/" in link and "Invited new@acme.test as viewer." in html
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new@acme.test"] and link in mailoutbox[0].body
    assert Membership.objects.for_account(account).get(user__email="new@acme.test").role == Role.VIEWER
    assert link not in client.get(f"/a/{account.slug}/settings/members/").content.decode()
    event = AuditEvent.objects.for_account(account).get(action="membership.invited")
    assert event.details == {"email": "new@acme.test", "role": "viewer"}


def test_inviting_someone_with_a_password_mails_without_a_link(account, other_account, login, mailoutbox):
    client = login(owner_of(account))
    html = client.post(f"/a/{account.slug}/settings/members/", {"email": "owner@globex.test", "role": "member"},
                       follow=True).content.decode()
    assert 'id="invite-link"' not in html
    assert mailoutbox[0].to == ["owner@globex.test"] and "/reset/" not in mailoutbox[0].body
    # Inviting again is refused with the service's message.
    html = client.post(f"/a/{account.slug}/settings/members/", {"email": "owner@globex.test", "role": "member"},
                       follow=True).content.decode()
    assert "already a member" in html


def test_invite_when_mail_fails_still_shows_the_link(account, login, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens on 1
    html = login(owner_of(account)).post(f"/a/{account.slug}/settings/members/",
                                         {"email": "late@acme.test", "role": "member"}, follow=True).content.decode()
    assert "could not be sent" in html and 'id="invite-link"' in html


def test_bad_invite_is_shown_on_the_form(account, login):
    response = login(owner_of(account)).post(f"/a/{account.slug}/settings/members/", {"email": "nope", "role": "x"})
    html = response.content.decode()
    assert response.status_code == 200 and "Enter a valid email address" in html


def test_the_invitation_link_sets_a_password_and_signs_in(account, login):
    from django.test import Client

    html = login(owner_of(account)).post(f"/a/{account.slug}/settings/members/",
                                         {"email": "join@acme.test", "role": "member"}, follow=True).content.decode()
    link = re.search(r'id="invite-link">([^<]+)<', html).group(1).replace("http://testserver", "")
    guest = Client()
    form_page = guest.get(link, follow=True)
    assert "Set your password" in form_page.content.decode()
    form_url = form_page.redirect_chain[-1][0]
    response = guest.post(form_url, {"new_password1": "a-Strong-pass-9", "new_password2": "a-Strong-pass-9"},
                          follow=True)
    assert response.redirect_chain[-1][0] == home_of(account)
    assert "Welcome to ModelPulse" in response.content.decode()
    # The link works once.
    assert "This link has expired" in Client().get(link, follow=True).content.decode()


def test_role_change_and_removal(account, member_of, login):
    client = login(owner_of(account))
    member_of(account, Role.VIEWER, email="v@acme.test")
    membership = Membership.objects.for_account(account).get(user__email="v@acme.test")
    html = client.post(f"/a/{account.slug}/settings/members/{membership.pk}/role/", {"role": "admin"},
                       follow=True).content.decode()
    assert "v@acme.test is now admin." in html
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    html = client.post(f"/a/{account.slug}/settings/members/{membership.pk}/role/", {"role": "boss"},
                       follow=True).content.decode()
    assert "Choose a valid role." in html
    html = client.post(f"/a/{account.slug}/settings/members/{membership.pk}/remove/", follow=True).content.decode()
    assert "Removed v@acme.test" in html
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert {"membership.role_changed", "membership.removed"} <= set(actions(account))


def test_last_owner_and_owner_only_rules_show_as_messages(account, member_of, login):
    owner = owner_of(account)
    own = account.memberships.get(user=owner)
    client = login(owner)
    html = client.post(f"/a/{account.slug}/settings/members/{own.pk}/remove/", follow=True).content.decode()
    assert "An account needs at least one owner." in html
    html = client.post(f"/a/{account.slug}/settings/members/{own.pk}/role/", {"role": "viewer"},
                       follow=True).content.decode()
    assert "An account needs at least one owner." in html
    admin = login(member_of(account, Role.ADMIN))
    page = admin.get(f"/a/{account.slug}/settings/members/").content.decode()
    assert "Owner-only" in page and '<option value="owner"' not in page  # not offered to admins
    html = admin.post(f"/a/{account.slug}/settings/members/{own.pk}/role/", {"role": "viewer"},
                      follow=True).content.decode()
    assert "Only an owner can grant or change the owner role." in html
    invite = admin.post(f"/a/{account.slug}/settings/members/", {"email": "o2@acme.test", "role": "owner"},
                        follow=True).content.decode()
    assert "Only an owner" in invite
    own.refresh_from_db()
    assert own.role == Role.OWNER


def test_leaving_an_account_goes_home(account, other_account, member_of, login):
    user = member_of(account, Role.ADMIN, email="two@x.test")
    member_of(other_account, Role.VIEWER, email="two@x.test")
    client = login(user)
    mine = Membership.objects.for_account(account).get(user=user)
    response = client.post(f"/a/{account.slug}/settings/members/{mine.pk}/remove/", follow=True)
    assert response.redirect_chain[-1][0] == home_of(other_account)
    assert client.get(f"/a/{account.slug}/settings/").status_code == 404


def test_members_cannot_act_on_another_accounts_member(account, other_account, login):
    theirs = other_account.memberships.get(role=Role.OWNER)
    client = login(owner_of(account))
    assert client.post(f"/a/{account.slug}/settings/members/{theirs.pk}/remove/").status_code == 404
    assert client.post(f"/a/{account.slug}/settings/members/{theirs.pk}/role/", {"role": "viewer"}).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk, role=Role.OWNER).exists()


# ---------- API keys ----------

def test_key_is_shown_once_and_works(account, login):
    client = login(owner_of(account))
    response = client.post(f"/a/{account.slug}/settings/api-keys/", {"name": "prod", "scopes": ["ingest", "read"]},
                           follow=True)
    key = ApiKey.objects.for_account(account).get(name="prod")
    plaintext = re.search(r'id="new-key-value">([^<]+)<', response.content.decode()).group(1)
    assert plaintext.startswith(key.prefix + "_") and key.scopes == ["ingest", "read"]
    assert api_key_authenticate(plaintext) == key
    again = client.get(f"/a/{account.slug}/settings/api-keys/").content.decode()
    assert plaintext not in again and 'id="new-key-value"' not in again and key.prefix in again
    event = AuditEvent.objects.for_account(account).get(action="api_key.created")
    assert event.details["prefix"] == key.prefix and plaintext not in str(event.details)


def test_key_needs_a_scope(account, login):
    response = login(owner_of(account)).post(f"/a/{account.slug}/settings/api-keys/", {"name": "none"})
    assert response.status_code == 200 and "Choose at least one scope." in response.content.decode()
    assert not ApiKey.objects.for_account(account).exists()


def test_revoke_stops_the_key_at_once(account, login):
    client = login(owner_of(account))
    client.post(f"/a/{account.slug}/settings/api-keys/", {"name": "ci", "scopes": ["ingest"]})
    plaintext = re.search(r'id="new-key-value">([^<]+)<',
                          client.get(f"/a/{account.slug}/settings/api-keys/").content.decode()).group(1)
    key = ApiKey.objects.for_account(account).get(name="ci")
    html = client.post(f"/a/{account.slug}/settings/api-keys/{key.pk}/revoke/", follow=True).content.decode()
    assert "Revoked ci" in html and "Revoked</span>" in html
    assert api_key_authenticate(plaintext) is None
    assert "api_key.revoked" in actions(account)


def test_empty_key_list_invites_creating_one(account, login):
    html = login(owner_of(account)).get(f"/a/{account.slug}/settings/api-keys/").content.decode()
    assert "No API keys yet" in html and "Create one to start sending traces" in html


# ---------- audit log ----------

def test_audit_log_pages_filters_and_reads_well(account, login):
    owner = owner_of(account)
    for i in range(55):
        audit_record(account, Actor(user=owner), "test.filler", None, n=i)
    client = login(owner)
    client.post(f"/a/{account.slug}/settings/", {"name": "Acme", "timezone": "Europe/Berlin", "retention_days": 7,
                                                 "store_text": "on"})
    first = client.get(f"/a/{account.slug}/settings/audit/").content.decode()
    assert "page 1 of 2" in first and "Older" in first
    # Newest first, details as words: field, from → to.
    assert first.index("account.settings_changed") < first.index("test.filler")
    assert "<b>timezone</b> UTC → Europe/Berlin" in first and "<b>retention_days</b> 90 → 7" in first
    assert owner.email in first
    second = client.get(f"/a/{account.slug}/settings/audit/?page=2").content.decode()
    assert "page 2 of 2" in second and "Newer" in second
    only = client.get(f"/a/{account.slug}/settings/audit/?action=account.settings_changed").content.decode()
    assert "test.filler" not in only.split("<tbody>")[1] and "1 event " in only


def test_audit_log_shows_only_this_account(account, other_account, login):
    audit_record(other_account, Actor.system(), "secret.thing", None, note="GLOBEXONLY")
    html = login(owner_of(account)).get(f"/a/{account.slug}/settings/audit/").content.decode()
    assert "GLOBEXONLY" not in html and "secret.thing" not in html


def test_user_model_is_untouched_by_failed_invites(account, login):
    count = get_user_model().objects.count()
    login(owner_of(account)).post(f"/a/{account.slug}/settings/members/", {"email": "", "role": "member"})
    assert get_user_model().objects.count() == count
