"""Similar incidents: past incidents of the same organization that look like this one, best first.

Two steps, so the cost does not grow with the history. The database picks a bounded candidate set:
on PostgreSQL full-text search and `pg_trgm` over the GIN indexes of migration 0004, elsewhere the
most recent incidents (the same service's first). Python then scores only those few hundred rows,
with one formula on every backend, so a score means the same thing on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.contrib.postgres.search import SearchQuery, SearchVector, TrigramSimilarity
from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.fields.json import KT

from analyses.models import Incident, IncidentStatus, KnowledgeBaseEntry

# The indexed expression of migration 0004: a query must use exactly this one for the index to apply.
SEARCH_CONFIG = "english"
SEARCH_FIELDS = ("title", "description", "service")
TIER_LIMIT = 100  # PostgreSQL: the most recent rows of each candidate tier, scored in Python
CANDIDATE_MIN = 20  # fewer candidates than this from the narrow tiers: widen the search
# Text tiers take the latest resolved first, as they most likely carry a resolution. Deliberately no
# btree serves this order: given `-created_at` the planner walks incident_org_created computing every
# row's tsvector (its cost is underestimated) instead of reading the GIN index: 75-200 ms, not 1.
LATEST_RESOLVED = (F("resolved_at").desc(nulls_last=True), "-created_at")
FALLBACK_SAME_SERVICE_LIMIT = 1000  # SQLite: the same service's most recent incidents…
FALLBACK_RECENT_LIMIT = 2000  # …and the organization's most recent ones
KB_SERVICE_LIMIT = 200  # service resolutions read for shown incidents without their own
QUERY_WORDS_MAX = 12
TEXT_CHARS = 2000  # of a description; the rest adds noise and cost, not similarity
RESOLVED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
CANDIDATE_FIELDS = (
    "id",
    "title",
    "description",
    "service",
    "severity",
    "status",
    "created_at",
    "resolved_at",
)

# Weights of the final score; they sum to 1, so a score stays within 0..1.
W_TITLE, W_TEXT, W_RESOLUTION, W_SERVICE, W_ALERTNAME = 0.45, 0.30, 0.05, 0.12, 0.08

STOPWORDS = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has", "have", "in")
    + ("into", "is", "it", "its", "of", "on", "or", "over", "than", "that", "the", "their", "then")
    + ("there", "these", "this", "to", "was", "were", "will", "with", "within", "not", "no", "yes")
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class SimilarIncident:
    id: str
    title: str
    service: str
    severity: str
    state: str
    created_at: datetime
    similarity_score: float  # 0..1, two decimals
    resolution: str
    resolved_at: datetime | None


def similar_incidents(
    *, incident: Incident, limit: int = 10, min_score: float = 0.1
) -> list[SimilarIncident]:
    """Other incidents of `incident`'s organization scoring at least `min_score`, best first.

    At most four queries whatever the history's size: the candidates (two on PostgreSQL when the
    narrow tiers find few), their own resolutions, and service resolutions for the best ones.
    """
    probe = _Profile.of(incident)
    if connection.vendor == "postgresql":
        candidates = _candidates_postgresql(incident)
    else:
        candidates = _candidates_portable(incident)
    resolutions = _linked_resolutions(incident, candidates)
    scored = []
    for candidate in candidates:
        resolution = resolutions.get(candidate.pk, "")
        score = round(_score(probe, _Profile.of(candidate), resolution), 2)
        if score >= min_score:
            scored.append((score, candidate, resolution))
    scored.sort(
        key=lambda row: (row[0], bool(row[2]), row[1].status in RESOLVED_STATUSES, row[1].created_at),
        reverse=True,
    )
    best = scored[:limit]
    # Only for what is shown: a service's resolution hints at a fix, it does not make a match.
    fallback = _service_resolutions(incident, [candidate for _, candidate, fix in best if not fix])
    return [
        SimilarIncident(
            id=candidate.pk,
            title=candidate.title,
            service=candidate.service,
            severity=candidate.severity,
            state=candidate.status,
            created_at=candidate.created_at,
            similarity_score=score,
            resolution=resolution or fallback.get(candidate.pk, ""),
            resolved_at=candidate.resolved_at,
        )
        for score, candidate, resolution in best
    ]


# --- Candidates ----------------------------------------------------------------------------------------


def search_vector() -> SearchVector:
    """The expression migration 0004 indexes with GIN; the planner matches it only when identical."""
    return SearchVector(*SEARCH_FIELDS, config=SEARCH_CONFIG)


def search_query(words: Iterable[str], operator: str = "|") -> SearchQuery | None:
    """All (`&`) or any (`|`) of `words`. Only [a-z0-9]+ words pass, so none can inject tsquery syntax."""
    words = [word for word in words if _WORD.fullmatch(word)]
    if not words:
        return None
    return SearchQuery(f" {operator} ".join(words), config=SEARCH_CONFIG, search_type="raw")


def _others(incident: Incident) -> QuerySet[Incident]:
    others = Incident.objects.for_org_id(incident.organization_id).exclude(pk=incident.pk)
    return others.only(*CANDIDATE_FIELDS).annotate(label_alertname=KT("labels__alertname"))


def _matching(others: QuerySet[Incident], query: SearchQuery | None) -> QuerySet[Incident] | None:
    return None if query is None else others.alias(search=search_vector()).filter(search=query)


def _candidates_postgresql(incident: Incident) -> list[Incident]:
    """A few narrow, index-backed tiers in one statement, each cut to its latest rows; wider if few.

    Ranking every text match in SQL (ts_rank, similarity) recomputes each row's vector: a second per
    30,000 matches. Cutting each tier by date costs milliseconds, and the tiers are narrow enough
    that date is a fair order within them; Python ranks the few hundred rows they return.
    """
    others = _others(incident)
    words = _salient_words(incident.title)
    service_words = set(_salient_words(incident.service))
    kind = [word for word in words if word not in service_words]  # "pod crash looping" of any service
    text_tiers = [
        _matching(others, search_query(words, "&")),  # every title word: the same problem, same service
        _matching(others, search_query(kind, "&")) if kind != words else None,
    ]
    tiers = [tier.order_by(*LATEST_RESOLVED)[:TIER_LIMIT] for tier in text_tiers if tier is not None]
    if incident.service:
        tiers.append(others.filter(service=incident.service).order_by("-created_at")[:TIER_LIMIT])
    found = list(tiers[0].union(*tiers[1:], all=True)) if tiers else []
    unique = {row.pk: row for row in found}
    if len(unique) < CANDIDATE_MIN:
        # No whole-word match (a typo, a new service, a non-Latin title): trigram-similar titles, `%` on
        # GIN gin_trgm_ops. Not "any shared word": that matches most of the table, read sequentially.
        similar_title = others.filter(title__trigram_similar=incident.title).exclude(pk__in=list(unique))
        closest = similar_title.order_by(TrigramSimilarity("title", incident.title).desc(), "-created_at")
        unique.update((row.pk, row) for row in closest[: TIER_LIMIT * 2])
    return list(unique.values())


def _candidates_portable(incident: Incident) -> list[Incident]:
    """The same service's most recent incidents, then the organization's: two index range scans."""
    same, other = _others(incident).filter(service=incident.service), _others(incident)
    same = same.order_by("-created_at")[:FALLBACK_SAME_SERVICE_LIMIT]
    other = other.exclude(service=incident.service).order_by("-created_at")[:FALLBACK_RECENT_LIMIT]
    return [*same, *other]


# --- Resolutions ---------------------------------------------------------------------------------------


def _linked_resolutions(incident: Incident, candidates: list[Incident]) -> dict[str, str]:
    """Candidate id -> the latest resolution recorded for that very incident."""
    if not candidates:
        return {}
    entries = KnowledgeBaseEntry.objects.for_org_id(incident.organization_id)
    linked = entries.filter(incident_id__in=[c.pk for c in candidates]).order_by("created_at", "id")
    return dict(linked.values_list("incident_id", "resolution"))  # oldest first, so the latest wins


def _service_resolutions(incident: Incident, shown: list[Incident]) -> dict[str, str]:
    """Incident id -> the latest resolution of its service whose text or tags name its title or alert."""
    services = {candidate.service for candidate in shown if candidate.service}
    if not services:
        return {}
    entries = KnowledgeBaseEntry.objects.for_org_id(incident.organization_id).filter(service_id__in=services)
    latest = list(
        entries.order_by("-created_at").values_list("service_id", "resolution", "tags")[:KB_SERVICE_LIMIT]
    )
    found = {}
    for candidate in shown:
        own = terms(f"{candidate.title} {_alertname(candidate)}") - terms(candidate.service)
        for service_id, resolution, tags in latest:  # latest first
            if service_id == candidate.service and own & terms(f"{resolution} {' '.join(map(str, tags))}"):
                found[candidate.pk] = resolution
                break
    return found


# --- Scoring -------------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)  # incidents recur: the same titles and descriptions come back all day
def terms(text: str) -> frozenset[str]:
    """Lower-case words without stop words or bare numbers; a trailing plural 's' dropped."""
    return frozenset(
        word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        for word in _WORD.findall(text.lower())
        if _is_term(word)
    )


def _is_term(word: str) -> bool:
    return len(word) > 1 and word not in STOPWORDS and not word.isdigit()


@lru_cache(maxsize=8192)
def trigrams(text: str) -> frozenset[str]:
    """pg_trgm's trigrams: per word, lower-cased and padded with two spaces before and one after."""
    grams: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(grams)


