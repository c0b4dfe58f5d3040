"""Console forms check shape and choices; services decide the business rules."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from analyses.models import IncidentStatus
from statux.login_guard import LoginLocked, login_attempt
from statux.models import ROLE_LEVELS, SCOPE_LEVELS, ApiKeyScope, Role, Severity
from statux.tenancy import Access
from webhooks.models import SourceProduct
from webhooks.normalizers.base import normalizers


def grantable_roles(access: Access | None) -> list[tuple[str, str]]:
    level = access.level if access else 0
    return [(value, label) for value, label in Role.choices if ROLE_LEVELS[value] <= level]


class ConsoleForm(forms.Form):
    """Labels without Django's trailing colon: the layout puts them above their fields."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class GuardedLoginMixin:
    """AuthenticationForm.clean() behind statux.login_guard: a locked pair gets a form error instead
    of a password check. Only a sign-in that is let in clears the count: admin refuses a non-staff
    account with the wrong-password message, and its count must not tell the two apart."""

    def clean(self) -> dict:
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email is None or not password:
            return self.cleaned_data
        try:
            with login_attempt(self.request, email=email) as attempt:
                self.user_cache = authenticate(self.request, username=email, password=password)
                if self.user_cache is None:
                    raise self.get_invalid_login_error()
                self.confirm_login_allowed(self.user_cache)
                attempt.succeeded()
        except LoginLocked as exc:
            raise ValidationError(exc.message, code=exc.code) from None
        return self.cleaned_data


class ConsoleLoginForm(GuardedLoginMixin, AuthenticationForm):
    """Django's login form; its `username` is the email (User.USERNAME_FIELD)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AdminLoginForm(GuardedLoginMixin, AdminAuthenticationForm):
    """Django admin's login form (staff only), behind the same lockout as the console."""


class InvitationCreateForm(ConsoleForm):
    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, access: Access | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = grantable_roles(access)


class MembershipRoleForm(ConsoleForm):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class ApiKeyCreateForm(ConsoleForm):
    name = forms.CharField(
        label="Name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    scope = forms.ChoiceField(label="Scope", choices=ApiKeyScope.choices, initial=ApiKeyScope.INGESTION)
    rate_limit_rps = forms.IntegerField(
        label="Rate limit, requests/s (optional)", required=False, min_value=1
    )
    expires_at = forms.DateTimeField(
        label="Expires at, UTC (optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, access: Access | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        level = access.level if access else 0
        self.fields["scope"].choices = [
            (value, label) for value, label in ApiKeyScope.choices if SCOPE_LEVELS[value] <= level
        ]


class AuditFilterForm(ConsoleForm):
    action = forms.CharField(
        label="Action starts with",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "e.g. apikey.", "type": "search"}),
    )
    actor = forms.CharField(
        label="Actor contains",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "e.g. alice@", "type": "search"}),
    )


class InvitationAcceptForm(ConsoleForm):
    """A new account sets its name and password; an existing account proves its password."""

    name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_confirm = forms.CharField(
        label="Repeat the password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, existing_account: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.existing_account = existing_account
        if existing_account:
            del self.fields["name"], self.fields["password_confirm"]
            self.fields["password"].label = "Password of your existing account"
            self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean(self) -> dict:
        data = super().clean()
        if not self.existing_account and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", "The two passwords differ.")
        return data


# --- Incidents ------------------------------------------------------------------------------------

ACTIVE = "active"  # the console's shorthand for open, acknowledged and investigating


class IncidentFilterForm(ConsoleForm):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Any status"),
            (ACTIVE, "Active (open, acknowledged, investigating)"),
            *IncidentStatus.choices,
        ],
    )
    severity = forms.ChoiceField(
        label="Severity", required=False, choices=[("", "Any severity"), *Severity.choices]
    )
    service = forms.CharField(
        label="Service contains",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "e.g. payments", "type": "search"}),
    )
    q = forms.CharField(
        label="Title contains",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "e.g. CPU", "type": "search"}),
    )


class IncidentStatusForm(ConsoleForm):
    status = forms.ChoiceField(label="Status", choices=IncidentStatus.choices)


class IncidentNoteForm(ConsoleForm):
    content = forms.CharField(
        label="Note",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What did you find or do?"}),
    )


# --- Ingestion: webhook configs and the dead letter -------------------------------------------------


class WebhookConfigCreateForm(ConsoleForm):
    name = forms.CharField(
        label="Name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    source_product = forms.ChoiceField(
        label="Source product", choices=SourceProduct.choices, initial=SourceProduct.ALERTING
    )
    normalizer = forms.ChoiceField(label="Normalizer", choices=[])
    secret = forms.CharField(
        label="Signing secret (optional)",
        required=False,
        max_length=200,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        names = normalizers.names()
        self.fields["normalizer"].choices = [(name, name) for name in names]
        self.fields["normalizer"].initial = "webhook" if "webhook" in names else next(iter(names), "")


class WebhookConfigEnabledForm(ConsoleForm):
    enabled = forms.TypedChoiceField(
        choices=[("true", "enabled"), ("false", "disabled")], coerce=lambda value: value == "true"
    )
