"""Reading a model's answer into a `Diagnosis`, and the flow every chat-model provider shares.

`ChatModelProvider.diagnose` asks once, validates, asks once more with the validation error when
the answer is not a valid diagnosis, and otherwise raises `InvalidOutput`. Subclasses only say how
to send one request (`_complete`) and which failures are worth another try (`TransientFailure`).
"""

from __future__ import annotations

import json
import re
import time
from abc import abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from pydantic import ValidationError

from analyses.providers.base import (
    AnalysisProvider,
    Diagnosis,
    IncidentContext,
    InvalidOutput,
    ProviderError,
    ProviderResult,
)
from analyses.providers.prompt import ChatMessage, repair_messages, system_prompt, user_message

RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 8.0
# A server asking for a longer pause is not worth waiting for inside an analysis: the chain's next
# provider answers sooner.
MAX_RETRY_AFTER_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_ERRORS_SHOWN = 8

_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_DIAGNOSIS_KEYS = frozenset(Diagnosis.model_fields)


def extract_json_object(text: str) -> dict:
    """The first JSON object in `text` with a diagnosis field, inside ```json fences or after prose."""
    decoder = json.JSONDecoder()
    first_error = ""
    for candidate in [*(match.group(1) for match in _FENCE.finditer(text)), text]:
        for brace in re.finditer(r"\{", candidate):
            try:
                value, _ = decoder.raw_decode(candidate, brace.start())
            except json.JSONDecodeError as exc:
                first_error = first_error or f" ({exc.msg} at character {exc.pos}; was the answer cut off?)"
                continue
            # An inner object (a suggested action) of a truncated answer decodes too; it is not the answer.
            if isinstance(value, dict) and value.keys() & _DIAGNOSIS_KEYS:
                return value
    raise InvalidOutput(f"The answer holds no JSON object with the diagnosis fields{first_error}.")


def _describe(error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in detail['loc']) or 'the object'}: {detail['msg']}"
        for detail in error.errors()[:MAX_ERRORS_SHOWN]
    ]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def parse_diagnosis(text: str, *, allowed_actions: Collection[str]) -> tuple[Diagnosis, list[str]]:
    """Return the validated diagnosis and the names of the suggested actions dropped from it.

    An action outside `allowed_actions` is removed here, before anything could offer it as runnable.
    Raises InvalidOutput naming what is wrong, in words the model can act on in a repair try.
    """
    try:
        diagnosis = Diagnosis.model_validate(extract_json_object(text))
    except ValidationError as exc:
        raise InvalidOutput(f"The JSON does not match the diagnosis schema: {_describe(exc)}.") from exc
    kept = [action for action in diagnosis.suggested_actions if action.name in allowed_actions]
    rejected = [action.name for action in diagnosis.suggested_actions if action.name not in allowed_actions]
    return diagnosis.model_copy(update={"suggested_actions": kept}), rejected


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0


class TransientFailure(Exception):
    """A failure another try may fix (throttling, a 5xx); `final` is raised once the tries run out."""

    def __init__(self, message: str, *, final: type[ProviderError], retry_after: float | None = None):
        super().__init__(message)
        self.message, self.final, self.retry_after = message, final, retry_after


def backoff_seconds(retry: int) -> float:
    """1, 2, 4, 8, 8 … seconds before retry number `retry` (counted from 0)."""
    return min(RETRY_BASE_SECONDS * 2**retry, RETRY_MAX_SECONDS)


class ChatModelProvider(AnalysisProvider):
    """A provider that sends our prompt to a chat model and validates what comes back."""

    paid = True
    label: str  # for messages: "Bedrock", "The OpenAI-compatible endpoint"

    def __init__(
        self,
        *,
        model: str,
        max_output_tokens: int = 1200,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.max_output_tokens = max_output_tokens
        self.max_retries = max_retries
        self.sleep = sleep  # tests pass a recorder, so backoff costs no time

    @staticmethod
    def settings_options() -> dict[str, Any]:
        """The constructor options every chat-model provider's `from_settings` reads alike."""
        return {"max_output_tokens": settings.AI_MAX_OUTPUT_TOKENS, "max_retries": settings.AI_MAX_RETRIES}

    @abstractmethod
    def _complete(self, system: str, messages: Sequence[ChatMessage]) -> Completion:
        """Send one request; raise TransientFailure to be retried, or a ProviderError to give up."""

    def diagnose(self, context: IncidentContext) -> ProviderResult:
        """One call, one repair try on invalid output; raises InvalidOutput when both answers fail."""
        started = time.monotonic()
        system, messages = system_prompt(context.action_catalog), [user_message(context)]
        first = self._complete_with_retries(system, messages)
        try:
            diagnosis, rejected = parse_diagnosis(first.text, allowed_actions=context.action_names)
            completions = [first]
        except InvalidOutput as exc:
            second = self._complete_with_retries(system, repair_messages(messages, first.text, str(exc)))
            try:
                diagnosis, rejected = parse_diagnosis(second.text, allowed_actions=context.action_names)
            except InvalidOutput as again:
                raise InvalidOutput(
                    f"{self.label} answered twice without a valid diagnosis: {again}"
                ) from again
            completions = [first, second]
        return ProviderResult(
            diagnosis=diagnosis,
            provider=self.name,
            model=self.model,
            input_tokens=sum(completion.input_tokens for completion in completions),
            output_tokens=sum(completion.output_tokens for completion in completions),
            duration_ms=round((time.monotonic() - started) * 1000),
            repaired=len(completions) > 1,
            rejected_actions=rejected,
        )

    def _complete_with_retries(self, system: str, messages: Sequence[ChatMessage]) -> Completion:
        retry = 0
        while True:
            try:
                return self._complete(system, messages)
            except TransientFailure as failure:
                if failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER_SECONDS:
                    raise failure.final(
                        f"{failure.message} It asks to wait {failure.retry_after:g} s; not waiting."
                    ) from failure
                if retry >= self.max_retries:
                    raise failure.final(f"{failure.message} Gave up after {retry + 1} tries.") from failure
                self.sleep(max(backoff_seconds(retry), failure.retry_after or 0.0))
                retry += 1
