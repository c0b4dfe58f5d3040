"""Any OpenAI-compatible chat completions endpoint: OpenAI itself, vLLM, Ollama, LiteLLM, LocalAI …"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from django.conf import settings

from analyses.providers.base import (
    ProviderNotConfigured,
    ProviderThrottled,
    ProviderUnavailable,
    ai_providers,
)
from analyses.providers.output import CONNECT_TIMEOUT_SECONDS, ChatModelProvider, Completion, TransientFailure
from analyses.providers.prompt import ChatMessage, truncate

RETRIED_STATUSES = {429, 500, 502, 503, 504}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After in seconds; the HTTP-date form is rare from model servers and falls back to backoff."""
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


@ai_providers.register
class OpenAICompatibleProvider(ChatModelProvider):
    """POSTs `{base_url}/chat/completions` with our timeouts, through the httpx client given, if any."""

    name = "openai"
    label = "The OpenAI-compatible endpoint"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        client: httpx.Client | None = None,
        timeout_seconds: float = 30.0,
        **options: Any,
    ) -> None:
        super().__init__(model=model, **options)
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.api_key = api_key
        self.timeout_seconds = timeout_seconds
        self.timeout = httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds))
        # Without a client, httpx.post opens and closes one per request: the chain builds a provider
        # per analysis and nothing would close a client it kept.
        self.post = client.post if client is not None else httpx.post

    @classmethod
    def from_settings(cls) -> OpenAICompatibleProvider:
        missing = [name for name in ("OPENAI_BASE_URL", "OPENAI_MODEL") if not getattr(settings, name)]
        if missing:
            raise ProviderNotConfigured(
                f"{' and '.join(missing)} must be set for the OpenAI-compatible provider."
            )
        return cls(
            base_url=settings.OPENAI_BASE_URL,
            model=settings.OPENAI_MODEL,
            api_key=settings.OPENAI_API_KEY,
            timeout_seconds=settings.AI_REQUEST_TIMEOUT_SECONDS,
            **cls.settings_options(),
        )

    def _complete(self, system: str, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, *messages],
            "temperature": 0,
            "max_tokens": max_tokens,
            "response_format": {"type": "json_object"},
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = self.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise ProviderUnavailable(
                f"{self.label} {self.url} did not answer within {self.timeout_seconds:g} s: {exc!r}"
            ) from exc
        except httpx.HTTPError as exc:  # refused, DNS, TLS, reset
            raise ProviderUnavailable(f"{self.label} {self.url} could not be reached: {exc}") from exc
        if response.status_code != 200:
            raise self._failure(response)
        return self._completion(response)

    def _failure(self, response: httpx.Response) -> Exception:
        text = self._answered(response)
        if response.status_code in RETRIED_STATUSES:
            final = ProviderThrottled if response.status_code == 429 else ProviderUnavailable
            return TransientFailure(text, final=final, retry_after=retry_after_seconds(response))
        return ProviderUnavailable(text)

    def _answered(self, response: httpx.Response) -> str:
        body = truncate(" ".join(response.text.split()), 300)  # one line, whatever the server indents
        return f"{self.label} {self.url} answered {response.status_code}: {body}"

    def _completion(self, response: httpx.Response) -> Completion:
        try:
            payload = response.json()
            content = payload["choices"][0]["message"].get("content") or ""
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            raise ProviderUnavailable(f"{self._answered(response)} (no chat completion in it)") from exc
        usage = payload.get("usage") or {}
        return Completion(
            text=content if isinstance(content, str) else "",
            input_tokens=usage.get("prompt_tokens") or 0,
            output_tokens=usage.get("completion_tokens") or 0,
        )
