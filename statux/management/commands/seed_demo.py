"""Seed a demo organization and its admin for the embedded run. Safe to run again."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from statux.models import Membership, Organization, Role, User


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
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization '{organization.slug}' ready.\n"
                f"  Console: {settings.SITE_URL}/console/   Admin: {settings.SITE_URL}/admin/   "
                f"API docs: {settings.SITE_URL}/api/docs/\n"
                f"  Log in as {email} / {password}"
            )
        )
