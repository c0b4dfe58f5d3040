from django.contrib import admin, messages

from remediation.models import GuardrailPolicy
from remediation.services import guardrail_policy_update
from statux.audit import Actor


@admin.register(GuardrailPolicy)
class GuardrailPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "organization",
        "enabled",
        "dry_run_default",
        "max_replicas",
        "allowed_namespaces",
        "denied_namespaces",
        "updated_by",
        "updated_at",
    )
    list_filter = ("enabled", "dry_run_default", "organization")
    search_fields = ("name", "organization__slug", "organization__name")
    list_select_related = ("organization", "updated_by")
    # Read-only: edits go through the console or services, which validate and write the audit log.
    readonly_fields = [field.name for field in GuardrailPolicy._meta.fields]
    actions = ["disable"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Disable selected policies (the built-in default applies)")
    def disable(self, request, queryset):
        actor = Actor(user=request.user)
        for policy in queryset.filter(enabled=True):
            guardrail_policy_update(policy=policy, actor=actor, enabled=False)
        messages.info(request, "Disabled; those organizations now run under the built-in default policy.")
