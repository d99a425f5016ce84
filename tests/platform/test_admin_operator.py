"""The Django admin as an operator's tool (issue 19, item 4).

Every registered model: changelist, search, each filter link, add and change pages answer
200 for a superuser; history is read-only; the audit log refuses deletion everywhere;
exports of the filtered list carry exactly its rows (CSV cells safe for spreadsheets);
staff who are not superusers see only their accounts' rows and get 404 on the others'.
"""
import csv
import io
import json
import re
from html import unescape

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import IntegrityError, connection, transaction
from django.db.utils import InternalError, ProgrammingError
from django.urls import reverse

from accounts.admin_base import HistoryAdmin, spreadsheet_safe
from accounts.models import Account, AccountOwned, AppendOnlyError, AuditEvent, Membership, Role
from accounts.services import Actor, audit_record, membership_invite, user_get_or_create
from models_registry.models import Model
from tests.factories import FACTORIES

MARKER_A = "ALPHAMARK7Q"
MARKER_B = "BRAVOMARK3Z"
REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
HISTORY = {"analytics.RollupState", "alerts.Delivery", "alerts.ReportRun", "accounts.AuditEvent",
           "alerts.AlertEvent", "accounts.AccountDeletion", "outbox.OutboxMessage"}
# traces.RequestId: the idempotency key of traces (decision 0005), one row per trace, browsed as
# the traces themselves; its primary key is composite, which Django's admin does not support.
INTERNALS = {"contenttypes.ContentType", "auth.Permission", "sessions.Session",
             "axes.AccessAttemptExpiration", "traces.RequestId"}


@pytest.fixture
def worlds(make_account):
    a, b = make_account("alpha"), make_account("bravo")
    world_a = {model: factory(a, MARKER_A) for model, factory in FACTORIES.items()}
    world_b = {model: factory(b, MARKER_B) for model, factory in FACTORIES.items()}
    return a, b, world_a, world_b


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root@ops.test", "root@ops.test", "pw-root-1234")


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_project_model_is_registered_with_filters_and_search(rf, superuser):
    missing = [m._meta.label for m in apps.get_models()
               if m not in admin.site._registry and m._meta.label not in INTERNALS]
    assert not missing, f"models missing from the admin: {missing}"
    request = rf.get("/admin/")
    request.user = superuser
    for model, model_admin in REGISTERED:
        assert model_admin.get_list_filter(request), f"{model._meta.label} has no list filter"
        assert model_admin.get_search_fields(request), f"{model._meta.label} has no search"
    for label in HISTORY:
        model_admin = admin.site._registry[apps.get_model(label)]
        assert not model_admin.has_add_permission(request), label
        assert not model_admin.has_change_permission(request), label
        assert not model_admin.has_delete_permission(request), label


@pytest.mark.parametrize("model", [m for m, _ in REGISTERED], ids=[m._meta.label for m, _ in REGISTERED])
def test_changelist_search_filters_add_and_change_pages(model, worlds, superuser, client):
    a, b, world_a, world_b = worlds
    client.force_login(superuser)
    changelist = url(model, "changelist")
    response = client.get(changelist)
    assert response.status_code == 200, response.content[:500]
    assert client.get(changelist, {"q": MARKER_A}).status_code == 200
    # Every filter link on the page opens (a bad filter would redirect with ?e=1).
    links = sorted(set(re.findall(r'<a href="(\?[^"]*)"', response.content.decode())))
    for link in links[:25]:
        filtered = client.get(changelist + unescape(link))
        assert filtered.status_code == 200, f"{model._meta.label} filter {link} -> {filtered.status_code}"
    model_admin = admin.site._registry[model]
    request = response.wsgi_request
    if model_admin.has_add_permission(request):
        assert client.get(url(model, "add")).status_code == 200
    obj = world_a.get(model) or (a if model is Account else None) or model._default_manager.first()
    if obj is not None:
        change = client.get(url(model, "change", obj.pk))
        assert change.status_code == 200, f"{model._meta.label} change page -> {change.status_code}"
    for fmt in ("csv", "json"):
        export = client.get(url(model, "export", fmt))
        assert export.status_code == 200
        b"".join(export.streaming_content)


