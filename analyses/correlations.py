"""AIops reads and learning: the keyset-paged anomaly list and the learned service-correlation graph.

The graph comes from incident start times alone. Two services are linked when one's failures start
at a steady lag after the other's more often than chance allows: every pair of starts less than
MAX_LAG_MINUTES apart is binned by whole minutes of lag (one sweep over the sorted starts, O(n log n)
plus the pairs found), the busiest lag with its neighbouring minutes is the candidate, and the pair
becomes an edge when both services' hit rates at that lag beat what independent services with the
same rates would produce (a binomial tail, Bonferroni over every pair and lag tried), by enough to
matter (a chance-corrected score, 0 for coincidence, 1 when every failure of each has its partner).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework.exceptions import ValidationError

from analyses.models import Anomaly, Incident, ServiceCorrelation
from statux.models import Organization

# --- Anomalies -----------------------------------------------------------------------------------------

RESOLVED_STATUSES = ["resolved", "closed"]  # as the alerts webhook's `resolved` means it
PAGE_TOKEN_SALT = "analyses.anomalies.page_token"
INVALID_PAGE_TOKEN = "Invalid page_token: pass the page_token of the previous response unchanged."


@dataclass(frozen=True)
class AnomalyCursor:
    """The last row of a page, newest first: the next page starts strictly after it."""

    detected_at: datetime
    anomaly_id: str

    def _signature(self) -> str:
        value = f"{self.detected_at.isoformat()}|{self.anomaly_id}"
        return salted_hmac(PAGE_TOKEN_SALT, value, algorithm="sha256").hexdigest()[:32]

    def encode(self) -> str:
        """base64url JSON, signed so that an edited cursor is refused rather than silently followed."""
        body = {"detected_at": self.detected_at.isoformat(), "id": self.anomaly_id, "sig": self._signature()}
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> AnomalyCursor:
        """Raises ValidationError for anything but a token this server issued."""
        try:
            body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            cursor = cls(datetime.fromisoformat(body["detected_at"]), str(body["id"]))
            signature = str(body["sig"])
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError):
            raise ValidationError(INVALID_PAGE_TOKEN) from None
        if cursor.detected_at.tzinfo is None or not constant_time_compare(signature, cursor._signature()):
            raise ValidationError(INVALID_PAGE_TOKEN)
        return cursor


@dataclass(frozen=True)
class AnomalyPage:
    anomalies: list[Anomaly]
    total: int  # every anomaly matching the filters, across pages
    next_cursor: AnomalyCursor | None  # None on the last page

    @property
    def page_token(self) -> str | None:
        return self.next_cursor.encode() if self.next_cursor else None


def anomaly_list(
    *,
    organization: Organization,
    service_id: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    min_score: float | None = None,
) -> QuerySet[Anomaly]:
    """Newest first, with `incident_resolved` annotated (one join, no query per row)."""
    anomalies = Anomaly.objects.for_org(organization)
    if service_id:
        anomalies = anomalies.filter(service_id=service_id)
    if since is not None:
        anomalies = anomalies.filter(detected_at__gte=since)
    if until is not None:
        anomalies = anomalies.filter(detected_at__lte=until)
    if min_score is not None:
        anomalies = anomalies.filter(anomaly_score__gte=min_score)
    resolved = When(incident__status__in=RESOLVED_STATUSES, then=Value(True))
    return anomalies.annotate(
        incident_resolved=Case(resolved, default=Value(False), output_field=BooleanField())
    ).order_by("-detected_at", "-id")


def anomaly_page(*, anomalies: QuerySet[Anomaly], limit: int, after: AnomalyCursor | None) -> AnomalyPage:
    """A keyset page: rows inserted meanwhile never shift it, unlike an offset."""
    total = anomalies.count()
    if after is not None:
        anomalies = anomalies.filter(
            Q(detected_at__lt=after.detected_at) | Q(detected_at=after.detected_at, id__lt=after.anomaly_id)
        )
    rows = list(anomalies[: limit + 1])
    if len(rows) <= limit:
        return AnomalyPage(rows, total, None)
    last = rows[limit - 1]
    return AnomalyPage(rows[:limit], total, AnomalyCursor(last.detected_at, last.pk))


def anomaly_services(*, organization: Organization) -> list[str]:
    """Services that have anomalies, for the console's filter."""
    services = (
        Anomaly.objects.for_org(organization).exclude(service_id="").values_list("service_id", flat=True)
    )
    return list(services.order_by("service_id").distinct()[:500])


