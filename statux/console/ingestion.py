"""Console ingestion pages: webhook configs (keys shown once) and the dead letter with replay.

Reads go through webhooks.selectors (which scope to the tenant), writes through webhooks.services.
"""

from __future__ import annotations

import json
import shlex
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from statux.audit import Actor
from statux.console import forms
from statux.console.views import _not_found, create_shown_once, requires
from statux.errors import NotFound
from webhooks import selectors, services
from webhooks.models import InboundEvent, InboundStatus, WebhookConfig

DEAD_LETTER_PAGE_SIZE = 50
PAYLOAD_PREVIEW_CHARS = 20_000
# What the example sends: the generic webhook's own shape, or a file holding the provider's payload.
EXAMPLE_ALERT = {"title": "High CPU on payments-api", "severity": "critical", "service": "payments-api"}


def ingest_url(raw_key: str) -> str:
    return f"{settings.SITE_URL}/api/v1/webhooks/ingest/{raw_key}"


def curl_example(config: WebhookConfig, raw_key: str) -> str:
    """A shell snippet that posts one alert to the config, signing the body when the config has a secret."""
    if config.normalizer == "webhook":
        body = f"body={shlex.quote(json.dumps(EXAMPLE_ALERT))}"
    else:
        body = f"body=$(cat alert.json)  # a {config.normalizer} webhook payload"
    lines = [f"url={shlex.quote(ingest_url(raw_key))}"]
    headers = ["-H 'content-type: application/json'"]
    if config.secret:
        lines.append(': "${SECRET:?first export SECRET=<the signing secret you entered>}"')
    lines.append(body)
    if config.secret:
        lines.append("sig=$(printf '%s' \"$body\" | openssl dgst -sha256 -hmac \"$SECRET\" | cut -d' ' -f2)")
        headers.append('-H "x-webhook-signature: sha256=$sig"')
    lines.append(f'curl -sS -X POST "$url" {" ".join(headers)} --data-binary "$body"')
    return "\n".join(lines)


# --- Webhook configs -------------------------------------------------------------------------------


def _webhooks_page(
    request: HttpRequest,
    *,
    form: forms.WebhookConfigCreateForm | None = None,
    shown_config: WebhookConfig | None = None,
    raw_key: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "configs": selectors.webhook_config_list(organization=request.organization),
        "can_write": request.access.allows("write"),
        "form": form or forms.WebhookConfigCreateForm(),
        "shown_config": shown_config,
        "raw_key": raw_key,
        "ingest_url": ingest_url(raw_key) if raw_key else "",
        "curl_example": curl_example(shown_config, raw_key) if raw_key else "",
        "dead_letter_count": selectors.dead_letter_list(organization=request.organization).count(),
    }
    return render(request, "console/ingestion/webhooks.html", context, status=status)


def _webhook_config(request: HttpRequest, config_id: uuid.UUID) -> WebhookConfig | None:
    try:
        return selectors.webhook_config_get(organization=request.organization, config_id=str(config_id))
    except NotFound:
        return None


def _config_missing(request: HttpRequest, config_id: uuid.UUID) -> HttpResponse:
    return _not_found(request, f"There is no webhook config {config_id} in this organization.")


