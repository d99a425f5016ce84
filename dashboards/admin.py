from django.contrib import admin

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
class DashboardAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "prebuilt", "position", "updated_at"]
    list_filter = ["prebuilt"]
    search_fields = ["name", "account__slug"]
    inlines = [WidgetInline]
