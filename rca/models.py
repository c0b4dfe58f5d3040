"""RCA documents (Statux 000 `Rca`): the document, its history, linked incidents, action items, AI drafts."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from analyses.models import Incident, ProviderChainEvent
from statux.models import User
from statux.tenancy import TenantModel


class RcaStatus(models.TextChoices):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"


NEXT_STATUSES = {  # forward one step at a time; back to draft from anywhere, to revise
    "draft": {"in_review"},
    "in_review": {"published", "draft"},
    "published": {"draft"},
}


class GenerationStatus(models.TextChoices):
    IDLE = "idle"  # never asked
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


GENERATION_IN_FLIGHT = [GenerationStatus.PENDING, GenerationStatus.PROCESSING]

# The fields an AI draft writes; a person's edit of one protects it from the next draft.
DRAFT_FIELDS = ("summary", "root_cause", "impact", "timeline")


class Rca(TenantModel):
    """A root-cause-analysis document. Text fields are Markdown."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=RcaStatus.choices, default=RcaStatus.DRAFT)
    summary = models.TextField(blank=True, default="")
    root_cause = models.TextField(blank=True, default="")
    impact = models.TextField(blank=True, default="")
    timeline = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_label = models.CharField(
        max_length=200, blank=True, default=""
    )  # email, "apikey:…", "system:…"
    published_at = models.DateTimeField(null=True, blank=True)
    # Which of DRAFT_FIELDS a person wrote since the last generation: the next draft leaves those alone.
    edited_fields = models.JSONField(default=list, blank=True)
    generation_status = models.CharField(
        max_length=16, choices=GenerationStatus.choices, default=GenerationStatus.IDLE
    )
    generation_error = models.TextField(blank=True, default="")
    generation_requested_at = models.DateTimeField(null=True, blank=True)
    generation_started_at = models.DateTimeField(null=True, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    generation_provider = models.CharField(max_length=32, blank=True, default="")
    generation_model = models.CharField(max_length=200, blank=True, default="")
    generation_input_tokens = models.PositiveIntegerField(default=0)
    generation_output_tokens = models.PositiveIntegerField(default=0)
    # Fields the last draft proposed text for but left alone (a person had edited them).
    generation_skipped_fields = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "RCA"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RcaStatus.values), name="rca_status_valid"),
            models.CheckConstraint(
                condition=Q(generation_status__in=GenerationStatus.values), name="rca_generation_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="rca_org_created"),
            models.Index(fields=["organization", "-updated_at"], name="rca_org_updated"),
            models.Index(fields=["organization", "status", "-created_at"], name="rca_org_status"),
            models.Index(fields=["organization", "created_by", "-created_at"], name="rca_org_creator"),
            models.Index(fields=["organization", "created_by_label"], name="rca_org_creator_label"),
            models.Index(fields=["organization", "title"], name="rca_org_title"),
            models.Index(fields=["organization", "published_at"], name="rca_org_published"),
            models.Index(
                fields=["generation_status", "generation_requested_at"], name="rca_generation_watch"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def can_move_to(self, status: str) -> bool:
        return status in NEXT_STATUSES[self.status]


class RevisionSource(models.TextChoices):
    PERSON = "person"
    GENERATION = "generation"


class RcaRevision(TenantModel):
    """One change (or refused proposal) of one text field: the previous text is never lost.

    `applied` is False for a draft's proposal that was not written because a person had edited the
    field; `new_text` then holds the proposal and the field keeps the person's text.
    """

    rca = models.ForeignKey(Rca, on_delete=models.CASCADE, related_name="revisions")
    field = models.CharField(max_length=32)
    previous_text = models.TextField(blank=True, default="")
    new_text = models.TextField(blank=True, default="")
    source = models.CharField(max_length=16, choices=RevisionSource.choices)
    applied = models.BooleanField(default=True)
    actor = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["rca", "created_at"], name="rca_revision_rca")]

    def __str__(self) -> str:
        return f"{self.rca_id} {self.field} ({self.source})"


class RcaGenerationEvent(ProviderChainEvent):
    """A line of a draft's generation log: queued, started, each provider-chain step, completed/failed."""

    rca = models.ForeignKey(Rca, on_delete=models.CASCADE, related_name="generation_events")
    event_type = models.CharField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["rca", "created_at"], name="rca_generation_event_rca")]

    def __str__(self) -> str:
        return f"{self.rca_id} {self.event_type}"


class IncidentProduct(models.TextChoices):
    STATUX = "statux"  # this platform's own incidents (a local Incident row)
    ALERTING = "alerting"
    STATUSPAGES = "statuspages"
    SYNTHETICS = "synthetics"


EXTERNAL_PRODUCTS = [IncidentProduct.ALERTING, IncidentProduct.STATUSPAGES, IncidentProduct.SYNTHETICS]


class RcaIncidentLink(TenantModel):
    """An incident the RCA is about: a local incident, or a reference to another product's incident.

    `external_id` holds the local incident's id too, so one constraint refuses every duplicate.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rca = models.ForeignKey(Rca, on_delete=models.CASCADE, related_name="incident_links")
    product = models.CharField(max_length=16, choices=IncidentProduct.choices)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="rca_links"
    )
    external_id = models.CharField(max_length=200)
    title = models.CharField(max_length=500, blank=True, default="")
    url = models.URLField(max_length=1000, blank=True, default="")
    linked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    linked_by_label = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rca", "product", "external_id"], name="rca_link_one_per_incident"
            ),
            models.CheckConstraint(
                condition=Q(product=IncidentProduct.STATUX, incident__isnull=False)
                | Q(~Q(product=IncidentProduct.STATUX), incident__isnull=True),
                name="rca_link_local_has_incident",
            ),
        ]
        indexes = [
            models.Index(fields=["rca", "created_at"], name="rca_link_rca"),
            models.Index(fields=["organization", "incident"], name="rca_link_org_incident"),
        ]

    def __str__(self) -> str:
        return f"{self.product}:{self.external_id}"


class ActionItemStatus(models.TextChoices):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class ActionItemPriority(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class RcaActionItem(TenantModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rca = models.ForeignKey(Rca, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="")
    assignee = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN)
    priority = models.CharField(
        max_length=16, choices=ActionItemPriority.choices, default=ActionItemPriority.MEDIUM
    )
    due_date = models.DateField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)  # set on done, cleared when reopened
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_label = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ActionItemStatus.values), name="rca_action_item_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=ActionItemPriority.values), name="rca_action_item_priority_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["rca", "created_at"], name="rca_action_item_rca"),
            models.Index(fields=["organization", "status", "due_date"], name="rca_action_item_org_status"),
            models.Index(fields=["organization", "assignee", "status"], name="rca_action_item_assignee"),
        ]

    def __str__(self) -> str:
        return self.title

    def apply_status(self, status: str) -> None:
        """Set the status; `completed_at` follows it (set when done, cleared otherwise)."""
        if status == ActionItemStatus.DONE and self.status != ActionItemStatus.DONE:
            self.completed_at = timezone.now()
        elif status != ActionItemStatus.DONE:
            self.completed_at = None
        self.status = status
