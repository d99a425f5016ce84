"""Mail the local outbox received: read-only history (the raw MIME is not exported)."""
from django.contrib import admin

from accounts.admin_base import HistoryAdmin
from outbox.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(HistoryAdmin):
    list_display = ["received_at", "subject", "sender", "recipients", "size", "account"]
    list_filter = ["account"]
    search_fields = ["subject", "sender", "message_id", "account__slug"]
    list_select_related = ["account"]
    date_hierarchy = "received_at"
    exclude = ["raw"]
