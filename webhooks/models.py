import uuid

from django.db import models
from django.db.models import Q

from statux.ids import new_public_id
from statux.models import User
from statux.tenancy import TenantModel


class SourceProduct(models.TextChoices):
    ALERTING = "alerting"
    SYNTHETICS = "synthetics"
    EXTERNAL = "external"


class WebhookConfig(TenantModel):
    """How one alert source posts to `POST /api/v1/webhooks/ingest/{apiKey}` (an `ins_…` key)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    source_product = models.CharField(
        max_length=32, choices=SourceProduct.choices, default=SourceProduct.ALERTING
    )
    normalizer = models.CharField(max_length=64, default="webhook")  # a name in the alert_sources registry
    key_prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    # The HMAC secret must be readable to verify signatures; it is never returned by the API.
    secret = models.CharField(max_length=200, blank=True, default="")
    enabled = models.BooleanField(default=True)
    last_received_at = models.DateTimeField(null=True, blank=True)
    received_count = models.PositiveBigIntegerField(default=0)
    rejected_count = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="webhook_config_org_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"


class InboundChannel(models.TextChoices):
    STATUX_INGEST = "statux_ingest"
    AISRE_WEBHOOK = "aisre_webhook"
    AIOPS_ALERTS = "aiops_alerts"
    PAGERDUTY = "pagerduty"


class InboundStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSED = "processed"
    DEAD = "dead"


class InboundEvent(TenantModel):
    """A raw request body as it arrived, stored before any processing so nothing acknowledged is lost.

    Processing that keeps failing ends here with status `dead` (the dead-letter store) and can be replayed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(max_length=32, choices=InboundChannel.choices)
    source = models.CharField(max_length=64)
    webhook_config = models.ForeignKey(
        WebhookConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    body = models.TextField()
    status = models.CharField(max_length=16, choices=InboundStatus.choices, default=InboundStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    result = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    dead_lettered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "status", "-created_at"], name="inbound_org_status"),
            models.Index(
                fields=["status", "created_at"], name="inbound_pending", condition=Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.source} {self.status} {self.created_at:%Y-%m-%d %H:%M:%S}"


def new_deploy_id() -> str:
    return new_public_id("deploy")


class DeployEvent(TenantModel):
    id = models.CharField(primary_key=True, max_length=24, default=new_deploy_id, editable=False)
    service = models.CharField(max_length=200)
    namespace = models.CharField(max_length=200, blank=True, default="")
    environment = models.CharField(max_length=100, blank=True, default="")
    image = models.CharField(max_length=500, blank=True, default="")
    actor = models.CharField(max_length=200, blank=True, default="")
    commit_sha = models.CharField(max_length=100, blank=True, default="")
    deployed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-deployed_at"], name="deploy_org_time"),
            models.Index(fields=["organization", "service", "-deployed_at"], name="deploy_org_service"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.service} {self.image}"
