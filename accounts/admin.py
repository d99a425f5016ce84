"""Accounts in the operator's admin; the shared behaviour is in accounts.admin_base."""
from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from accounts.admin_base import HistoryAdmin, OperatorAdmin, OperatorAdminMixin
from accounts.models import Account, AccountDeletion, ApiKey, AuditEvent, Membership


class SuperuserWritesMixin:
    """Roles and keys change through the console's services (the owner-only role rule, keys
    shown once and stored hashed); staff who are not superusers only look here."""

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class MembershipInline(SuperuserWritesMixin, admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(OperatorAdmin):
    list_display = ["slug", "name", "timezone", "retention_days", "store_text", "created_at"]
    list_filter = ["store_text", "timezone"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]

    def has_delete_permission(self, request, obj=None):
        # An account goes only through its deletion job (accounts.deletion): every row and file,
        # the audit log that the database otherwise refuses to delete, the owner told. A cascade
        # from here would stop at the audit trigger.
        return False


@admin.register(Membership)
class MembershipAdmin(SuperuserWritesMixin, OperatorAdmin):
    list_display = ["account", "user", "role", "created_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__email", "account__slug"]
    list_select_related = ["account", "user"]
    raw_id_fields = ["user"]


@admin.register(ApiKey)
class ApiKeyAdmin(SuperuserWritesMixin, OperatorAdmin):
    list_display = ["prefix", "name", "account", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["account", ("revoked_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["prefix", "name", "account__slug"]
    list_select_related = ["account"]

    def has_add_permission(self, request, *args):
        return False  # a key is created in the console or the API: shown once, stored hashed


@admin.register(AuditEvent)
class AuditEventAdmin(HistoryAdmin):
    """The audit log is append-only: nobody, superusers included, adds, edits or deletes here
    (the model and a database trigger refuse it as well)."""

    list_display = ["created_at", "account", "action", "target_type", "target_id", "actor_user", "actor_key"]
    list_filter = ["action", "target_type", "account"]
    search_fields = ["action", "target_type", "=target_id", "actor_user__email", "account__slug"]
    list_select_related = ["account", "actor_user", "actor_key"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


@admin.register(AccountDeletion)
class AccountDeletionAdmin(HistoryAdmin):
    """Deleted accounts: the record that outlives them (superusers only: the account is gone)."""

    superuser_only = True
    list_display = ["requested_at", "account_slug", "former_account_id", "requested_by_email", "status",
                    "files_deleted", "finished_at", "notified_at"]
    list_filter = ["status"]
    search_fields = ["account_slug", "account_name", "requested_by_email", "=former_account_id"]
    readonly_fields = [f.name for f in AccountDeletion._meta.fields]
    actions = [*HistoryAdmin.actions, "queue_again"]

    @admin.action(description="Queue again (failed, or the owner not told yet)")
    def queue_again(self, request, queryset):
        from django.db.models import Q

        from config import jobs

        pending = queryset.filter(~Q(status=AccountDeletion.Status.DONE) | Q(notified_at__isnull=True))
        for pk in pending.values_list("pk", flat=True):
            jobs.enqueue(jobs.ACCOUNT_DELETE, pk)
        self.message_user(request, f"Queued {pending.count()} deletion(s) again.")


@admin.register(LogEntry)
class LogEntryAdmin(HistoryAdmin):
    """What staff changed in this admin (Django's own history), superusers only."""

    superuser_only = True
    list_display = ["action_time", "user", "content_type", "object_repr", "action_flag"]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "change_message", "user__email"]
    date_hierarchy = "action_time"


# Users and groups span accounts: superusers only (staff see members on each account's page).
User = get_user_model()
for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class OperatorUserAdmin(OperatorAdminMixin, UserAdmin):
    superuser_only = True
    export_exclude = ("password",)


@admin.register(Group)
class OperatorGroupAdmin(OperatorAdminMixin, GroupAdmin):
    superuser_only = True
    list_filter = ["permissions"]


# Sign-in throttling (django-axes): its history, superusers only.
for model, base in ((AccessAttempt, axes_admin.AccessAttemptAdmin), (AccessLog, axes_admin.AccessLogAdmin),
                    (AccessFailureLog, axes_admin.AccessFailureLogAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, type(f"Operator{base.__name__}", (OperatorAdminMixin, base),
                                    {"superuser_only": True, "__module__": __name__}))
