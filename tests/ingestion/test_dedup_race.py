"""50 parallel posts of one new alert make exactly one incident (PostgreSQL: real row locks and races)."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from analyses.models import Incident
from statux.audit import Actor
from statux.services import api_key_create
from statux.tenancy import Access
from tests.conftest import GENERIC_ALERT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_fifty_parallel_posts_of_one_alert_make_one_incident(live_server, org):
    access = Access(org, "owner", 4, ("read", "write", "manage_keys", "manage_users"))
    _, raw = api_key_create(
        organization=org, name="race", scope="ingestion", access=access, actor=Actor(system="test")
    )

    def post(_: int) -> dict:
        response = httpx.post(
            f"{live_server.url}/webhook",
            json=GENERIC_ALERT,
            timeout=60,
            headers={"X-API-Key": raw, "X-Source": "webhook"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(post, range(50)))

    (incident,) = Incident.objects.all()
    assert incident.alert_count == 50
    assert {answer["incident_id"] for answer in answers} == {incident.pk}
    assert sorted(answer["deduplicated"] for answer in answers) == [False] + [True] * 49
    assert incident.events.filter(event_type="deduplicated").count() == 49