def test_superuser_cannot_delete_or_change_audit_events(account, superuser, client):
    event = audit_record(account, Actor.system(), "test.kept", None)
    client.force_login(superuser)
    assert client.get(url(AuditEvent, "delete", event.pk)).status_code == 403
    response = client.post(url(AuditEvent, "changelist"), {"action": "delete_selected",
                                                          "_selected_action": [event.pk], "post": "yes"})
    assert response.status_code in (200, 302)
    assert client.post(url(AuditEvent, "change", event.pk), {"action": "changed"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, action="test.kept").exists()
    # Nor through the account: accounts are deleted by their deletion job only.
    assert client.get(url(Account, "delete", account.pk)).status_code == 403
    assert Account.objects.filter(pk=account.pk).exists()


def test_audit_log_is_append_only_below_the_admin(account):
    event = audit_record(account, Actor.system(), "test.kept", None, note="x")
    with pytest.raises(AppendOnlyError):
        event.delete()
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    # The database refuses raw SQL too.
    for sql in ("DELETE FROM accounts_auditevent WHERE id = %s",
                "UPDATE accounts_auditevent SET action = 'tampered' WHERE id = %s"):
        with pytest.raises((InternalError, ProgrammingError, IntegrityError)) as info:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])
        assert "append-only" in str(info.value)
    assert AuditEvent.objects.get(pk=event.pk).action == "test.kept"


def test_deleting_a_user_clears_the_actor_and_keeps_the_event(account):
    user = user_get_or_create("gone@acme.test", password="pw-gone-123")
    event = audit_record(account, Actor(user=user), "test.by_user", None)
    user.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor_user_id is None and event.action == "test.by_user"


