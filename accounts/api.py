from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import services
from accounts.models import Account, ApiKey, ApiKeyScope, AuditEvent, Membership, Role
from accounts.scoping import AccountScopedAPIView, AccountScopedViewSet


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["slug", "name", "timezone", "retention_days", "store_text", "created_at"]
        read_only_fields = ["slug", "created_at"]


class AccountView(AccountScopedAPIView):
    """The current account and its settings (T6). Admins change settings."""

    serializer_class = AccountSerializer

    def get(self, request):
        return Response(AccountSerializer(self.account).data)

    @extend_schema(request=AccountSerializer)
    def patch(self, request):
        serializer = AccountSerializer(self.account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account = services.account_update_settings(self.account, self.actor, **serializer.validated_data)
        return Response(AccountSerializer(account).data)


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "created_at"]
        read_only_fields = ["id", "email", "created_at"]


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Members and roles (T1, T2). Admins invite, change roles and remove."""

    queryset = Membership.objects.select_related("user")
    serializer_class = MembershipSerializer

    @extend_schema(request=InviteSerializer, responses={201: MembershipSerializer})
    def create(self, request):
        data = InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership, _ = services.membership_invite(self.account, self.actor, **data.validated_data)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        membership = self.get_object()
        serializer = MembershipSerializer(membership, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            self.account, self.actor, membership, role=serializer.validated_data.get("role", membership.role)
        )
        return Response(MembershipSerializer(membership).data)

    def destroy(self, request, pk=None):
        services.membership_remove(self.account, self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices), min_length=1)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key itself. Shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """API keys (T3): created by admins, shown once, revocable."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, plaintext = services.api_key_create(self.account, self.actor, **data.validated_data)
        body = ApiKeySerializer(key).data | {"key": plaintext}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = services.api_key_revoke(self.account, self.actor, self.get_object())
        return Response(ApiKeySerializer(key).data)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "target_type", "target_id", "details"]
        read_only_fields = fields


class AuditEventViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    """The account's audit log (T7), newest first."""

    queryset = AuditEvent.objects.select_related("actor_user", "actor_key")
    serializer_class = AuditEventSerializer

    def filter_account_queryset(self, queryset):
        action_name = self.request.query_params.get("action")
        return queryset.filter(action=action_name) if action_name else queryset
