import json
from pathlib import Path

import pytest

from analyses.models import Incident, IncidentEvent
from tests.conftest import GENERIC_ALERT
from webhooks.models import InboundEvent


def test_a_new_alert_creates_an_incident_with_the_documented_answer(post_alert, org):
    response = post_alert(GENERIC_ALERT)

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("ok", "deduplicated", "dedup_strategy", "group_id")} == {
        "ok": True,
        "deduplicated": False,
        "dedup_strategy": None,
        "group_id": None,
    }
    incident = Incident.objects.get(pk=body["incident_id"])
    assert incident.organization == org
    assert (incident.title, incident.severity, incident.service, incident.namespace, incident.pod) == (
        "High CPU on payments-api",
        "critical",
        "payments-api",
        "production",
        "payments-api-7d8f9c6b5-x2k4m",
    )
    assert body["incident_id"].startswith("inc-")
    assert list(IncidentEvent.objects.filter(incident=incident).values_list("event_type", flat=True)) == [
        "alert_received",
        "incident_created",
    ]


def test_the_same_alert_again_is_deduplicated_and_counted(post_alert):
    first = post_alert(GENERIC_ALERT).json()

    second = post_alert(GENERIC_ALERT).json()

    assert (second["incident_id"], second["deduplicated"], second["dedup_strategy"]) == (
        first["incident_id"],
        True,
        "fingerprint",
    )
    incident = Incident.objects.get(pk=first["incident_id"])
    assert incident.alert_count == 2
    assert incident.events.filter(event_type="deduplicated").count() == 1


def test_a_repeat_updates_its_incident_in_place_and_keeps_a_worse_severity(post_alert):
    first = post_alert({**GENERIC_ALERT, "severity": "critical"}).json()
    before = Incident.objects.get(pk=first["incident_id"])

    second = post_alert({**GENERIC_ALERT, "severity": "info", "actual_value": 97.5}).json()

    incident = Incident.objects.get(pk=first["incident_id"])
    assert (second["incident_id"], second["group_id"]) == (incident.pk, None)
    assert (incident.alert_count, incident.severity, incident.actual_value) == (2, "critical", 97.5)
    assert incident.last_seen_at > before.last_seen_at
    (event,) = incident.events.filter(event_type="deduplicated")
    assert (event.actor, event.payload["severity"], event.payload["dedup_strategy"]) == (
        "webhook:webhook",
        "info",
        "fingerprint",
    )


def test_a_raw_event_is_stored_for_every_request(post_alert):
    post_alert(GENERIC_ALERT)

    (event,) = InboundEvent.objects.all()
    assert (event.status, event.source, event.channel) == ("processed", "webhook", "aisre_webhook")
    assert json.loads(event.body) == GENERIC_ALERT


def test_not_json_is_400_and_kept_in_the_dead_letter(ingest_client, reader):
    response = ingest_client.generic("POST", "/webhook", b"{oops", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    dead = reader.get("/webhook/dead-letter").json()
    assert dead["count"] == 1
    assert dead["entries"][0]["payload"] == "{oops"
    assert dead["entries"][0]["error"].startswith("The body is not valid JSON")


def test_an_unknown_source_is_400_naming_the_known_ones(post_alert):
    response = post_alert(GENERIC_ALERT, source="nagios")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_source"
    assert "Unknown X-Source 'nagios'; known: " in response.json()["error"]
    assert InboundEvent.objects.get().status == "dead"


def test_a_wrong_shape_is_422_on_the_aisre_surface(post_alert):
    response = post_alert([1, 2, 3])

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_payload"


def test_a_body_over_the_limit_is_413(ingest_client, settings):
    settings.INGEST_MAX_BODY_BYTES = 1000

    response = ingest_client.post("/webhook", {"title": "x" * 2000}, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_deeply_nested_json_is_refused_cleanly(ingest_client):
    body = "[" * 100_000 + "]" * 100_000

    response = ingest_client.generic("POST", "/webhook", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "The JSON is nested too deeply."


def test_nul_characters_do_not_break_storage(post_alert):
    response = post_alert({**GENERIC_ALERT, "title": "bad\u0000title"})

    assert response.status_code == 200
    assert Incident.objects.get().title == "bad\ufffdtitle"


def test_a_read_only_key_cannot_ingest(post_alert, reader):
    response = post_alert(GENERIC_ALERT, client=reader)

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("path", ["/webhook", "/webhook/"])
def test_both_slashes_work(ingest_client, path):
    assert ingest_client.post(path, GENERIC_ALERT, format="json").status_code == 200


def test_a_payload_without_alerts_is_accepted_and_changes_nothing(post_alert):
    ping = {
        "event": {
            "id": "01PING",
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "data": {"type": "ping"},
        }
    }

    response = post_alert(ping, source="pagerduty")

    assert response.status_code == 200
    body = response.json()
    assert (body["alerts_received"], body["incident_id"], body["incidents"]) == (0, None, [])
    assert InboundEvent.objects.get().status == "processed"
    assert not Incident.objects.exists()


@pytest.mark.parametrize("source", ["webhook", "alertmanager"])
def test_the_answer_has_exactly_the_documented_shape(post_alert, source):
    from webhooks.api.aisre import AisreWebhookOut

    payloads = Path(__file__).resolve().parents[1] / "webhooks" / "payloads"
    payload = (
        GENERIC_ALERT
        if source == "webhook"
        else json.loads((payloads / "alertmanager" / "firing_two_alerts.json").read_text())
    )

    for answer in (post_alert(payload, source=source).json(), post_alert(payload, source=source).json()):
        assert answer == AisreWebhookOut(answer).data  # no undocumented key, every value of its type
        assert answer["alerts_received"] == len(answer["incidents"]) == (1 if source == "webhook" else 2)