@requires("read")
@require_safe
def webhook_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/ingestion/webhooks/"""
    return _webhooks_page(request)


@requires("write")
@require_POST
@never_cache
def webhook_create_view(request: HttpRequest) -> HttpResponse:
    """POST /console/ingestion/webhooks/create/: renders the ingest URL with its key once."""
    form = forms.WebhookConfigCreateForm(request.POST)

    def create(data: dict) -> HttpResponse:
        config, raw = services.webhook_config_create(
            organization=request.organization, actor=Actor.from_request(request), **data
        )
        messages.success(request, f"Webhook config “{config.name}” created.")
        return _webhooks_page(request, shown_config=config, raw_key=raw)

    return create_shown_once(request, form, _webhooks_page, create)


@requires("write")
@require_http_methods(["GET", "POST"])
@never_cache
def webhook_regenerate_view(request: HttpRequest, config_id: uuid.UUID) -> HttpResponse:
    """GET (confirm), POST /console/ingestion/webhooks/<config_id>/regenerate/: shows the new key once."""
    if (config := _webhook_config(request, config_id)) is None:
        return _config_missing(request, config_id)
    if request.method == "GET":
        return render(request, "console/ingestion/webhook_regenerate.html", {"config": config})
    config, raw = services.webhook_config_regenerate_key(config=config, actor=Actor.from_request(request))
    messages.success(request, f"New key for “{config.name}”; the old key stopped working.")
    return _webhooks_page(request, shown_config=config, raw_key=raw)


@requires("write")
@require_POST
def webhook_enabled_view(request: HttpRequest, config_id: uuid.UUID) -> HttpResponse:
    """POST /console/ingestion/webhooks/<config_id>/enabled/ with enabled=true|false"""
    if (config := _webhook_config(request, config_id)) is None:
        return _config_missing(request, config_id)
    form = forms.WebhookConfigEnabledForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say enabled=true or enabled=false.")
        return redirect("console:webhook-list")
    config = services.webhook_config_update(
        config=config, actor=Actor.from_request(request), enabled=form.cleaned_data["enabled"]
    )
    if config.enabled:
        messages.success(request, f"Webhook config “{config.name}” enabled; its key is accepted again.")
    else:
        messages.success(request, f"Webhook config “{config.name}” disabled; posts with its key are refused.")
    return redirect("console:webhook-list")


@requires("write")
@require_http_methods(["GET", "POST"])
def webhook_delete_view(request: HttpRequest, config_id: uuid.UUID) -> HttpResponse:
    """GET (confirm), POST /console/ingestion/webhooks/<config_id>/delete/"""
    if (config := _webhook_config(request, config_id)) is None:
        return _config_missing(request, config_id)
    if request.method == "GET":
        return render(request, "console/ingestion/webhook_delete.html", {"config": config})
    services.webhook_config_delete(config=config, actor=Actor.from_request(request))
    messages.success(request, f"Webhook config “{config.name}” deleted; its key no longer works.")
    return redirect("console:webhook-list")


# --- Dead letter -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterRow:
    event: InboundEvent
    payload: str
    truncated: bool


def dead_letter_row(event: InboundEvent) -> DeadLetterRow:
    """The stored body, pretty-printed when it is JSON, cut at PAYLOAD_PREVIEW_CHARS."""
    try:
        text = json.dumps(json.loads(event.body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = event.body
    return DeadLetterRow(
        event=event, payload=text[:PAYLOAD_PREVIEW_CHARS], truncated=len(text) > PAYLOAD_PREVIEW_CHARS
    )


@requires("read")
@require_safe
def dead_letter_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/ingestion/dead-letter/?page=<n>"""
    events = selectors.dead_letter_list(organization=request.organization).select_related("webhook_config")
    page = Paginator(events, DEAD_LETTER_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [dead_letter_row(event) for event in page],
        "can_write": request.access.allows("write"),
    }
    return render(request, "console/ingestion/dead_letter.html", context)


def _replay_message(processed: int, still_dead: int, gone: int) -> tuple[int, str]:
    replayed = processed + still_dead
    if not replayed:
        return messages.WARNING, "Nothing was replayed: those entries are no longer in the dead letter."
    text = (
        f"Replayed {replayed} event{'s' if replayed != 1 else ''}: {processed} now processed, "
        f"{still_dead} still dead-lettered."
    )
    if gone:
        text += f" {gone} had already left the dead letter."
    return (messages.SUCCESS if not still_dead else messages.WARNING), text


@requires("write")
@require_POST
def dead_letter_replay_view(request: HttpRequest) -> HttpResponse:
    """POST /console/ingestion/dead-letter/replay/ with one `event` id per entry (a page at most)."""
    event_ids = request.POST.getlist("event")[:DEAD_LETTER_PAGE_SIZE]
    actor = Actor.from_request(request)
    processed = still_dead = gone = 0
    for event_id in event_ids:
        try:
            event = selectors.dead_letter_get(organization=request.organization, event_id=event_id)
        except NotFound:
            gone += 1
            continue
        event = services.inbound_event_replay_now(event=event, actor=actor)
        if event.status == InboundStatus.PROCESSED:
            processed += 1
        else:
            still_dead += 1
    level, text = _replay_message(processed, still_dead, gone)
    messages.add_message(request, level, text)
    page = request.POST.get("page", "")
    url = reverse("console:dead-letter-list")
    return redirect(f"{url}?page={page}" if page.isdigit() and page != "1" else url)
