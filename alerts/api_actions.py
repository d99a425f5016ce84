"""Actions on alerts (L8) in the API: one action per rule, sent as a signed action webhook."""
from rest_framework import mixins, serializers, status
from accounts.pagination import CappedLimitOffsetPagination
from rest_framework.response import Response

from accounts.models import Role
from accounts.scoping import AccountScopedViewSet
from accounts.serializers_base import AccountRelatedField
from alerts import models as am
from alerts.services import actions as services
from models_registry.models import Deployment, DeploymentVersion, Model


class RuleActionSerializer(serializers.ModelSerializer):
    rule = AccountRelatedField(queryset=am.AlertRule.objects.all(), help_text="The rule (fixed once created).")
    channel = AccountRelatedField(queryset=am.Channel.objects.all(),
                                  help_text="A webhook channel: its URL receives the action, signed with its secret "
                                            "(X-Signature, as notifications).")
    deployment = AccountRelatedField(queryset=Deployment.objects.all(), required=False, allow_null=True,
                                     help_text="Scale and roll back: the deployment (required).")
    version = AccountRelatedField(queryset=DeploymentVersion.objects.all(), required=False, allow_null=True,
                                  help_text="Roll back: a version of the deployment; empty: the one that ran before "
                                            "the running version, found when the rule fires.")
    model = AccountRelatedField(queryset=Model.objects.all(), required=False, allow_null=True,
                                help_text="Switch: the model to switch to (required).")

    class Meta:
        model = am.RuleAction
        fields = ["id", "rule", "kind", "channel", "deployment", "version", "model", "replicas", "on_fired",
                  "on_resolved", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class ActionPagination(CappedLimitOffsetPagination):
    max_limit = 200


class RuleActionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """What a rule asks an automation to do when it fires or resolves: scale a deployment up or down,
    roll it back to the previous version, or switch to another model. Sent once per configured
    transition as a signed webhook (`X-ModelPulse-Kind: action`); the sends are deliveries of
    purpose `action` on the event. ModelPulse itself changes nothing."""

    queryset = am.RuleAction.objects.select_related("rule", "channel", "deployment", "version", "model")
    serializer_class = RuleActionSerializer
    pagination_class = ActionPagination
    write_role = Role.MEMBER

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action = services.rule_action_create(self.account, self.actor, **serializer.validated_data)
        return Response(self.get_serializer(action).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        action = self.get_object()
        serializer = self.get_serializer(action, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        action = services.rule_action_update(self.account, self.actor, action, **serializer.validated_data)
        return Response(self.get_serializer(action).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.rule_action_delete(self.account, self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
