"""Custom dashboards (D8): a dashboard of widgets, saved per account, shared with its members."""
from django.conf import settings
from django.db import models

from accounts.models import AccountOwned
from dashboards.catalog import KINDS, PRESETS


class Dashboard(AccountOwned):
    class Prebuilt(models.TextChoices):
        EXECUTIVE = "executive"
        PERFORMANCE = "performance"
        COST = "cost"
        QUALITY = "quality"

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    preset = models.CharField(max_length=16, choices=[(p, p) for p in PRESETS], default="last_7d",
                              help_text="The dashboard's time range; widgets may name their own.")
    filters = models.JSONField(default=dict, blank=True, help_text="Filters every widget applies.")
    position = models.PositiveIntegerField(default=0)
    prebuilt = models.CharField(max_length=16, choices=Prebuilt.choices, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="dashboard_account_name_uniq"),
            # Each pre-built dashboard exists once per account (creation is idempotent).
            models.UniqueConstraint(fields=["account", "prebuilt"], condition=~models.Q(prebuilt=""),
                                    name="dashboard_account_prebuilt_uniq"),
        ]

    def __str__(self):
        return self.name


class Widget(AccountOwned):
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=[(k, k) for k in KINDS])
    metrics = models.JSONField(help_text="Metric names of the metrics layer, 1 to 4.")
    group_by = models.CharField(max_length=16, blank=True,
                                help_text="'' for one figure, 'time' for a series, or a dimension.")
    filters = models.JSONField(default=dict, blank=True)
    preset = models.CharField(max_length=16, blank=True, choices=[(p, p) for p in PRESETS],
                              help_text="Blank: the dashboard's range.")
    width = models.PositiveSmallIntegerField(default=1, help_text="Columns of a three-column grid, 1 to 3.")
    limit = models.PositiveSmallIntegerField(default=8, help_text="Rows or slices of a grouping, 1 to 50.")

    class Meta:
        ordering = ["dashboard", "position", "id"]
        indexes = [models.Index(fields=["account", "dashboard", "position"], name="widget_account_dash_pos")]

    def __str__(self):
        return f"{self.dashboard.name}: {self.title}"
