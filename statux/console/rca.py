"""Console RCA pages: the list with its stats, one RCA with its editor, draft, links and action items.

Reads go through rca.selectors (which scope to the tenant), writes through rca.services.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from analyses import selectors as incident_selectors
from rca import selectors, services
from rca.markdown import rca_export_markdown, render_markdown
from rca.models import (
    GENERATION_IN_FLIGHT,
    NEXT_STATUSES,
    ActionItemStatus,
    Rca,
    RcaActionItem,
    RcaStatus,
)
from statux import selectors as statux_selectors
from statux.audit import Actor
from statux.console import rca_forms as forms
from statux.console.incidents import ago, duration
from statux.console.views import _not_found, requires
from statux.errors import NotFound, StatuxError

RCA_PAGE_SIZE = 50
SEARCH_RESULTS = 20
GENERATION_EVENTS_SHOWN = 20
# The workflow buttons for the allowed next statuses, in this order.
STATUS_ACTIONS = {"in_review": "Submit for review", "published": "Publish", "draft": "Back to draft"}
OPEN_ITEM_STATUSES = [ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS]
# The board's columns, and the moves a card offers from each: the next status first.
ITEM_COLUMNS = {
    ActionItemStatus.OPEN: "Open",
    ActionItemStatus.IN_PROGRESS: "In progress",
    ActionItemStatus.DONE: "Done",
    ActionItemStatus.CANCELLED: "Cancelled",
}
ITEM_MOVES = {
    ActionItemStatus.OPEN: [(ActionItemStatus.IN_PROGRESS, "Start"), (ActionItemStatus.CANCELLED, "Cancel")],
    ActionItemStatus.IN_PROGRESS: [(ActionItemStatus.DONE, "Mark done"), (ActionItemStatus.OPEN, "Stop")],
    ActionItemStatus.DONE: [(ActionItemStatus.OPEN, "Reopen")],
    ActionItemStatus.CANCELLED: [(ActionItemStatus.OPEN, "Reopen")],
}


def with_rca(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Hand the view the organization's RCA named by the URL's `rca_id`; another's or none is a 404 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, rca_id: uuid.UUID, **kwargs) -> HttpResponse:
        try:
            rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        except NotFound:
            return _not_found(request, f"There is no RCA {rca_id} in this organization.")
        return view(request, rca, **kwargs)

    return wrapper


def with_item(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Under `with_rca`: hand the view the RCA's action item named by the URL's `item_id`."""

    @wraps(view)
    def wrapper(request: HttpRequest, rca: Rca, item_id: uuid.UUID) -> HttpResponse:
        try:
            item = selectors.rca_action_item_get(rca=rca, item_id=item_id)
        except NotFound:
            return _not_found(request, f"There is no action item {item_id} on this RCA.")
        return view(request, rca, item)

    return wrapper


def _back(rca: Rca, anchor: str = "", *, search: str = "") -> HttpResponse:
    """To the RCA page, at `anchor`, with the incident search `search` still shown."""
    query = f"?{urlencode({'q': search})}" if search else ""
    return redirect(reverse("console:rca-detail", args=[rca.pk]) + query + (f"#{anchor}" if anchor else ""))


def _members(request: HttpRequest) -> list:
    return list(statux_selectors.membership_list(organization=request.organization))


# --- List ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RcaRow:
    rca: Rca
    updated_ago: str


def _stats(request: HttpRequest) -> dict:
    stats = selectors.rca_stats(organization=request.organization)
    hours = stats["mean_time_to_publish_hours"]
    return {
        "by_status": [(status, label, stats["by_status"][status]) for status, label in RcaStatus.choices],
        "overdue": stats["action_items"]["overdue"],
        "mean_time_to_publish": duration(hours * 60) if hours is not None else "",
    }


def _list_page(
    request: HttpRequest, *, create_form: forms.RcaCreateForm | None = None, status: int = 200
) -> HttpResponse:
    form = forms.RcaFilterForm(request.GET)
    wanted = form.cleaned_data if form.is_valid() else {}
    filters = {key: value for key, value in wanted.items() if value} | {"ordering": "-updatedAt"}
    rcas = selectors.rca_list(organization=request.organization, filters=filters).annotate(
        incident_count=Count("incident_links", distinct=True),
        open_item_count=Count(
            "action_items", filter=Q(action_items__status__in=OPEN_ITEM_STATUSES), distinct=True
        ),
    )
    page = Paginator(rcas, RCA_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [RcaRow(rca=rca, updated_ago=ago(rca.updated_at, now)) for rca in page],
        "query": query.urlencode(),
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
        "current_status": wanted.get("status", ""),
        "stats": _stats(request),
        "can_write": request.access.allows("write"),
        "create_form": create_form or forms.RcaCreateForm(),
    }
    return render(request, "console/rca/list.html", context, status=status)


