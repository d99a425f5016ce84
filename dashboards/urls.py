from rest_framework.routers import SimpleRouter

from dashboards import api

router = SimpleRouter(trailing_slash=False)
# Widgets first: "dashboards/widgets" must not read as a dashboard id (ids are digits anyway).
router.register("dashboards/widgets", api.WidgetViewSet, basename="dashboard-widget")
router.register("dashboards", api.DashboardViewSet, basename="dashboard")

urlpatterns = router.urls
