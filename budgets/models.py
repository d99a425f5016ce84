"""Monthly spend budgets (D10) per account, per model or per prompt, and the alerts they sent.

A budget covers one calendar month of the account's timezone at a time; `BudgetAlert` keeps
which threshold was announced for which month, so each one is sent at most once per month
(the unique constraint holds even when two checks run at once).
"""
from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import AccountOwned
from alerts.models import AlertEvent, Channel
from models_registry.models import Model


class BudgetScope(models.TextChoices):
    ACCOUNT = "account", "Whole account"
    MODEL = "model", "One model"
    PROMPT = "prompt", "One prompt"


class Budget(AccountOwned):
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=8, choices=BudgetScope.choices, default=BudgetScope.ACCOUNT)
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              help_text="Model budgets: the model.")
    prompt = models.CharField(max_length=200, blank=True, help_text="Prompt budgets: the prompt.")
    amount_usd = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0.01)],
                                     help_text="Spend allowed per calendar month (account timezone), in USD.")
    channels = models.ManyToManyField(Channel, blank=True, related_name="budgets",
                                      help_text="Alert channels told at 80 %, at 100 % and on a projected overrun.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="budget_account_name_uniq"),
            # One budget per target: the account, a model, or a prompt.
            models.UniqueConstraint(fields=["account", "scope", "model", "prompt"], nulls_distinct=False,
                                    name="budget_account_target_uniq"),
            models.CheckConstraint(
                condition=(Q(scope="account", model__isnull=True, prompt="")
                           | Q(scope="model", model__isnull=False, prompt="")
                           | (Q(scope="prompt", model__isnull=True) & ~Q(prompt=""))),
                name="budget_scope_target",
                violation_error_message="A model budget names a model, a prompt budget a prompt, an account "
                                        "budget neither."),
        ]

    def __str__(self):
        return self.name

    def filters(self) -> dict:
        """The budget's target as metrics-layer filters."""
        if self.scope == BudgetScope.MODEL:
            return {"model_id": self.model_id}
        if self.scope == BudgetScope.PROMPT:
            return {"prompt": self.prompt}
        return {}

    def target_label(self) -> str:
        if self.scope == BudgetScope.MODEL:
            return f"model {self.model.name}"
        if self.scope == BudgetScope.PROMPT:
            return f"prompt {self.prompt}"
        return "the whole account"


class BudgetThreshold(models.TextChoices):
    WARNING = "80", "80 % spent"
    REACHED = "100", "100 % spent"
    PROJECTED = "projected", "Projected overrun"


class BudgetAlert(AccountOwned):
    """That a budget's threshold was announced for one month (at most once)."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    month = models.DateField(help_text="First day of the local month.")
    threshold = models.CharField(max_length=10, choices=BudgetThreshold.choices)
    spent_usd = models.DecimalField(max_digits=16, decimal_places=6)
    projected_usd = models.DecimalField(max_digits=16, decimal_places=6, null=True, blank=True)
    event = models.ForeignKey(AlertEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "budget", "month", "threshold"],
                                               name="budget_alert_once_per_month")]

    def __str__(self):
        return f"{self.budget} {self.month:%Y-%m} {self.threshold}"
