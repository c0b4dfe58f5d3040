"""Writes of RCA documents: the document and its workflow, incident links, action items, AI drafts.

The draft rule: a generation writes a field only when it is empty or no person has edited it since the
last generation (`Rca.edited_fields`). For an edited field the proposal goes into the history as an
unapplied revision and the field is reported in `generation_skipped_fields`. Every change of a text
field, by a person or a draft, keeps the previous text in `RcaRevision`.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from analyses.chain import provider_chain_run
from analyses.models import Incident
from analyses.providers.base import RcaDraftResult, ai_providers
from rca.context import build_rca_context
from rca.models import (
    DRAFT_FIELDS,
    GENERATION_IN_FLIGHT,
    NEXT_STATUSES,
    GenerationStatus,
    IncidentProduct,
    Rca,
    RcaActionItem,
    RcaGenerationEvent,
    RcaIncidentLink,
    RcaRevision,
    RcaStatus,
    RevisionSource,
)
from rca.selectors import rca_for_incident
from statux.audit import Actor, audit_record
from statux.errors import Conflict, InvalidTransition, StatuxError
from statux.models import Membership, Organization, User
from usage.services import usage_record_analysis

logger = logging.getLogger(__name__)

STUCK_PENDING_AFTER = timedelta(minutes=5)
STUCK_PROCESSING_AFTER = timedelta(minutes=15)
GENERATION_ACTOR = Actor(system="rca-generation")


class InvalidAssignee(StatuxError):
    status, code = 400, "invalid_assignee"


class NothingToGenerateFrom(StatuxError):
    status, code = 400, "no_linked_incident"


def _revise(*, rca: Rca, changes: dict[str, str], actor: Actor) -> list[str]:
    """Record a person's changes of the draftable fields; returns the fields whose text changed."""
    changed = [field for field in DRAFT_FIELDS if field in changes and changes[field] != getattr(rca, field)]
    RcaRevision.objects.bulk_create(
        RcaRevision(
            organization_id=rca.organization_id,
            rca=rca,
            field=field,
            previous_text=getattr(rca, field),
            new_text=changes[field],
            source=RevisionSource.PERSON,
            actor=actor.label,
        )
        for field in changed
    )
    return changed


# --- The document --------------------------------------------------------------------------------------


@transaction.atomic
def rca_create(
    *,
    organization: Organization,
    title: str,
    actor: Actor,
    summary: str = "",
    root_cause: str = "",
    impact: str = "",
    timeline: str = "",
) -> Rca:
    """A new draft. Text a person gives here counts as edited: a later draft will not overwrite it."""
    texts = {"summary": summary, "root_cause": root_cause, "impact": impact, "timeline": timeline}
    rca = Rca.objects.create(
        organization=organization,
        title=title,
        created_by=actor.user,
        created_by_label=actor.label[:200],
        edited_fields=[field for field in DRAFT_FIELDS if texts[field].strip()],
        **texts,
    )
    audit_record(actor=actor, action="rca.created", organization=organization, target=rca)
    return rca


def _transition(rca: Rca, status: str) -> None:
    if status == rca.status:
        return
    if not rca.can_move_to(status):
        raise InvalidTransition(
            f"RCA {rca.pk} cannot move from {rca.status} to {status}; "
            f"allowed: {', '.join(sorted(NEXT_STATUSES[rca.status]))}."
        )
    rca.status = status
    rca.published_at = timezone.now() if status == RcaStatus.PUBLISHED else rca.published_at


@transaction.atomic
def rca_update(*, rca: Rca, actor: Actor, **changes: Any) -> Rca:
    """Change title, text fields and/or status (draft → in_review → published; back to draft from any).

    Edited text fields are remembered, so the next AI draft leaves them alone. Raises InvalidTransition.
    """
    rca = Rca.objects.select_for_update().get(pk=rca.pk)
    previous_status = rca.status
    if "status" in changes:
        _transition(rca, changes.pop("status"))
    edited = _revise(rca=rca, changes=changes, actor=actor)
    for field, value in changes.items():
        setattr(rca, field, value)
    rca.edited_fields = sorted(set(rca.edited_fields) | set(edited))
    rca.save(update_fields=[*changes, "status", "published_at", "edited_fields", "updated_at"])
    metadata: dict[str, Any] = {"fields": sorted(changes)}
    if rca.status != previous_status:
        metadata |= {"from": previous_status, "to": rca.status}
        action = "rca.published" if rca.status == RcaStatus.PUBLISHED else "rca.status_changed"
        audit_record(actor=actor, action=action, organization=rca.organization, target=rca, metadata=metadata)
    if changes:
        audit_record(
            actor=actor, action="rca.updated", organization=rca.organization, target=rca, metadata=metadata
        )
    return rca


