"""AWS Bedrock through the Converse API, with the standard AWS credential chain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from analyses.providers.base import (
    ProviderError,
    ProviderNotConfigured,
    ProviderThrottled,
    ProviderUnavailable,
    ai_providers,
)
from analyses.providers.output import CONNECT_TIMEOUT_SECONDS, ChatModelProvider, Completion, TransientFailure
from analyses.providers.prompt import ChatMessage

# Error codes worth another try after a pause, and what to raise once the tries run out.
TRANSIENT_ERRORS: dict[str, type[ProviderError]] = {
    "ThrottlingException": ProviderThrottled,
    "ServiceUnavailableException": ProviderUnavailable,
    "ModelNotReadyException": ProviderUnavailable,
    "InternalServerException": ProviderUnavailable,
}
HINTS = {
    "AccessDeniedException": " Check the IAM policy (bedrock:InvokeModel) and the model access granted in "
    "the Bedrock console.",
    "ResourceNotFoundException": " Check BEDROCK_MODEL_ID and AWS_REGION.",
    "ValidationException": " Check that BEDROCK_MODEL_ID names a model that supports the Converse API, "
    "and AI_MAX_OUTPUT_TOKENS.",
}


@ai_providers.register
class BedrockProvider(ChatModelProvider):
    """Takes a `bedrock-runtime` client; tests pass one wrapped in botocore's Stubber.

    Retries are ours, not botocore's: one policy, and the same one the Stubber tests exercise.
    """

    name = "bedrock"
    label = "Bedrock"

    def __init__(self, *, client: Any, model_id: str, **options: Any) -> None:
        super().__init__(model=model_id, **options)
        self.client = client

    @classmethod
    def from_settings(cls) -> BedrockProvider:
        if not settings.BEDROCK_MODEL_ID:
            raise ProviderNotConfigured("BEDROCK_MODEL_ID is empty; set it to a Bedrock model id.")
        timeout = settings.AI_REQUEST_TIMEOUT_SECONDS
        config = Config(
            connect_timeout=min(CONNECT_TIMEOUT_SECONDS, timeout),
            read_timeout=timeout,
            retries={"mode": "standard", "total_max_attempts": 1},
        )
        try:
            client = boto3.client("bedrock-runtime", region_name=settings.AWS_REGION or None, config=config)
        except BotoCoreError as exc:  # NoRegionError and the like: nothing a retry would fix
            raise ProviderNotConfigured(f"Cannot build the Bedrock client: {exc}") from exc
        return cls(
            client=client,
            model_id=settings.BEDROCK_MODEL_ID,
            **cls.settings_options(),
        )

    def _complete(self, system: str, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        try:
            response = self.client.converse(
                modelId=self.model,
                system=[{"text": system}],
                messages=[{"role": m["role"], "content": [{"text": m["content"]}]} for m in messages],
                inferenceConfig={"maxTokens": max_tokens, "temperature": 0.0},
            )
        except ClientError as exc:
            raise self._failure(exc) from exc
        except BotoCoreError as exc:  # timeouts, EndpointConnectionError, NoCredentialsError
            raise ProviderUnavailable(f"Bedrock could not be reached: {exc}") from exc
        content = response.get("output", {}).get("message", {}).get("content", [])
        usage = response.get("usage", {})
        return Completion(
            text="".join(block.get("text", "") for block in content),
            input_tokens=usage.get("inputTokens", 0),
            output_tokens=usage.get("outputTokens", 0),
        )

    def _failure(self, exc: ClientError) -> Exception:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", "")
        text = f"Bedrock answered {code} for model {self.model}: {message}"
        if code in TRANSIENT_ERRORS:
            return TransientFailure(text, final=TRANSIENT_ERRORS[code])
        return ProviderUnavailable(text + HINTS.get(code, ""))