@requires("read")
@require_safe
def rca_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/rcas/?status=&q=&page=<n>"""
    return _list_page(request)


@requires("write")
@require_POST
def rca_create_view(request: HttpRequest) -> HttpResponse:
    """POST /console/rcas/create/"""
    form = forms.RcaCreateForm(request.POST)
    if not form.is_valid():
        return _list_page(request, create_form=form, status=400)
    rca = services.rca_create(
        organization=request.organization, title=form.cleaned_data["title"], actor=Actor.from_request(request)
    )
    messages.success(request, f"RCA “{rca.title}” created as a draft. Link its incidents, then draft it.")
    return redirect("console:rca-detail", rca_id=rca.pk)


# --- One RCA ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    item: RcaActionItem
    overdue: bool
    moves: list[tuple[str, str]]


def _board(rca: Rca, today: date) -> list[tuple[str, str, list[Card]]]:
    """[(status, label, cards)] for the four columns, cards oldest first."""
    cards: dict[str, list[Card]] = {status: [] for status in ITEM_COLUMNS}
    for item in selectors.rca_action_item_list(rca=rca):
        overdue = item.status in OPEN_ITEM_STATUSES and item.due_date is not None and item.due_date < today
        cards[item.status].append(Card(item=item, overdue=overdue, moves=ITEM_MOVES[item.status]))
    return [(status, label, cards[status]) for status, label in ITEM_COLUMNS.items()]


def document_context(rca: Rca, *, editing: forms.RcaTextForm | None = None, editors: bool = False) -> dict:
    """The four Markdown fields as sanitized HTML, in page order; with `editors`, an editor for each
    (the one being edited keeps its input and opens)."""
    sections = []
    for name in forms.EDITOR_FIELDS:
        editor, open_ = None, False
        if editing is not None and editing.field_name == name:
            editor, open_ = editing, True
        elif editors:
            editor = forms.RcaTextForm(field=name, initial={name: getattr(rca, name)})
        html = mark_safe(render_markdown(getattr(rca, name)))  # nh3-cleaned
        label = forms.FIELD_LABELS[name]
        sections.append({"name": name, "label": label, "html": html, "editor": editor, "open": open_})
    return {"rca": rca, "sections": sections, "in_flight": rca.generation_status in GENERATION_IN_FLIGHT}


def generation_context(rca: Rca, *, live: bool = False) -> dict:
    """The last generation: its state, who answered, the fields it left alone, its log."""
    events = list(selectors.rca_generation_event_list(rca=rca))
    last_queued = max(
        (index for index, event in enumerate(events) if event.event_type == "queued"), default=0
    )
    return {
        "rca": rca,
        "in_flight": rca.generation_status in GENERATION_IN_FLIGHT,
        "skipped_labels": [forms.FIELD_LABELS.get(name, name) for name in rca.generation_skipped_fields],
        "events": events[last_queued:][-GENERATION_EVENTS_SHOWN:],
        "live": live,
    }


def _search(request: HttpRequest, rca: Rca, form: forms.IncidentSearchForm) -> list[tuple[object, bool]]:
    """[(candidate, already linked)] for the search box's query; nothing before a query is typed."""
    query = form.cleaned_data.get("q", "") if form.is_valid() else ""
    if not query.strip():
        return []
    linked = {(link.product, link.external_id) for link in selectors.rca_incident_link_list(rca=rca)}
    found = selectors.rca_incident_search(organization=request.organization, q=query, limit=SEARCH_RESULTS)
    return [(candidate, (candidate.product, candidate.external_id) in linked) for candidate in found]