def rca_transition(*, rca: Rca, status: str, actor: Actor) -> Rca:
    return rca_update(rca=rca, actor=actor, status=status)


@transaction.atomic
def rca_delete(*, rca: Rca, actor: Actor) -> None:
    audit_record(
        actor=actor,
        action="rca.deleted",
        organization=rca.organization,
        target=rca,
        metadata={"title": rca.title},
    )
    rca.delete()


# --- Incident links ------------------------------------------------------------------------------------


@transaction.atomic
def rca_link_incident(
    *,
    rca: Rca,
    actor: Actor,
    incident: Incident | None = None,
    product: str = "",
    external_id: str = "",
    title: str = "",
    url: str = "",
) -> RcaIncidentLink:
    """Link a local incident (`incident`, from a tenant-scoped selector) or another product's incident
    (`product`, `external_id`). Raises Conflict when that incident is linked already."""
    if incident is not None:
        product, external_id, title = IncidentProduct.STATUX, incident.pk, title or incident.title
    elif product == IncidentProduct.STATUX or not external_id:
        raise StatuxError(
            "Link a local incident with incidentId, or another product's with product and externalId.",
            fields={"externalId": ["required for alerting, statuspages and synthetics incidents"]},
        )
    try:
        with transaction.atomic():  # savepoint: the constraint decides a concurrent double link
            link = RcaIncidentLink.objects.create(
                organization_id=rca.organization_id,
                rca=rca,
                product=product,
                incident=incident,
                external_id=external_id,
                title=title[:500],
                url=url,
                linked_by=actor.user,
                linked_by_label=actor.label[:200],
            )
    except IntegrityError:
        raise Conflict(f"{product}:{external_id} is already linked to RCA {rca.pk}.") from None
    audit_record(
        actor=actor,
        action="rca.incident_linked",
        organization=rca.organization,
        target=rca,
        metadata={"product": product, "external_id": external_id},
    )
    return link


@transaction.atomic
def rca_unlink_incident(*, link: RcaIncidentLink, actor: Actor) -> None:
    audit_record(
        actor=actor,
        action="rca.incident_unlinked",
        organization=link.rca.organization,
        target=link.rca,
        metadata={"product": link.product, "external_id": link.external_id},
    )
    link.delete()


# --- Action items --------------------------------------------------------------------------------------


def _check_assignee(organization_id: Any, assignee_id: Any) -> User | None:
    if assignee_id is None:
        return None
    membership = (
        Membership.objects.for_org_id(organization_id)
        .select_related("user")
        .filter(user_id=assignee_id)
        .first()
    )
    if membership is None:
        raise InvalidAssignee(
            f"User {assignee_id} is not a member of this organization.",
            fields={"assigneeId": ["must be a member of the organization"]},
        )
    return membership.user


@transaction.atomic
def rca_action_item_create(
    *,
    rca: Rca,
    title: str,
    actor: Actor,
    description: str = "",
    assignee_id: Any = None,
    status: str = "open",
    priority: str = "medium",
    due_date: date | None = None,
) -> RcaActionItem:
    """Raises InvalidAssignee when the assignee is not a member of the RCA's organization."""
    item = RcaActionItem(
        organization_id=rca.organization_id,
        rca=rca,
        title=title,
        description=description,
        assignee=_check_assignee(rca.organization_id, assignee_id),
        priority=priority,
        due_date=due_date,
        created_by=actor.user,
        created_by_label=actor.label[:200],
    )
    item.apply_status(status)
    item.save()
    audit_record(
        actor=actor,
        action="rca.action_item_created",
        organization=rca.organization,
        target=item,
        metadata={"rca": str(rca.pk), "status": status},
    )
    return item


