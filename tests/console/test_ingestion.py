"""Console ingestion pages: webhook configs with their one-time key, and the dead letter with replay."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess

import pytest

from analyses.models import Incident
from statux.audit import Actor
from statux.models import AuditLog, hash_secret
from tests.console.conftest import logged_in
from webhooks import services
from webhooks.models import InboundEvent, WebhookConfig
from webhooks.normalizers.base import InvalidPayload, NormalizedAlert, Normalizer, normalizers

INGEST_URL = re.compile(r'id="ingest-url"[^>]*value="([^"]+)"')
CURL_EXAMPLE = re.compile(r'<textarea id="curl-example"[^>]*>(.*?)</textarea>', re.S)


def text(response) -> str:
    return html.unescape(response.content.decode())


def create_config(organization, name="Grafana prod", **extra) -> tuple[WebhookConfig, str]:
    return services.webhook_config_create(
        organization=organization,
        name=name,
        source_product=extra.pop("source_product", "alerting"),
        actor=Actor(system="test"),
        **extra,
    )


class SwitchableNormalizer(Normalizer):
    """Refuses every payload while `broken`, the way a provider's changed format would."""

    name = "zz-console"
    broken = True

    def normalize(self, payload):
        if SwitchableNormalizer.broken:
            raise InvalidPayload("'alerts' must be a list of alerts.")
        return [NormalizedAlert(source=self.name, title=payload["title"], fingerprint=payload["title"])]


@pytest.fixture
def switchable():
    normalizers.register(SwitchableNormalizer)
    SwitchableNormalizer.broken = True
    yield SwitchableNormalizer
    normalizers.unregister(SwitchableNormalizer.name)


def dead_event(organization, body: bytes = b'{"title": "Disk full on db-1"}', source="zz-console"):
    """A request whose processing failed: received through the service, then dead-lettered by it."""
    with pytest.raises(InvalidPayload):
        services.inbound_event_receive(
            organization=organization, channel="statux_ingest", source=source, body=body
        )
    event = InboundEvent.objects.get(organization=organization, body=body.decode())
    assert event.status == "dead"
    return event


def unparsable_event(organization, body: str = "status=down&host=db-1") -> InboundEvent:
    """A body that is not JSON, stored and dead-lettered as the task would."""
    event = services.inbound_event_store(
        organization=organization, channel="aisre_webhook", source="webhook", body=body.encode()
    )
    return services.inbound_event_dead_letter(event_id=event.pk, reason="The body is not valid JSON.")


# --- Webhook configs -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/ingestion/webhooks/", "/console/ingestion/dead-letter/"])
def test_ingestion_pages_send_anonymous_visitors_to_the_login_page(client, db, path):
    response = client.get(path)

    assert (response.status_code, response["Location"]) == (302, f"/console/login/?next={path}")


def test_the_configs_page_lists_prefix_signing_state_and_counts(viewer_console, org, other_org):
    signed, _ = create_config(org, "Grafana prod", secret="s3cret")
    unsigned, _ = create_config(org, "Synthetics", source_product="synthetics", enabled=False)
    services.webhook_config_record_receipt(config=signed, accepted=True)
    services.webhook_config_record_receipt(config=signed, accepted=False)
    create_config(other_org, "Globex pager")

    response = viewer_console.get("/console/ingestion/webhooks/")

    page = text(response)
    assert response.status_code == 200
    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\".*?</tr>", page, re.S)
    cells = [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]
    signed.refresh_from_db()
    assert cells == [
        [
            "Synthetics synthetics",
            "webhook",
            f"{unsigned.key_prefix}…",
            "no",
            "disabled",
            "0",
            "0",
            "never",
        ],
        [
            "Grafana prod alerting",
            "webhook",
            f"{signed.key_prefix}…",
            "yes",
            "enabled",
            "1",
            "1",
            f"{signed.last_received_at:%Y-%m-%d %H:%M}",
        ],
    ]
    assert "Globex pager" not in page
    assert "s3cret" not in page