# --- The correlation learner (pure) --------------------------------------------------------------------

MAX_LAG_MINUTES = 10
LAG_TOLERANCE_MINUTES = 1  # a co-occurrence at a lag may be a minute off either way: starts jitter
EPISODE_GAP_SECONDS = 60  # starts of one service closer than this are one failure, not several
MAX_SERVICES = 200  # the busiest; bounds the pairs at 19,900
MIN_SUPPORT = 3  # co-occurrences, so that two coincidences never make an edge
MIN_SCORE = 0.2
SIGNIFICANCE = 0.01  # family-wise: divided by every pair and lag tried
MIN_SPAN_SECONDS = 3600.0


@dataclass(frozen=True)
class CorrelationEdge:
    """`related_service`'s failures start `lag_minutes` after `service`'s (before, when negative)."""

    service: str
    related_service: str
    correlation_score: float
    lag_minutes: int
    support: int

    @property
    def direction(self) -> str:
        if self.lag_minutes == 0:
            return ServiceCorrelation.Direction.CONCURRENT
        return (
            ServiceCorrelation.Direction.DOWNSTREAM
            if self.lag_minutes > 0
            else ServiceCorrelation.Direction.UPSTREAM
        )


def failure_episodes(starts: Iterable[datetime]) -> list[float]:
    """Sorted start times in epoch seconds; a burst of starts less than EPISODE_GAP_SECONDS apart is one."""
    episodes: list[float] = []
    previous = None
    for moment in sorted(start.timestamp() for start in starts):
        if previous is None or moment - previous >= EPISODE_GAP_SECONDS:
            episodes.append(moment)
        previous = moment
    return episodes


def lag_histograms(episodes: Mapping[str, list[float]]) -> dict[tuple[str, str], Counter[int]]:
    """For each pair (a, b) with a < b: how often b started n whole minutes after a (n < 0: before)."""
    events = sorted((moment, service) for service, times in episodes.items() for moment in times)
    reach = (MAX_LAG_MINUTES + 0.5) * 60
    histograms: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    for i, (moment, service) in enumerate(events):
        for later, other in _until(events, i + 1, moment + reach):
            if other != service:
                a, b, seconds = (
                    (service, other, later - moment) if service < other else (other, service, moment - later)
                )
                histograms[(a, b)][math.floor(seconds / 60 + 0.5)] += 1
    return histograms


def _until(events: list[tuple[float, str]], start: int, end: float) -> Iterable[tuple[float, str]]:
    for index in range(start, len(events)):
        if events[index][0] >= end:
            return
        yield events[index]


def _best_lag(histogram: Counter[int]) -> int:
    """The peak under a triangular kernel (1, 2, 1): a neighbouring minute counts half, so jitter across a
    minute's edge still peaks in the middle and one stray coincidence beside the peak cannot move it."""

    def weight(lag: int) -> int:
        return 2 * histogram[lag] + histogram[lag - 1] + histogram[lag + 1]

    return max(
        range(-MAX_LAG_MINUTES, MAX_LAG_MINUTES + 1), key=lambda lag: (weight(lag), histogram[lag], -abs(lag))
    )


def _hits(leaders: list[float], followers: list[float], low: float, high: float) -> int:
    """How many leaders have a follower starting in [leader + low, leader + high)."""
    hits = 0
    for moment in leaders:
        index = bisect_left(followers, moment + low)
        hits += index < len(followers) and followers[index] < moment + high
    return hits


def binomial_tail(successes: int, trials: int, probability: float) -> float:
    """P(X >= successes), X ~ Binomial(trials, probability); summed in log space so tiny tails stay exact.

    At or below the mean the answer is 1: such a count is never significant, and we only test for rare ones.
    """
    if successes <= trials * probability:
        return 1.0
    if probability <= 0:
        return 0.0
    log_p, log_q = math.log(probability), math.log1p(-probability)
    total = 0.0
    for k in range(successes, trials + 1):
        log_choose = math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1)
        term = math.exp(log_choose + k * log_p + (trials - k) * log_q)
        total += term
        if term <= total * 1e-12:  # past the mean terms only shrink
            break
    return min(total, 1.0)


