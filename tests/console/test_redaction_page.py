"""Settings › Redaction (I7, issue 19 item 5): owners and admins create, test on sample text,
list and delete the account's rules; others read; bad input is a 400 naming the field."""
import pytest

from accounts.models import AuditEvent, Role
from traces.models import RedactionRule
from traces.services.ingest import trace_ingest_batch

pytestmark = pytest.mark.django_db

SAMPLE = "Mail ana@acme.test or call +1 415 555 0100, card 4111 1111 1111 1111, account ACCT-123456."


def page(account):
    return f"/a/{account.slug}/settings/redaction/"


@pytest.fixture
def admin_client(account, member_of, client):
    client.force_login(member_of(account, Role.ADMIN))
    return client


def test_create_list_and_apply_a_regex_rule(account, admin_client):
    response = admin_client.post(page(account), {"kind": "regex", "pattern": r"ACCT-\d{6}",
                                                  "replacement": "[ACCOUNT]", "intent": "create"})
    assert response.status_code == 302
    rule = RedactionRule.objects.for_account(account).get()
    assert (rule.kind, rule.pattern, rule.replacement, rule.enabled) == ("regex", r"ACCT-\d{6}", "[ACCOUNT]", True)
    assert AuditEvent.objects.filter(account=account, action="redaction_rule.created").count() == 1
    listing = admin_client.get(page(account)).content.decode()
    assert f'data-rule="{rule.pk}"' in listing and r"ACCT-\d{6}" in listing
    # Ingestion applies it.
    result = trace_ingest_batch(account, [{"request_id": "r1", "executed_at": "2026-11-01T10:00:00Z",
                                           "model": "gpt-4o", "status": "success", "response_time_ms": 10,
                                           "input": SAMPLE}])
    assert not result.errors
    from traces.models import Trace
    assert "[ACCOUNT]" in Trace.objects.for_account(account).get().input


def test_builtin_kinds_ignore_a_pattern(account, admin_client):
    admin_client.post(page(account), {"kind": "email", "pattern": "ignored", "intent": "create"})
    assert RedactionRule.objects.for_account(account).get().pattern == ""


def test_test_on_sample_shows_the_result_and_saves_nothing(account, admin_client):
    RedactionRule.objects.create(account=account, kind="email")
    response = admin_client.post(page(account), {"kind": "card", "sample": SAMPLE, "intent": "test"})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview["matches"] == 1
    assert preview["result"] == SAMPLE.replace("4111 1111 1111 1111", "[REDACTED:card]")
    assert "[REDACTED:email]" in preview["stored"] and "[REDACTED:card]" in preview["stored"]
    assert "ana@acme.test" not in preview["stored"] and preview["existing_rules"] == 1
    assert 'data-testid="redaction-preview"' in response.content.decode()
    assert RedactionRule.objects.for_account(account).count() == 1


@pytest.mark.parametrize("data, field", [
    ({"kind": "regex", "pattern": "(unclosed", "intent": "create"}, "pattern"),
    ({"kind": "regex", "pattern": "", "intent": "create"}, "pattern"),
    ({"kind": "regex", "pattern": "(unclosed", "sample": "x", "intent": "test"}, "pattern"),
    ({"kind": "nonsense", "intent": "create"}, "kind"),
    ({"kind": "regex", "pattern": "a" * 501, "intent": "create"}, "pattern"),
    ({"kind": "email", "replacement": "r" * 101, "intent": "create"}, "replacement"),
    ({"kind": "email", "sample": "s" * 5001, "intent": "test"}, "sample"),
])
def test_bad_input_is_a_400_naming_the_field(account, admin_client, data, field):
    response = admin_client.post(page(account), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert 'class="field fixed has-error"' in response.content.decode() or "has-error" in response.content.decode()
    assert not RedactionRule.objects.exists()


def test_delete_a_rule(account, admin_client):
    rule = RedactionRule.objects.create(account=account, kind="phone")
    response = admin_client.post(f"{page(account)}{rule.pk}/delete/")
    assert response.status_code == 302
    assert not RedactionRule.objects.filter(pk=rule.pk).exists()
    assert AuditEvent.objects.filter(account=account, action="redaction_rule.deleted").count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_other_roles_read_only(account, member_of, client, role):
    rule = RedactionRule.objects.create(account=account, kind="phone")
    client.force_login(member_of(account, role))
    body = client.get(page(account)).content.decode()
    assert f'data-rule="{rule.pk}"' in body and "redaction-form" not in body
    assert client.post(page(account), {"kind": "email", "intent": "create"}).status_code == 403
    assert client.post(f"{page(account)}{rule.pk}/delete/").status_code == 403
    assert RedactionRule.objects.for_account(account).count() == 1


def test_another_accounts_rule_is_not_found(account, other_account, client):
    rule = RedactionRule.objects.create(account=account, kind="phone")
    client.force_login(other_account.memberships.get(role=Role.OWNER).user)
    assert client.post(f"/a/{other_account.slug}/settings/redaction/{rule.pk}/delete/").status_code == 404
    assert client.get(page(account)).status_code == 404
    assert RedactionRule.objects.filter(pk=rule.pk).exists()