def test_a_viewer_sees_the_configs_but_no_form_or_actions(viewer_console, org):
    create_config(org)

    page = text(viewer_console.get("/console/ingestion/webhooks/"))

    assert "Grafana prod" in page
    assert "Create a webhook config" not in page and "Regenerate key" not in page and ">Disable" not in page
    assert "Your role <strong>viewer</strong> can see the webhook configs" in page


def test_the_normalizer_select_offers_every_registered_normalizer(operator_console, switchable):
    page = text(operator_console.get("/console/ingestion/webhooks/"))

    select = re.search(r'<select name="normalizer".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', select) == normalizers.names()
    assert '<option value="webhook" selected>' in select


def test_creating_a_config_shows_the_ingest_url_once_then_only_the_prefix(operator_console, org, settings):
    settings.SITE_URL = "https://statux.example"

    response = operator_console.post(
        "/console/ingestion/webhooks/create/",
        {
            "name": "Grafana prod",
            "source_product": "alerting",
            "normalizer": "webhook",
            "secret": "s3cret",
            "enabled": "on",
        },
    )

    page = text(response)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Webhook config “Grafana prod” created." in page
    url = INGEST_URL.search(page).group(1)
    raw = url.removeprefix("https://statux.example/api/v1/webhooks/ingest/")
    config = WebhookConfig.objects.get(organization=org)
    assert (config.name, config.normalizer, config.secret, config.enabled) == (
        "Grafana prod",
        "webhook",
        "s3cret",
        True,
    )
    assert config.key_hash == hash_secret(raw) and raw.startswith("ins_")
    example = CURL_EXAMPLE.search(page).group(1)
    assert f"url={url}" in example
    assert "sig=$(printf '%s' \"$body\" | openssl dgst -sha256 -hmac \"$SECRET\" | cut -d' ' -f2)" in example
    assert '-H "x-webhook-signature: sha256=$sig"' in example
    assert "s3cret" not in example

    later = text(operator_console.get("/console/ingestion/webhooks/"))
    assert raw not in later and "ingest-url" not in later
    assert f"<code>{config.key_prefix}…</code>" in later


def test_an_unsigned_configs_example_sends_no_signature(operator_console, org):
    response = operator_console.post(
        "/console/ingestion/webhooks/create/",
        {"name": "Simple", "source_product": "external", "normalizer": "webhook", "enabled": "on"},
    )

    example = CURL_EXAMPLE.search(text(response)).group(1)
    assert "openssl" not in example and "x-webhook-signature" not in example
    assert WebhookConfig.objects.get(organization=org).secret == ""


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
def test_the_signed_curl_example_really_ingests_an_alert(live_server, settings, owner, org):
    settings.SITE_URL = live_server.url

    response = logged_in(owner).post(
        "/console/ingestion/webhooks/create/",
        {
            "name": "Signed",
            "source_product": "alerting",
            "normalizer": "webhook",
            "secret": "s3cret",
            "enabled": "on",
        },
    )
    example = CURL_EXAMPLE.search(text(response)).group(1)

    run = subprocess.run(
        ["bash", "-c", example],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "SECRET": "s3cret"},
    )

    assert '"accepted":true' in run.stdout, run.stdout + run.stderr
    assert Incident.objects.get(organization=org).title == "High CPU on payments-api"
    assert WebhookConfig.objects.get(organization=org).received_count == 1


def test_a_config_without_a_name_is_refused(operator_console, org):
    response = operator_console.post(
        "/console/ingestion/webhooks/create/",
        {"name": "", "source_product": "alerting", "normalizer": "webhook"},
    )

    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert not WebhookConfig.objects.exists()


