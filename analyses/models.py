import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from statux.ids import new_public_id
from statux.models import Severity, User
from statux.tenancy import TenantModel


class IncidentStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_STATUSES = ["open", "acknowledged", "investigating"]
NEXT_STATUSES = {  # forward moves may skip steps; resolved may reopen; closed is final
    "open": {"acknowledged", "investigating", "resolved", "closed"},
    "acknowledged": {"investigating", "resolved", "closed"},
    "investigating": {"resolved", "closed"},
    "resolved": {"closed", "open"},
    "closed": set(),
}


def new_incident_id() -> str:
    return new_public_id("inc")


class Incident(TenantModel):
    """One problem, however many alerts reported it. The same id on every API surface."""

    id = models.CharField(primary_key=True, max_length=24, default=new_incident_id, editable=False)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    source = models.CharField(max_length=64, blank=True, default="")
    service = models.CharField(max_length=200, blank=True, default="")
    namespace = models.CharField(max_length=200, blank=True, default="")
    pod = models.CharField(max_length=300, blank=True, default="")
    deployment = models.CharField(max_length=200, blank=True, default="")
    fingerprint = models.CharField(max_length=128)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=200, blank=True, default="")  # e.g. the PagerDuty incident id
    rule_id = models.CharField(max_length=200, blank=True, default="")
    rule_name = models.CharField(max_length=300, blank=True, default="")
    metric = models.CharField(max_length=300, blank=True, default="")
    threshold = models.FloatField(null=True, blank=True)
    actual_value = models.FloatField(null=True, blank=True)
    alert_count = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(null=True, blank=True)  # the source's own start time
    last_seen_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    correlation_reason = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(  # the race-safe half of dedup
                fields=["organization", "fingerprint"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="incident_one_active_per_fingerprint",
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="incident_severity_valid"),
            models.CheckConstraint(
                condition=Q(status__in=IncidentStatus.values), name="incident_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="incident_org_created"),
            models.Index(fields=["organization", "status", "-created_at"], name="incident_org_status"),
            models.Index(fields=["organization", "severity", "-created_at"], name="incident_org_severity"),
            models.Index(fields=["organization", "rule_id", "-created_at"], name="incident_org_rule"),
            models.Index(fields=["organization", "service", "-created_at"], name="incident_org_service"),
            models.Index(fields=["organization", "external_id"], name="incident_org_external"),
            models.Index(
                fields=["organization", "fingerprint", "-created_at"], name="incident_org_fingerprint"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def can_move_to(self, status: str) -> bool:
        return status in NEXT_STATUSES[self.status]


class IncidentEventType(models.TextChoices):
    ALERT_RECEIVED = "alert_received"
    INCIDENT_CREATED = "incident_created"
    DEDUPLICATED = "deduplicated"
    GROUPED = "grouped"
    STATUS_CHANGED = "status_changed"
    ALERT_RESOLVED = "alert_resolved"
    NOTE_ADDED = "note_added"
    EXTERNAL_UPDATE = "external_update"


class IncidentEvent(TenantModel):
    """The incident's timeline: every alert, every state change, every note."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=64)
    actor = models.CharField(max_length=200, default="system")
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["incident", "created_at"], name="incident_event_timeline"),
            models.Index(
                fields=["organization", "event_type", "-created_at"], name="incident_event_org_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.event_type}"


class IncidentNote(TenantModel):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author = models.CharField(max_length=200)  # email, or "apikey:…" for keys
    content = models.TextField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["incident", "created_at"], name="incident_note_incident")]

    def __str__(self) -> str:
        return f"Note on {self.incident_id} by {self.author}"


def new_anomaly_id() -> str:
    return new_public_id("anom")


class Anomaly(TenantModel):
    """An alert rate that stands out from the service's own trailing baseline (AIops)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_anomaly_id, editable=False)
    service_id = models.CharField(max_length=200, blank=True, default="")
    metric_name = models.CharField(max_length=300)
    anomaly_score = models.FloatField()
    z_score = models.FloatField()
    detected_at = models.DateTimeField(default=timezone.now)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="anomalies"
    )

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-detected_at"], name="anomaly_org_detected"),
            models.Index(fields=["organization", "service_id", "-detected_at"], name="anomaly_org_service"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.service_id} {self.metric_name}"

    @property
    def rca_triggered(self) -> bool:
        return self.incident_id is not None

    @property
    def resolved(self) -> bool:
        return self.incident is not None and self.incident.status in ("resolved", "closed")


def new_knowledge_base_id() -> str:
    return new_public_id("kb")


class KnowledgeBaseEntry(TenantModel):
    """A human-written resolution: the incident memory that similarity search and diagnosis read."""

    id = models.CharField(primary_key=True, max_length=24, default=new_knowledge_base_id, editable=False)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="resolutions"
    )
    incident_ref = models.CharField(
        max_length=100, blank=True, default=""
    )  # the id as sent (inc-… or anom-…)
    service_id = models.CharField(max_length=200, blank=True, default="")
    resolution = models.TextField()
    resolved_by = models.CharField(max_length=200, blank=True, default="")
    time_to_recovery_minutes = models.FloatField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "knowledge base entries"
        indexes = [models.Index(fields=["organization", "service_id", "-created_at"], name="kb_org_service")]

    def __str__(self) -> str:
        return f"{self.id} {self.service_id}"


class AnalysisStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


ANALYSIS_STATUSES_IN_FLIGHT = [AnalysisStatus.PENDING, AnalysisStatus.PROCESSING]


class AnalysisTrigger(models.TextChoices):
    AUTO = "auto"  # a new incident at or above the organization's minimum severity
    MANUAL = "manual"  # a person or API client asked (insights POST, diagnosis, console)


class SourceProduct(models.TextChoices):
    ALERTING = "alerting"
    SYNTHETICS = "synthetics"


class Analysis(TenantModel):
    """One explanation of one incident ("insight" on the Statux surface, "diagnosis" on AI-SRE)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="analyses")
    status = models.CharField(max_length=16, choices=AnalysisStatus.choices, default=AnalysisStatus.PENDING)
    trigger = models.CharField(max_length=16, choices=AnalysisTrigger.choices, default=AnalysisTrigger.MANUAL)
    requested_by = models.CharField(max_length=200, blank=True, default="")  # email, "apikey:…", "system"
    source_product = models.CharField(
        max_length=16, choices=SourceProduct.choices, default=SourceProduct.ALERTING
    )
    summary = models.TextField(blank=True, default="")
    root_cause = models.TextField(blank=True, default="")
    recommendations = models.JSONField(default=list, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True, default="")
    confidence = models.FloatField(null=True, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    suggested_actions = models.JSONField(default=list, blank=True)  # catalog actions only; verdicts at read
    signatures = models.JSONField(default=list, blank=True)  # [{"key", "title", "score", "evidence"}]
    matched_playbooks = models.JSONField(default=list, blank=True)
    # What the analysis looked at, for the diagnosis answer: k8s_context, log_lines, deploy_correlation,
    # similar_incidents, and where a source was unavailable, why.
    context = models.JSONField(default=dict, blank=True)
    context_hash = models.CharField(max_length=64, blank=True, default="")
    provider = models.CharField(max_length=32, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_hit = models.BooleanField(default=False)
    budget_limited = models.BooleanField(default=False)  # paid providers skipped: the budget is spent
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    processing_ms = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "analyses"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AnalysisStatus.values), name="analysis_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="analysis_org_created"),
            models.Index(fields=["organization", "status", "-created_at"], name="analysis_org_status"),
            models.Index(fields=["organization", "severity", "-created_at"], name="analysis_org_severity"),
            models.Index(
                fields=["organization", "source_product", "-created_at"], name="analysis_org_product"
            ),
            models.Index(fields=["incident", "-created_at"], name="analysis_incident_created"),
            models.Index(fields=["status", "created_at"], name="analysis_status_created"),  # the watchdog
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status}"

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class AnalysisEventType(models.TextChoices):
    QUEUED = "queued"
    STARTED = "started"
    CONTEXT_BUILT = "context_built"
    PRE_ANALYSIS = "pre_analysis"
    CACHE_HIT = "cache_hit"
    BUDGET_LIMITED = "budget_limited"
    PROVIDER_CALLED = "provider_called"
    PROVIDER_FAILED = "provider_failed"
    FALLBACK = "fallback"
    COMPLETED = "completed"
    FAILED = "failed"
    REQUEUED = "requeued"


class ProviderChainEvent(TenantModel):
    """A step of work done through the provider chain: who was asked, what it cost, what went wrong."""

    provider = models.CharField(max_length=32, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class AnalysisEvent(ProviderChainEvent):
    """An audit line of one analysis."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=32, choices=AnalysisEventType.choices)

    class Meta:
        indexes = [models.Index(fields=["analysis", "created_at"], name="analysis_event_analysis")]

    def __str__(self) -> str:
        return f"{self.analysis_id} {self.event_type}"


class AnalysisCacheEntry(TenantModel):
    """A diagnosis reusable for an identical incident context until `expires_at`."""

    context_hash = models.CharField(max_length=64)
    result = models.JSONField()  # {"diagnosis": {...}, "provider", "model"}
    provider = models.CharField(max_length=32, blank=True, default="")
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "analysis cache entries"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "context_hash"], name="analysis_cache_one_per_hash"
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="analysis_cache_expiry")]

    def __str__(self) -> str:
        return f"{self.context_hash[:12]} ({self.hits} hits)"


