"""Usage fixtures: an organization on the free plan with small limits, set through the budget service."""

from __future__ import annotations

import pytest

from statux.audit import Actor
from usage.services import usage_budget_update, usage_record_analysis


@pytest.fixture
def free_org(org):
    org.plan = "free"
    org.save(update_fields=["plan"])
    return org


@pytest.fixture
def small_budget(free_org, owner):
    """Five analyses a month, alerts at 80% and 100%."""
    return usage_budget_update(
        organization=free_org, actor=Actor(user=owner), analyses_limit=5, thresholds=[80, 100]
    )


@pytest.fixture
def record():
    def record(organization, times=1, *, paid=False, input_tokens=0, output_tokens=0, provider=None):
        crossed = []
        for _ in range(times):
            crossed = usage_record_analysis(
                organization=organization,
                provider=provider or ("bedrock" if paid else "deterministic"),
                paid=paid,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )
        return crossed  # the last call's crossings

    return record
