"""Dashboards API (D8): every role and read-scoped keys read; members and above write.

A dashboard is written with its widgets in one request (the list replaces the widgets, in
order); single widgets can also be added, changed and removed at /dashboards/widgets.
"""
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.models import Role
from accounts.params import int_param
from accounts.scoping import AccountScopedViewSet
from accounts.serializers_base import AccountRelatedField
from dashboards import catalog, services
from dashboards.models import Dashboard, Widget


class WidgetFields(serializers.ModelSerializer):
    metrics = serializers.ListField(child=serializers.CharField(max_length=64), max_length=catalog.MAX_METRICS,
                                    help_text="Metric names of GET /api/v1/metrics (e.g. total_requests); empty for an alerts widget.")
    filters = serializers.DictField(child=serializers.CharField(max_length=200, allow_blank=True), required=False,
                                    help_text="Filter name to value, as the metrics endpoints take them.")
    group_by = serializers.CharField(max_length=16, allow_blank=True, required=False,
                                     help_text="'' (one figure), 'time', or a breakdown dimension.")
    # Plain strings (checked by dashboards.services): an enum named "kind" would collide in the schema.
    kind = serializers.CharField(max_length=8, help_text=f"One of {', '.join(catalog.KINDS)}.")
    preset = serializers.CharField(max_length=16, allow_blank=True, required=False,
                                   help_text="Blank for the dashboard's range, else one of D1's presets.")
    width = serializers.IntegerField(min_value=1, max_value=3, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, required=False)

    class Meta:
        model = Widget
        fields = ["id", "position", "title", "kind", "metrics", "group_by", "filters", "preset", "width", "limit"]
        read_only_fields = ["id", "position"]


class WidgetSerializer(WidgetFields):
    dashboard = AccountRelatedField(queryset=Dashboard.objects.all())

    class Meta(WidgetFields.Meta):
        fields = ["id", "dashboard", *WidgetFields.Meta.fields[1:]]


class PrebuiltField(serializers.ChoiceField):
    """The model stores "" for an account's own dashboard; the API says null, never a value outside the enum."""

    def to_representation(self, value):
        return value or None


class DashboardSerializer(serializers.ModelSerializer):
    widgets = WidgetFields(many=True, required=False)
    filters = serializers.DictField(child=serializers.CharField(max_length=200, allow_blank=True), required=False)
    preset = serializers.CharField(max_length=16, required=False, help_text=f"One of {', '.join(catalog.PRESETS)}.")
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    prebuilt = PrebuiltField(choices=Dashboard.Prebuilt.choices, read_only=True, allow_null=True,
                             help_text="Which pre-built dashboard this is; null for the account's own.")

    class Meta:
        model = Dashboard
        fields = ["id", "name", "description", "preset", "filters", "position", "prebuilt", "widgets",
                  "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "position", "prebuilt", "created_by", "created_at", "updated_at"]


IdsSerializer = inline_serializer("OrderIds", {"ids": serializers.ListField(child=serializers.IntegerField())})


def _ids(request) -> list[int]:
    ids = request.data.get("ids") if isinstance(request.data, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationError({"ids": ["must be a list of integer ids, in the new order"]})
    return ids


class DashboardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Dashboards of the account, in their order, with their widgets."""

    queryset = Dashboard.objects.select_related("created_by").prefetch_related("widgets")
    serializer_class = DashboardSerializer
    write_role = Role.MEMBER
    lookup_value_regex = r"\d+"

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dashboard = services.dashboard_create(self.account, user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(self._fresh(dashboard)).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        dashboard = self.get_object()
        serializer = self.get_serializer(dashboard, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.dashboard_update(self.account, dashboard, **serializer.validated_data)
        return Response(self.get_serializer(self._fresh(dashboard)).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.dashboard_delete(self.account, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=IdsSerializer, responses={204: None})
    @action(detail=False, methods=["post"])
    def reorder(self, request):
        """Put the account's dashboards in the given order (every id once)."""
        services.dashboards_reorder(self.account, _ids(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=IdsSerializer, responses={204: None})
    @action(detail=True, methods=["post"], url_path="reorder-widgets")
    def reorder_widgets(self, request, pk=None):
        """Put the dashboard's widgets in the given order (every widget id once)."""
        services.widgets_reorder(self.account, self.get_object(), _ids(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: inline_serializer("WidgetCatalogue", {
        "kinds": serializers.ListField(child=serializers.CharField()),
        "metrics": serializers.ListField(child=serializers.DictField()),
        "groupings": serializers.ListField(child=serializers.DictField()),
        "filters": serializers.ListField(child=serializers.CharField()),
        "presets": serializers.ListField(child=serializers.DictField()),
    })})
    @action(detail=False, methods=["get"])
    def catalogue(self, request):
        """What a widget may name: kinds, metrics (with units), groupings, filters, ranges."""
        return Response({
            "kinds": list(catalog.KINDS),
            "metrics": [{"name": n, "label": label, "unit": unit}
                        for n, label, unit in catalog.metric_choices() + catalog.custom_metric_choices(self.account)],
            "groupings": [{"name": g, "label": catalog.GROUPING_LABELS.get(g, g)} for g in catalog.GROUPINGS],
            "filters": list(catalog.FILTER_NAMES),
            "presets": [{"name": p, "label": catalog.PRESET_LABELS[p]} for p in catalog.PRESETS],
        })

    def _fresh(self, dashboard):
        return self.queryset.filter(account=self.account).get(pk=dashboard.pk)


class WidgetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Single widgets; `?dashboard=<id>` lists one dashboard's."""

    queryset = Widget.objects.all()
    serializer_class = WidgetSerializer
    write_role = Role.MEMBER

    @extend_schema(parameters=[OpenApiParameter("dashboard", int, description="only this dashboard's widgets")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def filter_account_queryset(self, queryset):
        dashboard = int_param(self.request.query_params, "dashboard")
        return queryset if dashboard is None else queryset.filter(dashboard_id=dashboard)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        widget = services.widget_create(self.account, data.pop("dashboard"), **data)
        return Response(self.get_serializer(widget).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        widget = self.get_object()
        serializer = self.get_serializer(widget, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("dashboard", widget.dashboard).pk != widget.dashboard_id:
            raise ValidationError({"dashboard": ["a widget cannot move to another dashboard"]})
        widget = services.widget_update(self.account, widget, **data)
        return Response(self.get_serializer(widget).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.widget_delete(self.account, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
