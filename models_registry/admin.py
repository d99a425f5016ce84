from django.contrib import admin

from accounts.admin_base import OperatorAdmin
from models_registry import models as m


@admin.register(m.Model)
class ModelAdmin(OperatorAdmin):
    list_display = ["name", "account", "model_type", "base_model", "provider", "created_at"]
    list_filter = ["model_type", "account"]
    search_fields = ["name", "base_model", "provider"]


@admin.register(m.Deployment)
class DeploymentAdmin(OperatorAdmin):
    list_display = ["name", "model", "account", "hardware", "max_replicas", "deployed_at", "undeployed_at"]
    list_filter = ["account", "hardware"]
    search_fields = ["name", "model__name"]


@admin.register(m.DeploymentVersion)
class DeploymentVersionAdmin(OperatorAdmin):
    list_display = ["version", "deployment", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["version", "deployment__name", "account__slug"]


@admin.register(m.Connection)
class ConnectionAdmin(OperatorAdmin):
    list_display = ["name", "provider", "account"]
    list_filter = ["provider", "account"]
    search_fields = ["name", "provider", "account__slug"]


@admin.register(m.ReplicaEvent)
class ReplicaEventAdmin(OperatorAdmin):
    list_display = ["deployment", "version", "at", "replicas", "hardware", "account"]
    list_filter = ["account", "hardware"]
    search_fields = ["deployment__name", "hardware", "account__slug"]


@admin.register(m.HardwareRate)
class HardwareRateAdmin(OperatorAdmin):
    list_display = ["hardware", "credits_per_replica_hour", "effective_from", "account"]
    list_filter = ["account"]
    search_fields = ["hardware", "account__slug"]


@admin.register(m.FineTuneJob)
class FineTuneJobAdmin(OperatorAdmin):
    list_display = ["external_id", "model", "status", "started_at", "finished_at", "credits", "account"]
    list_filter = ["status", "account"]
    search_fields = ["external_id", "model__name", "account__slug"]


@admin.register(m.CreditCharge)
class CreditChargeAdmin(OperatorAdmin):
    list_display = ["kind", "credits", "at", "deployment", "fine_tune_job", "account"]
    list_filter = ["kind", "account"]
    search_fields = ["description", "external_id", "account__slug"]


@admin.register(m.ModelPrice)
class ModelPriceAdmin(OperatorAdmin):
    list_display = ["model", "input_per_million_usd", "output_per_million_usd", "effective_from", "account"]
    list_filter = ["account"]
    search_fields = ["model__name", "account__slug"]
