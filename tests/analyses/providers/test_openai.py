from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from werkzeug import Request, Response

from analyses.providers.base import (
    InvalidOutput,
    ProviderNotConfigured,
    ProviderThrottled,
    ProviderUnavailable,
    ai_providers,
)
from analyses.providers.openai import OpenAICompatibleProvider
from analyses.providers.prompt import rca_system_prompt, system_prompt
from remediation.catalog import action_catalog_for_prompt
from tests.analyses.providers.conftest import split_on_data_block, valid_answer, valid_draft

PATH = "/v1/chat/completions"


def chat_answer(content: str, *, usage: dict | None = None) -> dict:
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "local-llm",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
    }
    return answer | ({"usage": usage} if usage else {})


def answer_in_turn(httpserver, *answers: tuple[str, dict]) -> None:
    """One chat completion (content, usage) a request, in this order."""
    for content, usage in answers:
        httpserver.expect_ordered_request(PATH).respond_with_json(chat_answer(content, usage=usage))


def wait_until_logged(httpserver, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(httpserver.log) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def posted(httpserver) -> list[dict]:
    return [request.get_json() for request, _ in httpserver.log]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(httpserver, sleeps) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        base_url=httpserver.url_for("/v1/"),
        model="local-llm",
        api_key="sk-test",
        max_output_tokens=700,
        max_retries=3,
        sleep=sleeps.append,
    )


def test_it_posts_the_prompt_and_reads_the_diagnosis_and_usage(httpserver, provider, incident_context):
    httpserver.expect_request(
        PATH, method="POST", headers={"Authorization": "Bearer sk-test"}
    ).respond_with_json(
        chat_answer(json.dumps(valid_answer()), usage={"prompt_tokens": 700, "completion_tokens": 90})
    )

    result = provider.diagnose(incident_context)

    assert result.diagnosis.model_dump() == valid_answer()
    assert (result.provider, result.model, result.input_tokens, result.output_tokens) == (
        "openai",
        "local-llm",
        700,
        90,
    )
    [body] = posted(httpserver)
    assert {key: body[key] for key in ("model", "temperature", "max_tokens", "response_format")} == {
        "model": "local-llm",
        "temperature": 0,
        "max_tokens": 700,
        "response_format": {"type": "json_object"},
    }
    assert body["messages"][0] == {"role": "system", "content": system_prompt(action_catalog_for_prompt())}
    assert [message["role"] for message in body["messages"]] == ["system", "user"]
    outside, data = split_on_data_block(body["messages"][-1]["content"])
    assert data["title"] == "KubePodCrashLooping: checkout-api"
    assert (
        "KubePodCrashLooping" not in outside and "KubePodCrashLooping" not in body["messages"][0]["content"]
    )


def test_it_sends_no_authorization_without_a_key_and_counts_no_usage_when_none_comes(
    httpserver, sleeps, incident_context
):
    httpserver.expect_request(PATH).respond_with_json(chat_answer(json.dumps(valid_answer())))
    provider = OpenAICompatibleProvider(
        base_url=httpserver.url_for("/v1"), model="llama3", sleep=sleeps.append
    )

    result = provider.diagnose(incident_context)

    assert "Authorization" not in httpserver.log[0][0].headers
    assert (result.input_tokens, result.output_tokens) == (0, 0)


def test_it_sends_through_the_client_it_is_given(httpserver, incident_context):
    httpserver.expect_request(PATH, headers={"X-Gateway-Team": "sre"}).respond_with_json(
        chat_answer(json.dumps(valid_answer()))
    )
    with httpx.Client(headers={"X-Gateway-Team": "sre"}) as client:
        provider = OpenAICompatibleProvider(base_url=httpserver.url_for("/v1"), model="m", client=client)

        result = provider.diagnose(incident_context)

    assert result.diagnosis.summary == valid_answer()["summary"]
    assert httpserver.log[0][0].headers["X-Gateway-Team"] == "sre"


def test_a_429_is_retried_after_its_retry_after(httpserver, provider, sleeps, incident_context):
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        {"error": {"message": "Rate limit reached"}}, status=429, headers={"Retry-After": "3"}
    )
    httpserver.expect_request(PATH).respond_with_json(chat_answer(json.dumps(valid_answer())))

    result = provider.diagnose(incident_context)

    assert result.diagnosis.summary == valid_answer()["summary"]
    assert (len(httpserver.log), sleeps) == (2, [3.0])


