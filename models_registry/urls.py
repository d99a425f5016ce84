from rest_framework.routers import SimpleRouter

from models_registry import api

router = SimpleRouter(trailing_slash=False)
router.register("models", api.ModelViewSet, basename="model")
router.register("deployments", api.DeploymentViewSet, basename="deployment")
router.register("deployment-versions", api.DeploymentVersionViewSet, basename="deployment-version")
router.register("connections", api.ConnectionViewSet, basename="connection")
router.register("replica-events", api.ReplicaEventViewSet, basename="replica-event")
router.register("hardware-rates", api.HardwareRateViewSet, basename="hardware-rate")
router.register("fine-tuning-jobs", api.FineTuneJobViewSet, basename="fine-tuning-job")
router.register("credit-charges", api.CreditChargeViewSet, basename="credit-charge")
router.register("model-prices", api.ModelPriceViewSet, basename="model-price")

urlpatterns = router.urls