def _csv_rows(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_export_csv_and_json_equal_the_filtered_rows(make_account, superuser, client):
    acme, globex = make_account("acme"), make_account("globex")
    names = ["=HYPERLINK(\"http://x\")", "+cmd", "-2+3", "@SUM(A1)", "plain", "gpt-4o"]
    for name in names:
        Model.objects.create(account=acme, name=name, model_type="external", provider="openai")
    Model.objects.create(account=acme, name="llama", model_type="open_source", provider="meta")
    Model.objects.create(account=globex, name="globex-model", model_type="external", provider="openai")
    client.force_login(superuser)
    query = {"model_type__exact": "external", "account__id__exact": acme.pk}
    expected = set(Model.objects.filter(account=acme, model_type="external").values_list("pk", flat=True))
    assert len(expected) == len(names)

    changelist = client.get(url(Model, "changelist"), query)
    assert changelist.status_code == 200
    assert f"{len(names)} models" in changelist.content.decode() or changelist.context["cl"].result_count == len(names)
    # The buttons on the changelist carry the filters.
    body = changelist.content.decode()
    assert "Export CSV" in body and "Export JSON" in body

    response = client.get(url(Model, "export", "csv"), query)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert {int(r["id"]) for r in rows} == expected
    assert sorted(r["name"] for r in rows) == sorted(spreadsheet_safe(n) for n in names)
    for row in rows:
        assert row["name"][:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert {r["account_id"] for r in rows} == {str(acme.pk)}

    response = client.get(url(Model, "export", "json"), query)
    items = json.loads(b"".join(response.streaming_content))
    assert {item["id"] for item in items} == expected
    assert sorted(item["name"] for item in items) == sorted(names)  # JSON keeps the text as it is

    # Search narrows the export as it narrows the list.
    response = client.get(url(Model, "export", "json"), {"q": "gpt"})
    assert [item["name"] for item in json.loads(b"".join(response.streaming_content))] == ["gpt-4o"]

    # The admin action exports the selected rows.
    picked = sorted(expected)[:2]
    response = client.post(url(Model, "changelist"), {"action": "export_selected_csv", "_selected_action": picked})
    assert sorted(int(r["id"]) for r in _csv_rows(response)) == picked
    assert client.get(url(Model, "export", "xml")).status_code == 404
    assert client.get(url(Model, "export", "csv"), {"created_at__gte": "not-a-date"}).status_code == 400


def test_secrets_are_not_exported(account, superuser, client, key_client):
    key_client(account)
    client.force_login(superuser)
    from accounts.models import ApiKey
    rows = _csv_rows(client.get(url(ApiKey, "export", "csv")))
    assert rows and "key_hash" not in rows[0]


@pytest.fixture
def staff_of_alpha(worlds):
    """A staff user with every model permission, admin of alpha and viewer of bravo."""
    a, b, world_a, world_b = worlds
    user = user_get_or_create("ops@alpha.test", password="pw-ops-1234")
    membership_invite(a, Actor.system(), email=user.email, role=Role.ADMIN)
    membership_invite(b, Actor.system(), email=user.email, role=Role.VIEWER)  # viewers do not operate
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    return user


@pytest.mark.parametrize("model", [m for m in FACTORIES], ids=[m._meta.label for m in FACTORIES])
def test_staff_see_only_their_accounts_rows(model, worlds, staff_of_alpha, client):
    a, b, world_a, world_b = worlds
    client.force_login(staff_of_alpha)
    ids_a = set(model.objects.filter(account=a).values_list("pk", flat=True))
    response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert shown == ids_a or (shown <= ids_a and response.context["cl"].result_count == len(ids_a))
    body = response.content.decode()
    assert MARKER_B not in body and "bravo" not in body.lower()
    # Another account's object: 404 on every object page.
    other = world_b[model]
    for view in ("change", "history", "delete"):
        response = client.get(url(model, view, other.pk))
        assert response.status_code in (403, 404), f"{model._meta.label} {view} -> {response.status_code}"
    assert client.get(url(model, "change", world_a[model].pk)).status_code == 200
    # Exports: only the account's rows.
    items = json.loads(b"".join(client.get(url(model, "export", "json")).streaming_content))
    assert {item["id"] for item in items} == ids_a


def test_staff_account_list_filters_and_choices_are_scoped(worlds, staff_of_alpha, client):
    a, b, world_a, world_b = worlds
    client.force_login(staff_of_alpha)
    accounts = client.get(url(Account, "changelist"))
    assert [obj.slug for obj in accounts.context["cl"].result_list] == ["alpha"]
    assert client.get(url(Account, "change", b.pk)).status_code == 404
    assert client.get(url(Account, "add")).status_code == 403
    # Filters and foreign-key choices never name the other account or its rows.
    page = client.get(url(Model, "add"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "bravo" not in body.lower() and MARKER_B not in body
    deployment_page = client.get(url(apps.get_model("models_registry.Deployment"), "add")).content.decode()
    assert MARKER_B not in deployment_page and MARKER_A in deployment_page
    # A forged POST naming the other account is refused by the form's choices.
    response = client.post(url(Model, "add"), {"account": b.pk, "name": "sneaky", "model_type": "external",
                                               "provider": "x"})
    assert response.status_code == 200 and not Model.objects.filter(name="sneaky").exists()
    # Users, groups and account deletions are for superusers only.
    assert client.get(url(get_user_model(), "changelist")).status_code == 403
    assert client.get("/admin/").status_code == 200


def test_staff_without_operator_role_see_nothing(worlds, client):
    a, b, world_a, world_b = worlds
    user = user_get_or_create("viewer-staff@x.test", password="pw-v-12345")
    membership_invite(a, Actor.system(), email=user.email, role=Role.VIEWER)
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    response = client.get(url(Model, "changelist"))
    assert response.status_code == 200 and response.context["cl"].result_count == 0


def test_history_admins_are_read_only_classes():
    for label in HISTORY:
        assert isinstance(admin.site._registry[apps.get_model(label)], HistoryAdmin), label
    assert issubclass(Membership, AccountOwned)


def test_staff_cannot_hand_out_roles_or_keys_and_admin_writes_are_audited(worlds, staff_of_alpha, superuser, client):
    a, b, world_a, world_b = worlds
    from accounts.models import ApiKey
    membership = Membership.objects.get(account=a, user=staff_of_alpha)
    client.force_login(staff_of_alpha)
    response = client.post(url(Membership, "change", membership.pk),
                           {"account": a.pk, "user": staff_of_alpha.pk, "role": "owner"})
    assert response.status_code == 403
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN
    assert client.get(url(ApiKey, "add")).status_code == 403
    # A change made in the admin lands in the account's own audit log.
    model = world_a[Model]
    response = client.post(url(Model, "change", model.pk), {"account": a.pk, "name": "renamed-in-admin",
                                                           "model_type": model.model_type, "provider": "p",
                                                           "base_model": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(account=a, action="admin.model.changed")
    assert event.actor_user == staff_of_alpha and "name" in event.details["fields"]
    client.force_login(superuser)
    model = Model.objects.create(account=a, name="lonely", model_type="external")  # nothing refers to it
    response = client.post(url(Model, "delete", model.pk), {"post": "yes"})
    assert response.status_code == 302 and not Model.objects.filter(pk=model.pk).exists()
    assert AuditEvent.objects.filter(account=a, action="admin.model.deleted", actor_user=superuser).exists()