def _rca_page(
    request: HttpRequest,
    rca: Rca,
    *,
    editing: forms.RcaTextForm | None = None,
    preview: str | None = None,
    item_form: forms.ActionItemForm | None = None,
    link_form: forms.IncidentLinkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_write = request.access.allows("write")
    # No editors while a draft is written: their text would be stale by the time it is saved.
    editors = can_write and rca.generation_status not in GENERATION_IN_FLIGHT
    search_form = forms.IncidentSearchForm(request.GET if "q" in request.GET else None)
    context = {
        **generation_context(rca),
        **document_context(rca, editing=editing, editors=editors),
        "can_write": can_write,
        "status_actions": [
            (value, label) for value, label in STATUS_ACTIONS.items() if value in NEXT_STATUSES[rca.status]
        ],
        "preview": mark_safe(preview) if preview is not None else None,  # render_markdown output
        "links": selectors.rca_incident_link_list(rca=rca),
        "search_form": search_form,
        "candidates": _search(request, rca, search_form) if can_write else [],
        "searched": bool(search_form.data.get("q", "").strip()) if search_form.is_bound else False,
        "link_form": link_form or forms.IncidentLinkForm(),
        "board": _board(rca, timezone.localdate()),
        "item_form": item_form or forms.ActionItemForm(members=_members(request) if can_write else []),
        "revisions": [
            (revision, forms.FIELD_LABELS.get(revision.field, revision.field))
            for revision in selectors.rca_revision_list(rca=rca)
        ],
        "updated_ago": ago(rca.updated_at, timezone.now()),
    }
    return render(request, "console/rca/detail.html", context, status=status)


@requires("read")
@require_safe
@with_rca
def rca_detail_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """GET /console/rcas/<rca_id>/?q=<incident search>"""
    return _rca_page(request, rca)


@requires("read")
@require_safe
@with_rca
def rca_document_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """GET /console/rcas/<rca_id>/document/: the four rendered fields alone, for live-refresh.js."""
    return render(request, "console/rca/partials/document.html", document_context(rca))


@requires("read")
@require_safe
@with_rca
def rca_generation_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """GET /console/rcas/<rca_id>/generation/: the draft's state alone, for live-refresh.js."""
    context = generation_context(rca, live=request.GET.get("live") == "1")
    return render(request, "console/rca/partials/generation.html", context)


@requires("write")
@require_POST
@with_rca
def rca_status_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """POST /console/rcas/<rca_id>/status/"""
    form = forms.RcaStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Pick one of the statuses {', '.join(RcaStatus.values)}.")
        return _back(rca)
    try:
        rca = services.rca_transition(
            rca=rca, status=form.cleaned_data["status"], actor=Actor.from_request(request)
        )
    except StatuxError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The RCA is now {rca.get_status_display().lower()}.")
    return _back(rca)


@requires("write")
@require_POST
@with_rca
def rca_edit_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """POST /console/rcas/<rca_id>/edit/: save one Markdown field, or (action=preview) show it rendered."""
    form = forms.RcaTextForm(request.POST)
    if not form.is_valid():
        if form.text_field is None:
            messages.error(request, f"Pick one of the fields {', '.join(forms.EDITOR_FIELDS)}.")
            return _back(rca)
        return _rca_page(request, rca, editing=form, status=400)
    if request.POST.get("action") == "preview":
        return _rca_page(request, rca, editing=form, preview=render_markdown(form.text()))
    services.rca_update(rca=rca, actor=Actor.from_request(request), **{form.field_name: form.text()})
    messages.success(request, f"{forms.FIELD_LABELS[form.field_name]} saved; a new draft will keep it.")
    return _back(rca, form.field_name)


@requires("write")
@require_POST
@with_rca
def rca_preview_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """POST /console/rcas/<rca_id>/preview/: the posted field's Markdown as sanitized HTML (a partial)."""
    form = forms.RcaTextForm(request.POST)
    if not form.is_valid():
        return HttpResponse("The text is too long or names no field of the RCA.", status=400)
    html = mark_safe(render_markdown(form.text()))  # nh3-cleaned
    return render(request, "console/rca/partials/preview.html", {"rca": rca, "preview": html})


@requires("write")
@require_POST
@with_rca
def rca_generate_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """POST /console/rcas/<rca_id>/generate/: queue an AI draft."""
    try:
        services.rca_generation_request(rca=rca, actor=Actor.from_request(request))
    except StatuxError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Draft queued; fields you edited stay as you wrote them.")
    return _back(rca, "draft")


# --- Linked incidents ------------------------------------------------------------------------------


@requires("write")
@require_POST
@with_rca
def rca_link_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """POST /console/rcas/<rca_id>/incidents/: link a local incident or another product's."""
    form = forms.IncidentLinkForm(request.POST)
    if not form.is_valid():
        return _rca_page(request, rca, link_form=form, status=400)
    data = dict(form.cleaned_data)
    try:
        if incident_id := data.pop("incident_id"):
            incident = incident_selectors.incident_get(
                organization=request.organization, incident_id=incident_id
            )
            link = services.rca_link_incident(rca=rca, incident=incident, actor=Actor.from_request(request))
        else:
            link = services.rca_link_incident(rca=rca, actor=Actor.from_request(request), **data)
    except StatuxError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Linked {link.title or link.external_id}.")
    return _back(rca, "incidents", search=request.POST.get("q", "")[:200])


@requires("write")
@require_POST
@with_rca
def rca_unlink_view(request: HttpRequest, rca: Rca, link_id: uuid.UUID) -> HttpResponse:
    """POST /console/rcas/<rca_id>/incidents/<link_id>/unlink/"""
    try:
        link = selectors.rca_incident_link_get(rca=rca, link_id=link_id)
    except NotFound as exc:
        messages.error(request, exc.message)
        return _back(rca, "incidents")
    services.rca_unlink_incident(link=link, actor=Actor.from_request(request))
    messages.success(request, f"Unlinked {link.title or link.external_id}.")
    return _back(rca, "incidents")


# --- Action items ----------------------------------------------------------------------------------


@requires("write")
@require_POST
@with_rca
def rca_action_item_create_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """POST /console/rcas/<rca_id>/action-items/"""
    form = forms.ActionItemForm(request.POST, members=_members(request))
    if not form.is_valid():
        return _rca_page(request, rca, item_form=form, status=400)
    try:
        item = services.rca_action_item_create(rca=rca, actor=Actor.from_request(request), **form.changes())
    except StatuxError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Action item “{item.title}” added.")
    return _back(rca, "action-items")


@requires("write")
@require_POST
@with_rca
@with_item
def rca_action_item_move_view(request: HttpRequest, rca: Rca, item: RcaActionItem) -> HttpResponse:
    """POST /console/rcas/<rca_id>/action-items/<item_id>/move/"""
    form = forms.ActionItemMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Pick one of the statuses {', '.join(ActionItemStatus.values)}.")
        return _back(rca, "action-items")
    item = services.rca_action_item_update(
        item=item, status=form.cleaned_data["status"], actor=Actor.from_request(request)
    )
    messages.success(request, f"“{item.title}” is now {item.get_status_display().lower()}.")
    return _back(rca, "action-items")


@requires("write")
@require_http_methods(["GET", "POST"])
@with_rca
@with_item
def rca_action_item_edit_view(request: HttpRequest, rca: Rca, item: RcaActionItem) -> HttpResponse:
    """GET, POST /console/rcas/<rca_id>/action-items/<item_id>/edit/"""
    initial = {
        "title": item.title,
        "assignee": str(item.assignee_id or ""),
        "priority": item.priority,
        "due_date": item.due_date,
        "status": item.status,
        "description": item.description,
    }
    form = forms.ActionItemEditForm(request.POST or None, initial=initial, members=_members(request))
    if request.method == "POST" and form.is_valid():
        try:
            item = services.rca_action_item_update(
                item=item, actor=Actor.from_request(request), **form.changes()
            )
        except StatuxError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Action item “{item.title}” saved.")
            return _back(rca, "action-items")
    context = {"rca": rca, "item": item, "form": form}
    return render(request, "console/rca/action_item_edit.html", context, status=400 if form.errors else 200)


@requires("write")
@require_POST
@with_rca
@with_item
def rca_action_item_delete_view(request: HttpRequest, rca: Rca, item: RcaActionItem) -> HttpResponse:
    """POST /console/rcas/<rca_id>/action-items/<item_id>/delete/"""
    services.rca_action_item_delete(item=item, actor=Actor.from_request(request))
    messages.success(request, f"Action item “{item.title}” deleted.")
    return _back(rca, "action-items")


# --- Export, delete, postmortem --------------------------------------------------------------------


@requires("read")
@require_safe
@with_rca
def rca_export_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """GET /console/rcas/<rca_id>/export/: the post-mortem as a Markdown download."""
    slug = re.sub(r"[^a-z0-9]+", "-", rca.title.lower()).strip("-")[:60] or "rca"
    response = HttpResponse(rca_export_markdown(rca), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-{str(rca.pk)[:8]}.md"'
    return response


@requires("write")
@require_http_methods(["GET", "POST"])
@with_rca
def rca_delete_view(request: HttpRequest, rca: Rca) -> HttpResponse:
    """GET (confirm), POST /console/rcas/<rca_id>/delete/"""
    if request.method == "GET":
        return render(request, "console/rca/delete.html", {"rca": rca})
    services.rca_delete(rca=rca, actor=Actor.from_request(request))
    messages.success(request, f"RCA “{rca.title}” deleted with its links and action items.")
    return redirect("console:rca-list")


@requires("write")
@require_POST
def incident_postmortem_view(request: HttpRequest, incident_id: str) -> HttpResponse:
    """POST /console/incidents/<incident_id>/postmortem/: the incident's RCA, created and drafted if new."""
    try:
        incident = incident_selectors.incident_get(organization=request.organization, incident_id=incident_id)
    except NotFound:
        return _not_found(request, f"There is no incident {incident_id} in this organization.")
    rca, created = services.rca_postmortem_for_incident(incident=incident, actor=Actor.from_request(request))
    if created:
        messages.success(request, "Postmortem created and linked to the incident; its draft is on the way.")
    else:
        messages.info(request, "This incident already has a postmortem; here it is.")
    return redirect("console:rca-detail", rca_id=rca.pk)
