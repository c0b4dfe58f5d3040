"""Statux Insights API (spec 000): health, auth tokens, users, members, invitations. camelCase JSON."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from statux import selectors, services
from statux.api.base import AuthenticatedApi, OrgScopedApi, PublicApi, PublicCredentialApi, StatuxPagination
from statux.audit import Actor, client_ip
from statux.errors import Forbidden
from statux.login_guard import login_attempt
from statux.models import DigestFrequency, Role, Severity, User
from statux.tenancy import organization_lookup_filter
from statux.throttling import AnonAuthThrottle

ErrorOut = inline_serializer(
    "StatuxErrorOut",
    {
        "error": serializers.CharField(),
        "code": serializers.CharField(),
        "fields": serializers.DictField(required=False),
    },
)


class HealthOut(serializers.Serializer):
    status = serializers.CharField()
    version = serializers.CharField()
    timestamp = serializers.DateTimeField()


def health_body() -> dict:
    return {"status": "ok", "version": settings.VERSION, "timestamp": timezone.now()}


class StatuxHealthApi(PublicApi):
    """GET /api/v1/health: liveness for a load balancer; it touches no database (see /api/v1/status)."""

    @extend_schema(responses=HealthOut, tags=["statux"])
    def get(self, request: Request) -> Response:
        return Response(HealthOut(health_body()).data)


# --- Tokens ------------------------------------------------------------------------------------------


class StatuxTokenObtainIn(TokenObtainPairSerializer):
    """{"email", "password"[, "organization"]} -> {"access", "refresh"}; the tokens name one organization."""

    organization = serializers.CharField(
        required=False, write_only=True, help_text="Organization id or slug; default: your first one."
    )

    def validate(self, attrs: dict) -> dict:
        reference = attrs.pop("organization", None)
        with login_attempt(self.context["request"], email=attrs[self.username_field]) as attempt:
            data = super().validate(attrs)  # authenticate(); AuthenticationFailed counts as one failure
            attempt.succeeded()
        memberships = selectors.user_organizations(user=self.user)
        if reference:
            lookup = {f"organization__{k}": v for k, v in organization_lookup_filter(reference).items()}
            memberships = memberships.filter(**lookup)
        membership = memberships.first()
        if reference and membership is None and not self.user.is_superuser:
            raise serializers.ValidationError({"organization": [f"You are not a member of '{reference}'."]})
        refresh = self.get_token(self.user)
        if membership is not None:
            refresh["org"] = str(membership.organization_id)
        data.update(refresh=str(refresh), access=str(refresh.access_token))
        return data


StatuxTokenPairOut = inline_serializer(
    "StatuxTokenPairOut", {"access": serializers.CharField(), "refresh": serializers.CharField()}
)
RetryErrorOut = inline_serializer(
    "StatuxRetryErrorOut",
    {
        "error": serializers.CharField(),
        "code": serializers.CharField(),
        "retry_after": serializers.IntegerField(),
    },
)


@extend_schema_view(
    post=extend_schema(
        request=StatuxTokenObtainIn,
        responses={200: StatuxTokenPairOut, 400: ErrorOut, 401: ErrorOut, 429: RetryErrorOut},
        tags=["statux"],
    )
)
class StatuxTokenObtainApi(TokenObtainPairView):
    """POST /api/v1/auth/token/"""

    serializer_class = StatuxTokenObtainIn
    throttle_classes = [AnonAuthThrottle]


class StatuxTokenRefreshApi(TokenRefreshView):
    """POST /api/v1/auth/token/refresh/"""

    throttle_classes = [AnonAuthThrottle]


class StatuxTokenVerifyApi(TokenVerifyView):
    """POST /api/v1/auth/token/verify/"""

    throttle_classes = [AnonAuthThrottle]


# --- Users -------------------------------------------------------------------------------------------


class StatuxUserOrganizationOut(serializers.Serializer):
    id = serializers.UUIDField(source="organization.id")
    slug = serializers.CharField(source="organization.slug")
    name = serializers.CharField(source="organization.name")
    role = serializers.CharField()


class StatuxUserOut(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    isSuperAdmin = serializers.BooleanField(source="is_superuser")
    createdAt = serializers.DateTimeField(source="date_joined")
    organizations = serializers.SerializerMethodField()

    def get_organizations(self, user: User) -> list[dict]:
        return StatuxUserOrganizationOut(selectors.user_organizations(user=user), many=True).data


class StatuxUserUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    timezone = serializers.CharField(max_length=64, required=False)

    def validate_timezone(self, value: str) -> str:
        import zoneinfo

        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(f"'{value}' is not an IANA time zone such as Europe/Berlin.")
        return value


def _person(request: Request) -> User:
    if not isinstance(request.user, User):
        raise Forbidden("This endpoint is about a person; API keys have no profile.")
    return request.user


class StatuxUserMeApi(AuthenticatedApi):
    """GET, PATCH /api/v1/users/me"""

    @extend_schema(responses={200: StatuxUserOut, 403: ErrorOut}, tags=["statux"])
    def get(self, request: Request) -> Response:
        return Response(StatuxUserOut(_person(request)).data)

    @extend_schema(request=StatuxUserUpdateIn, responses={200: StatuxUserOut, 400: ErrorOut}, tags=["statux"])
    def patch(self, request: Request) -> Response:
        user = _person(request)
        incoming = StatuxUserUpdateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = services.user_update(user=user, actor=Actor.from_request(request), **incoming.validated_data)
        return Response(StatuxUserOut(user).data)


class StatuxNotificationPreferencesOut(serializers.Serializer):
    emailEnabled = serializers.BooleanField(source="email_enabled")
    minSeverity = serializers.ChoiceField(source="min_severity", choices=Severity.choices)
    incidentAssigned = serializers.BooleanField(source="incident_assigned")
    rcaPublished = serializers.BooleanField(source="rca_published")
    usageAlerts = serializers.BooleanField(source="usage_alerts")
    digestFrequency = serializers.ChoiceField(source="digest_frequency", choices=DigestFrequency.choices)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)


class StatuxNotificationPreferencesIn(StatuxNotificationPreferencesOut):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, partial=True, **kwargs)


class StatuxUserNotificationsApi(AuthenticatedApi):
    """GET, PATCH /api/v1/users/me/notifications"""

    @extend_schema(responses=StatuxNotificationPreferencesOut, tags=["statux"])
    def get(self, request: Request) -> Response:
        preferences = services.notification_preferences_get(user=_person(request))
        return Response(StatuxNotificationPreferencesOut(preferences).data)

    @extend_schema(
        request=StatuxNotificationPreferencesIn,
        responses={200: StatuxNotificationPreferencesOut, 400: ErrorOut},
        tags=["statux"],
    )
    def patch(self, request: Request) -> Response:
        user = _person(request)
        incoming = StatuxNotificationPreferencesIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        preferences = services.notification_preferences_update(
            user=user, actor=Actor.from_request(request), **incoming.validated_data
        )
        return Response(StatuxNotificationPreferencesOut(preferences).data)


# --- Members and invitations -------------------------------------------------------------------------


class StatuxMemberOut(serializers.Serializer):
    id = serializers.UUIDField(source="user.id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    role = serializers.CharField()
    organizationId = serializers.UUIDField(source="organization_id")
    joinedAt = serializers.DateTimeField(source="created_at")


class StatuxMemberListApi(OrgScopedApi):
    """GET /api/v1/organizations/{orgId}/users"""

    @extend_schema(responses=StatuxMemberOut(many=True), tags=["statux"])
    def get(self, request: Request, org_id: str) -> Response:
        paginator = StatuxPagination()
        page = paginator.paginate_queryset(
            selectors.membership_list(organization=request.organization), request, self
        )
        return paginator.get_paginated_response(StatuxMemberOut(page, many=True).data)


class StatuxMemberUpdateIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class StatuxMemberDetailApi(OrgScopedApi):
    """PATCH, DELETE /api/v1/organizations/{orgId}/users/{userId}: change a member's role, remove them."""

    required_permission = "manage_users"

    @extend_schema(
        request=StatuxMemberUpdateIn,
        responses={200: StatuxMemberOut, 404: ErrorOut, 409: ErrorOut},
        tags=["statux"],
    )
    def patch(self, request: Request, org_id: str, user_id: str) -> Response:
        membership = selectors.membership_get(organization=request.organization, user_id=user_id)
        incoming = StatuxMemberUpdateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            membership=membership,
            role=incoming.validated_data["role"],
            access=request.access,
            actor=Actor.from_request(request),
        )
        return Response(StatuxMemberOut(membership).data)

    @extend_schema(responses={204: None, 404: ErrorOut, 409: ErrorOut}, tags=["statux"])
    def delete(self, request: Request, org_id: str, user_id: str) -> Response:
        membership = selectors.membership_get(organization=request.organization, user_id=user_id)
        services.membership_remove(
            membership=membership, access=request.access, actor=Actor.from_request(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatuxInvitationCreateIn(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)


class StatuxInvitationOut(serializers.Serializer):
    id = serializers.UUIDField()
    organizationId = serializers.UUIDField(source="organization_id")
    email = serializers.EmailField()
    role = serializers.CharField()
    status = serializers.CharField(source="state")
    invitedBy = serializers.EmailField(source="invited_by.email", allow_null=True, default=None)
    expiresAt = serializers.DateTimeField(source="expires_at")
    createdAt = serializers.DateTimeField(source="created_at")


class StatuxInvitationCreatedOut(StatuxInvitationOut):
    token = serializers.CharField()
    inviteUrl = serializers.CharField()


class StatuxInvitationCreateApi(OrgScopedApi):
    """POST /api/v1/organizations/{orgId}/users/invite: the token is in this response only."""

    required_permission = "manage_users"

    @extend_schema(
        request=StatuxInvitationCreateIn,
        responses={201: StatuxInvitationCreatedOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
        tags=["statux"],
    )
    def post(self, request: Request, org_id: str) -> Response:
        incoming = StatuxInvitationCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        invitation, token = services.invitation_create(
            organization=request.organization,
            access=request.access,
            actor=Actor.from_request(request),
            **incoming.validated_data,
        )
        invitation.token, invitation.inviteUrl = token, services.invitation_url(token)
        return Response(StatuxInvitationCreatedOut(invitation).data, status=status.HTTP_201_CREATED)


class StatuxInvitationAcceptIn(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")


class StatuxInvitationAcceptOut(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    user = StatuxUserOut()


class StatuxInvitationAcceptApi(PublicCredentialApi):
    """POST /api/v1/invitations/{token}/accept (public): join, and get tokens for the new organization."""

    @extend_schema(
        request=StatuxInvitationAcceptIn,
        responses={200: StatuxInvitationAcceptOut, 400: ErrorOut, 404: ErrorOut},
        tags=["statux"],
    )
    def post(self, request: Request, token: str) -> Response:
        incoming = StatuxInvitationAcceptIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        invitation = services.invitation_get_pending(token=token)
        user = services.invitation_accept(
            token=token, ip_address=client_ip(request), **incoming.validated_data
        )
        refresh = StatuxTokenObtainIn.get_token(user)
        refresh["org"] = str(invitation.organization_id)
        return Response(
            {"access": str(refresh.access_token), "refresh": str(refresh), "user": StatuxUserOut(user).data}
        )
