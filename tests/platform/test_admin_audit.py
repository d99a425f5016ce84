"""The Django admin shows the audit log and never deletes from it, not even for a superuser."""
from django.contrib.auth import get_user_model

from accounts.models import AuditEvent
from accounts.services import Actor, audit_record


def test_superuser_cannot_delete_audit_events(account, client):
    event = audit_record(account, Actor.system(), "test.kept", None)
    admin = get_user_model().objects.create_superuser("root@x.test", "root@x.test", "pw-root-1234")
    client.force_login(admin)
    assert client.get("/admin/accounts/auditevent/").status_code == 200
    assert client.get(f"/admin/accounts/auditevent/{event.pk}/delete/").status_code == 403
    client.post("/admin/accounts/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk],
                                               "post": "yes"})
    assert AuditEvent.objects.filter(pk=event.pk).exists()
