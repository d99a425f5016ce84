from rest_framework.routers import SimpleRouter

from outbox import api

router = SimpleRouter(trailing_slash=False)
router.register("outbox", api.OutboxMessageViewSet, basename="outbox-message")

urlpatterns = router.urls