def _jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    return len(left & right) / len(left | right) if left and right else 0.0


def _salient_words(text: str) -> list[str]:
    """The words a text search looks for, in order, at most QUERY_WORDS_MAX."""
    words = dict.fromkeys(word for word in _WORD.findall(text.lower()) if _is_term(word))
    return list(words)[:QUERY_WORDS_MAX]


def _alertname(incident: Incident) -> str:
    """The `alertname` label: read in SQL for candidates (no JSON decoding), from `labels` otherwise."""
    if "label_alertname" in incident.__dict__:
        return incident.label_alertname or ""
    labels = incident.labels if isinstance(incident.labels, dict) else {}
    return str(labels.get("alertname") or "")


@dataclass(frozen=True)
class _Profile:
    """What the score compares, computed once per incident."""

    title_grams: frozenset[str]
    words: frozenset[str]
    service: str
    alertname: str

    @classmethod
    def of(cls, incident: Incident) -> _Profile:
        alertname = _alertname(incident)
        return cls(
            title_grams=trigrams(incident.title),
            words=terms(f"{incident.title} {incident.description[:TEXT_CHARS]} {alertname}"),
            service=incident.service.strip().lower(),
            alertname=alertname.strip().lower(),
        )


def _score(probe: _Profile, other: _Profile, resolution: str) -> float:
    title = _jaccard(probe.title_grams, other.title_grams)
    text = _jaccard(probe.words, other.words)
    fix = len(probe.words & terms(resolution)) / len(probe.words) if resolution and probe.words else 0.0
    score = W_TITLE * title + W_TEXT * text + W_RESOLUTION * min(1.0, 3 * fix)
    if probe.service and probe.service == other.service:
        score += W_SERVICE
    if probe.alertname and probe.alertname == other.alertname:
        score += W_ALERTNAME
    return min(1.0, score)
