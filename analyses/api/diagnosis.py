"""AI-SRE API (spec 002): GET /incidents/{id}/diagnosis, the analysis with its policy verdicts."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from analyses import selectors, services
from analyses.api.similar import AisreSimilarIncidentOut
from analyses.models import Analysis, AnalysisStatus, AnalysisTrigger
from analyses.providers.base import SuggestedAction
from remediation.policy import policy_evaluate_many
from statux.api.base import AisreApi
from statux.audit import Actor


class DiagnosisIn(serializers.Serializer):
    log_limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class DiagnosisDeployOut(serializers.Serializer):
    deploy_id = serializers.CharField()
    service = serializers.CharField()
    minutes_before_incident = serializers.FloatField()
    actor = serializers.CharField(allow_blank=True)


class DiagnosisActionOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    arguments = serializers.DictField()
    executable = serializers.BooleanField()
    auto_executable = serializers.BooleanField()
    allowed = serializers.BooleanField()
    approval_required = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    blast_radius = serializers.CharField()
    policy_name = serializers.CharField()
    policy_reason = serializers.CharField()


class DiagnosisOut(serializers.Serializer):
    incident_id = serializers.CharField()
    analysis_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=AnalysisStatus.choices)
    summary = serializers.CharField(allow_blank=True)
    root_cause = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField(allow_null=True)
    severity = serializers.CharField(allow_blank=True)
    recommendations = serializers.ListField(child=serializers.CharField())
    evidence = serializers.ListField(child=serializers.CharField())
    k8s_context = serializers.DictField(allow_null=True)
    log_excerpt = serializers.CharField(allow_blank=True)
    matched_playbooks = serializers.ListField(child=serializers.CharField())
    similar_incidents = AisreSimilarIncidentOut(many=True)
    deploy_correlation = DiagnosisDeployOut(allow_null=True)
    suggested_actions = DiagnosisActionOut(many=True)
    context_sources = serializers.DictField(child=serializers.CharField())
    provider = serializers.CharField(allow_blank=True)
    model = serializers.CharField(allow_blank=True)
    cache_hit = serializers.BooleanField()
    budget_limited = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


def diagnosis_payload(analysis: Analysis, *, log_limit: int) -> dict:
    context = analysis.context or {}
    actions = [SuggestedAction.model_validate(action) for action in analysis.suggested_actions]
    log_lines = context.get("log_lines") or []
    return {
        "incident_id": analysis.incident_id,
        "analysis_id": analysis.pk,
        "status": analysis.status,
        "summary": analysis.summary,
        "root_cause": analysis.root_cause,
        "confidence": analysis.confidence,
        "severity": analysis.severity,
        "recommendations": analysis.recommendations,
        "evidence": analysis.evidence,
        "k8s_context": context.get("k8s_context"),
        "log_excerpt": "\n".join(log_lines[-log_limit:]),
        "matched_playbooks": analysis.matched_playbooks,
        "similar_incidents": context.get("similar_incidents") or [],
        "deploy_correlation": context.get("deploy_correlation"),
        "suggested_actions": policy_evaluate_many(organization=analysis.organization, actions=actions),
        "context_sources": context.get("sources") or {},
        "provider": analysis.provider,
        "model": analysis.model,
        "cache_hit": analysis.cache_hit,
        "budget_limited": analysis.budget_limited,
        "error": analysis.error,
        "created_at": analysis.created_at,
        "completed_at": analysis.completed_at,
    }


class AisreIncidentDiagnosisApi(AisreApi):
    """GET /incidents/{id}/diagnosis: the newest finished analysis (200), else one is queued (202).

    The model is never called inside the request: without a finished analysis this queues one (or
    finds the one in flight) and answers 202 with its status; poll until 200.
    """

    @extend_schema(
        parameters=[OpenApiParameter("log_limit", int)],
        responses={200: DiagnosisOut, 202: DiagnosisOut},
        tags=["aisre"],
    )
    def get(self, request: Request, incident_id: str) -> Response:
        query = DiagnosisIn(data=request.query_params)
        query.is_valid(raise_exception=True)
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        analysis = selectors.analysis_latest(incident=incident)
        if analysis is None or analysis.status == AnalysisStatus.FAILED:
            analysis, _ = services.analysis_request(
                incident=incident,
                trigger=AnalysisTrigger.MANUAL,
                requested_by=Actor.from_request(request).label,
            )
            analysis.refresh_from_db()  # with tasks in-process it has finished already
        analysis.organization = request.organization
        done = analysis.status == AnalysisStatus.COMPLETED
        payload = diagnosis_payload(analysis, log_limit=query.validated_data["log_limit"])
        return Response(
            DiagnosisOut(payload).data, status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED
        )
