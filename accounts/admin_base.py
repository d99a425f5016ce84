"""The Django admin as an operator's tool: one base for every registered model.

`OperatorAdmin` gives each model list filters and search (derived from its fields when the
admin does not name them), exports of the filtered list as CSV and JSON, read-only pages
for history (`history = True`), and tenancy for staff who are not superusers: they see,
choose and export only rows of the accounts where they are an owner or an admin, and
another account's object is a 404. Models without an account (users, groups, sign-in
failures, account deletions) are for superusers only (`superuser_only = True`).
"""
import csv
import json
from datetime import date, datetime
from decimal import Decimal

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path
from django.utils import timezone

from accounts.models import Account, AccountOwned, Membership, Role

OPERATOR_ROLES = (Role.OWNER, Role.ADMIN)
# The first characters a spreadsheet reads as the start of a formula (OWASP "CSV injection"),
# the same set as traces.exports.sql.as_text_cell applies to the trace export in SQL.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_CHUNK = 2000
_SKIPPED_SEARCH = {"password", "key_hash", "secret", "session_data"}


def spreadsheet_safe(value):
    """A CSV cell a spreadsheet will not run: text starting with a formula character gets a
    leading apostrophe. Numbers stay numbers (a negative one included)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def operator_account_ids(user):
    """The accounts a staff user operates: all for superusers (None), else owner/admin memberships."""
    if user.is_superuser:
        return None
    return list(Membership.objects.filter(user=user, role__in=OPERATOR_ROLES).values_list("account_id", flat=True))


def account_field_path(model) -> str | None:
    """The lookup from a model to its account: 'pk' for Account, 'account' for tenant rows."""
    if model is Account:
        return "pk"
    try:
        field = model._meta.get_field("account")
    except Exception:
        return None
    return "account" if field.is_relation and field.related_model is Account else None


def scope_queryset(queryset, user):
    """Rows of the user's accounts only (superusers: everything; no account field: nothing)."""
    ids = operator_account_ids(user)
    if ids is None:
        return queryset
    path_ = account_field_path(queryset.model)
    if path_ is None:
        if queryset.model is get_user_model():
            return queryset.filter(memberships__account_id__in=ids).distinct()
        return queryset.none()
    return queryset.filter(**{f"{path_}__in": ids})


def _export_value(value):
    if isinstance(value, (bytes, memoryview)):
        return f"<{len(value)} bytes>"
    return value


class _Echo:
    def write(self, value):
        return value


