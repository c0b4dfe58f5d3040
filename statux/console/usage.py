"""Console usage page: this month's budget bars, crossed thresholds, a per-day chart and the limits form.

Reads through usage.selectors, writes through usage.services; the chart's geometry is computed here so
the template draws an inline SVG without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from statux.audit import Actor
from statux.console.dashboard import (
    CHART_BAR,
    CHART_LEFT,
    CHART_PLOT_HEIGHT,
    CHART_SLOT,
    CHART_TOP,
    HourBar,
    HourlyChart,
)
from statux.console.dashboard import _scale as chart_scale
from statux.console.forms import ConsoleForm
from statux.console.views import requires
from statux.models import Plan
from usage import selectors, services
from usage.models import THRESHOLD_MAX_PERCENT
from usage.plans import plan_limits
from usage.selectors import UsageDayPoint, UsageMeter

CHART_LABEL_EVERY_DAYS = 7
METER_LABELS = {"analyses": "Analyses", "tokens": "Tokens", "cost": "Cost (USD)"}
METER_COLOURS = {
    "ok": "var(--ok)",
    "warn": "var(--warn)",
    "over": "var(--danger)",
    "unlimited": "var(--muted)",
}


@dataclass(frozen=True)
class MeterBar:
    """One budget bar: how full, and the colour of the highest threshold it has reached."""

    meter: UsageMeter
    level: str  # ok | warn | over | unlimited

    @property
    def label(self) -> str:
        return METER_LABELS[self.meter.metric]

    @property
    def width(self) -> str:
        return f"{min(self.meter.percent or 0.0, 100.0):g}"

    @property
    def colour(self) -> str:
        return METER_COLOURS[self.level]


def meter_bar(meter: UsageMeter, thresholds: list[int]) -> MeterBar:
    if meter.percent is None:
        return MeterBar(meter, "unlimited")
    if meter.reached:
        return MeterBar(meter, "over")
    return MeterBar(meter, "warn" if any(meter.crossed(percent) for percent in thresholds) else "ok")


@dataclass(frozen=True)
class DayBar(HourBar):
    """A day's bar: the dashboard's geometry, labelled by date, with the day's figures for its tooltip."""

    point: UsageDayPoint

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d}"


@dataclass(frozen=True)
class DailyChart(HourlyChart):
    """The dashboard's bar chart, one slot per day."""

    @property
    def width(self) -> int:
        return CHART_LEFT + len(self.bars) * CHART_SLOT + 4

    @property
    def labels(self) -> list[tuple[float, str]]:
        """(x, text) under the axis: a date every week counting back from "today"."""
        last = len(self.bars) - 1
        return [
            (bar.center, "today" if i == last else f"{bar.start:%m-%d}")
            for i, bar in enumerate(self.bars)
            if (last - i) % CHART_LABEL_EVERY_DAYS == 0
        ]


def daily_chart(points: list[UsageDayPoint]) -> DailyChart:
    """Analyses per day as bars scaled to a round maximum."""
    scale_max = chart_scale(max((point.analyses for point in points), default=0))
    bars = []
    for i, point in enumerate(points):
        height = round(CHART_PLOT_HEIGHT * point.analyses / scale_max, 2)
        bars.append(
            DayBar(
                start=point.day,
                count=point.analyses,
                x=CHART_LEFT + i * CHART_SLOT + (CHART_SLOT - CHART_BAR) / 2,
                y=round(CHART_TOP + CHART_PLOT_HEIGHT - height, 2),
                height=height,
                point=point,
            )
        )
    return DailyChart(bars=bars, scale_max=scale_max, total=sum(point.analyses for point in points))


class UsageBudgetForm(ConsoleForm):
    """Blank limits fall back to the plan's defaults; thresholds are comma-separated percents."""

    analyses_limit = forms.IntegerField(label="Analyses per month", min_value=0, required=False)
    tokens_limit = forms.IntegerField(label="Tokens per month", min_value=0, required=False)
    cost_limit_usd = forms.DecimalField(
        label="Cost limit (USD per month)", min_value=0, max_digits=12, decimal_places=4, required=False
    )
    thresholds = forms.CharField(
        label="Alert thresholds (%)", required=False, help_text="For example 80, 100"
    )
    hard_limit_enabled = forms.BooleanField(label="Stop paid AI at the limit", required=False)

    def clean_thresholds(self) -> list[int]:
        parts = [part.strip() for part in self.cleaned_data["thresholds"].split(",") if part.strip()]
        try:
            return [int(part) for part in parts]
        except ValueError:
            raise forms.ValidationError(
                f"Use whole percents from 1 to {THRESHOLD_MAX_PERCENT}, separated by commas."
            ) from None


def _budget_form_initial(summary: dict) -> dict:
    budget = summary["budget"]
    return {
        "analyses_limit": budget.analyses_limit if budget else None,
        "tokens_limit": budget.tokens_limit if budget else None,
        "cost_limit_usd": budget.cost_limit_usd if budget else None,
        "thresholds": ", ".join(str(percent) for percent in summary["thresholds"]),
        "hard_limit_enabled": summary["hard_limit_enabled"],
    }


def _usage_page(
    request: HttpRequest, *, form: UsageBudgetForm | None = None, status: int = 200
) -> HttpResponse:
    summary = selectors.usage_summary(organization=request.organization)
    can_edit = request.access.allows("billing")
    context = {
        "summary": summary,
        "bars": [meter_bar(meter, summary["thresholds"]) for meter in summary["meters"].values()],
        "chart": daily_chart(summary["daily"]),
        "subscription": selectors.subscription_get(organization=request.organization),
        "requested_plan": request.GET.get("plan") if request.GET.get("plan") in Plan.values else "",
        "plan_limits": plan_limits(summary["plan"]),
        "can_edit": can_edit,
        "form": (form or UsageBudgetForm(initial=_budget_form_initial(summary))) if can_edit else None,
    }
    return render(request, "console/usage/usage.html", context, status=status)


@requires("read")
@require_safe
def usage_view(request: HttpRequest) -> HttpResponse:
    """GET /console/usage/[?plan=<plan>]"""
    return _usage_page(request)


@requires("read")
@require_POST
def usage_budget_view(request: HttpRequest) -> HttpResponse:
    """POST /console/usage/budget/: owners (billing) set the limits; a bad form re-renders with errors."""
    if not request.access.allows("billing"):
        reason = f"Your role '{request.access.role}' cannot change usage limits; ask an owner."
        return render(request, "console/errors/forbidden.html", {"reason": reason}, status=403)
    form = UsageBudgetForm(request.POST)
    if not form.is_valid():
        return _usage_page(request, form=form, status=400)
    try:
        services.usage_budget_update(
            organization=request.organization, actor=Actor.from_request(request), **form.cleaned_data
        )
    except services.InvalidBudget as exc:
        for name, problems in (exc.fields or {}).items():
            for problem in problems:
                form.add_error(name if name in form.fields else None, problem)
        return _usage_page(request, form=form, status=400)
    messages.success(request, "Usage limits saved.")
    return redirect("console:usage")
