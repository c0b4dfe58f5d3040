"""Reading a model's answer into a `Diagnosis` or an `RcaDraft`, and the flow chat-model providers share.

`ChatModelProvider.diagnose` and `.draft_rca` both ask once, validate, ask once more with the
validation error when the answer does not validate, and otherwise raise `InvalidOutput`. Subclasses
only say how to send one request (`_complete`) and which failures are worth another try
(`TransientFailure`).
"""

from __future__ import annotations

import json
import re
import time
from abc import abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from pydantic import BaseModel, ValidationError

from analyses.providers.base import (
    AnalysisProvider,
    Diagnosis,
    IncidentContext,
    InvalidOutput,
    ProviderError,
    ProviderResult,
    RcaContext,
    RcaDraft,
    RcaDraftResult,
)
from analyses.providers.prompt import (
    ChatMessage,
    rca_system_prompt,
    rca_user_message,
    repair_messages,
    system_prompt,
    user_message,
)

RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 8.0
# A server asking for a longer pause is not worth waiting for inside an analysis: the chain's next
# provider answers sooner.
MAX_RETRY_AFTER_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_ERRORS_SHOWN = 8
# AI_MAX_OUTPUT_TOKENS sizes a diagnosis; an RCA draft (four Markdown sections, one a timeline) runs
# about three times as long, and a cut-off answer never validates.
RCA_OUTPUT_TOKENS_FACTOR = 3

_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_DIAGNOSIS_KEYS = frozenset(Diagnosis.model_fields)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def extract_json_object(text: str, keys: Collection[str] = _DIAGNOSIS_KEYS, what: str = "diagnosis") -> dict:
    """The first JSON object in `text` with one of `keys`, inside ```json fences or after prose."""
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
            if isinstance(value, dict) and not value.keys().isdisjoint(keys):
                return value
    raise InvalidOutput(f"The answer holds no JSON object with the {what} fields{first_error}.")


def _describe(error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in detail['loc']) or 'the object'}: {detail['msg']}"
        for detail in error.errors()[:MAX_ERRORS_SHOWN]
    ]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def _validated(model: type[M], text: str, what: str) -> M:
    """The first fitting JSON object in `text` as a `model`, or InvalidOutput in words a model can act on."""
    try:
        return model.model_validate(extract_json_object(text, model.model_fields.keys(), what))
    except ValidationError as exc:
        raise InvalidOutput(f"The JSON does not match the {what} schema: {_describe(exc)}.") from exc


def parse_diagnosis(text: str, *, allowed_actions: Collection[str]) -> tuple[Diagnosis, list[str]]:
    """Return the validated diagnosis and the names of the suggested actions dropped from it.

    An action outside `allowed_actions` is removed here, before anything could offer it as runnable.
    Raises InvalidOutput naming what is wrong, in words the model can act on in a repair try.
    """
    diagnosis = _validated(Diagnosis, text, "diagnosis")
    kept = [action for action in diagnosis.suggested_actions if action.name in allowed_actions]
    rejected = [action.name for action in diagnosis.suggested_actions if action.name not in allowed_actions]
    return diagnosis.model_copy(update={"suggested_actions": kept}), rejected


def parse_rca_draft(text: str) -> RcaDraft:
    """The validated RCA draft in a model's answer; raises InvalidOutput naming what is wrong."""
    return _validated(RcaDraft, text, "RCA draft")


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Answer(Generic[T]):
    """A validated answer and what it cost, summed over the repair try when there was one."""

    value: T
    input_tokens: int
    output_tokens: int
    duration_ms: int
    repaired: bool

    def usage(self) -> dict[str, Any]:
        """The fields `ProviderResult` and `RcaDraftResult` share, for `**`."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "duration_ms": self.duration_ms,
            "repaired": self.repaired,
        }


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
    def _complete(self, system: str, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        """Send one request; raise TransientFailure to be retried, or a ProviderError to give up."""

    def diagnose(self, context: IncidentContext) -> ProviderResult:
        """One call, one repair try on invalid output; raises InvalidOutput when both answers fail."""
        answer = self._ask(
            system_prompt(context.action_catalog),
            [user_message(context)],
            lambda text: parse_diagnosis(text, allowed_actions=context.action_names),
            what="diagnosis",
            max_tokens=self.max_output_tokens,
        )
        diagnosis, rejected = answer.value
        return ProviderResult(
            diagnosis=diagnosis,
            provider=self.name,
            model=self.model,
            rejected_actions=rejected,
            **answer.usage(),
        )

    def draft_rca(self, context: RcaContext) -> RcaDraftResult:
        """As `diagnose`, with the RCA prompt: one call, one repair try, else InvalidOutput."""
        answer = self._ask(
            rca_system_prompt(),
            [rca_user_message(context)],
            parse_rca_draft,
            what="RCA draft",
            max_tokens=self.max_output_tokens * RCA_OUTPUT_TOKENS_FACTOR,
        )
        return RcaDraftResult(draft=answer.value, provider=self.name, model=self.model, **answer.usage())

    def _ask(
        self,
        system: str,
        messages: Sequence[ChatMessage],
        parse: Callable[[str], T],
        *,
        what: str,
        max_tokens: int,
    ) -> Answer[T]:
        """Ask, parse; on InvalidOutput ask once more with the error, and raise if that fails too."""
        started = time.monotonic()
        first = self._complete_with_retries(system, messages, max_tokens=max_tokens)
        try:
            value, completions = parse(first.text), [first]
        except InvalidOutput as exc:
            repair = repair_messages(messages, first.text, str(exc))
            try:
                second = self._complete_with_retries(system, repair, max_tokens=max_tokens)
            except ProviderError as failure:  # the first answer was paid for all the same
                failure.input_tokens += first.input_tokens
                failure.output_tokens += first.output_tokens
                raise
            try:
                value, completions = parse(second.text), [first, second]
            except InvalidOutput as again:
                raise InvalidOutput(
                    f"{self.label} answered twice without a valid {what}: {again}",
                    input_tokens=first.input_tokens + second.input_tokens,
                    output_tokens=first.output_tokens + second.output_tokens,
                ) from again
        return Answer(
            value=value,
            input_tokens=sum(completion.input_tokens for completion in completions),
            output_tokens=sum(completion.output_tokens for completion in completions),
            duration_ms=round((time.monotonic() - started) * 1000),
            repaired=len(completions) > 1,
        )

    def _complete_with_retries(
        self, system: str, messages: Sequence[ChatMessage], *, max_tokens: int
    ) -> Completion:
        retry = 0
        while True:
            try:
                return self._complete(system, messages, max_tokens=max_tokens)
            except TransientFailure as failure:
                if failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER_SECONDS:
                    raise failure.final(
                        f"{failure.message} It asks to wait {failure.retry_after:g} s; not waiting."
                    ) from failure
                if retry >= self.max_retries:
                    raise failure.final(f"{failure.message} Gave up after {retry + 1} tries.") from failure
                self.sleep(max(backoff_seconds(retry), failure.retry_after or 0.0))
                retry += 1