def _side(hits: int, trials: int, chance: float) -> tuple[float, float]:
    """(chance-corrected hit rate, its p-value) of one service's failures finding the other's."""
    kappa = (hits / trials - chance) / (1 - chance) if chance < 1 else 0.0
    return max(kappa, 0.0), binomial_tail(hits, trials, chance)


def correlation_edges(
    starts: Mapping[str, Iterable[datetime]], *, span_seconds: float | None = None
) -> list[CorrelationEdge]:
    """Both directions of every significant pair among the MAX_SERVICES busiest services.

    `span_seconds` is how long the history lasts, for the chance rates; by default from first to last start.
    """
    all_episodes = {service: failure_episodes(times) for service, times in starts.items() if service}
    busiest = sorted((s for s in all_episodes if all_episodes[s]), key=lambda s: (-len(all_episodes[s]), s))
    episodes = {service: all_episodes[service] for service in busiest[:MAX_SERVICES]}
    if len(episodes) < 2:
        return []
    if span_seconds is None:
        span_seconds = max(t[-1] for t in episodes.values()) - min(t[0] for t in episodes.values())
    span_seconds = max(span_seconds, MIN_SPAN_SECONDS)
    window = (2 * LAG_TOLERANCE_MINUTES + 1) * 60
    tests = len(episodes) * (len(episodes) - 1) / 2 * (2 * MAX_LAG_MINUTES + 1)
    edges = []
    for (a, b), histogram in sorted(lag_histograms(episodes).items()):
        lag = _best_lag(histogram)
        low, high = (lag - LAG_TOLERANCE_MINUTES - 0.5) * 60, (lag + LAG_TOLERANCE_MINUTES + 0.5) * 60
        starts_a, starts_b = episodes[a], episodes[b]
        hits_a, hits_b = _hits(starts_a, starts_b, low, high), _hits(starts_b, starts_a, -high, -low)
        kappa_a, p_a = _side(hits_a, len(starts_a), 1 - math.exp(-len(starts_b) * window / span_seconds))
        kappa_b, p_b = _side(hits_b, len(starts_b), 1 - math.exp(-len(starts_a) * window / span_seconds))
        score, support = round(math.sqrt(kappa_a * kappa_b), 2), min(hits_a, hits_b)
        if support < MIN_SUPPORT or score < MIN_SCORE or max(p_a, p_b) > SIGNIFICANCE / tests:
            continue
        edges += [CorrelationEdge(a, b, score, lag, support), CorrelationEdge(b, a, score, -lag, support)]
    return edges


# --- Learning into the table, and keeping it fresh --------------------------------------------------------

WINDOW_DAYS = 30
REFRESH_DEBOUNCE_SECONDS = 300


def _incident_starts(*, organization: Organization, since: datetime) -> dict[str, list[datetime]]:
    starts: dict[str, list[datetime]] = defaultdict(list)
    rows = (
        Incident.objects.for_org(organization)
        .filter(created_at__gte=since)
        .exclude(service="")
        .values_list("service", "started_at", "created_at")
    )
    for service, started_at, created_at in rows.iterator(chunk_size=5000):
        starts[service].append(started_at or created_at)
    return starts


def service_correlations_learn(
    *, organization_id: str, days: int = WINDOW_DAYS, now: datetime | None = None
) -> list[ServiceCorrelation]:
    """Recompute an organization's graph from its last `days` of incidents and replace it at once.

    Idempotent. The learning holds no lock; only the replacement does, briefly.
    """
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:  # deleted since the task was queued
        return []
    now = now or timezone.now()
    starts = _incident_starts(organization=organization, since=now - timedelta(days=days))
    span = (now - min((min(times) for times in starts.values()), default=now)).total_seconds()
    return _service_correlations_replace(
        organization=organization, edges=correlation_edges(starts, span_seconds=span), computed_at=now
    )


