from rest_framework.routers import SimpleRouter

from budgets import api

router = SimpleRouter(trailing_slash=False)
router.register("budgets", api.BudgetViewSet, basename="budget")

urlpatterns = router.urls
