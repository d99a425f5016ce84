from django.contrib import admin

from accounts.admin_base import OperatorAdmin
from dashboards.models import Dashboard, Widget


class WidgetInline(admin.TabularInline):
    model = Widget
    extra = 0
    fields = ["position", "title", "kind", "metrics", "group_by", "filters", "preset", "width", "limit"]
    # Widgets are written through the API or the console, which validate them.
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dashboard)
class DashboardAdmin(OperatorAdmin):
    list_display = ["name", "account", "prebuilt", "position", "updated_at"]
    list_filter = ["prebuilt", "preset", "account"]
    search_fields = ["name", "account__slug"]
    inlines = [WidgetInline]


@admin.register(Widget)
class WidgetAdmin(OperatorAdmin):
    list_display = ["title", "dashboard", "account", "kind", "position", "width"]
    list_filter = ["kind", "preset", "account"]
    search_fields = ["title", "dashboard__name", "account__slug"]
    list_select_related = ["dashboard", "account"]
    # Widgets are written through the API or the console, which validate them.
    readonly_fields = ["dashboard", "account", "metrics", "group_by", "filters"]