class AnalysisSettings(TenantModel):
    """An organization's analysis policy; without a row the settings' defaults apply."""

    auto_analyze = models.BooleanField(default=True)
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)

    class Meta:
        verbose_name_plural = "analysis settings"
        constraints = [models.UniqueConstraint(fields=["organization"], name="analysis_settings_one_per_org")]

    def __str__(self) -> str:
        return f"{self.organization_id} auto={self.auto_analyze} min={self.min_severity}"


class ServiceCorrelation(TenantModel):
    """A learned edge of the service graph: how `related_service` fails relative to `service` (AIops).

    One row per ordered pair, both directions of a pair stored; the learner in analyses/correlations.py
    replaces an organization's rows at once, so readers see one computation, never a mix.
    """

    class Direction(models.TextChoices):
        UPSTREAM = "upstream"  # related_service fails first: lag_minutes < 0
        DOWNSTREAM = "downstream"  # related_service fails after service: lag_minutes > 0
        CONCURRENT = "concurrent"  # within the same minute: lag_minutes == 0

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.CharField(max_length=200)
    related_service = models.CharField(max_length=200)
    correlation_score = models.FloatField()  # 0..1, chance-corrected
    lag_minutes = models.IntegerField()  # related_service's failures start this long after service's
    support = models.PositiveIntegerField()  # co-occurrences at that lag
    direction = models.CharField(max_length=16, choices=Direction.choices)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(  # also the index of the breadth-first walk: (organization, service)
                fields=["organization", "service", "related_service"], name="service_correlation_one_per_pair"
            ),
            models.CheckConstraint(
                condition=~Q(service=models.F("related_service")), name="service_correlation_not_self"
            ),
            models.CheckConstraint(
                condition=Q(correlation_score__gte=0, correlation_score__lte=1),
                name="service_correlation_score_range",
            ),
            models.CheckConstraint(
                condition=Q(direction="downstream", lag_minutes__gt=0)
                | Q(direction="upstream", lag_minutes__lt=0)
                | Q(direction="concurrent", lag_minutes=0),
                name="service_correlation_direction_matches_lag",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} -> {self.related_service} ({self.direction} {self.lag_minutes:+d} min)"
