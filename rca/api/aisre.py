"""AI-SRE API (spec 002): POST /incidents/{id}/postmortem, the incident's RCA draft. snake_case."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from analyses.selectors import incident_get
from rca import services
from rca.models import GenerationStatus, RcaStatus
from statux.api.base import AisreApi
from statux.audit import Actor


class AisrePostmortemOut(serializers.Serializer):
    incident_id = serializers.CharField()
    rca_id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=RcaStatus.choices)
    generation_status = serializers.ChoiceField(choices=GenerationStatus.choices)
    created = serializers.BooleanField()
    url = serializers.CharField()
    api_url = serializers.CharField()


class AisreIncidentPostmortemApi(AisreApi):
    """POST /incidents/{incident_id}/postmortem: the incident's RCA, created (201) or existing (200)."""

    @extend_schema(request=None, responses={200: AisrePostmortemOut, 201: AisrePostmortemOut}, tags=["aisre"])
    def post(self, request: Request, incident_id: str) -> Response:
        incident = incident_get(organization=request.organization, incident_id=incident_id)
        rca, created = services.rca_postmortem_for_incident(
            incident=incident, actor=Actor.from_request(request)
        )
        rca.refresh_from_db()  # with tasks in-process the draft may be written already
        answer = {
            "incident_id": incident.pk,
            "rca_id": rca.pk,
            "title": rca.title,
            "status": rca.status,
            "generation_status": rca.generation_status,
            "created": created,
            "url": f"{settings.SITE_URL}/console/rcas/{rca.pk}/",
            "api_url": f"{settings.SITE_URL}/api/v1/organizations/{rca.organization_id}/rcas/{rca.pk}",
        }
        return Response(
            AisrePostmortemOut(answer).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
