"""The provider chain, shared by incident analyses and RCA drafts.

AI_PROVIDER, then AI_PROVIDER_FALLBACKS, then always the deterministic engine. Paid providers are
skipped once the organization's budget is spent. Every step is reported through `record`, so each
caller keeps its own audit trail (analysis events, RCA history).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from django.conf import settings

from analyses.providers.base import AnalysisProvider, ProviderError, ai_providers
from statux.models import Organization
from statux.registry import UnknownIntegration
from usage.selectors import usage_budget_check
from usage.services import usage_record_analysis


class ChainResult(Protocol):
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    duration_ms: int


R = TypeVar("R", bound=ChainResult)
# record(event_type, provider=, message=, payload=, model=, input_tokens=, output_tokens=, duration_ms=)
Recorder = Callable[..., Any]


class NoProviderAnswered(RuntimeError):
    pass


def provider_chain_names() -> list[str]:
    """AI_PROVIDER, then AI_PROVIDER_FALLBACKS, then always the deterministic engine; no repeats."""
    names = [settings.AI_PROVIDER, *settings.AI_PROVIDER_FALLBACKS, "deterministic"]
    return list(dict.fromkeys(name.strip() for name in names if name and name.strip()))


def provider_chain_run(
    *, organization: Organization, ask: Callable[[AnalysisProvider], R], record: Recorder
) -> tuple[R, str]:
    """Ask each provider in turn; (result, why paid providers were skipped or "").

    Events: budget_limited, provider_failed (payload reason), fallback (from, to, reason),
    provider_called (tokens, duration, payload repaired / rejected_actions).
    """
    budget_reason = ""
    budget = None
    names = provider_chain_names()
    for position, name in enumerate(names):
        next_name = names[position + 1] if position + 1 < len(names) else ""
        try:
            provider_class = ai_providers.get(name)
            if provider_class.paid:
                budget = budget or usage_budget_check(organization=organization)
                if not budget.paid_allowed:
                    budget_reason = budget.reason
                    record("budget_limited", provider=name, message=budget.reason)
                    continue
            result = ask(provider_class.from_settings())
        except (ProviderError, UnknownIntegration) as exc:
            reason = getattr(exc, "reason", "unknown_provider")
            spent = {
                "input_tokens": getattr(exc, "input_tokens", 0),
                "output_tokens": getattr(exc, "output_tokens", 0),
            }
            record("provider_failed", provider=name, message=str(exc), payload={"reason": reason}, **spent)
            if any(spent.values()):  # answers it could not use were paid for all the same
                usage_record_analysis(
                    organization=organization,
                    provider=name,
                    paid=provider_class.paid,
                    counts_as_analysis=False,
                    **spent,
                )
            if next_name:
                record(
                    "fallback",
                    provider=next_name,
                    message=f"{name} failed ({reason}); trying {next_name}",
                    payload={"from": name, "to": next_name, "reason": reason},
                )
            continue
        record(
            "provider_called",
            provider=result.provider,
            model=result.model,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            duration_ms=result.duration_ms,
            payload={
                "repaired": getattr(result, "repaired", False),
                "rejected_actions": getattr(result, "rejected_actions", []),
            },
        )
        return result, budget_reason
    raise NoProviderAnswered(f"No provider answered; the chain was {names}.")  # the deterministic engine does