@transaction.atomic
def rca_action_item_update(*, item: RcaActionItem, actor: Actor, **changes: Any) -> RcaActionItem:
    """Change any field; `completed_at` follows the status. Raises InvalidAssignee."""
    item = RcaActionItem.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=item.pk)
    if "assignee_id" in changes:
        item.assignee = _check_assignee(item.organization_id, changes.pop("assignee_id"))
        changes["assignee"] = item.assignee
    if "status" in changes:
        item.apply_status(changes.pop("status"))
    for field, value in changes.items():
        setattr(item, field, value)
    item.save(update_fields=[*changes, "status", "completed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="rca.action_item_updated",
        organization=item.organization,
        target=item,
        metadata={"rca": str(item.rca_id), "status": item.status, "fields": sorted(changes)},
    )
    return item


@transaction.atomic
def rca_action_item_delete(*, item: RcaActionItem, actor: Actor) -> None:
    audit_record(
        actor=actor,
        action="rca.action_item_deleted",
        organization=item.organization,
        target=item,
        metadata={"rca": str(item.rca_id), "title": item.title},
    )
    item.delete()


# --- AI drafts -----------------------------------------------------------------------------------------


def rca_generation_event_record(
    *, rca: Rca, event_type: str, message: str = "", payload: dict | None = None, **fields: Any
) -> RcaGenerationEvent:
    return RcaGenerationEvent.objects.create(
        organization_id=rca.organization_id,
        rca=rca,
        event_type=event_type,
        message=message[:2000],
        payload=payload or {},
        **fields,
    )


def _enqueue_generation(rca_id: str) -> None:
    from rca.tasks import rca_generate_draft_task  # the task module imports this one

    # robust: a broker that is down must not fail the request that asked; the beat requeues it
    transaction.on_commit(lambda: rca_generate_draft_task.delay(rca_id), robust=True)


@transaction.atomic
def rca_generation_request(*, rca: Rca, actor: Actor) -> Rca:
    """Queue an AI draft. Raises Conflict while one is pending or processing, NothingToGenerateFrom
    when no incident is linked. The row lock makes two concurrent requests agree on one."""
    rca = Rca.objects.select_for_update().get(pk=rca.pk)
    if rca.generation_status in GENERATION_IN_FLIGHT:
        raise Conflict(f"A draft of RCA {rca.pk} is already {rca.generation_status}.")
    if not RcaIncidentLink.objects.for_org_id(rca.organization_id).filter(rca=rca).exists():
        raise NothingToGenerateFrom(f"Link an incident to RCA {rca.pk} before generating a draft.")
    rca.generation_status, rca.generation_error = GenerationStatus.PENDING, ""
    rca.generation_requested_at, rca.generation_started_at = timezone.now(), None
    rca.save(
        update_fields=[
            "generation_status",
            "generation_error",
            "generation_requested_at",
            "generation_started_at",
            "updated_at",
        ]
    )
    rca_generation_event_record(rca=rca, event_type="queued", payload={"requested_by": actor.label})
    audit_record(actor=actor, action="rca.generation_requested", organization=rca.organization, target=rca)
    _enqueue_generation(str(rca.pk))
    return rca


@transaction.atomic
def rca_postmortem_for_incident(*, incident: Incident, actor: Actor) -> tuple[Rca, bool]:
    """The incident's RCA, created as "Postmortem: <title>" and linked when it has none; (rca, created).

    A new one, or an existing draft that never had a draft generated (or whose generation failed),
    gets its generation queued. The incident row lock makes concurrent calls agree on one RCA.
    """
    Incident.objects.select_for_update().filter(pk=incident.pk).first()
    existing = rca_for_incident(incident=incident)
    if existing is not None:
        idle = existing.generation_status in (GenerationStatus.IDLE, GenerationStatus.FAILED)
        if existing.status == RcaStatus.DRAFT and idle:
            existing = rca_generation_request(rca=existing, actor=actor)
        return existing, False
    rca = rca_create(
        organization=incident.organization, title=f"Postmortem: {incident.title}"[:300], actor=actor
    )
    rca_link_incident(rca=rca, incident=incident, actor=actor)
    return rca_generation_request(rca=rca, actor=actor), True


def _claim(rca_id: str) -> Rca | None:
    """Move a pending (or abandoned processing) generation to processing; None when there is nothing to do."""
    with transaction.atomic():
        rca = (
            Rca.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk=rca_id)
            .first()
        )
        if rca is None or rca.generation_status not in GENERATION_IN_FLIGHT:
            return None
        now = timezone.now()
        if rca.generation_status == GenerationStatus.PROCESSING and (
            rca.generation_started_at and rca.generation_started_at > now - STUCK_PROCESSING_AFTER
        ):
            return None  # another worker has it
        rca.generation_status, rca.generation_started_at = GenerationStatus.PROCESSING, now
        rca.save(update_fields=["generation_status", "generation_started_at", "updated_at"])
        rca_generation_event_record(rca=rca, event_type="started")
    return rca


