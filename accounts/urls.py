from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import api

router = SimpleRouter(trailing_slash=False)
router.register("members", api.MembershipViewSet, basename="member")
router.register("api-keys", api.ApiKeyViewSet, basename="api-key")
router.register("audit-log", api.AuditEventViewSet, basename="audit-event")

urlpatterns = [path("account", api.AccountView.as_view(), name="account"), *router.urls]