@transaction.atomic
def _service_correlations_replace(
    *, organization: Organization, edges: list[CorrelationEdge], computed_at: datetime
) -> list[ServiceCorrelation]:
    # Two runs for one organization replace in turn, never interleaved into the unique constraint. NO KEY:
    # a plain FOR UPDATE would also hold up every insert of a row that references the organization.
    Organization.objects.select_for_update(no_key=True).filter(pk=organization.pk).values_list("pk").first()
    ServiceCorrelation.objects.for_org(organization).delete()
    return ServiceCorrelation.objects.bulk_create(
        ServiceCorrelation(
            organization=organization, direction=edge.direction, computed_at=computed_at, **asdict(edge)
        )
        for edge in edges
    )


def service_correlation_organizations(*, days: int = WINDOW_DAYS) -> list:
    """Ids of organizations to re-learn: recent incidents, or edges that may now be stale.

    Deliberately across tenants: the periodic task has no request and fans out one task per organization.
    """
    since = timezone.now() - timedelta(days=days)
    recent = Incident.objects.filter(created_at__gte=since).exclude(service="").values("organization_id")
    stored = ServiceCorrelation.objects.values("organization_id")
    return list(Organization.objects.filter(Q(pk__in=recent) | Q(pk__in=stored)).values_list("pk", flat=True))


def service_correlations_refresh_soon(*, incident: Incident) -> None:
    """After commit, queue a re-learn of the incident's organization, at most once per debounce window.

    The first incident of a quiet spell wins the cache key (`add` is atomic on Redis and locmem) and the
    run waits out the window, so a storm of incidents costs one run that sees all of them.
    """
    if not incident.service:
        return
    organization_id = str(incident.organization_id)

    def enqueue() -> None:
        from analyses.tasks import service_correlations_learn_task  # the task module imports services

        # The window is named by the clock, not only by the key's expiry: the cache's TTL runs on its
        # own server's clock, which tests that move time (and skewed hosts) cannot reach.
        window = int(time.time() // REFRESH_DEBOUNCE_SECONDS)
        key = f"analyses:correlations:refresh:{organization_id}:{window}"
        if cache.add(key, 1, timeout=REFRESH_DEBOUNCE_SECONDS):
            service_correlations_learn_task.apply_async(
                (organization_id,), countdown=REFRESH_DEBOUNCE_SECONDS
            )

    transaction.on_commit(enqueue, robust=True)  # the hourly beat learns anyway


# --- Traversal -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphEntry:
    """A service reached from the origin: the edge from `via` (its parent, one ring closer) to it."""

    related_service: str
    correlation_score: float
    lag_minutes: int
    direction: str
    support: int
    depth: int
    via: str
    computed_at: datetime


def service_correlation_graph(*, organization: Organization, service_id: str, depth: int) -> list[GraphEntry]:
    """Breadth-first from `service_id` over the stored edges, to `depth`, one query per ring.

    Each service appears once, at its shortest distance, reached by its strongest edge from the ring
    before (ties by name); within a ring, strongest first. An unknown service has no entries.
    """
    edges = ServiceCorrelation.objects.for_org(organization)
    seen, frontier, found = {service_id}, [service_id], []
    for ring in range(1, depth + 1):
        reached: dict[str, ServiceCorrelation] = {}
        ordered = edges.filter(service__in=frontier).order_by(
            "-correlation_score", "service", "related_service"
        )
        for edge in ordered:
            if edge.related_service not in seen:
                reached.setdefault(edge.related_service, edge)
        if not reached:
            break
        found += [
            GraphEntry(
                related_service=edge.related_service,
                correlation_score=edge.correlation_score,
                lag_minutes=edge.lag_minutes,
                direction=edge.direction,
                support=edge.support,
                depth=ring,
                via=edge.service,
                computed_at=edge.computed_at,
            )
            for edge in reached.values()
        ]
        seen |= reached.keys()
        frontier = list(reached)
    return found


def service_correlation_services(*, organization: Organization) -> list[tuple[str, int]]:
    """[(service, number of related services)] of the stored graph, the best connected first."""
    rows = (
        ServiceCorrelation.objects.for_org(organization)
        .values_list("service")
        .annotate(links=Count("pk"))
        .order_by("-links", "service")
    )
    return list(rows)
