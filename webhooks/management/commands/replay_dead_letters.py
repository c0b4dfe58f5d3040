"""Re-process dead-lettered inbound events (after a fix or an outage)."""

from django.core.management.base import BaseCommand, CommandError

from statux.audit import Actor
from statux.models import Organization
from webhooks.models import InboundEvent, InboundStatus
from webhooks.services import inbound_event_replay_now


class Command(BaseCommand):
    help = "Replay dead-lettered alerts: all of them, one organization's, or the ids given."

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", help="inbound event ids (default: every dead-lettered event)")
        parser.add_argument("--organization", help="only this organization (slug)")
        parser.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")

    def handle(self, *args, ids: list[str], organization: str | None, limit: int, **options) -> None:
        events = InboundEvent.objects.filter(status=InboundStatus.DEAD).select_related("organization")
        if organization:
            org = Organization.objects.filter(slug=organization).first()
            if org is None:
                raise CommandError(f"No organization with slug '{organization}'.")
            events = events.for_org(org)
        if ids:
            events = events.filter(pk__in=ids)
        replayed = failed = 0
        for event in events.order_by("created_at")[:limit]:
            outcome = inbound_event_replay_now(event=event, actor=Actor(system="replay_dead_letters"))
            if outcome.status == InboundStatus.PROCESSED:
                replayed += 1
            else:
                failed += 1
                self.stderr.write(f"{event.pk}: still failing: {outcome.error}")
        self.stdout.write(f"Replayed {replayed} event(s); {failed} still dead-lettered.")
