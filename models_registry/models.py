from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.localtime import local_text
from accounts.models import AccountOwned

NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class ModelType(models.TextChoices):
    FINE_TUNED = "fine_tuned", "Fine-tuned"
    OPEN_SOURCE = "open_source", "Open-source"
    EXTERNAL = "external", "External"


class Model(AccountOwned):
    name = models.CharField(max_length=200)
    model_type = models.CharField(max_length=16, choices=ModelType.choices, default=ModelType.EXTERNAL)
    base_model = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="model_account_name_uniq")]

    def __str__(self):
        return self.name

    @property
    def is_hosted(self) -> bool:
        return self.model_type != ModelType.EXTERNAL


class Deployment(AccountOwned):
    """A hosted model running on hardware. Re-deploying the same name makes a new row;
    the deployment timestamp tells them apart (seed 001)."""

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="deployments")
    name = models.CharField(max_length=200)
    hardware = models.CharField(max_length=100, blank=True)
    max_replicas = models.PositiveIntegerField(default=1, validators=[MaxValueValidator(10_000)])
    deployed_at = models.DateTimeField()
    undeployed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["model__name", "name", "-deployed_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "model", "name", "deployed_at"], name="deployment_uniq"),
            models.CheckConstraint(
                condition=models.Q(undeployed_at__isnull=True) | models.Q(undeployed_at__gte=models.F("deployed_at")),
                name="deployment_undeployed_after_deployed",
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return self.label_in(self.account.tzinfo)

    def label_in(self, tzinfo) -> str:
        """Name and deployment time in the account's timezone, zone shown (001: names that repeat)."""
        return f"{self.name} (deployed {local_text(self.deployed_at, tzinfo)})"


class DeploymentVersion(AccountOwned):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment", "version"]
        constraints = [
            models.UniqueConstraint(fields=["account", "deployment", "version"], name="deployment_version_uniq")
        ]

    def __str__(self):
        return f"{self.deployment.name} {self.version}"


class Connection(AccountOwned):
    """An integration with an external provider (OpenAI, Anthropic …)."""

    name = models.CharField(max_length=200)
    provider = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="connection_account_name_uniq")]

    def __str__(self):
        return self.name


class ReplicaEvent(AccountOwned):
    """From `at` on, `replicas` replicas of `hardware` run for this deployment (version)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="replica_events")
    version = models.ForeignKey(DeploymentVersion, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="replica_events")
    at = models.DateTimeField()
    replicas = models.PositiveIntegerField(validators=[MaxValueValidator(10_000)])
    hardware = models.CharField(max_length=100)

    class Meta:
        ordering = ["deployment", "at"]
        indexes = [models.Index(fields=["account", "deployment", "at"], name="replica_event_account_dep_at")]
        constraints = [
            # Re-sent scaling events are duplicates, not new steps (I4).
            models.UniqueConstraint(fields=["account", "deployment", "version", "at"], nulls_distinct=False,
                                    name="replica_event_uniq"),
        ]

    def __str__(self):
        return f"{self.deployment.name} {self.replicas}× {self.hardware} @ {local_text(self.at, self.account.tzinfo)}"


class HardwareRate(AccountOwned):
    hardware = models.CharField(max_length=100)
    credits_per_replica_hour = models.DecimalField(max_digits=14, decimal_places=6, validators=NON_NEGATIVE)
    effective_from = models.DateTimeField()

    class Meta:
        ordering = ["hardware", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["account", "hardware", "effective_from"], name="hardware_rate_uniq")
        ]

    def __str__(self):
        return f"{self.hardware}: {self.credits_per_replica_hour}/replica-hour from {self.effective_from:%Y-%m-%d}"


class FineTuneJob(AccountOwned):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="fine_tune_jobs")
    external_id = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUCCEEDED)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    credits = models.DecimalField(max_digits=16, decimal_places=6, default=0, validators=NON_NEGATIVE)

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="fine_tune_job_uniq")]

    def __str__(self):
        return f"{self.external_id} ({self.model.name})"


class CreditCharge(AccountOwned):
    class Kind(models.TextChoices):
        DEPLOYMENT = "deployment"
        FINE_TUNING = "fine_tuning"
        OTHER = "other"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    credits = models.DecimalField(max_digits=16, decimal_places=6, validators=NON_NEGATIVE)
    at = models.DateTimeField()
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.SET_NULL)
    fine_tune_job = models.ForeignKey(FineTuneJob, null=True, blank=True, on_delete=models.SET_NULL)
    description = models.CharField(max_length=300, blank=True)
    external_id = models.CharField(max_length=128, null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="credit_charge_uniq")]
        indexes = [models.Index(fields=["account", "at"], name="credit_charge_account_at")]

    def __str__(self):
        return f"{self.kind} {self.credits} @ {self.at:%Y-%m-%d}"


class ModelPrice(AccountOwned):
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="prices")
    input_per_million_usd = models.DecimalField(max_digits=14, decimal_places=6, validators=NON_NEGATIVE)
    output_per_million_usd = models.DecimalField(max_digits=14, decimal_places=6, validators=NON_NEGATIVE)
    effective_from = models.DateTimeField()

    class Meta:
        ordering = ["model", "effective_from"]
        constraints = [models.UniqueConstraint(fields=["account", "model", "effective_from"], name="model_price_uniq")]

    def __str__(self):
        return f"{self.model.name}: ${self.input_per_million_usd}/${self.output_per_million_usd} per 1M"
