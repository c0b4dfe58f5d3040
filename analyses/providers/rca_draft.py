"""The deterministic engine's RCA draft: a blameless post-mortem written from the linked incidents alone.

Summary, impact, root cause and timeline come from what the incidents recorded: their timelines,
notes, latest analyses, deploys and the resolutions of similar incidents. What the data does not
show is written as unknown, never guessed. Pure functions, no database, no network; every value is
read defensively, since the context carries alert text as received.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analyses.providers.base import IncidentContext, RcaContext, RcaDraft
from analyses.signatures import as_text, deploy_minutes, detect_signatures, signature_get

TEXT_CHARS = 300  # one quoted title, note or resolution
CAUSE_CHARS = 1500  # one analysis' root cause
REF_CHARS = 80
MAX_ALERT_COUNT = 10**9  # a larger count is a sender's bug, not data
TITLES_IN_SUMMARY = 3
DEPLOY_WINDOW_MINUTES = 120  # a deploy this long before the first incident is worth naming
MOST_LIKELY, LIKELY = 0.75, 0.5  # confidence (or signature score) for the wording of a cause
SIGNATURE_SCORE = 0.5  # weaker matches of a title are noise
OTHER_CAUSES = 3
PAST_RESOLUTIONS = 5
NOTES_SHOWN = 5
ALERT_EVENTS = frozenset({"alert_received", "deduplicated"})
ACTIVE_STATUSES = frozenset({"open", "acknowledged"})
DONE_STATUSES = frozenset({"resolved", "closed"})
SEVERITY_RANK = {"info": 0, "warning": 1, "high": 2, "critical": 3}
MAX_CHARS = {name: spec["maxLength"] for name, spec in RcaDraft.model_json_schema()["properties"].items()}
DISPLAY_DEFAULTS = {
    "service": "the affected service",
    "deployment": "the affected deployment",
    "pod": "its pod",
    "namespace": "its namespace",
}
NOT_DETERMINED = "Not yet determined."
NO_INCIDENTS = "No incidents are linked to this RCA yet."
DASH = "\u2014"


class _Display(dict):
    """Fills a signature's root-cause template; a fact the incidents do not give reads generically."""

    def __missing__(self, key: str) -> str:
        return f"the affected {key}"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _line(value: Any, limit: int = TEXT_CHARS) -> str:
    """Any value as one line of at most `limit` characters; a cut ends in an ellipsis."""
    text = " ".join(as_text(value, limit * 4).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _quoted(value: Any, limit: int = TEXT_CHARS) -> str:
    text = _line(value, limit)
    return f"\u201c{text}\u201d" if text else ""


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _when(value: Any) -> datetime | None:
    """An ISO 8601 string or a datetime as an aware UTC datetime; naive values are taken as UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):  # an offset that moves it out of datetime's range
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return number if math.isfinite(number) else None


def _severity(value: Any) -> str:
    name = _line(value, 40).lower()
    return name if name in SEVERITY_RANK else ""


def _actor(value: Any) -> str:
    """Who did it, as a timeline says it: webhooks by their source, the system not at all."""
    actor = _line(value, REF_CHARS)
    if actor.lower() in {"", "system"}:
        return ""
    return actor.removeprefix("webhook:")


def _by(value: Any) -> str:
    actor = _actor(value)
    return f" by {actor}" if actor else ""


def _duration(delta: timedelta) -> str:
    minutes = max(round(delta.total_seconds() / 60), 0)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    return " ".join(f"{count} {unit}{'s' if count != 1 else ''}" for count, unit in parts if count)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _listed(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


@dataclass
class Entry:
    """One timeline line before formatting; entries without a time go last."""

    at: datetime | None
    text: str


@dataclass
class Deploy:
    label: str  # "deploy dep-42 of checkout-api (registry/checkout-api:2.4.1) by ci"
    at: datetime | None  # the incident's start less its minutes_before_incident


@dataclass
class Incident:
    """A linked incident, read defensively from the context."""

    ref: str
    title: str
    service: str
    severity: str
    status: str
    started: datetime | None
    resolved: datetime | None
    alerts: int | None
    alerts_exact: bool  # False when the timeline was cut (no incident_created in it) and no count came
    entries: list[Entry]
    analysis: Mapping[str, Any]
    deploy: Deploy | None
    notes: list[str]
    similar: list[Mapping[str, Any]]


def _event_text(incident: str, kind: str, event: Mapping[str, Any]) -> str:
    """The timeline line of one event other than alerts, creation and resolution."""
    payload = _mapping(event.get("payload"))
    if kind == "status_changed":
        target, previous = _line(payload.get("to"), 40), _line(payload.get("from"), 40)
        by = _by(event.get("actor"))
        if target == "open" and previous in DONE_STATUSES:
            return f"{incident} reopened{by}"
        if target:
            return f"{incident} {target}{by}"
        return f"{incident} changed status{by}"
    if kind == "note_added":
        return f"Note on {incident}{_by(event.get('actor'))}: {_quoted(payload.get('content')) or '(empty)'}"
    if kind == "grouped":
        reason = _line(payload.get("correlation_reason"), REF_CHARS).replace("_", " ")
        reason = f" ({reason})" if reason else ""
        if child := _line(payload.get("child_id"), REF_CHARS):
            return f"{child} grouped under {incident}{reason}"
        if parent := _line(payload.get("parent_id"), REF_CHARS):
            return f"{incident} grouped under {parent}{reason}"
        return f"{incident} grouped with a related incident"
    if kind == "alert_resolved":
        source = _actor(event.get("actor")) or _line(payload.get("source"), REF_CHARS)
        return f"The alert behind {incident} cleared" + (f" in {source}" if source else "")
    if kind == "external_update":
        what = _line(payload.get("event_type"), REF_CHARS)
        return f"Update on {incident} from {_actor(event.get('actor')) or 'another system'}" + (
            f": {what}" if what else ""
        )
    return f"{incident}: {kind.replace('_', ' ') or 'event'}{_by(event.get('actor'))}"


def _alert_run(incident: str, times: list[datetime | None], *, first: bool) -> Entry:
    timed = [at for at in times if at is not None]
    text = f"{_plural(len(times), 'alert' if first else 'more alert')} for {incident}"
    if len(timed) > 1 and max(timed) != timed[0]:
        text += f", the last at {_clock(max(timed))}"
    return Entry(timed[0] if timed else None, text)


def _timeline_entries(incident: Incident, events: list[Mapping[str, Any]]) -> list[Entry]:
    """Creation, status changes, notes and resolution; each run of repeated alerts as one counted line."""
    entries: list[Entry] = []
    run: list[datetime | None] = []
    created = False
    alerts_seen = False
    kinds = [_line(event.get("event_type"), REF_CHARS) for event in events]
    resolved_by_status = any(
        kind == "status_changed" and _line(_mapping(event.get("payload")).get("to"), 40) in DONE_STATUSES
        for kind, event in zip(kinds, events, strict=True)
    )
    for kind, event in zip(kinds, events, strict=True):
        at = _when(event.get("created_at"))
        if kind in ALERT_EVENTS:
            run.append(at)
            continue
        if kind == "incident_created" and not created:
            # The alert that opened the incident is part of its opening, not a line of its own.
            opened_by = len(run)
            run, created = [], True
            entries.append(Entry(at, _opened(incident, opened_by)))
            alerts_seen = alerts_seen or opened_by > 0
            continue
        if run:
            entries.append(_alert_run(incident.ref, run, first=not alerts_seen))
            run, alerts_seen = [], True
        if kind == "alert_resolved" and resolved_by_status:
            continue  # the status change to resolved says it
        entries.append(Entry(at, _event_text(incident.ref, kind, event)))
    if run:
        entries.append(_alert_run(incident.ref, run, first=not alerts_seen))
    if not created and incident.started is not None:  # first among events of the same minute
        entries.insert(0, Entry(incident.started, _opened(incident, 0)))
    if not resolved_by_status and incident.resolved is not None:
        entries.append(Entry(incident.resolved, f"{incident.ref} resolved"))
    return entries


def _opened(incident: Incident, alerts: int) -> str:
    details = ", ".join(part for part in (incident.severity, incident.service) if part)
    text = f"{incident.ref} opened"
    if incident.title:
        text += f": {_quoted(incident.title)}"
    if details:
        text += f" ({details})"
    if alerts > 1:
        text += f" after {_plural(alerts, 'alert')}"
    return text


def _deploy(raw: Any, started: datetime | None) -> Deploy | None:
    deploy = _mapping(raw)
    try:
        minutes = deploy_minutes(deploy)
    except OverflowError:  # deploy_minutes lets an int beyond any float through
        minutes = None
    if not deploy or minutes is None:
        return None
    name = _line(deploy.get("deploy_id"), REF_CHARS)
    label = f"deploy {name}" if name else "a deploy"
    if service := _line(deploy.get("service"), REF_CHARS):
        label += f" of {service}"
    version = _line(deploy.get("image") or deploy.get("version"), 160)
    if version:
        label += f" ({version})"
    label += _by(deploy.get("actor"))
    try:
        at = started - timedelta(minutes=minutes) if started is not None else None
    except OverflowError:
        at = None
    return Deploy(label=label, at=at)


def _incident(raw: Any, position: int) -> Incident:
    item = _mapping(raw)
    ref = _line(item.get("id"), REF_CHARS) or f"incident {position}"
    indexed = [(_when(event.get("created_at")), index, event) for index, event in enumerate(_timeline(item))]
    indexed.sort(key=lambda entry: (entry[0] is None, entry[0] or datetime.min.replace(tzinfo=UTC), entry[1]))
    events = [event for _, _, event in indexed]
    status = _line(item.get("status"), 40).lower()
    started = _when(item.get("created_at")) or next((at for at, _, _ in indexed if at is not None), None)
    resolved = None if status in ACTIVE_STATUSES else _resolved_at(item, indexed)
    kinds = [_line(event.get("event_type"), REF_CHARS) for event in events]
    counted = sum(1 for kind in kinds if kind in ALERT_EVENTS)
    explicit = _number(item.get("alert_count"))
    explicit = int(explicit) if explicit is not None and 0 < explicit < MAX_ALERT_COUNT else 0
    incident = Incident(
        ref=ref,
        title=_line(item.get("title")),
        service=_line(item.get("service"), REF_CHARS),
        severity=_severity(item.get("severity")),
        status=status,
        started=started,
        resolved=resolved,
        alerts=max(counted, explicit) or (0 if events else None),
        alerts_exact=bool(explicit) or "incident_created" in kinds,
        entries=[],
        analysis=_mapping(item.get("analysis")),
        deploy=_deploy(item.get("deploy"), started),
        notes=[note for note in map(_line, _items(item.get("notes"))) if note],
        similar=[entry for entry in map(_mapping, _items(item.get("similar_resolved"))) if entry],
    )
    incident.entries = _timeline_entries(incident, events)
    return incident


def _timeline(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [event for event in map(_mapping, _items(item.get("timeline"))) if event]


def _resolved_at(item: Mapping[str, Any], indexed: list[tuple[datetime | None, int, Any]]) -> datetime | None:
    if resolved := _when(item.get("resolved_at")):
        return resolved
    done = [
        at
        for at, _, event in indexed
        if at is not None
        and _line(event.get("event_type"), REF_CHARS) == "status_changed"
        and _line(_mapping(event.get("payload")).get("to"), 40) in DONE_STATUSES
    ]
    return done[-1] if done else None


# --- The four sections ---------------------------------------------------------------------------


@dataclass
class Span:
    """When the incidents began and ended, and which ones did."""

    start: datetime | None
    first: str
    end: datetime | None  # None while any incident is unresolved or its resolution time is unknown
    last: str
    unresolved: list[str] = field(default_factory=list)


def _span(incidents: list[Incident]) -> Span:
    started = [incident for incident in incidents if incident.started is not None]
    first = min(started, key=lambda incident: incident.started, default=None)
    unresolved = [incident.ref for incident in incidents if incident.resolved is None]
    last = max(
        (incident for incident in incidents if incident.resolved is not None),
        key=lambda incident: incident.resolved,
        default=None,
    )
    return Span(
        start=first.started if first else None,
        first=first.ref if first else "",
        end=last.resolved if last and not unresolved else None,
        last=last.ref if last else "",
        unresolved=unresolved,
    )


def _sentence(text: str) -> str:
    return text if text.removesuffix("\u201d").endswith((".", "!", "?")) else f"{text}."


def _clock(at: datetime) -> str:
    return f"{at:%H:%M} UTC"


def _day_clock(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _stamp(at: datetime) -> str:
    return f"{at:%H:%M} UTC on {at:%Y-%m-%d}"


def _services(incidents: list[Incident]) -> list[str]:
    return list(dict.fromkeys(incident.service for incident in incidents if incident.service))


def _alert_total(incidents: list[Incident]) -> tuple[int, bool]:
    """The alerts counted, and whether every incident's count is known exactly."""
    known = [incident for incident in incidents if incident.alerts is not None]
    exact = len(known) == len(incidents) and all(incident.alerts_exact for incident in known)
    return sum(incident.alerts or 0 for incident in known), exact


@dataclass
class Cause:
    text: str  # Markdown paragraph
    lead: str  # one sentence for the summary


def _wording(score: float | None) -> str:
    if score is None or score < LIKELY:
        return "Possible cause"
    return "Most likely cause" if score >= MOST_LIKELY else "Likely cause"


def _confidence(score: float | None) -> str:
    return f"confidence {score:.2f}" if score is not None else "confidence not recorded"


def _first_sentence(text: str) -> str:
    end = text.find(". ")
    return text[: end + 1] if 0 < end < 300 else _cap(text, 300)


def _analysis_causes(incidents: list[Incident]) -> list[tuple[float | None, str, str]]:
    """(confidence, incident, root cause) of every analysis that names one, most confident first."""
    causes = []
    for incident in incidents:
        root_cause = _line(incident.analysis.get("root_cause"), CAUSE_CHARS)
        if root_cause:
            confidence = _number(incident.analysis.get("confidence"))
            confidence = min(max(confidence, 0.0), 1.0) if confidence is not None else None
            causes.append((confidence, incident.ref, root_cause))
    unique = {text.lower(): (score, ref, text) for score, ref, text in reversed(causes)}
    return sorted(unique.values(), key=lambda cause: -(cause[0] if cause[0] is not None else -1.0))


def _known_failures(incidents: list[Incident]) -> list[tuple[str, float, list[str], str]]:
    """Signature catalog matches in each incident's title and analysis: (title, score, incidents, cause)."""
    found: dict[str, tuple[str, float, list[str], str]] = {}
    for incident in incidents:
        description = " ".join(
            _line(incident.analysis.get(key), CAUSE_CHARS) for key in ("summary", "root_cause")
        )
        context = IncidentContext(
            incident_id=incident.ref,
            organization_id="",
            title=incident.title,
            description=description,
            service=incident.service,
        )
        matches = [match for match in detect_signatures(context) if match.score >= SIGNATURE_SCORE][:1]
        for match in matches:
            signature = signature_get(match.key)
            display = _Display(DISPLAY_DEFAULTS)
            if incident.service:
                display |= {"service": incident.service, "deployment": incident.service}
            cause = signature.root_cause.format_map(display) if signature else ""
            title, score, refs, _ = found.get(match.key, (match.title, 0.0, [], cause))
            found[match.key] = (title, max(score, match.score), [*refs, incident.ref], cause)
    return sorted(found.values(), key=lambda item: -item[1])


def _preceding_deploy(incidents: list[Incident], span: Span) -> Deploy | None:
    """The latest deploy within DEPLOY_WINDOW_MINUTES before the first incident began."""
    if span.start is None:
        return None
    before = [
        incident.deploy
        for incident in incidents
        if incident.deploy is not None
        and incident.deploy.at is not None
        and timedelta(0) <= span.start - incident.deploy.at <= timedelta(minutes=DEPLOY_WINDOW_MINUTES)
    ]
    return max(before, key=lambda deploy: deploy.at, default=None)


def _root_cause(incidents: list[Incident], span: Span) -> Cause:
    analyses = _analysis_causes(incidents)
    failures = _known_failures(incidents)
    deploy = _preceding_deploy(incidents, span)
    paragraphs: list[str] = []
    lead = ""
    if analyses:
        confidence, ref, text = analyses[0]
        wording = _wording(confidence)
        paragraphs.append(f"**{wording}** (latest analysis of {ref}, {_confidence(confidence)}): {text}")
        lead = f"{wording}: {_first_sentence(text)}"
        others = [
            f"- {other_ref} ({_confidence(score)}): {other}" for score, other_ref, other in analyses[1:]
        ]
        if others:
            paragraphs.append("Other analyses found:\n" + "\n".join(others[:OTHER_CAUSES]))
    elif failures:
        title, score, refs, cause = failures[0]
        wording = _wording(score)
        paragraphs.append(
            f"**{wording}** (recognised from the alerts of {_listed(refs)}; no analysis confirms it yet): "
            f"{title}. {cause}"
        )
        lead = f"{wording}: {title}."
    unused = failures if analyses else failures[1:]  # the first is the cause above when no analysis names one
    if unused:
        known = "; ".join(f"{title} ({_listed(refs)})" for title, _, refs, _ in unused[:OTHER_CAUSES])
        paragraphs.append(f"Known failure classes recognised in the incidents: {known}.")
    if deploy is not None:
        minutes = span.start - deploy.at if span.start and deploy.at else timedelta(0)
        suspect = "a suspect" if paragraphs else "the first suspect, though timing alone does not prove it"
        paragraphs.append(
            f"{span.first} began {_duration(minutes)} after {deploy.label}, "
            f"which makes that change {suspect}."
        )
        lead = lead or f"Possible cause: {deploy.label}, {_duration(minutes)} before the first incident."
    if not paragraphs:
        paragraphs.append(
            f"{NOT_DETERMINED} No analysis, known failure class or preceding deploy points to a cause; "
            "complete this section when the investigation concludes."
        )
    notes = [f"- {incident.ref}: {_quoted(note)}" for incident in incidents for note in incident.notes]
    if notes:
        paragraphs.append("Responders noted:\n" + "\n".join(notes[:NOTES_SHOWN]))
    paragraphs.append(_what_helped(incidents))
    return Cause(text="\n\n".join(paragraph for paragraph in paragraphs if paragraph), lead=lead)


def _what_helped(incidents: list[Incident]) -> str:
    seen: dict[str, str] = {}
    for incident in incidents:
        for similar in incident.similar:
            resolution = _line(similar.get("resolution"))
            if not resolution or resolution.lower() in seen:
                continue
            name = _line(similar.get("id"), REF_CHARS) or "a similar incident"
            title = _quoted(similar.get("title"))
            seen[resolution.lower()] = f"- {name}{f' {title}' if title else ''}: {resolution}"
    if not seen:
        return ""
    return "**What helped before** (resolved similar incidents):\n" + "\n".join(
        list(seen.values())[:PAST_RESOLUTIONS]
    )


def _impact(incidents: list[Incident], span: Span, external: list[Mapping[str, Any]]) -> str:
    services = _services(incidents)
    severities = [incident for incident in incidents if incident.severity]
    worst = max(severities, key=lambda incident: SEVERITY_RANK[incident.severity], default=None)
    lines = [
        "- **Services:** "
        + (", ".join(services) if services else "unknown (no linked incident names a service)"),
        "- **Severity:** "
        + (
            f"{worst.severity} at worst ("
            + ", ".join(f"{incident.ref} {incident.severity or 'unknown'}" for incident in incidents)
            + ")"
            if worst
            else "unknown"
        ),
        f"- **Duration:** {_duration_line(span)}",
        f"- **Alerts:** {_alerts_line(incidents)}",
        "- **Users and customers:** unknown: the incidents do not record who was affected or how; "
        "complete this from support tickets and business metrics.",
    ]
    references = [_reference(item) for item in external]
    references = [reference for reference in references if reference]
    if references:
        lines.append("- **Also recorded in:** " + "; ".join(references))
    return "\n".join(lines)


def _duration_line(span: Span) -> str:
    if span.start is None:
        return "unknown: no start time is recorded."
    if span.unresolved:
        return (
            f"unknown: {_listed(span.unresolved)} {'is' if len(span.unresolved) == 1 else 'are'} not "
            "resolved (or the resolution time is not recorded); "
            f"started at {_stamp(span.start)} ({span.first})."
        )
    if span.end is None or span.end < span.start:
        return f"unknown: started at {_stamp(span.start)} ({span.first}); the end time is inconsistent."
    return (
        f"{_duration(span.end - span.start)}, from {_stamp(span.start)} ({span.first} opened) to "
        f"{_stamp(span.end) if span.end.date() != span.start.date() else _clock(span.end)} "
        f"({span.last} resolved)."
    )


def _alert_count(incident: Incident) -> str:
    if incident.alerts is None:
        return "unknown"
    return str(incident.alerts) if incident.alerts_exact else f"at least {incident.alerts}"


def _alerts_line(incidents: list[Incident]) -> str:
    total, complete = _alert_total(incidents)
    each = ", ".join(f"{incident.ref}: {_alert_count(incident)}" for incident in incidents)
    if complete:
        return f"{total} in total ({each})"
    return f"at least {total} ({each})" if total else f"unknown ({each})"


def _reference(raw: Any) -> str:
    item = _mapping(raw)
    parts = [_line(item.get(key), REF_CHARS) for key in ("product", "external_id")]
    text = " ".join(part for part in parts if part)
    if title := _quoted(item.get("title")):
        text = f"{text} {title}".strip()
    url = _line(item.get("url"), 500)
    if url.startswith(("https://", "http://")) and not any(char in url for char in " <>"):
        text = f"{text} (<{url}>)"
    return text


def _summary(incidents: list[Incident], span: Span, cause: Cause) -> str:
    services = _services(incidents)
    named = [
        f"{incident.ref}{f' {_quoted(incident.title)}' if incident.title else ''}"
        + (f" ({incident.severity})" if incident.severity else "")
        for incident in incidents[:TITLES_IN_SUMMARY]
    ]
    if len(incidents) > TITLES_IN_SUMMARY:
        named.append(_plural(len(incidents) - TITLES_IN_SUMMARY, "other"))
    subject = (
        f"One incident, {named[0]},"
        if len(incidents) == 1
        else f"{len(incidents)} linked incidents, {_listed(named)},"
    )
    where = f" affected {_listed(services)}" if services else " occurred (no service recorded)"
    when = ""
    if span.start is not None:
        when = f" from {_stamp(span.start)}"
        if span.end is not None and span.end >= span.start:
            when += f" for {_duration(span.end - span.start)}"
    total, complete = _alert_total(incidents)
    alerts = f", raising {'' if complete else 'at least '}{_plural(total, 'alert')}" if total else ""
    sentences = [f"{subject}{where}{when}{alerts}."]
    if span.unresolved and len(incidents) == 1:
        sentences.append("It is not resolved yet.")
    elif span.unresolved:
        verb = "is" if len(span.unresolved) == 1 else "are"
        sentences.append(f"{len(span.unresolved)} of {len(incidents)} {verb} not resolved yet.")
    elif len(incidents) > 1:
        sentences.append("All are resolved.")
    else:
        sentences.append("It is resolved.")
    sentences.append(cause.lead or "The cause is not yet determined.")
    return " ".join(sentences)


def _timeline_text(entries: list[Entry], deploys: Iterable[Deploy]) -> str:
    """The merged timeline as Markdown bullets, oldest first, each line once, within the field's size."""
    all_entries = [
        *entries,
        *(Entry(deploy.at, deploy.label[0].upper() + deploy.label[1:]) for deploy in deploys),
    ]
    timed = sorted((entry for entry in all_entries if entry.at is not None), key=lambda entry: entry.at)
    untimed = [entry for entry in all_entries if entry.at is None]
    days = {entry.at.date() for entry in timed}
    lines = [
        f"- {_clock(entry.at) if len(days) <= 1 else _day_clock(entry.at)} {DASH} {_sentence(entry.text)}"
        for entry in timed
    ]
    lines += [f"- Time not recorded {DASH} {_sentence(entry.text)}" for entry in untimed]
    lines = list(dict.fromkeys(lines))
    if not lines:
        return f"- No events are recorded for the linked incidents {DASH} add them by hand."
    return _fit(lines, MAX_CHARS["timeline"])


def _fit(lines: list[str], limit: int) -> str:
    """All lines, or the first and last ones around a line saying how many were left out."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    budget = limit - 80
    head: list[str] = []
    tail: list[str] = []
    used = 0
    low, high = 0, len(lines) - 1
    while low <= high:
        take_head = len(head) <= len(tail)
        line = lines[low] if take_head else lines[high]
        if used + len(line) + 1 > budget:
            break
        used += len(line) + 1
        if take_head:
            head.append(line)
            low += 1
        else:
            tail.append(line)
            high -= 1
    skipped = len(lines) - len(head) - len(tail)
    return "\n".join([*head, f"- {DASH} {_plural(skipped, 'more event')} left out {DASH}", *reversed(tail)])


def _deploys(incidents: list[Incident]) -> list[Deploy]:
    unique: dict[str, Deploy] = {}
    for incident in incidents:
        deploy = incident.deploy
        if deploy is None:
            continue
        known = unique.get(deploy.label)
        if known is None or (deploy.at is not None and (known.at is None or deploy.at < known.at)):
            unique[deploy.label] = deploy
    return list(unique.values())


def _empty_draft(context: RcaContext) -> RcaDraft:
    references = [reference for reference in map(_reference, _items(context.external_incidents)) if reference]
    also = f" It references {'; '.join(references)}." if references else ""
    return RcaDraft(
        summary=_cap(
            f"{NO_INCIDENTS}{also} Link the incidents it covers and draft again.", MAX_CHARS["summary"]
        ),
        root_cause=f"{NOT_DETERMINED} No linked incident gives evidence of a cause yet.",
        impact="Unknown: no linked incidents record services, severities, duration or alerts.",
        timeline=f"- No events recorded {DASH} no incidents are linked yet.",
    )


def rca_draft_build(context: RcaContext) -> RcaDraft:
    """A blameless post-mortem draft of the context's linked incidents. Pure: no database, no network."""
    incidents = [_incident(raw, position) for position, raw in enumerate(_items(context.incidents), start=1)]
    if not incidents:
        return _empty_draft(context)
    span = _span(incidents)
    cause = _root_cause(incidents, span)
    external = [_mapping(item) for item in _items(context.external_incidents)]
    return RcaDraft(
        summary=_cap(_summary(incidents, span, cause), MAX_CHARS["summary"]),
        root_cause=_cap(cause.text, MAX_CHARS["root_cause"]),
        impact=_cap(_impact(incidents, span, external), MAX_CHARS["impact"]),
        timeline=_timeline_text(
            [entry for incident in incidents for entry in incident.entries], _deploys(incidents)
        ),
    )


def rca_draft_fallback(context: Any) -> RcaDraft:
    """What the engine answers when building the draft failed: honest placeholders, never an error."""
    title = _line(getattr(context, "title", ""), 200) or "this RCA"
    return RcaDraft(
        summary=f"The draft of {_quoted(title)} could not be written from the linked incidents; "
        "write it by hand.",
        root_cause=NOT_DETERMINED,
        impact="Unknown.",
        timeline=f"- Time not recorded {DASH} the incidents' timelines could not be read.",
    )
