"""GET, PATCH /api/v1/organizations/{orgId}/usage through the URL with real tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from statux.models import AuditLog
from usage.models import UsageThresholdCrossing
from usage.selectors import current_month, month_last_day

USAGE_KEYS = {
    "organizationId",
    "plan",
    "period",
    "analyses",
    "tokens",
    "costUsd",
    "paidAnalyses",
    "thresholds",
    "thresholdsCrossed",
    "hardLimitEnabled",
    "hardLimitReached",
    "budget",
    "planLimits",
    "daily",
}


def usage_path(organization) -> str:
    return f"/api/v1/organizations/{organization.pk}/usage"


def test_get_reports_the_month_against_the_limits(small_budget, free_org, viewer_client, record):
    record(free_org, times=3)
    record(free_org, paid=True, input_tokens=1000, output_tokens=1000)  # 4 of 5: crosses 80%
    month, crossing = current_month(), UsageThresholdCrossing.objects.for_org(free_org).get()

    response = viewer_client.get(usage_path(free_org))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USAGE_KEYS
    assert (body["organizationId"], body["plan"]) == (str(free_org.pk), "free")
    assert body["period"] == {"start": month.isoformat(), "end": month_last_day(month).isoformat()}
    assert body["analyses"] == {"used": 4, "limit": 5, "percent": 80.0}
    assert body["tokens"] == {"used": 2000, "limit": 500_000, "percent": 0.4}
    assert body["costUsd"] == {"used": 0.018, "limit": None, "percent": None}
    assert (body["paidAnalyses"], body["thresholds"]) == (1, [80, 100])
    assert body["thresholdsCrossed"] == [
        {
            "percent": 80,
            "metric": "analyses",
            "crossedAt": crossing.crossed_at.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert (body["hardLimitEnabled"], body["hardLimitReached"]) == (True, False)
    assert body["budget"] == {"analysesLimit": 5, "tokensLimit": None, "costLimitUsd": None}
    assert body["planLimits"] == {"analyses": 100, "tokens": 500_000}


def test_get_lists_the_last_thirty_days_with_zero_days(free_org, viewer_client, record):
    today = timezone.now().date()
    with time_machine.travel(timezone.now() - timedelta(days=12), tick=False):
        record(free_org, times=2, paid=True, input_tokens=500, output_tokens=0)
    with time_machine.travel(timezone.now() - timedelta(days=45), tick=False):
        record(free_org)  # older than the series
    record(free_org)

    daily = viewer_client.get(usage_path(free_org)).json()["daily"]

    assert len(daily) == 30
    dates = [(today - timedelta(days=29 - i)).isoformat() for i in range(30)]
    assert [day["date"] for day in daily] == dates
    assert [day for day in daily if day["analyses"]] == [
        {"date": dates[-13], "analyses": 2, "tokens": 1000, "costUsd": 0.003},
        {"date": dates[-1], "analyses": 1, "tokens": 0, "costUsd": 0.0},
    ]
    assert daily[0] == {"date": dates[0], "analyses": 0, "tokens": 0, "costUsd": 0.0}


def test_get_says_when_the_hard_limit_is_reached(small_budget, free_org, viewer_client, record):
    record(free_org, times=5)

    body = viewer_client.get(usage_path(free_org)).json()

    assert (body["analyses"], body["hardLimitReached"]) == ({"used": 5, "limit": 5, "percent": 100.0}, True)
    assert [(c["metric"], c["percent"]) for c in body["thresholdsCrossed"]] == [
        ("analyses", 80),
        ("analyses", 100),
    ]


def test_get_answers_by_slug_and_with_a_trailing_slash(org, viewer_client):
    response = viewer_client.get("/api/v1/organizations/acme/usage/")

    assert response.status_code == 200
    assert response.json()["analyses"] == {"used": 0, "limit": 2000, "percent": 0.0}


def test_owner_patch_sets_limits_and_answers_the_get_shape(free_org, owner_client):
    response = owner_client.patch(
        usage_path(free_org),
        {"analysesLimit": 50, "costLimitUsd": "12.5", "thresholds": [100, 50, 50], "hardLimitEnabled": False},
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USAGE_KEYS
    assert body["analyses"] == {"used": 0, "limit": 50, "percent": 0.0}
    assert body["costUsd"] == {"used": 0.0, "limit": 12.5, "percent": 0.0}
    assert (body["thresholds"], body["hardLimitEnabled"]) == ([50, 100], False)
    assert body["budget"] == {"analysesLimit": 50, "tokensLimit": None, "costLimitUsd": 12.5}
    audit = AuditLog.objects.for_org(free_org).get(action="usage.budget_updated")
    assert audit.actor == "owner@acme.test"
    assert audit.metadata["analyses_limit"] == {"from": None, "to": 50}


def test_patch_with_null_returns_a_limit_to_the_plan_default(small_budget, free_org, owner_client):
    response = owner_client.patch(usage_path(free_org), {"analysesLimit": None})

    assert response.json()["analyses"]["limit"] == 100


def test_patch_refuses_bad_input_with_fields(free_org, owner_client):
    response = owner_client.patch(
        usage_path(free_org),
        {
            "analysesLimit": -1,
            "tokensLimit": "many",
            "thresholds": [0, 80, 1001],
            "hardLimitEnabled": "maybe",
        },
    )

    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["code"]) == ("Invalid input.", "invalid")
    assert set(body["fields"]) == {"analysesLimit", "tokensLimit", "thresholds", "hardLimitEnabled"}
    assert body["fields"]["analysesLimit"] == ["Ensure this value is greater than or equal to 0."]
    assert set(body["fields"]["thresholds"]) == {"0", "2"}
    assert not AuditLog.objects.for_org(free_org).filter(action="usage.budget_updated").exists()


@pytest.mark.parametrize("client_name", ["viewer_client", "operator_client", "admin_client"])
def test_patch_needs_the_billing_permission(free_org, client_name, request):
    client = request.getfixturevalue(client_name)

    response = client.patch(usage_path(free_org), {"analysesLimit": 1})

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "permission_denied"
    assert body["error"].startswith("This needs the 'billing' permission")


@pytest.mark.parametrize("method", ["get", "patch"])
def test_another_organizations_usage_answers_404(method, org, other_org, owner_client, record):
    record(other_org, times=3)

    response = getattr(owner_client, method)(usage_path(other_org), {})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert "analyses" not in response.json()


def test_usage_needs_credentials(org, api_client):
    response = api_client.get(usage_path(org))

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_the_schema_describes_usage_and_subscription(org, viewer_client):
    schema = viewer_client.get("/api/schema/?format=json").json()

    assert {"get", "patch"} <= set(schema["paths"]["/api/v1/organizations/{org_id}/usage"])
    assert "post" in schema["paths"]["/api/v1/users/me/subscription/checkout"]
    assert "StatuxUsageOut" in schema["components"]["schemas"]
