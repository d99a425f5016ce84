"""Serializers of the budgets API: shape and field checks; the rules live in budgets.services."""
from decimal import Decimal

from rest_framework import serializers

from accounts.serializers_base import AccountRelatedField
from alerts.models import Channel
from budgets.models import Budget
from models_registry.models import Model


class BudgetSerializer(serializers.ModelSerializer):
    model = AccountRelatedField(queryset=Model.objects.all(), required=False, allow_null=True,
                                help_text="Model budgets: the model's id.")
    channels = AccountRelatedField(queryset=Channel.objects.all(), many=True, required=False,
                                   help_text="Alert channel ids told at 80 %, 100 % and on a projected overrun.")
    amount_usd = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False,
                                          min_value=Decimal("0.01"), max_value=Decimal("999999999999"),
                                          help_text="Spend allowed per calendar month of the account's timezone.")
    prompt = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                   help_text="Prompt budgets: the prompt.")

    class Meta:
        model = Budget
        fields = ["id", "name", "scope", "model", "prompt", "amount_usd", "channels", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class BudgetDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="A local day of the month.")
    spent_usd = serializers.FloatField()
    cumulative_usd = serializers.FloatField(help_text="Spent from the 1st to this day, inclusive.")


class BudgetAlertSentSerializer(serializers.Serializer):
    threshold = serializers.ChoiceField(choices=["80", "100", "projected"])
    at = serializers.DateTimeField()
    event = serializers.IntegerField(allow_null=True, help_text="The alert event; null when a higher threshold "
                                                                "was announced in the same check.")


class BudgetPeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="First instant of the local month.")
    end = serializers.DateTimeField(help_text="First instant of the next local month.")
    until = serializers.DateTimeField(help_text="The figures cover [start, until): now, or the month's end.")


class BudgetStatusSerializer(serializers.Serializer):
    budget = serializers.IntegerField()
    name = serializers.CharField()
    scope = serializers.ChoiceField(choices=["account", "model", "prompt"])
    model = serializers.CharField(allow_null=True)
    prompt = serializers.CharField(allow_null=True)
    target = serializers.CharField(help_text="What the budget covers, in words.")
    amount_usd = serializers.FloatField()
    month = serializers.CharField(help_text="YYYY-MM, in the account's timezone.")
    timezone = serializers.CharField()
    period = BudgetPeriodSerializer()
    days_in_month = serializers.FloatField()
    days_elapsed = serializers.FloatField()
    spent_usd = serializers.FloatField(help_text="Exact spend of the month so far.")
    remaining_usd = serializers.FloatField(help_text="Amount minus spent; negative once exceeded.")
    percent_used = serializers.FloatField()
    burn_rate_usd_per_day = serializers.FloatField(allow_null=True, help_text="Spent per elapsed day.")
    projected_usd = serializers.FloatField(
        allow_null=True, help_text="Month-end spend at the burn rate so far; null during the month's first day.")
    projected_percent = serializers.FloatField(allow_null=True)
    state = serializers.ChoiceField(choices=["ok", "projected_overrun", "warning", "exceeded"],
                                    help_text="exceeded ≥ 100 %, warning ≥ 80 %, projected_overrun when the "
                                              "projection passes the amount.")
    alerts = BudgetAlertSentSerializer(many=True)
    days = BudgetDaySerializer(many=True, required=False)