def test_an_unknown_normalizer_is_refused(operator_console, org):
    response = operator_console.post(
        "/console/ingestion/webhooks/create/",
        {"name": "X", "source_product": "alerting", "normalizer": "nope"},
    )

    assert response.status_code == 400
    assert "Select a valid choice. nope is not one of the available choices." in text(response)
    assert not WebhookConfig.objects.exists()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("create/", {"name": "X", "source_product": "alerting", "normalizer": "webhook"}),
        ("{id}/regenerate/", {}),
        ("{id}/enabled/", {"enabled": "false"}),
        ("{id}/delete/", {}),
    ],
)
def test_a_viewer_cannot_change_webhook_configs(viewer_console, org, path, data):
    config, _ = create_config(org)

    response = viewer_console.post(f"/console/ingestion/webhooks/{path.format(id=config.pk)}", data)

    assert response.status_code == 403
    assert "cannot change incidents, analyses, webhook configs, the dead letter or guardrails" in (
        text(response)
    )
    assert list(WebhookConfig.objects.values_list("name", "enabled", "key_hash")) == [
        ("Grafana prod", True, config.key_hash)
    ]


def test_regenerating_asks_first_then_shows_the_new_key_once(operator_console, org):
    config, old_raw = create_config(org, secret="s3cret")

    confirm = text(operator_console.get(f"/console/ingestion/webhooks/{config.pk}/regenerate/"))
    response = operator_console.post(f"/console/ingestion/webhooks/{config.pk}/regenerate/")

    assert "Regenerate the key of “Grafana prod”?" in confirm and "stops working at once" in confirm
    page = text(response)
    new_raw = INGEST_URL.search(page).group(1).rsplit("/", 1)[1]
    config.refresh_from_db()
    assert config.key_hash == hash_secret(new_raw) != hash_secret(old_raw)
    assert "New key for “Grafana prod”; the old key stopped working." in page
    assert "openssl dgst -sha256" in CURL_EXAMPLE.search(page).group(1)


def test_disabling_and_enabling_a_config(operator_console, org):
    config, _ = create_config(org)

    disabled = text(
        operator_console.post(
            f"/console/ingestion/webhooks/{config.pk}/enabled/", {"enabled": "false"}, follow=True
        )
    )
    config.refresh_from_db()
    assert config.enabled is False
    assert "Webhook config “Grafana prod” disabled; posts with its key are refused." in disabled
    assert ">Enable<" in disabled

    enabled = text(
        operator_console.post(
            f"/console/ingestion/webhooks/{config.pk}/enabled/", {"enabled": "true"}, follow=True
        )
    )
    config.refresh_from_db()
    assert config.enabled is True
    assert "enabled; its key is accepted again." in enabled
    assert AuditLog.objects.filter(action="webhook_config.updated").count() == 2


def test_deleting_asks_first_then_deletes_through_the_service(operator_console, org):
    config, _ = create_config(org)

    confirm = text(operator_console.get(f"/console/ingestion/webhooks/{config.pk}/delete/"))
    response = operator_console.post(f"/console/ingestion/webhooks/{config.pk}/delete/", follow=True)

    assert "Delete webhook config “Grafana prod”?" in confirm
    assert response.redirect_chain == [("/console/ingestion/webhooks/", 302)]
    assert "Webhook config “Grafana prod” deleted; its key no longer works." in text(response)
    assert not WebhookConfig.objects.exists()
    assert AuditLog.objects.filter(action="webhook_config.deleted").exists()


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "regenerate/", {}),
        ("post", "regenerate/", {}),
        ("post", "enabled/", {"enabled": "false"}),
        ("get", "delete/", {}),
        ("post", "delete/", {}),
    ],
)
def test_another_organizations_config_is_not_found(owner_console, other_org, method, path, data):
    foreign, _ = create_config(other_org, "Globex pager")

    response = getattr(owner_console, method)(f"/console/ingestion/webhooks/{foreign.pk}/{path}", data)

    assert response.status_code == 404
    assert f"There is no webhook config {foreign.pk} in this organization." in text(response)
    assert WebhookConfig.objects.filter(pk=foreign.pk, enabled=True, key_hash=foreign.key_hash).exists()


