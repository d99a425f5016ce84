from django.contrib import admin

from models_registry import models as m


@admin.register(m.Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "model_type", "base_model", "provider", "created_at"]
    list_filter = ["model_type", "account"]
    search_fields = ["name", "base_model", "provider"]


@admin.register(m.Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["name", "model", "account", "hardware", "max_replicas", "deployed_at", "undeployed_at"]
    list_filter = ["account", "hardware"]
    search_fields = ["name", "model__name"]


@admin.register(m.DeploymentVersion)
class DeploymentVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "deployment", "account", "created_at"]
    list_filter = ["account"]


@admin.register(m.Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "account"]
    list_filter = ["provider", "account"]


@admin.register(m.ReplicaEvent)
class ReplicaEventAdmin(admin.ModelAdmin):
    list_display = ["deployment", "version", "at", "replicas", "hardware", "account"]
    list_filter = ["account", "hardware"]


@admin.register(m.HardwareRate)
class HardwareRateAdmin(admin.ModelAdmin):
    list_display = ["hardware", "credits_per_replica_hour", "effective_from", "account"]
    list_filter = ["account"]


@admin.register(m.FineTuneJob)
class FineTuneJobAdmin(admin.ModelAdmin):
    list_display = ["external_id", "model", "status", "started_at", "finished_at", "credits", "account"]
    list_filter = ["status", "account"]


@admin.register(m.CreditCharge)
class CreditChargeAdmin(admin.ModelAdmin):
    list_display = ["kind", "credits", "at", "deployment", "fine_tune_job", "account"]
    list_filter = ["kind", "account"]


@admin.register(m.ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ["model", "input_per_million_usd", "output_per_million_usd", "effective_from", "account"]
    list_filter = ["account"]
