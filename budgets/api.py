"""Budgets API (D10): CRUD of monthly budgets and their tracking. Members and up write."""
from datetime import date

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.models import Role
from accounts.pagination import CappedLimitOffsetPagination
from accounts.scoping import AccountScopedViewSet
from budgets import services
from budgets.models import Budget
from budgets.selectors import budget_status, month_of
from budgets.serializers import BudgetSerializer, BudgetStatusSerializer

MONTH = OpenApiParameter("month", str, description="YYYY-MM in the account's timezone; default: this month. "
                                                    "Months after this one are refused.")


class BudgetPagination(CappedLimitOffsetPagination):
    max_limit = 200


def _month(request, account):
    raw = request.query_params.get("month")
    current = month_of(account, timezone.now())
    if not raw:
        return current
    try:
        if len(raw) != 7 or raw[4] != "-":
            raise ValueError
        month = date(int(raw[:4]), int(raw[5:]), 1)
    except ValueError:
        raise ValidationError({"month": [f"'{raw[:20]}' is not a month (YYYY-MM)"]}) from None
    if month > current:
        raise ValidationError({"month": ["is in the future"]})
    return month


class BudgetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Monthly budgets per account, model or prompt. A month is a calendar month of the account's
    timezone; `status` gives spent, remaining, burn rate and projected month-end spend, computed
    from the exact metrics (rollups plus the raw partial hour)."""

    queryset = Budget.objects.select_related("model", "account").prefetch_related("channels")
    serializer_class = BudgetSerializer
    pagination_class = BudgetPagination
    write_role = Role.MEMBER

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        budget = services.budget_create(self.account, self.actor, **serializer.validated_data)
        return Response(self.get_serializer(budget).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        budget = self.get_object()
        serializer = self.get_serializer(budget, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        budget = services.budget_update(self.account, self.actor, budget, **serializer.validated_data)
        return Response(self.get_serializer(budget).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.budget_delete(self.account, self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[MONTH], responses=BudgetStatusSerializer)
    @action(detail=True, methods=["get"], url_path="status")
    def status_report(self, request, pk=None):
        budget = self.get_object()
        return Response(budget_status(budget, _month(request, self.account)))

    @extend_schema(parameters=[MONTH], responses=BudgetStatusSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="status", pagination_class=BudgetPagination)
    def status_all(self, request):
        """Every budget's month, with its days (paginated like the list)."""
        month = _month(request, self.account)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([budget_status(b, month) for b in page])
