from __future__ import annotations

import json
import socket

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber

from analyses.providers.base import (
    InvalidOutput,
    ProviderNotConfigured,
    ProviderThrottled,
    ProviderUnavailable,
    ai_providers,
)
from analyses.providers.bedrock import BedrockProvider
from analyses.providers.prompt import rca_system_prompt, system_prompt
from remediation.catalog import action_catalog_for_prompt
from tests.analyses.providers.conftest import split_on_data_block, valid_answer, valid_draft


def converse_response(text: str, *, input_tokens: int = 812, output_tokens: int = 64) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "metrics": {"latencyMs": 930},
        "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens, "totalTokens": 0},
    }


def throttled(stubber: Stubber) -> None:
    stubber.add_client_error(
        "converse",
        service_error_code="ThrottlingException",
        service_message="Too many tokens, please wait before trying again.",
        http_status_code=429,
    )


@pytest.fixture
def client():
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def calls(client) -> list[dict]:
    """The parameters of every converse call, as botocore received them."""
    seen: list[dict] = []
    client.meta.events.register(
        "before-parameter-build.bedrock-runtime.Converse", lambda params, **_: seen.append(params)
    )
    return seen


@pytest.fixture
def stubber(client, calls):
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(client, sleeps) -> BedrockProvider:
    return BedrockProvider(
        client=client, model_id="test-model", max_output_tokens=800, max_retries=3, sleep=sleeps.append
    )


def test_it_reads_the_diagnosis_and_token_usage(provider, stubber, incident_context):
    stubber.add_response("converse", converse_response(json.dumps(valid_answer())))

    result = provider.diagnose(incident_context)

    assert result.diagnosis.model_dump() == valid_answer()
    assert (result.provider, result.model, result.repaired, result.rejected_actions) == (
        "bedrock",
        "test-model",
        False,
        [],
    )
    assert (result.input_tokens, result.output_tokens, result.total_tokens) == (812, 64, 876)


def test_it_sends_fixed_instructions_and_the_alert_only_inside_the_data_block(
    provider, stubber, calls, incident_context
):
    instructions = system_prompt(action_catalog_for_prompt())
    stubber.add_response(
        "converse",
        converse_response(json.dumps(valid_answer())),
        expected_params={
            "modelId": "test-model",
            "system": [{"text": instructions}],
            "messages": [{"role": "user", "content": [{"text": ANY}]}],
            "inferenceConfig": {"maxTokens": 800, "temperature": 0.0},
        },
    )

    provider.diagnose(incident_context)

    assert "checkout-api" not in instructions and "OutOfMemoryError" not in instructions
    outside, data = split_on_data_block(calls[0]["messages"][0]["content"][0]["text"])
    assert (data["title"], data["log_excerpt"]) == (incident_context.title, incident_context.log_excerpt)
    assert "checkout-api" not in outside and "OutOfMemoryError" not in outside


def test_it_retries_throttling_with_exponential_backoff(provider, stubber, calls, sleeps, incident_context):
    throttled(stubber)
    throttled(stubber)
    stubber.add_response("converse", converse_response(json.dumps(valid_answer())))

    result = provider.diagnose(incident_context)

    assert result.diagnosis.root_cause == valid_answer()["root_cause"]
    assert len(calls) == 3
    assert sleeps == [1.0, 2.0]


def test_it_gives_up_as_throttled_after_the_last_retry(provider, stubber, calls, sleeps, incident_context):
    for _ in range(4):
        throttled(stubber)

    with pytest.raises(ProviderThrottled) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value) == (
        "Bedrock answered ThrottlingException for model test-model: Too many tokens, please wait before "
        "trying again. Gave up after 4 tries."
    )
    assert (len(calls), sleeps) == (4, [1.0, 2.0, 4.0])


def test_a_model_that_is_not_ready_is_retried_then_unavailable(client, stubber, sleeps, incident_context):
    provider = BedrockProvider(client=client, model_id="test-model", max_retries=1, sleep=sleeps.append)
    for _ in range(2):
        stubber.add_client_error(
            "converse", service_error_code="ModelNotReadyException", http_status_code=429
        )

    with pytest.raises(ProviderUnavailable, match="ModelNotReadyException .* Gave up after 2 tries"):
        provider.diagnose(incident_context)

    assert sleeps == [1.0]


def test_a_malformed_answer_is_repaired_once_and_both_calls_are_counted(
    provider, stubber, calls, incident_context
):
    bad = "The pod checkout-api ran out of memory, so it keeps restarting."
    stubber.add_response("converse", converse_response(bad, input_tokens=800, output_tokens=20))
    fenced = f"```json\n{json.dumps(valid_answer())}\n```"
    stubber.add_response("converse", converse_response(fenced, input_tokens=900, output_tokens=150))

    result = provider.diagnose(incident_context)

    assert (result.repaired, result.input_tokens, result.output_tokens) == (True, 1700, 170)
    assert result.diagnosis.model_dump() == valid_answer()
    repair = calls[1]["messages"]
    assert [message["role"] for message in repair] == ["user", "assistant", "user"]
    assert repair[0] == calls[0]["messages"][0]
    assert repair[1]["content"] == [{"text": bad}]
    assert repair[2]["content"][0]["text"].startswith(
        "Your answer was not valid: The answer holds no JSON object with the diagnosis fields.\n"
    )


