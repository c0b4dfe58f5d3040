import fnmatch
import uuid

from django.db import models
from django.db.models import Q

from statux.models import User
from statux.tenancy import TenantModel

# The policy an organization has when it stores none: built from settings, never a row.
BUILT_IN_POLICY_NAME = "default"
# Cluster internals: one wrong restart there breaks every tenant of the cluster.
DEFAULT_DENIED_NAMESPACES = ["kube-system"]


def default_denied_namespaces() -> list[str]:
    return list(DEFAULT_DENIED_NAMESPACES)


def namespace_matches(namespace: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """`*` matches any namespace, `team-*` a prefix; case-sensitive, as Kubernetes names are."""
    return any(fnmatch.fnmatchcase(namespace, pattern) for pattern in patterns)


class GuardrailPolicy(TenantModel):
    """What remediation may do in an organization. The enabled row is the active policy; with none,
    the built-in `default` policy from the REMEDIATION_* settings applies (remediation/policy.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    # Namespace globs; an action outside allowed_namespaces or inside denied_namespaces is refused.
    allowed_namespaces = models.JSONField(default=list, blank=True)
    denied_namespaces = models.JSONField(default=default_denied_namespaces, blank=True)
    # Action names from remediation.catalog.ACTION_CATALOG.
    approval_required_actions = models.JSONField(default=list, blank=True)
    auto_execute_actions = models.JSONField(default=list, blank=True)
    disabled_actions = models.JSONField(default=list, blank=True)
    dry_run_default = models.BooleanField(default=True)
    max_replicas = models.PositiveIntegerField(default=20)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="guardrail_policy_unique_name"),
            # The race-safe half of "one active policy": enabling one disables the others in a service.
            models.UniqueConstraint(
                fields=["organization"], condition=Q(enabled=True), name="guardrail_policy_one_enabled"
            ),
            models.CheckConstraint(condition=Q(max_replicas__gte=0), name="guardrail_policy_max_replicas"),
        ]
        verbose_name_plural = "guardrail policies"

    def __str__(self) -> str:
        return f"{self.name} ({'enabled' if self.enabled else 'disabled'})"
