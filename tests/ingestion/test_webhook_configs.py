"""Statux webhook configs and the keyed, optionally signed ingest endpoint."""

import hashlib
import hmac
import json
import time

import pytest
from rest_framework.test import APIClient

from analyses.models import Incident
from statux.models import hash_secret
from tests.conftest import GENERIC_ALERT
from webhooks.models import InboundEvent, WebhookConfig


@pytest.fixture
def create_config(admin_client, org):
    def create(**body):
        response = admin_client.post(
            f"/api/v1/organizations/{org.slug}/webhook-configs", {"name": "Grafana prod", **body}
        )
        assert response.status_code == 201, response.json()
        return response.json()

    return create


def ingest(key, payload=GENERIC_ALERT, **headers):
    body = json.dumps(payload).encode()
    return APIClient().generic(
        "POST", f"/api/v1/webhooks/ingest/{key}", body, content_type="application/json", **headers
    ), body


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    message = body if timestamp is None else f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_create_shows_the_key_once_and_stores_its_hash(create_config, admin_client, org):
    created = create_config(sourceProduct="synthetics", secret="s3cret")

    assert created["apiKey"].startswith("ins_")
    assert created["ingestUrl"].endswith(f"/api/v1/webhooks/ingest/{created['apiKey']}")
    assert (created["sourceProduct"], created["normalizer"], created["hasSecret"], created["enabled"]) == (
        "synthetics",
        "webhook",
        True,
        True,
    )
    assert WebhookConfig.objects.get(pk=created["id"]).key_hash == hash_secret(created["apiKey"])
    listing = admin_client.get(f"/api/v1/organizations/{org.slug}/webhook-configs").json()
    assert (
        listing["count"] == 1
        and "apiKey" not in listing["results"][0]
        and "secret" not in listing["results"][0]
    )
    assert created["apiKey"] not in json.dumps(listing)


def test_ingest_with_the_key_creates_an_incident_and_counts_it(create_config, admin_client, org):
    created = create_config()

    response, _ = ingest(created["apiKey"])

    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["status"]) == (True, "processed")
    (outcome,) = body["incidents"]
    assert Incident.objects.get(pk=outcome["incidentId"]).organization == org
    config = admin_client.get(f"/api/v1/organizations/{org.slug}/webhook-configs/{created['id']}").json()
    assert config["receivedCount"] == 1 and config["lastReceivedAt"] is not None
    assert InboundEvent.objects.get().webhook_config_id is not None


def test_an_unknown_key_is_401(db):
    response, _ = ingest("ins_nope")

    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


def test_a_disabled_config_is_403(create_config, admin_client, org):
    created = create_config()
    admin_client.patch(
        f"/api/v1/organizations/{org.slug}/webhook-configs/{created['id']}", {"enabled": False}
    )

    response, _ = ingest(created["apiKey"])

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("prefix", ["", "sha256="])
def test_a_correct_signature_is_accepted_with_or_without_prefix(create_config, prefix):
    created = create_config(secret="s3cret")
    body = json.dumps(GENERIC_ALERT).encode()

    response, _ = ingest(created["apiKey"], HTTP_X_WEBHOOK_SIGNATURE=prefix + sign("s3cret", body))

    assert response.status_code == 202


@pytest.mark.parametrize("signature", [None, "deadbeef", "sha256=" + "0" * 64])
def test_a_missing_or_wrong_signature_is_401_and_counted(create_config, admin_client, org, signature):
    created = create_config(secret="s3cret")
    headers = {} if signature is None else {"HTTP_X_WEBHOOK_SIGNATURE": signature}

    response, _ = ingest(created["apiKey"], **headers)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert not InboundEvent.objects.exists()
    config = admin_client.get(f"/api/v1/organizations/{org.slug}/webhook-configs/{created['id']}").json()
    assert config["rejectedCount"] == 1


def test_a_timestamped_signature_is_accepted_fresh_and_refused_when_old(create_config):
    created = create_config(secret="s3cret")
    body = json.dumps(GENERIC_ALERT).encode()
    now, old = int(time.time()), int(time.time()) - 301

    fresh, _ = ingest(
        created["apiKey"],
        HTTP_X_WEBHOOK_SIGNATURE=sign("s3cret", body, now),
        HTTP_X_WEBHOOK_TIMESTAMP=str(now),
    )
    replayed, _ = ingest(
        created["apiKey"],
        HTTP_X_WEBHOOK_SIGNATURE=sign("s3cret", body, old),
        HTTP_X_WEBHOOK_TIMESTAMP=str(old),
    )
    swapped, _ = ingest(
        created["apiKey"],
        HTTP_X_WEBHOOK_SIGNATURE=sign("s3cret", body, now - 10),
        HTTP_X_WEBHOOK_TIMESTAMP=str(now),
    )

    assert fresh.status_code == 202
    assert (replayed.status_code, replayed.json()["error"]) == (
        401,
        "x-webhook-timestamp is too old or too far in the future; replay refused.",
    )
    assert swapped.status_code == 401


def test_regenerating_invalidates_the_old_key_at_once(create_config, admin_client, org):
    created = create_config()

    regenerated = admin_client.post(
        f"/api/v1/organizations/{org.slug}/webhook-configs/{created['id']}/regenerate-key"
    ).json()

    assert regenerated["apiKey"] != created["apiKey"]
    assert ingest(created["apiKey"])[0].status_code == 401
    assert ingest(regenerated["apiKey"])[0].status_code == 202


def test_patch_and_delete(create_config, admin_client, org):
    created = create_config()
    path = f"/api/v1/organizations/{org.slug}/webhook-configs/{created['id']}"

    patched = admin_client.patch(path, {"name": "Renamed", "normalizer": "webhook"})
    deleted = admin_client.delete(path)

    assert (patched.status_code, patched.json()["name"]) == (200, "Renamed")
    assert deleted.status_code == 204
    assert admin_client.get(path).status_code == 404
    assert ingest(created["apiKey"])[0].status_code == 401


def test_an_unknown_normalizer_is_refused(admin_client, org):
    response = admin_client.post(
        f"/api/v1/organizations/{org.slug}/webhook-configs", {"name": "x", "normalizer": "nagios"}
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"normalizer": ["unknown"]}


def test_a_viewer_cannot_create_configs(viewer_client, org):
    response = viewer_client.post(f"/api/v1/organizations/{org.slug}/webhook-configs", {"name": "x"})

    assert response.status_code == 403


def test_bad_payloads_through_the_keyed_endpoint_are_400_and_dead_lettered(create_config):
    created = create_config()

    response = APIClient().generic(
        "POST", f"/api/v1/webhooks/ingest/{created['apiKey']}", b"not json", content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")
    assert InboundEvent.objects.get().status == "dead"
