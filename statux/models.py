import hashlib
import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from statux.tenancy import TenantModel, TenantQuerySet

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    "Use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
)


def hash_secret(raw: str) -> str:
    """SHA-256 of a high-entropy secret (API key, invitation token): fast to look up, useless if leaked."""
    return hashlib.sha256(raw.encode()).hexdigest()


class Role(models.TextChoices):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"
    OWNER = "owner"


# The AIops RBAC table (ARCHITECTURE "Roles"): level and permissions per role.
ROLE_LEVELS = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3, Role.OWNER: 4}
ROLE_PERMISSIONS = {
    Role.VIEWER: ("read",),
    Role.OPERATOR: ("read", "write"),
    Role.ADMIN: ("read", "write", "manage_keys", "manage_users"),
    Role.OWNER: ("read", "write", "manage_keys", "manage_users", "billing"),
}


class Plan(models.TextChoices):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


# Organization, User, Membership and ApiKey answer "who is this, and what may they do": statux.auth_cache
# keeps them per process and drops them on post_save and post_delete. QuerySet.update() sends neither,
# so code that update()s one of these tables in a way that changes such an answer calls auth_cache.bump().
class Organization(models.Model):
    """A tenant: also called workspace (AI-SRE), client and tenant (AIops, where `slug` is `tenant_id`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(max_length=63, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=32, choices=Plan.choices, default=Plan.FREE)
    contact_email = models.EmailField(blank=True, default="")
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email: str):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with an email; `is_superuser` is the platform Super-Admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="UTC")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Membership(TenantModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_one_per_user"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="membership_user_created")]

    def __str__(self) -> str:
        return f"{self.user_id} is {self.role} of {self.organization_id}"

    @property
    def level(self) -> int:
        return ROLE_LEVELS[self.role]

    @property
    def permissions(self) -> tuple[str, ...]:
        return ROLE_PERMISSIONS[self.role]


class Invitation(TenantModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "email"], name="invitation_org_email")]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization_id}"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now():
            return "expired"
        return "pending"


class ApiKeyScope(models.TextChoices):
    INGESTION = "ingestion"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


# What a key of each scope may do; "ingest" is the right to post alerts (users get it with "write").
SCOPE_PERMISSIONS = {
    ApiKeyScope.INGESTION: ("ingest",),
    ApiKeyScope.READ: ("read",),
    ApiKeyScope.WRITE: ("read", "write", "ingest"),
    ApiKeyScope.ADMIN: ("read", "write", "ingest", "manage_keys", "manage_users"),
}
SCOPE_LEVELS = {ApiKeyScope.INGESTION: 0, ApiKeyScope.READ: 1, ApiKeyScope.WRITE: 2, ApiKeyScope.ADMIN: 3}


class ApiKey(TenantModel):
    """An AIops-style key (`isage_…`). Only its SHA-256 is stored; the full key is shown once."""

    key_id = models.CharField(primary_key=True, max_length=40)
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=16, choices=ApiKeyScope.choices, default=ApiKeyScope.READ)
    rate_limit_rps = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=ApiKeyScope.values), name="apikey_scope_valid")
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="apikey_org_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def permissions(self) -> tuple[str, ...]:
        return SCOPE_PERMISSIONS[self.scope]

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now())

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= now():
            return "expired"
        return "active"


class AuditLog(models.Model):
    """One row per state change, written in the same transaction as the change."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(max_length=200)  # "alice@acme.com", "apikey:isage_key_…", "system:autonomy"
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100, blank=True, default="")
    target_id = models.CharField(max_length=100, blank=True, default="")
    target_label = models.CharField(max_length=300, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    objects = TenantQuerySet.as_manager()  # platform-wide rows (user profile changes) have no organization

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_created"),
            models.Index(fields=["organization", "action", "-created_at"], name="audit_org_action"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_type}:{self.target_id}"


class DigestFrequency(models.TextChoices):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"


class Severity(models.TextChoices):
    CRITICAL = "critical"
    HIGH = "high"
    WARNING = "warning"
    INFO = "info"


class NotificationPreferences(models.Model):
    user = models.OneToOneField(
        User, primary_key=True, on_delete=models.CASCADE, related_name="notification_prefs"
    )
    email_enabled = models.BooleanField(default=True)
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.HIGH)
    incident_assigned = models.BooleanField(default=True)
    rca_published = models.BooleanField(default=True)
    usage_alerts = models.BooleanField(default=True)
    digest_frequency = models.CharField(
        max_length=16, choices=DigestFrequency.choices, default=DigestFrequency.DAILY
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"


class Heartbeat(models.Model):
    """Last time a background loop (the watchdog, a worker) proved it was alive."""

    name = models.CharField(primary_key=True, max_length=200)
    last_seen_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"
