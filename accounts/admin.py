from django.contrib import admin

from accounts.models import Account, ApiKey, AuditEvent, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "timezone", "retention_days", "store_text", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["account", "user", "role", "created_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__email", "account__slug"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "account", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["account"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["prefix", "name"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "action", "target_type", "target_id", "actor_user", "actor_key"]
    list_filter = ["action", "account"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    # The audit log is append-only: nobody, superusers included, adds, edits or deletes here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
