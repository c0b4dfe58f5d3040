"""RCA fixtures: an incident with a timeline, an RCA of the operator's, URL helpers."""

from __future__ import annotations

import pytest

from analyses.services import incident_record_alert
from rca.services import rca_create, rca_link_incident
from statux.audit import Actor
from webhooks.normalizers.base import NormalizedAlert


def make_incident(organization, title="OOMKilled: checkout-api", service="checkout-api", fingerprint=None):
    alert = NormalizedAlert(
        source="webhook",
        title=title,
        severity="critical",
        service=service,
        fingerprint=fingerprint or f"{service}-{title}",
    )
    return incident_record_alert(organization=organization, alert=alert).incident


@pytest.fixture
def incident(org):
    return make_incident(org)


@pytest.fixture
def rca(org, operator):
    return rca_create(organization=org, title="Checkout outage", actor=Actor(user=operator))


@pytest.fixture
def linked_rca(rca, incident, operator):
    rca_link_incident(rca=rca, incident=incident, actor=Actor(user=operator))
    return rca


@pytest.fixture
def rcas_url(org):
    return f"/api/v1/organizations/{org.pk}/rcas"
