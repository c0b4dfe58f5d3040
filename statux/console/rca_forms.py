"""Console forms of the RCA pages: shape and choices only; rca.services decides the business rules."""

from __future__ import annotations

from django import forms

from rca.models import (
    DRAFT_FIELDS,
    EXTERNAL_PRODUCTS,
    ActionItemPriority,
    ActionItemStatus,
    IncidentProduct,
    RcaStatus,
)
from statux.console.forms import ConsoleForm
from statux.models import Membership, User

TEXT_MAX = 50_000  # as the API's StatuxRcaUpdateIn
FIELD_LABELS = {"summary": "Summary", "impact": "Impact", "root_cause": "Root cause", "timeline": "Timeline"}
FIELD_HINTS = {
    "summary": "What happened, in two or three sentences.",
    "impact": "Who noticed, what broke, for how long.",
    "root_cause": "Why it happened; the deepest cause you can name.",
    "timeline": "One line a step: `14:02` alert fired, `14:05` acknowledged…",
}
# DRAFT_FIELDS in the order a post-mortem reads (and the export writes) them.
EDITOR_FIELDS = tuple(sorted(DRAFT_FIELDS, key=list(FIELD_LABELS).index))


class RcaFilterForm(ConsoleForm):
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *RcaStatus.choices]
    )
    q = forms.CharField(
        label="Text contains",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Title, summary or root cause", "type": "search"}),
    )


class RcaCreateForm(ConsoleForm):
    title = forms.CharField(
        label="Title",
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. Checkout outage on 3 May"}),
    )


class RcaStatusForm(ConsoleForm):
    status = forms.ChoiceField(label="Status", choices=RcaStatus.choices)


class RcaTextForm(ConsoleForm):
    """One Markdown field of the document: `field` names it, the textarea is named after it."""

    field = forms.ChoiceField(choices=[(name, FIELD_LABELS[name]) for name in EDITOR_FIELDS])

    def __init__(self, *args, field: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.field_name = self.data.get("field", field) if self.is_bound else field
        self.auto_id = f"{self.field_name}-%s"  # four editors on one page: ids stay unique
        self.fields["field"].widget = forms.HiddenInput()
        self.fields["field"].initial = field
        if self.field_name in FIELD_LABELS:
            self.fields[self.field_name] = forms.CharField(
                label=f"{FIELD_LABELS[self.field_name]} (Markdown)",
                required=False,
                max_length=TEXT_MAX,
                strip=False,
                help_text=FIELD_HINTS[self.field_name],
                widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "true", "data-markdown": ""}),
            )

    @property
    def text_field(self) -> forms.BoundField | None:
        return self[self.field_name] if self.field_name in self.fields else None

    def text(self) -> str:
        return self.cleaned_data.get(self.field_name, "")


class RcaPageForm(ConsoleForm):
    """A form of the RCA page, which shows several: each prefixes its ids with `id_prefix`."""

    id_prefix = ""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class IncidentSearchForm(RcaPageForm):
    id_prefix = "search"
    q = forms.CharField(
        label="Find incidents to link",
        required=False,
        max_length=200,
        help_text="A title, service or incident id; alerting:INC-42 names another product's incident.",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. checkout"}),
    )


class IncidentLinkForm(RcaPageForm):
    """A local incident (`incident_id`) or another product's (`product`, `external_id`, title, url)."""

    id_prefix = "link"

    incident_id = forms.CharField(required=False, max_length=24, widget=forms.HiddenInput())
    product = forms.ChoiceField(
        label="Product",
        required=False,
        choices=[(value, IncidentProduct(value).label) for value in EXTERNAL_PRODUCTS],
    )
    external_id = forms.CharField(
        label="Incident id in that product",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. INC-42"}),
    )
    title = forms.CharField(label="Title (optional)", required=False, max_length=500)
    url = forms.URLField(label="Link (optional)", required=False, max_length=1000, assume_scheme="https")

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("incident_id") and not (data.get("product") and data.get("external_id")):
            self.add_error("external_id", "Give the product and the incident's id there.")
        return data


def assignee_label(user: User) -> str:
    return f"{user.name} ({user.email})" if user.name else user.email


class ActionItemForm(RcaPageForm):
    id_prefix = "item"
    title = forms.CharField(
        label="Action", max_length=300, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    assignee = forms.ChoiceField(label="Assignee", required=False)
    priority = forms.ChoiceField(
        label="Priority", choices=ActionItemPriority.choices, initial=ActionItemPriority.MEDIUM
    )
    due_date = forms.DateField(
        label="Due date (optional)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, members: list[Membership], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Unassigned")] + [
            (str(member.user_id), assignee_label(member.user)) for member in members
        ]

    def changes(self) -> dict:
        """The cleaned data as rca.services names it."""
        data = dict(self.cleaned_data)
        data["assignee_id"] = data.pop("assignee") or None
        return data


class ActionItemEditForm(ActionItemForm):
    status = forms.ChoiceField(label="Status", choices=ActionItemStatus.choices)
    description = forms.CharField(
        label="Notes (optional)",
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ActionItemMoveForm(ConsoleForm):
    status = forms.ChoiceField(choices=ActionItemStatus.choices)