def test_two_malformed_answers_are_invalid_output(provider, stubber, incident_context):
    stubber.add_response("converse", converse_response("I am not sure."))
    stubber.add_response("converse", converse_response(json.dumps(valid_answer(confidence=1.7))))

    with pytest.raises(InvalidOutput) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value) == (
        "Bedrock answered twice without a valid diagnosis: The JSON does not match the diagnosis schema: "
        "confidence: Input should be less than or equal to 1."
    )


def test_access_denied_is_unavailable_at_once_with_what_to_check(provider, stubber, sleeps, incident_context):
    stubber.add_client_error(
        "converse",
        service_error_code="AccessDeniedException",
        service_message="You don't have access to the model with the specified model ID.",
        http_status_code=403,
    )

    with pytest.raises(ProviderUnavailable) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value) == (
        "Bedrock answered AccessDeniedException for model test-model: You don't have access to the model "
        "with the specified model ID. Check the IAM policy (bedrock:InvokeModel) and the model access "
        "granted in the Bedrock console."
    )
    assert sleeps == []


def test_an_endpoint_that_refuses_connections_is_unavailable(incident_context):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{closed.getsockname()[1]}",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(connect_timeout=1, retries={"total_max_attempts": 1}),
        )

        with pytest.raises(ProviderUnavailable) as raised:
            BedrockProvider(client=client, model_id="test-model").diagnose(incident_context)

    assert str(raised.value).startswith("Bedrock could not be reached: Could not connect to the endpoint URL")


def test_from_settings_builds_a_client_with_our_timeouts_and_no_botocore_retries(settings):
    settings.BEDROCK_MODEL_ID, settings.AWS_REGION = "anthropic.claude-test", "eu-central-1"
    settings.AI_REQUEST_TIMEOUT_SECONDS, settings.AI_MAX_RETRIES, settings.AI_MAX_OUTPUT_TOKENS = 12.0, 2, 900

    provider = ai_providers.get("bedrock").from_settings()

    config = provider.client.meta.config
    assert (config.read_timeout, config.connect_timeout, config.retries["total_max_attempts"]) == (
        12.0,
        5.0,
        1,
    )
    assert (provider.client.meta.region_name, provider.model) == ("eu-central-1", "anthropic.claude-test")
    assert (provider.max_retries, provider.max_output_tokens, provider.paid) == (2, 900, True)


def test_from_settings_without_a_model_id_is_not_configured(settings):
    settings.BEDROCK_MODEL_ID = ""

    with pytest.raises(ProviderNotConfigured, match="BEDROCK_MODEL_ID is empty"):
        BedrockProvider.from_settings()


def test_it_drafts_an_rca_with_the_rca_prompt_a_larger_answer_and_its_token_usage(
    provider, stubber, calls, rca_context
):
    stubber.add_response(
        "converse",
        converse_response(json.dumps(valid_draft()), input_tokens=2100, output_tokens=640),
        expected_params={
            "modelId": "test-model",
            "system": [{"text": rca_system_prompt()}],
            "messages": [{"role": "user", "content": [{"text": ANY}]}],
            "inferenceConfig": {"maxTokens": 2400, "temperature": 0.0},
        },
    )

    result = provider.draft_rca(rca_context)

    assert result.draft.model_dump() == valid_draft()
    assert (result.provider, result.model, result.repaired) == ("bedrock", "test-model", False)
    assert (result.input_tokens, result.output_tokens, result.total_tokens) == (2100, 640, 2740)
    outside, data = split_on_data_block(calls[0]["messages"][0]["content"][0]["text"])
    assert [incident["id"] for incident in data["incidents"]] == ["inc-checkout", "inc-payments"]
    assert "checkout-api" not in outside


def test_a_malformed_rca_draft_is_repaired_once_and_both_calls_are_counted(
    provider, stubber, calls, rca_context
):
    bad = json.dumps(valid_draft(timeline=""))
    stubber.add_response("converse", converse_response(bad, input_tokens=2000, output_tokens=500))
    stubber.add_response(
        "converse", converse_response(json.dumps(valid_draft()), input_tokens=2600, output_tokens=610)
    )

    result = provider.draft_rca(rca_context)

    assert (result.repaired, result.input_tokens, result.output_tokens) == (True, 4600, 1110)
    assert result.draft.timeline == valid_draft()["timeline"]
    repair = calls[1]["messages"]
    assert [message["role"] for message in repair] == ["user", "assistant", "user"]
    assert repair[1]["content"] == [{"text": bad}]
    assert repair[2]["content"][0]["text"].startswith(
        "Your answer was not valid: The JSON does not match the RCA draft schema: "
        "timeline: String should have at least 1 character.\n"
    )


def test_two_malformed_rca_drafts_are_invalid_output(provider, stubber, rca_context):
    stubber.add_response("converse", converse_response("Here is the post-mortem you asked for."))
    stubber.add_response("converse", converse_response(json.dumps({"summary": "Checkout was down."})))

    with pytest.raises(InvalidOutput) as raised:
        provider.draft_rca(rca_context)

    assert str(raised.value) == (
        "Bedrock answered twice without a valid RCA draft: The JSON does not match the RCA draft schema: "
        "root_cause: Field required; impact: Field required; timeline: Field required."
    )
