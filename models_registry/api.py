"""Registry API: reads for every role and read-scoped keys, writes for admins (T4, T5)."""
from datetime import datetime
from datetime import timezone as dt_timezone

from django.utils.dateparse import parse_date, parse_datetime
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.scoping import AccountScopedViewSet
from accounts.serializers_base import AccountRelatedField
from models_registry import models as m
from models_registry import services


class _Base(serializers.ModelSerializer):
    class Meta:
        exclude = ["account"]


class ModelSerializer(_Base):
    class Meta(_Base.Meta):
        model = m.Model
        read_only_fields = ["created_at"]


class DeploymentSerializer(_Base):
    model = AccountRelatedField(queryset=m.Model.objects.all())
    label = serializers.CharField(read_only=True)

    class Meta(_Base.Meta):
        model = m.Deployment


class DeploymentVersionSerializer(_Base):
    deployment = AccountRelatedField(queryset=m.Deployment.objects.all())

    class Meta(_Base.Meta):
        model = m.DeploymentVersion
        read_only_fields = ["created_at"]


class ConnectionSerializer(_Base):
    class Meta(_Base.Meta):
        model = m.Connection
        read_only_fields = ["created_at"]


class ReplicaEventSerializer(_Base):
    deployment = AccountRelatedField(queryset=m.Deployment.objects.all())
    version = AccountRelatedField(queryset=m.DeploymentVersion.objects.all(), required=False, allow_null=True)

    class Meta(_Base.Meta):
        model = m.ReplicaEvent

    def validate(self, attrs):
        version, deployment = attrs.get("version"), attrs.get("deployment")
        if version is not None and deployment is not None and version.deployment_id != deployment.pk:
            raise ValidationError({"version": ["this version belongs to another deployment"]})
        return attrs


class HardwareRateSerializer(_Base):
    class Meta(_Base.Meta):
        model = m.HardwareRate


class FineTuneJobSerializer(_Base):
    model = AccountRelatedField(queryset=m.Model.objects.all())

    class Meta(_Base.Meta):
        model = m.FineTuneJob


class CreditChargeSerializer(_Base):
    deployment = AccountRelatedField(queryset=m.Deployment.objects.all(), required=False, allow_null=True)
    fine_tune_job = AccountRelatedField(queryset=m.FineTuneJob.objects.all(), required=False, allow_null=True)

    class Meta(_Base.Meta):
        model = m.CreditCharge


class ModelPriceSerializer(_Base):
    model = AccountRelatedField(queryset=m.Model.objects.all())

    class Meta(_Base.Meta):
        model = m.ModelPrice


class RegistryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """CRUD through the registry services, so every change is audited."""

    filter_fields: tuple = ()

    def filter_account_queryset(self, queryset):
        for name in self.filter_fields:
            value = self.request.query_params.get(name)
            if value is not None:
                if not value.isdigit():
                    raise ValidationError({name: ["must be an integer id"]})
                queryset = queryset.filter(**{f"{name}_id": int(value)})
        return queryset

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = services.registry_create(self.account, self.actor, self.queryset.model,
                                            **serializer.validated_data)
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        instance = services.registry_update(self.account, self.actor, instance, **serializer.validated_data)
        return Response(self.get_serializer(instance).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.registry_delete(self.account, self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModelViewSet(RegistryViewSet):
    queryset = m.Model.objects.all()
    serializer_class = ModelSerializer

    def filter_account_queryset(self, queryset):
        model_type = self.request.query_params.get("model_type")
        if model_type is not None:
            if model_type not in m.ModelType.values:
                raise ValidationError({"model_type": [f"must be one of {', '.join(m.ModelType.values)}"]})
            queryset = queryset.filter(model_type=model_type)
        return queryset


def _range_params(request):
    """start/end as aware datetimes (RFC 3339 or dates); 400 naming the bad one."""
    values = {}
    for name in ("start", "end"):
        raw = request.query_params.get(name)
        if not raw:
            raise ValidationError({name: ["required (RFC 3339 timestamp or YYYY-MM-DD)"]})
        value = None
        try:
            if len(raw) == 10 and parse_date(raw):
                value = datetime.combine(parse_date(raw), datetime.min.time(), tzinfo=dt_timezone.utc)
            else:
                value = parse_datetime(raw)
        except ValueError:
            value = None
        if value is None:
            raise ValidationError({name: [f"'{raw[:40]}' is not an RFC 3339 timestamp or a date"]})
        if timezone.is_naive(value):
            raise ValidationError({name: ["needs a UTC offset, e.g. 2026-11-22T10:00:00+05:30"]})
        values[name] = value
    if values["end"] <= values["start"]:
        raise ValidationError({"end": ["must be after start"]})
    return values["start"], values["end"]


RANGE_PARAMS = [
    OpenApiParameter("start", str, required=True, description="RFC 3339 timestamp or date (inclusive)"),
    OpenApiParameter("end", str, required=True, description="RFC 3339 timestamp or date (exclusive)"),
]


class DeploymentViewSet(RegistryViewSet):
    queryset = m.Deployment.objects.select_related("model")
    serializer_class = DeploymentSerializer
    filter_fields = ("model",)

    @extend_schema(parameters=RANGE_PARAMS, responses=inline_serializer("DeploymentCredits", {
        "deployment": serializers.IntegerField(), "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(), "credits": serializers.DecimalField(max_digits=30, decimal_places=12),
    }))
    @action(detail=True, methods=["get"])
    def credits(self, request, pk=None):
        """Credits consumed over [start, end): replicas × hardware rate, integrated exactly."""
        deployment = self.get_object()
        start, end = _range_params(request)
        credits = services.deployment_credits(self.account, deployment, start, end)
        return Response({"deployment": deployment.pk, "start": start, "end": end, "credits": str(credits)})

    @extend_schema(parameters=RANGE_PARAMS, responses=inline_serializer("ReplicaSeries", {
        "deployment": serializers.IntegerField(), "max_replicas": serializers.IntegerField(),
        "points": inline_serializer("ReplicaPoint", {
            "at": serializers.DateTimeField(), "replicas": serializers.IntegerField(),
            "hardware": serializers.CharField(),
            "versions": serializers.ListField(child=serializers.CharField())}, many=True),
    }))
    @action(detail=True, methods=["get"])
    def replicas(self, request, pk=None):
        """The replica step series (hardware per step; "Multiple Hardware" when mixed)."""
        deployment = self.get_object()
        start, end = _range_params(request)
        points = services.replica_series(self.account, deployment, start, end)
        return Response({"deployment": deployment.pk, "max_replicas": deployment.max_replicas, "points": points})


class DeploymentVersionViewSet(RegistryViewSet):
    queryset = m.DeploymentVersion.objects.all()
    serializer_class = DeploymentVersionSerializer
    filter_fields = ("deployment",)


class ConnectionViewSet(RegistryViewSet):
    queryset = m.Connection.objects.all()
    serializer_class = ConnectionSerializer


class ReplicaEventViewSet(RegistryViewSet):
    queryset = m.ReplicaEvent.objects.all()
    serializer_class = ReplicaEventSerializer
    filter_fields = ("deployment",)


class HardwareRateViewSet(RegistryViewSet):
    queryset = m.HardwareRate.objects.all()
    serializer_class = HardwareRateSerializer


class FineTuneJobViewSet(RegistryViewSet):
    queryset = m.FineTuneJob.objects.select_related("model")
    serializer_class = FineTuneJobSerializer
    filter_fields = ("model",)


class CreditChargeViewSet(RegistryViewSet):
    queryset = m.CreditCharge.objects.all()
    serializer_class = CreditChargeSerializer


class ModelPriceViewSet(RegistryViewSet):
    queryset = m.ModelPrice.objects.all()
    serializer_class = ModelPriceSerializer
    filter_fields = ("model",)