class OperatorAdminMixin:
    """See the module docstring. Mixed into ModelAdmin subclasses (and Django's own admins)."""

    history = False  # read-only: no add, change or delete
    superuser_only = False
    export_exclude = ("password", "key_hash", "secret", "raw", "session_data")
    actions = ["export_selected_csv", "export_selected_json"]
    change_list_template = "admin/operator_change_list.html"

    # -- tenancy ---------------------------------------------------------------------

    def _allowed(self, request):
        return request.user.is_active and request.user.is_staff and (
            request.user.is_superuser or not self.superuser_only)

    def has_module_permission(self, request):
        return self._allowed(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        if self.history or not self._allowed(request):
            return False
        if self.model is Account and not request.user.is_superuser:
            return False  # staff operate their accounts; creating tenants is the platform's
        return super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return not self.history and self._allowed(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if self.history or not self._allowed(request):
            return False
        if self.model is Account and not request.user.is_superuser:
            return False  # owners delete their account from the console, audited and e-mailed
        return super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

    # -- writes are audited in the account's own log ---------------------------------

    def _account_of(self, obj):
        if isinstance(obj, Account):
            return obj
        return getattr(obj, "account", None) if account_field_path(type(obj)) == "account" else None

    def _audit(self, request, obj, verb, **details):
        from accounts.services import Actor, audit_record

        account = self._account_of(obj)
        if account is not None:
            audit_record(account, Actor(user=request.user), f"admin.{self.opts.model_name}.{verb}", obj,
                         via="django admin", **details)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._audit(request, obj, "changed" if change else "created", fields=list(form.changed_data))

    def delete_model(self, request, obj):
        self._audit(request, obj, "deleted", label=str(obj)[:200])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "deleted", label=str(obj)[:200])
        super().delete_queryset(request, queryset)

    def get_object(self, request, object_id, from_field=None):
        # Another account's row and a missing one look the same: 404, not the admin's redirect.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser and (
                related is Account or issubclass(related, AccountOwned) or related is get_user_model()):
            kwargs["queryset"] = scope_queryset(related._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser and (related is Account or issubclass(related, AccountOwned)):
            kwargs["queryset"] = scope_queryset(related._default_manager.all(), request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # -- filters and search, derived when not named -----------------------------------

    def get_list_filter(self, request):
        declared = list(super().get_list_filter(request)) or self._derived_filters()
        # Relation filters list only values present in the (scoped) list: no other account's names.
        out = []
        for entry in declared:
            if isinstance(entry, str) and "__" not in entry:
                field = self.model._meta.get_field(entry)
                if field.is_relation:
                    entry = (entry, admin.RelatedOnlyFieldListFilter)
            out.append(entry)
        return out

    def _derived_filters(self):
        filters = []
        for field in self.model._meta.concrete_fields:
            if field.choices or isinstance(field, models.BooleanField):
                filters.append(field.name)
        if account_field_path(self.model) == "account":
            filters.append("account")
        return filters[:6]

    def get_search_fields(self, request):
        declared = list(super().get_search_fields(request))
        if declared:
            return declared
        fields = [f.name for f in self.model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField)) and not f.choices
                  and f.name not in _SKIPPED_SEARCH][:4]
        if account_field_path(self.model) == "account":
            fields.append("account__slug")
        return fields or ["=pk"]

    # -- export ------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export/<str:fmt>/", self.admin_site.admin_view(self.export_view), name="%s_%s_export" % info),
            *super().get_urls(),
        ]

    def export_fields(self):
        return [f for f in self.model._meta.concrete_fields if f.name not in self.export_exclude]

    def export_view(self, request, fmt):
        """The changelist's rows as filtered and searched (its query string), as CSV or JSON."""
        if fmt not in ("csv", "json") or not self.has_view_permission(request):
            raise Http404("No such export.")
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter in the query string.")
        return self.export_response(changelist.get_queryset(request), fmt)

    def export_selected_csv(self, request, queryset):
        return self.export_response(queryset, "csv")
    export_selected_csv.short_description = "Export selected as CSV"

    def export_selected_json(self, request, queryset):
        return self.export_response(queryset, "json")
    export_selected_json.short_description = "Export selected as JSON"

    def export_response(self, queryset, fmt):
        fields = self.export_fields()
        names = [f.attname for f in fields]
        rows = queryset.values_list(*names).iterator(chunk_size=EXPORT_CHUNK)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        filename = f"{self.opts.app_label}-{self.opts.model_name}-{stamp}.{fmt}"
        if fmt == "csv":
            writer = csv.writer(_Echo())
            content = self._csv_lines(writer, names, rows)
            content_type = "text/csv; charset=utf-8"
        else:
            content = self._json_chunks(names, rows)
            content_type = "application/json"
        response = StreamingHttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @staticmethod
    def _csv_lines(writer, names, rows):
        yield writer.writerow(names)
        for row in rows:
            yield writer.writerow([spreadsheet_safe(_csv_value(v)) for v in row])

    @staticmethod
    def _json_chunks(names, rows):
        yield "["
        first = True
        for row in rows:
            item = dict(zip(names, (_export_value(v) for v in row)))
            yield ("" if first else ",\n") + json.dumps(item, cls=DjangoJSONEncoder)
            first = False
        yield "]\n"


def _csv_value(value):
    value = _export_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, cls=DjangoJSONEncoder)
    return value


class OperatorAdmin(OperatorAdminMixin, admin.ModelAdmin):
    pass


class HistoryAdmin(OperatorAdmin):
    """History: browsable, filterable and exportable, never written from the admin."""

    history = True


__all__ = ["HistoryAdmin", "OperatorAdmin", "OperatorAdminMixin", "spreadsheet_safe",
           "scope_queryset", "operator_account_ids"]