def test_a_long_retry_after_gives_up_at_once_as_throttled(httpserver, provider, sleeps, incident_context):
    httpserver.expect_request(PATH).respond_with_data("slow down", status=429, headers={"Retry-After": "120"})

    with pytest.raises(ProviderThrottled) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value) == (
        f"The OpenAI-compatible endpoint {httpserver.url_for(PATH)} answered 429: slow down "
        "It asks to wait 120 s; not waiting."
    )
    assert (len(httpserver.log), sleeps) == (1, [])


def test_a_server_error_every_time_is_unavailable_after_the_retries(
    httpserver, provider, sleeps, incident_context
):
    httpserver.expect_request(PATH).respond_with_data("upstream down", status=500)

    with pytest.raises(ProviderUnavailable) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value) == (
        f"The OpenAI-compatible endpoint {httpserver.url_for(PATH)} answered 500: upstream down "
        "Gave up after 4 tries."
    )
    assert (len(httpserver.log), sleeps) == (4, [1.0, 2.0, 4.0])


def test_a_refused_key_is_unavailable_without_retrying(httpserver, provider, sleeps, incident_context):
    httpserver.expect_request(PATH).respond_with_json({"error": {"message": "Incorrect API key"}}, status=401)

    with pytest.raises(ProviderUnavailable) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value) == (
        f"The OpenAI-compatible endpoint {httpserver.url_for(PATH)} answered 401: "
        '{ "error": { "message": "Incorrect API key" } }'
    )
    assert (len(httpserver.log), sleeps) == (1, [])


def test_an_answer_that_is_not_a_chat_completion_is_unavailable(httpserver, provider, incident_context):
    httpserver.expect_request(PATH).respond_with_data("<html>proxy login</html>", content_type="text/html")

    with pytest.raises(ProviderUnavailable) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value).endswith("answered 200: <html>proxy login</html> (no chat completion in it)")


def test_invalid_json_is_repaired_once(httpserver, provider, incident_context):
    bad = '{"summary": "checkout-api is OOMKilled", "root_cause": '
    answer_in_turn(
        httpserver,
        (bad, {"prompt_tokens": 700, "completion_tokens": 12}),
        (json.dumps(valid_answer()), {"prompt_tokens": 760, "completion_tokens": 90}),
    )

    result = provider.diagnose(incident_context)

    assert (result.repaired, result.input_tokens, result.output_tokens) == (True, 1460, 102)
    assert result.diagnosis.root_cause == valid_answer()["root_cause"]
    first, second = posted(httpserver)
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": bad}
    assert second["messages"][3]["content"].startswith(
        "Your answer was not valid: The answer holds no JSON object with the diagnosis fields "
        "(Expecting value at character"
    )


def test_two_invalid_answers_are_invalid_output(httpserver, provider, incident_context):
    httpserver.expect_request(PATH).respond_with_json(chat_answer('{"summary": "", "confidence": 0.5}'))

    with pytest.raises(InvalidOutput) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value) == (
        "The OpenAI-compatible endpoint answered twice without a valid diagnosis: The JSON does not match "
        "the diagnosis schema: summary: String should have at least 1 character; root_cause: Field required."
    )
    assert len(httpserver.log) == 2


def test_two_invalid_answers_carry_the_tokens_both_cost(httpserver, provider, incident_context):
    answer_in_turn(
        httpserver,
        ('{"summary": ""}', {"prompt_tokens": 700, "completion_tokens": 12}),
        ('{"summary": ""}', {"prompt_tokens": 760, "completion_tokens": 15}),
    )

    with pytest.raises(InvalidOutput) as raised:
        provider.diagnose(incident_context)

    assert (raised.value.input_tokens, raised.value.output_tokens) == (1460, 27)


def test_a_repair_try_that_fails_still_carries_the_first_answers_tokens(
    httpserver, provider, incident_context
):
    answer_in_turn(httpserver, ('{"summary": ""}', {"prompt_tokens": 700, "completion_tokens": 12}))
    httpserver.expect_ordered_request(PATH).respond_with_data("key revoked", status=401)

    with pytest.raises(ProviderUnavailable) as raised:
        provider.diagnose(incident_context)

    assert "answered 401: key revoked" in str(raised.value)
    assert (raised.value.input_tokens, raised.value.output_tokens) == (700, 12)


def test_a_refused_connection_is_unavailable(sleeps, incident_context):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
        provider = OpenAICompatibleProvider(base_url=url, model="local-llm", sleep=sleeps.append)

        with pytest.raises(ProviderUnavailable) as raised:
            provider.diagnose(incident_context)

    assert str(raised.value).startswith(
        f"The OpenAI-compatible endpoint {url}/chat/completions could not be reached:"
    )
    assert "Connection refused" in str(raised.value)
    assert sleeps == []


