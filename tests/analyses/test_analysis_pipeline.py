"""The analysis pipeline: request, context, provider chain with fallbacks, budget, cache, events."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from analyses.models import Analysis, AnalysisEventType, AnalysisSettings, AnalysisStatus, Incident
from analyses.providers.base import ai_providers
from analyses.services import analysis_request, analysis_requeue_stuck, analysis_run
from tests.conftest import GENERIC_ALERT
from usage.models import TenantBudget

pytestmark = pytest.mark.django_db

OOM_ALERT = {
    **GENERIC_ALERT,
    "title": "KubeContainerOOMKilled: payments-api",
    "description": (
        "Container payments-api in pod payments-api-7d8f9c6b5-x2k4m was OOMKilled (exit code 137)."
    ),
    "labels": {"alertname": "KubeContainerOOMKilled", "reason": "OOMKilled"},
}

MODEL_ANSWER = {
    "summary": "payments-api is being OOMKilled under load.",
    "root_cause": "The 512Mi memory limit is below the working set.",
    "recommendations": ["Raise the memory limit to 1Gi", "Check the heap settings"],
    "confidence": 0.8,
    "severity": "critical",
    "evidence": ["reason=OOMKilled"],
    "suggested_actions": [
        {
            "name": "restart_pod",
            "arguments": {"namespace": "production", "pod_name": "payments-api-7d8f9c6b5-x2k4m"},
        }
    ],
}


def chat_answer(content: dict, prompt_tokens: int = 700, completion_tokens: int = 90) -> dict:
    return {
        "choices": [{"message": {"role": "assistant", "content": json.dumps(content)}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }


@pytest.fixture
def incident(org, post_alert, settings) -> Incident:
    settings.ANALYSIS_AUTO_MIN_SEVERITY = "off"  # each test asks for its analysis itself
    response = post_alert(OOM_ALERT)
    assert response.status_code == 200, response.content
    return Incident.objects.get(pk=response.json()["incident_id"])


@pytest.fixture
def openai_chain(settings, httpserver):
    settings.AI_PROVIDER = "openai"
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    settings.OPENAI_MODEL = "local-llm"
    settings.OPENAI_API_KEY = "sk-test"
    return httpserver


def analyse(incident: Incident, django_capture_on_commit_callbacks) -> Analysis:
    with django_capture_on_commit_callbacks(execute=True):
        analysis, created = analysis_request(incident=incident, trigger="manual", requested_by="test")
    assert created
    analysis.refresh_from_db()
    return analysis


def event_types(analysis: Analysis) -> list[str]:
    return list(analysis.events.order_by("created_at", "id").values_list("event_type", flat=True))


def test_the_deterministic_engine_explains_an_oom_incident_by_default(
    incident, django_capture_on_commit_callbacks
):
    analysis = analyse(incident, django_capture_on_commit_callbacks)

    assert analysis.status == AnalysisStatus.COMPLETED
    assert (analysis.provider, analysis.input_tokens, analysis.cache_hit) == ("deterministic", 0, False)
    assert "payments-api" in analysis.summary
    assert "oom" in (analysis.root_cause + analysis.summary).lower()
    assert analysis.signatures and "oom" in analysis.signatures[0]["key"]
    assert analysis.matched_playbooks
    assert 0 < analysis.confidence <= 1
    assert analysis.processing_ms is not None and analysis.completed_at >= analysis.started_at
    assert event_types(analysis) == [
        "queued",
        "started",
        "context_built",
        "pre_analysis",
        "provider_called",
        "completed",
    ]
    sources = analysis.context["sources"]
    assert (sources["logs"], sources["kubernetes"]) == ("not_configured", "not_configured")


def test_an_openai_compatible_model_answers_and_its_tokens_are_counted(
    incident, openai_chain, django_capture_on_commit_callbacks, org
):
    answer = chat_answer(MODEL_ANSWER)
    openai_chain.expect_request("/v1/chat/completions", method="POST").respond_with_json(answer)

    analysis = analyse(incident, django_capture_on_commit_callbacks)

    assert (analysis.provider, analysis.model) == ("openai", "local-llm")
    assert (analysis.input_tokens, analysis.output_tokens) == (700, 90)
    assert analysis.root_cause == MODEL_ANSWER["root_cause"]
    assert analysis.recommendations == MODEL_ANSWER["recommendations"]
    assert analysis.suggested_actions[0]["name"] == "restart_pod"
    sent = openai_chain.log[0][0].get_json()
    assert "KubeContainerOOMKilled" in sent["messages"][-1]["content"]
    called = analysis.events.get(event_type=AnalysisEventType.PROVIDER_CALLED)
    assert (called.provider, called.input_tokens, called.output_tokens) == ("openai", 700, 90)
    from usage.models import UsageMonth

    month = UsageMonth.objects.get(organization=org)
    assert (month.analyses, month.tokens) == (1, 790)
    assert month.cost_usd > 0


def test_tokens_of_answers_that_could_not_be_used_are_billed_but_are_no_analysis(
    incident, openai_chain, django_capture_on_commit_callbacks, org
):
    invalid = {"choices": [{"message": {"role": "assistant", "content": '{"summary": ""}'}}]}
    for completion_tokens in (12, 15):
        invalid["usage"] = {"prompt_tokens": 700, "completion_tokens": completion_tokens}
        openai_chain.expect_ordered_request("/v1/chat/completions").respond_with_json(dict(invalid))

    analysis = analyse(incident, django_capture_on_commit_callbacks)

    assert analysis.provider == "deterministic"  # the chain fell through
    failed = analysis.events.get(event_type="provider_failed")
    assert (failed.provider, failed.input_tokens, failed.output_tokens) == ("openai", 1400, 27)
    from usage.models import UsageMonth
    from usage.services import usage_cost

    month = UsageMonth.objects.get(organization=org)
    assert (month.analyses, month.paid_analyses, month.tokens) == (1, 0, 1427)
    assert month.cost_usd == usage_cost(paid=True, input_tokens=1400, output_tokens=27)
    assert month.cost_usd > 0


def test_a_failing_provider_falls_through_to_the_deterministic_engine(
    incident, openai_chain, django_capture_on_commit_callbacks, settings
):
    settings.AI_MAX_RETRIES = 1
    openai_chain.expect_request("/v1/chat/completions").respond_with_data("upstream down", status=500)

    analysis = analyse(incident, django_capture_on_commit_callbacks)

    assert (analysis.status, analysis.provider) == (AnalysisStatus.COMPLETED, "deterministic")
    assert "provider_failed" in event_types(analysis)
    fallback = analysis.events.get(event_type=AnalysisEventType.FALLBACK)
    assert fallback.payload == {"from": "openai", "to": "deterministic", "reason": fallback.payload["reason"]}
    assert fallback.payload["reason"] in ("unavailable", "throttled")


def test_an_unconfigured_provider_in_the_chain_is_skipped_with_the_reason(
    incident, settings, django_capture_on_commit_callbacks
):
    settings.AI_PROVIDER, settings.AI_PROVIDER_FALLBACKS = "bedrock", ["openai"]
    settings.BEDROCK_MODEL_ID, settings.OPENAI_BASE_URL = "", ""

    analysis = analyse(incident, django_capture_on_commit_callbacks)

    assert analysis.provider == "deterministic"
    failures = analysis.events.filter(event_type=AnalysisEventType.PROVIDER_FAILED).order_by("id")
    assert [(event.provider, event.payload["reason"]) for event in failures] == [
        ("bedrock", "not_configured"),
        ("openai", "not_configured"),
    ]


def test_past_the_hard_limit_no_paid_provider_is_called_and_the_analysis_says_so(
    incident, openai_chain, django_capture_on_commit_callbacks, org
):
    TenantBudget.objects.create(organization=org, analyses_limit=0)

    analysis = analyse(incident, django_capture_on_commit_callbacks)

    assert openai_chain.log == []  # the model was never asked
    assert (analysis.provider, analysis.budget_limited) == ("deterministic", True)
    assert any("Paid AI providers skipped" in line for line in analysis.evidence)
    limited = analysis.events.get(event_type=AnalysisEventType.BUDGET_LIMITED)
    assert limited.provider == "openai" and "limit" in limited.message


def test_an_identical_context_reuses_the_cached_result_and_counts_the_hit(
    incident, openai_chain, django_capture_on_commit_callbacks
):
    openai_chain.expect_request("/v1/chat/completions").respond_with_json(chat_answer(MODEL_ANSWER))

    first = analyse(incident, django_capture_on_commit_callbacks)
    second = analyse(incident, django_capture_on_commit_callbacks)

    assert len(openai_chain.log) == 1
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.root_cause == first.root_cause and second.provider == "openai"
    assert second.input_tokens == 0  # a hit costs nothing
    assert "cache_hit" in event_types(second) and "provider_called" not in event_types(second)
    from analyses.models import AnalysisCacheEntry

    assert AnalysisCacheEntry.objects.get(context_hash=first.context_hash).hits == 1


def test_an_expired_cache_entry_is_not_reused(incident, django_capture_on_commit_callbacks, settings):
    settings.ANALYSIS_CACHE_TTL_SECONDS = 0

    analyse(incident, django_capture_on_commit_callbacks)
    second = analyse(incident, django_capture_on_commit_callbacks)

    assert second.cache_hit is False


def test_asking_twice_while_one_is_in_flight_returns_the_same_analysis(incident):
    first, created_first = analysis_request(incident=incident, trigger="manual", requested_by="a")
    second, created_second = analysis_request(incident=incident, trigger="manual", requested_by="b")

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk


def test_running_a_task_twice_does_the_work_once(incident):
    analysis, _ = analysis_request(incident=incident, trigger="manual", requested_by="test")

    analysis_run(analysis_id=str(analysis.pk))
    analysis_run(analysis_id=str(analysis.pk))

    assert event_types(analysis).count("completed") == 1
    assert event_types(analysis).count("started") == 1


def test_no_provider_answering_marks_the_analysis_failed_not_stuck(incident, settings):
    deterministic = ai_providers.get("deterministic")
    analysis, _ = analysis_request(incident=incident, trigger="manual", requested_by="test")
    ai_providers.unregister("deterministic")
    try:
        analysis_run(analysis_id=str(analysis.pk))
    finally:
        ai_providers.register(deterministic)

    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.FAILED
    assert "No provider answered" in analysis.error
    assert event_types(analysis)[-1] == "failed"


def test_an_abandoned_analysis_is_handed_back_to_the_queue(incident, django_capture_on_commit_callbacks):
    analysis, _ = analysis_request(incident=incident, trigger="manual", requested_by="test")
    Analysis.objects.filter(pk=analysis.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    fresh, _ = analysis_request(incident=incident, trigger="manual", requested_by="test")

    with django_capture_on_commit_callbacks(execute=True):
        requeued = analysis_requeue_stuck()

    analysis.refresh_from_db()
    assert requeued == 1 and fresh.pk == analysis.pk
    assert analysis.status == AnalysisStatus.COMPLETED
    assert "requeued" in event_types(analysis)


@pytest.mark.parametrize(
    ("severity", "policy", "expected"),
    [
        ("critical", None, 1),
        ("info", None, 0),
        ("warning", ("high", True), 0),
        ("critical", ("high", True), 1),
        ("critical", ("info", False), 0),
    ],
)
def test_new_incidents_are_analysed_by_the_organization_policy(
    org, post_alert, settings, django_capture_on_commit_callbacks, severity, policy, expected
):
    settings.ANALYSIS_AUTO_MIN_SEVERITY = "warning"
    if policy:
        AnalysisSettings.objects.create(organization=org, min_severity=policy[0], auto_analyze=policy[1])

    with django_capture_on_commit_callbacks(execute=True):
        incident_id = post_alert({**OOM_ALERT, "severity": severity}).json()["incident_id"]
        post_alert({**OOM_ALERT, "severity": severity})  # a repeat never asks again

    analyses = Analysis.objects.filter(incident_id=incident_id)
    assert analyses.count() == expected
    if expected:
        assert analyses.get().trigger == "auto" and analyses.get().status == AnalysisStatus.COMPLETED
