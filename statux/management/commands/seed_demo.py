"""Seed a demo organization, its admin and a morning of incidents for the embedded run. Safe to run again."""

from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from analyses.models import Incident
from analyses.services import incident_change_status, incident_record_alert, knowledge_base_entry_create
from statux.audit import Actor
from statux.models import Membership, Organization, Role, User
from webhooks.normalizers.base import NormalizedAlert
from webhooks.services import deploy_event_record

DEMO = Actor(system="seed_demo")
PAYMENTS = {"service": "payments-api", "namespace": "production", "deployment": "payments-api"}
CHECKOUT = {"service": "checkout-api", "namespace": "production", "deployment": "checkout-api"}
DEMO_ALERTS = [
    NormalizedAlert(
        source="alertmanager",
        title="KubeContainerOOMKilled: payments-api",
        fingerprint="demo-payments-oom",
        severity="critical",
        description="Container payments-api in pod payments-api-7d8f9c6b5-x2k4m was OOMKilled (exit 137).",
        pod="payments-api-7d8f9c6b5-x2k4m",
        labels={"alertname": "KubeContainerOOMKilled", "reason": "OOMKilled", "severity": "critical"},
        **PAYMENTS,
    ),
    NormalizedAlert(
        source="datadog",
        title="5xx rate above 5% on checkout-api",
        fingerprint="demo-checkout-5xx",
        severity="high",
        description="HTTP 503 responses at 7.2% of requests for 5 minutes (threshold 5%).",
        labels={"alertname": "HighErrorRate", "status_code": "503"},
        metric="http_5xx_ratio",
        threshold=5.0,
        actual_value=7.2,
        **CHECKOUT,
    ),
    NormalizedAlert(
        source="prometheus",
        title="NodeFilesystemSpaceFillingUp: db-1 /var/lib/postgresql",
        fingerprint="demo-db-disk",
        severity="warning",
        description="Filesystem on /var/lib/postgresql is predicted to run out of space within 24 hours.",
        service="postgres",
        labels={"alertname": "NodeFilesystemSpaceFillingUp", "instance": "db-1:9100"},
    ),
    NormalizedAlert(
        source="synthetics",
        title="TLS certificate for api.example.com expires in 6 days",
        fingerprint="demo-cert",
        severity="info",
        service="api-gateway",
        description="x509: certificate expires 2026-11-29; renewal job last succeeded 84 days ago.",
    ),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo organization and its admin user, and print how to log in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", default="admin@demo.statux.local")
        parser.add_argument("--password", default="statux-demo-admin")

    @transaction.atomic
    def handle(self, *args, email: str, password: str, **options) -> None:
        organization, _ = Organization.objects.get_or_create(
            slug="demo", defaults={"name": "Demo Organization", "plan": "pro", "contact_email": email}
        )
        user = User.objects.filter(email__iexact=email).first() or User(email=email, name="Demo Admin")
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
        Membership.objects.update_or_create(
            organization=organization, user=user, defaults={"role": Role.OWNER}
        )
        if not Incident.objects.for_org(organization).exists():
            self._incidents(organization)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization '{organization.slug}' ready.\n"
                f"  Console: {settings.SITE_URL}/console/   Admin: {settings.SITE_URL}/admin/   "
                f"API docs: {settings.SITE_URL}/api/docs/\n"
                f"  Log in as {email} / {password}"
            )
        )

    def _incidents(self, organization: Organization) -> None:
        """A past OOM with its fix, a deploy just before the 5xx spike, and four open incidents.

        New incidents queue their analysis on commit; with tasks in-process they are analysed as the
        command ends.
        """
        now = timezone.now()
        old_oom = replace(DEMO_ALERTS[0], fingerprint="demo-old-oom")
        past = incident_record_alert(organization=organization, alert=old_oom).incident
        Incident.objects.filter(pk=past.pk).update(created_at=now - timedelta(days=3))
        incident_change_status(incident=past, status="resolved", actor=DEMO)
        knowledge_base_entry_create(
            organization=organization,
            incident_ref=past.pk,
            service_id="payments-api",
            resolution="Raised the memory limit of payments-api from 512Mi to 1Gi and set -Xmx to 75% of it.",
            resolved_by="demo",
            time_to_recovery_minutes=18,
            tags=["oom_killed"],
            actor=DEMO,
        )
        deploy_event_record(
            organization=organization,
            image="registry.example.com/checkout-api:v2.4.1",
            actor_name="ci-bot",
            deployed_at=now - timedelta(minutes=6),
            actor=DEMO,
            **{key: CHECKOUT[key] for key in ("service", "namespace")},
        )
        for alert in DEMO_ALERTS:
            incident_record_alert(organization=organization, alert=alert)
