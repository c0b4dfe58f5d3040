"""Nothing acknowledged is lost: transient failures retry, the last try dead-letters, replay recovers."""

import pytest
from django.core.management import call_command

from analyses.models import Incident
from tests.conftest import GENERIC_ALERT
from webhooks.models import InboundEvent
from webhooks.normalizers.base import NormalizedAlert, Normalizer, normalizers


class FlakyNormalizer(Normalizer):
    """Fails (like a database blip would) until `failures_left` reaches zero."""

    name = "zz-flaky"
    failures_left = 0

    def normalize(self, payload):
        if FlakyNormalizer.failures_left > 0:
            FlakyNormalizer.failures_left -= 1
            raise ConnectionError("database went away")
        return [
            NormalizedAlert(source=self.name, title=payload["title"], fingerprint=f"flaky:{payload['title']}")
        ]


@pytest.fixture
def flaky():
    normalizers.register(FlakyNormalizer)
    yield FlakyNormalizer
    normalizers.unregister(FlakyNormalizer.name)


def test_a_transient_failure_is_retried_until_it_succeeds(post_alert, flaky, settings):
    flaky.failures_left = 3  # inline try + two task retries fail, the third retry works

    response = post_alert(GENERIC_ALERT, source="zz-flaky")

    assert response.status_code == 202
    assert response.json()["queued"] is True
    event = InboundEvent.objects.get(pk=response.json()["event_id"])
    assert (event.status, event.attempts) == ("processed", 4)
    assert Incident.objects.get().title == GENERIC_ALERT["title"]


def test_the_last_failed_try_dead_letters_the_event_for_inspection(post_alert, reader, flaky, settings):
    settings.INGEST_MAX_RETRIES = 2
    flaky.failures_left = 100

    response = post_alert(GENERIC_ALERT, source="zz-flaky")

    assert response.status_code == 202
    (entry,) = reader.get("/webhook/dead-letter").json()["entries"]
    assert entry["payload"] == GENERIC_ALERT
    assert (entry["source"], entry["attempts"]) == ("zz-flaky", 4)  # inline, the task, two retries
    assert entry["error"] == "gave up after 2 retries: ConnectionError('database went away')"
    assert not Incident.objects.exists()


def test_replay_command_processes_dead_letters_once_the_cause_is_fixed(post_alert, flaky, settings, capsys):
    settings.INGEST_MAX_RETRIES = 1
    flaky.failures_left = 100
    post_alert(GENERIC_ALERT, source="zz-flaky")
    flaky.failures_left = 0

    call_command("replay_dead_letters")
    call_command("replay_dead_letters")

    assert "Replayed 1 event(s); 0 still dead-lettered." in capsys.readouterr().out
    assert InboundEvent.objects.get().status == "processed"
    assert Incident.objects.get().alert_count == 1  # replaying twice changed nothing the second time


def test_a_replay_that_still_fails_stays_dead_with_the_new_reason(post_alert, flaky, settings, capsys):
    settings.INGEST_MAX_RETRIES = 0
    flaky.failures_left = 100
    post_alert(GENERIC_ALERT, source="zz-flaky")

    call_command("replay_dead_letters")

    event = InboundEvent.objects.get()
    assert event.status == "dead"
    assert event.error == "replay failed: ConnectionError('database went away')"


def test_the_admin_replays_selected_dead_letters(post_alert, flaky, settings, superuser):
    from django.test import Client

    settings.INGEST_MAX_RETRIES = 0
    flaky.failures_left = 2  # the inline try and the task's only try
    post_alert(GENERIC_ALERT, source="zz-flaky")
    assert InboundEvent.objects.get().status == "dead"
    client = Client()
    client.force_login(superuser)
    event = InboundEvent.objects.get()

    response = client.post(
        "/admin/webhooks/inboundevent/",
        {"action": "replay", "index": "0", "_selected_action": [event.pk]},
        follow=True,
    )

    assert "Replayed 1 event(s); 0 still dead-lettered." in response.content.decode()
    assert InboundEvent.objects.get().status == "processed"


def test_dead_letter_limit_is_validated(reader, db):
    response = reader.get("/webhook/dead-letter?limit=5000")

    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["limit"]


class HalfwayAlerts(list):
    """Alerts read one by one from a source that drops its connection after the first."""

    def __iter__(self):
        yield self[0]
        if HalfwayNormalizer.failures_left > 0:
            HalfwayNormalizer.failures_left -= 1
            raise ConnectionError("database went away")
        yield from self[1:]


class HalfwayNormalizer(Normalizer):
    name = "zz-halfway"
    failures_left = 0

    def normalize(self, payload):
        return HalfwayAlerts(
            NormalizedAlert(source=self.name, title=f"{payload['title']} #{n}", fingerprint=f"halfway:{n}")
            for n in (1, 2)
        )


@pytest.fixture
def halfway():
    normalizers.register(HalfwayNormalizer)
    yield HalfwayNormalizer
    normalizers.unregister(HalfwayNormalizer.name)


def test_a_failure_halfway_through_the_request_rolls_back_and_retries_the_stored_event(
    post_alert, halfway, django_capture_on_commit_callbacks
):
    halfway.failures_left = 1  # the inline try fails after its first incident was written

    with django_capture_on_commit_callbacks(execute=True):
        response = post_alert(GENERIC_ALERT, source="zz-halfway")

    assert (response.status_code, response.json()["queued"]) == (202, True)
    event = InboundEvent.objects.get()
    assert str(event.pk) == response.json()["event_id"]
    # The failed try left nothing half-written; the retry (in-process here) recorded both, once each.
    assert (event.status, event.attempts) == ("processed", 2)
    assert sorted(Incident.objects.values_list("title", "alert_count")) == [
        (f"{GENERIC_ALERT['title']} #1", 1),
        (f"{GENERIC_ALERT['title']} #2", 1),
    ]


def test_an_accepted_alert_is_stored_processed_with_its_answer(post_alert):
    response = post_alert(GENERIC_ALERT)

    event = InboundEvent.objects.get(pk=response.json()["event_id"])
    assert (event.status, event.attempts, event.error) == ("processed", 1, "")
    assert event.result["alerts"][0]["incident_id"] == response.json()["incident_id"]
    assert event.processed_at is not None