# --- Dead letter -----------------------------------------------------------------------------------


def test_the_dead_letter_lists_events_with_their_error_and_payload(
    viewer_console, org, other_org, switchable
):
    event = dead_event(org)
    unparsable_event(other_org, "globex-secret-body")

    response = viewer_console.get("/console/ingestion/dead-letter/")

    page = text(response)
    assert response.status_code == 200
    row = re.search(r"<tbody>.*?</tbody>", page, re.S).group(0)
    assert f"{event.created_at:%Y-%m-%d %H:%M:%S}" in row
    assert "<code>zz-console</code>" in row and "<code>statux_ingest</code>" in row
    assert '<td class="num">1</td>' in row
    assert "'alerts' must be a list of alerts." in row
    assert '<pre class="payload">{\n  "title": "Disk full on db-1"\n}</pre>' in row
    assert "globex-secret-body" not in page
    assert 'Dead letter <span class="count">1</span>' in page


def test_a_viewer_may_look_but_not_replay(viewer_console, org, switchable):
    event = dead_event(org)

    page = text(viewer_console.get("/console/ingestion/dead-letter/"))
    response = viewer_console.post("/console/ingestion/dead-letter/replay/", {"event": [event.pk]})

    assert ">Replay" not in page
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.status == "dead"


def test_replaying_a_fixed_event_processes_it(operator_console, org, switchable):
    event = dead_event(org)
    switchable.broken = False  # the cause is fixed

    response = operator_console.post(
        "/console/ingestion/dead-letter/replay/", {"event": [event.pk], "page": "1"}, follow=True
    )

    assert response.redirect_chain == [("/console/ingestion/dead-letter/", 302)]
    assert "Replayed 1 event: 1 now processed, 0 still dead-lettered." in text(response)
    event.refresh_from_db()
    assert (event.status, event.error) == ("processed", "")
    assert Incident.objects.get(organization=org).title == "Disk full on db-1"
    assert "The dead letter is empty" in text(response)
    assert AuditLog.objects.filter(action="inbound_event.replayed", actor="operator@acme.test").exists()


def test_replaying_all_on_the_page_says_how_many_still_fail(operator_console, org, switchable):
    fixable = dead_event(org)
    broken = unparsable_event(org)
    switchable.broken = False

    page = text(operator_console.get("/console/ingestion/dead-letter/"))
    replay_all = re.search(
        r'<form method="post" action="/console/ingestion/dead-letter/replay/">.*?</form>', page, re.S
    )
    ids = re.findall(r'name="event" value="([^"]+)"', replay_all.group(0))
    response = operator_console.post("/console/ingestion/dead-letter/replay/", {"event": ids}, follow=True)

    assert "Replay all on this page (2)" in replay_all.group(0)
    assert sorted(ids) == sorted([str(fixable.pk), str(broken.pk)])
    assert "Replayed 2 events: 1 now processed, 1 still dead-lettered." in text(response)
    fixable.refresh_from_db()
    broken.refresh_from_db()
    assert (fixable.status, broken.status) == ("processed", "dead")
    assert broken.error.startswith("The body is not valid JSON")


def test_another_organizations_dead_letter_cannot_be_replayed(owner_console, org, other_org):
    foreign = unparsable_event(other_org)

    response = owner_console.post(
        "/console/ingestion/dead-letter/replay/", {"event": [foreign.pk]}, follow=True
    )

    assert "Nothing was replayed: those entries are no longer in the dead letter." in text(response)
    foreign.refresh_from_db()
    assert (foreign.status, foreign.attempts) == ("dead", 1)  # only the try made when it was stored
    assert not AuditLog.objects.filter(action="inbound_event.replayed").exists()


def test_a_malformed_event_id_counts_as_gone(operator_console, org):
    response = operator_console.post(
        "/console/ingestion/dead-letter/replay/", {"event": ["not-a-uuid"]}, follow=True
    )

    assert "Nothing was replayed" in text(response)