@transaction.atomic
def _apply_draft(*, rca_id: Any, result: RcaDraftResult, budget_reason: str) -> Rca:
    """Write the draft by the rule in this module's docstring, on fresh state: a person's edit saved
    while the model was thinking is respected too."""
    rca = Rca.objects.select_for_update(of=("self",)).select_related("organization").get(pk=rca_id)
    proposal = result.draft.model_dump()
    protected = set(rca.edited_fields)
    revisions, skipped = [], []
    for field in DRAFT_FIELDS:
        current, new = getattr(rca, field), proposal[field]
        keep = field in protected and current.strip() != ""
        if keep:
            skipped.append(field)
        elif current == new:
            continue
        else:
            setattr(rca, field, new)
        revisions.append(
            RcaRevision(
                organization_id=rca.organization_id,
                rca=rca,
                field=field,
                previous_text=current,
                new_text=new,
                source=RevisionSource.GENERATION,
                applied=not keep,
                actor=f"{result.provider}:{result.model}" if result.model else result.provider,
            )
        )
    RcaRevision.objects.bulk_create(revisions)
    rca.edited_fields = skipped  # still the person's text; the next draft leaves them alone too
    rca.generation_skipped_fields = skipped
    rca.generation_status, rca.generation_error = GenerationStatus.COMPLETED, ""
    rca.generated_at = timezone.now()
    rca.generation_provider, rca.generation_model = result.provider, result.model
    rca.generation_input_tokens, rca.generation_output_tokens = result.input_tokens, result.output_tokens
    rca.save()
    usage_record_analysis(
        organization=rca.organization,
        provider=result.provider,
        paid=ai_providers.get(result.provider).paid,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
    )
    rca_generation_event_record(
        rca=rca,
        event_type="completed",
        provider=result.provider,
        model=result.model,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        message=f"Paid AI providers skipped ({budget_reason})." if budget_reason else "",
        payload={
            "applied": [revision.field for revision in revisions if revision.applied],
            "skipped": skipped,
            "budget_limited": bool(budget_reason),
        },
    )
    audit_record(
        actor=GENERATION_ACTOR,
        action="rca.draft_generated",
        organization=rca.organization,
        target=rca,
        metadata={"provider": result.provider, "skipped_fields": skipped},
    )
    return rca


def rca_generate(*, rca_id: str) -> Rca | None:
    """Run one queued draft generation. Safe to run twice: a finished generation is left alone.

    Never leaves the RCA pending or processing: an unexpected error marks the generation failed with
    the reason. Usage is recorded in the same transaction as the draft, so a retry never counts twice.
    """
    rca = _claim(rca_id)
    if rca is None:
        return Rca.objects.filter(pk=rca_id).first()
    try:
        context = build_rca_context(rca=rca)
        rca_generation_event_record(
            rca=rca,
            event_type="context_built",
            payload={
                "incidents": len(context.incidents),
                "external_incidents": len(context.external_incidents),
            },
        )
        result, budget_reason = provider_chain_run(
            organization=rca.organization,
            ask=lambda provider: provider.draft_rca(context),
            record=lambda event_type, **fields: rca_generation_event_record(
                rca=rca, event_type=event_type, **fields
            ),
        )
        return _apply_draft(rca_id=rca.pk, result=result, budget_reason=budget_reason)
    except Exception as exc:
        logger.exception("RCA draft %s failed", rca_id)
        Rca.objects.filter(pk=rca.pk).update(
            generation_status=GenerationStatus.FAILED,
            generation_error=repr(exc)[:2000],
            updated_at=timezone.now(),
        )
        rca_generation_event_record(rca=rca, event_type="failed", message=repr(exc))
        rca.refresh_from_db()
        return rca


def rca_generation_requeue_stuck() -> int:
    """Hand drafts no worker finished back to the queue (a lost task, a killed worker)."""
    now = timezone.now()
    stuck = Rca.objects.filter(
        Q(generation_status=GenerationStatus.PENDING, generation_requested_at__lt=now - STUCK_PENDING_AFTER)
        | Q(
            generation_status=GenerationStatus.PROCESSING,
            generation_started_at__lt=now - STUCK_PROCESSING_AFTER,
        )
    ).only("pk", "organization_id")[:500]
    count = 0
    for rca in stuck:
        with transaction.atomic():
            rca_generation_event_record(rca=rca, event_type="requeued")
            _enqueue_generation(str(rca.pk))
        count += 1
    return count
