from django import forms
from django.contrib import admin, messages

from remediation.models import GuardrailPolicy
from remediation.services import (
    POLICY_FIELDS,
    InvalidGuardrailPolicy,
    guardrail_policy_clean,
    guardrail_policy_create,
    guardrail_policy_update,
)
from statux.audit import Actor


class GuardrailPolicyAdminForm(forms.ModelForm):
    """The services' own validation, so admin edits obey the same rules as the console and the API."""

    class Meta:
        model = GuardrailPolicy
        fields = ("organization", *POLICY_FIELDS)

    def _get_validation_exclusions(self):
        # One enabled policy per organization is the service's rule to keep: saving an enabled policy
        # switches the other off in the same transaction, so the form must not refuse it first.
        return super()._get_validation_exclusions() | {"enabled"}

    def clean(self):
        data = super().clean()
        try:
            guardrail_policy_clean({name: data[name] for name in POLICY_FIELDS if name in data})
        except InvalidGuardrailPolicy as exc:
            raise forms.ValidationError(exc.fields or exc.message) from exc
        return data


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
    form = GuardrailPolicyAdminForm
    actions = ["disable"]

    def get_readonly_fields(self, request, obj=None):
        return ("organization",) if obj is not None else ()  # a policy stays with its organization

    def save_model(self, request, obj, form, change) -> None:
        """Through the services: validated, audited, and enabling one disables the organization's other."""
        actor = Actor(user=request.user)
        fields = {name: form.cleaned_data[name] for name in POLICY_FIELDS if name in form.cleaned_data}
        if change:
            changed = {name: fields[name] for name in form.changed_data if name in fields}
            saved = guardrail_policy_update(policy=obj, actor=actor, **changed)
        else:
            name = fields.pop("name")
            saved = guardrail_policy_create(
                organization=form.cleaned_data["organization"], name=name, actor=actor, **fields
            )
        obj.pk = saved.pk

    @admin.action(description="Disable selected policies (the built-in default applies)")
    def disable(self, request, queryset):
        actor = Actor(user=request.user)
        for policy in queryset.filter(enabled=True):
            guardrail_policy_update(policy=policy, actor=actor, enabled=False)
        messages.info(request, "Disabled; those organizations now run under the built-in default policy.")