def test_a_server_slower_than_the_timeout_is_unavailable(httpserver, sleeps, incident_context):
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(timeout=5)
        return Response(json.dumps(chat_answer(json.dumps(valid_answer()))), content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(slow)
    provider = OpenAICompatibleProvider(
        base_url=httpserver.url_for("/v1"), model="local-llm", timeout_seconds=0.1, sleep=sleeps.append
    )

    with pytest.raises(ProviderUnavailable) as raised:
        provider.diagnose(incident_context)

    assert str(raised.value).startswith(
        f"The OpenAI-compatible endpoint {httpserver.url_for(PATH)} did not answer within 0.1 s: ReadTimeout("
    )
    assert sleeps == []
    release.set()
    wait_until_logged(httpserver, 1)  # else the late request lands in the next test's log


def test_from_settings_posts_to_the_configured_endpoint_with_the_key(httpserver, settings, incident_context):
    settings.OPENAI_BASE_URL, settings.OPENAI_MODEL, settings.OPENAI_API_KEY = (
        httpserver.url_for("/v1"),
        "m",
        "k",
    )
    settings.AI_MAX_OUTPUT_TOKENS, settings.AI_REQUEST_TIMEOUT_SECONDS = 333, 7.0
    httpserver.expect_request(PATH, headers={"Authorization": "Bearer k"}).respond_with_json(
        chat_answer(json.dumps(valid_answer()))
    )

    provider = ai_providers.get("openai").from_settings()
    result = provider.diagnose(incident_context)

    assert (result.model, provider.timeout.read, provider.timeout.connect) == ("m", 7.0, 5.0)
    assert (posted(httpserver)[0]["model"], posted(httpserver)[0]["max_tokens"]) == ("m", 333)


def test_from_settings_without_an_endpoint_or_model_is_not_configured(settings):
    settings.OPENAI_BASE_URL, settings.OPENAI_MODEL = "", ""

    with pytest.raises(ProviderNotConfigured) as raised:
        OpenAICompatibleProvider.from_settings()

    assert (
        str(raised.value)
        == "OPENAI_BASE_URL and OPENAI_MODEL must be set for the OpenAI-compatible provider."
    )


def test_it_drafts_an_rca_and_reads_its_usage(httpserver, provider, rca_context):
    usage = {"prompt_tokens": 1900, "completion_tokens": 700}
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        chat_answer(json.dumps(valid_draft()), usage=usage)
    )

    result = provider.draft_rca(rca_context)

    assert result.draft.model_dump() == valid_draft()
    assert (result.provider, result.model, result.input_tokens, result.output_tokens, result.repaired) == (
        "openai",
        "local-llm",
        1900,
        700,
        False,
    )
    [body] = posted(httpserver)
    assert (body["max_tokens"], body["messages"][0]) == (
        2100,
        {"role": "system", "content": rca_system_prompt()},
    )
    _, data = split_on_data_block(body["messages"][-1]["content"])
    assert data["incidents"][0]["analysis"]["confidence"] == 0.82


def test_an_rca_draft_cut_off_mid_answer_is_repaired_once(httpserver, provider, rca_context):
    cut = json.dumps(valid_draft())[:120]
    answer_in_turn(
        httpserver,
        (cut, {"prompt_tokens": 1900, "completion_tokens": 2100}),
        (json.dumps(valid_draft()), {"prompt_tokens": 2300, "completion_tokens": 650}),
    )

    result = provider.draft_rca(rca_context)

    assert (result.repaired, result.input_tokens, result.output_tokens) == (True, 4200, 2750)
    first, second = posted(httpserver)
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][3]["content"].startswith(
        "Your answer was not valid: The answer holds no JSON object with the RCA draft fields "
        "(Unterminated string starting at"
    )


def test_two_invalid_rca_drafts_are_invalid_output(httpserver, provider, rca_context):
    httpserver.expect_request(PATH).respond_with_json(
        chat_answer(json.dumps(valid_draft(impact=["services"])))
    )

    with pytest.raises(InvalidOutput) as raised:
        provider.draft_rca(rca_context)

    assert str(raised.value) == (
        "The OpenAI-compatible endpoint answered twice without a valid RCA draft: The JSON does not match "
        "the RCA draft schema: impact: Input should be a valid string."
    )
    assert len(httpserver.log) == 2
