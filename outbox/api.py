"""GET /api/v1/outbox: what the local outbox received for the account (read scope; admins in a session)."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, mixins, permissions, serializers

from accounts.models import Role
from accounts.pagination import CappedLimitOffsetPagination
from accounts.scoping import AccountScopedViewSet
from outbox.models import OutboxMessage
from outbox.selectors import message_bodies, message_html_inline, message_parts


class OutboxPagination(CappedLimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class AdminsInSession(permissions.BasePermission):
    """Mail shows invitation links and reports: admins and owners read it; keys need `read`."""

    def has_permission(self, request, view):
        membership = getattr(view, "membership", None)
        if membership is not None and not Role.at_least(membership.role, Role.ADMIN):
            raise exceptions.PermissionDenied("This needs the admin role or higher.")
        return True


class OutboxMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutboxMessage
        fields = ["id", "received_at", "sender", "recipients", "subject", "size"]
        read_only_fields = fields


class OutboxPartSerializer(serializers.Serializer):
    content_id = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()


class OutboxMessageDetailSerializer(OutboxMessageSerializer):
    text = serializers.SerializerMethodField()
    html = serializers.SerializerMethodField(help_text="The HTML body with its cid: images inlined as data: URIs.")
    parts = serializers.SerializerMethodField()

    class Meta(OutboxMessageSerializer.Meta):
        fields = [*OutboxMessageSerializer.Meta.fields, "text", "html", "parts"]
        read_only_fields = fields

    def get_text(self, obj) -> str:
        return message_bodies(obj)[0]

    def get_html(self, obj) -> str:
        return message_html_inline(obj)

    @staticmethod
    def _parts(obj):
        return [{"content_id": cid, "content_type": p.content_type, "size": len(p.data)}
                for cid, p in message_parts(obj).items()]

    @extend_schema_field(OutboxPartSerializer(many=True))
    def get_parts(self, obj):
        return OutboxPartSerializer(self._parts(obj), many=True).data


class OutboxMessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Mail the local outbox received for this account, newest first."""

    queryset = OutboxMessage.objects.all()

    def filter_account_queryset(self, queryset):
        return queryset if self.action == "retrieve" else queryset.defer("raw")
    pagination_class = OutboxPagination
    extra_permission_classes = [AdminsInSession]

    def get_serializer_class(self):
        return OutboxMessageDetailSerializer if self.action == "retrieve" else OutboxMessageSerializer
