"""Plan defaults, in one place: what a month allows when the organization's budget leaves a limit null."""

from __future__ import annotations

from dataclasses import dataclass

from statux.models import Plan


@dataclass(frozen=True)
class PlanLimits:
    analyses: int | None  # None: unlimited
    tokens: int | None


PLAN_LIMITS = {
    Plan.FREE: PlanLimits(analyses=100, tokens=500_000),
    Plan.PRO: PlanLimits(analyses=2_000, tokens=10_000_000),
    Plan.ENTERPRISE: PlanLimits(analyses=None, tokens=None),
}


def plan_limits(plan: str) -> PlanLimits:
    # A plan name no longer offered gets the free limits, never unlimited ones.
    return PLAN_LIMITS.get(plan, PLAN_LIMITS[Plan.FREE])
