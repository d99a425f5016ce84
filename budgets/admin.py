"""Budgets in the operator's admin (shared behaviour: accounts.admin_base)."""
from django.contrib import admin

from accounts.admin_base import HistoryAdmin, OperatorAdmin
from budgets.models import Budget, BudgetAlert


@admin.register(Budget)
class BudgetAdmin(OperatorAdmin):
    list_display = ["name", "scope", "model", "prompt", "amount_usd", "account", "updated_at"]
    list_filter = ["scope", "account"]
    search_fields = ["name", "prompt", "account__slug"]
    raw_id_fields = ["model", "created_by"]


@admin.register(BudgetAlert)
class BudgetAlertAdmin(HistoryAdmin):
    list_display = ["created_at", "budget", "month", "threshold", "spent_usd", "projected_usd", "account"]
    list_filter = ["threshold", "account"]
    search_fields = ["budget__name", "account__slug"]
    list_select_related = ["budget", "account"]
