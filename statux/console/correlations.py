"""Console: the AIops anomalies list (keyset-paged like the API) and the learned service graph.

The graph's geometry is computed here, as the dashboard's chart is, so the template draws an inline SVG
without JavaScript: the origin in the middle, each breadth-first ring on a circle of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from rest_framework.exceptions import ValidationError

from analyses.correlations import (
    AnomalyCursor,
    GraphEntry,
    anomaly_list,
    anomaly_page,
    anomaly_services,
    service_correlation_graph,
    service_correlation_services,
)
from analyses.models import Anomaly, ServiceCorrelation
from statux.console.forms import ConsoleForm
from statux.console.views import requires

ANOMALY_PAGE_SIZE = 50
DEFAULT_DEPTH = 3
# SVG user units: rings RING apart, room around the outer ring for names.
RING, NODE_RADIUS, ORIGIN_RADIUS, MARGIN = 120, 16, 24, 90
LABEL_OFFSET, ARROW_GAP = 14, 3


class AnomalyFilterForm(ConsoleForm):
    service = forms.ChoiceField(label="Service", required=False)
    min_score = forms.FloatField(
        label="Minimum score",
        required=False,
        min_value=0,
        max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.05", "placeholder": "0 to 1"}),
    )

    def __init__(self, *args, services: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", "Any service"), *((name, name) for name in services)]


class CorrelationGraphForm(ConsoleForm):
    service = forms.ChoiceField(label="Origin service", required=False)
    depth = forms.TypedChoiceField(
        label="Depth",
        coerce=int,
        required=False,
        empty_value=DEFAULT_DEPTH,
        choices=[(n, n) for n in range(1, 6)],
    )

    def __init__(self, *args, services: list[tuple[str, int]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [(name, f"{name} ({links} related)") for name, links in services]


# --- Anomalies -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnomalyRow:
    anomaly: Anomaly
    score_percent: int

    @property
    def level(self) -> str:
        """The meter's colour class; a high score is the alarming end, so it takes the red one."""
        return "low" if self.score_percent >= 70 else "mid" if self.score_percent >= 40 else "high"


def _after(request: HttpRequest) -> AnomalyCursor | None:
    token = request.GET.get("page_token", "")
    if not token:
        return None
    try:
        return AnomalyCursor.decode(token)
    except ValidationError:
        messages.error(request, "That page link is no longer valid; showing the newest anomalies.")
        return None


@requires("read")
@require_safe
def anomaly_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/anomalies/: newest first, filtered by service and minimum score, keyset-paged."""
    form = AnomalyFilterForm(request.GET, services=anomaly_services(organization=request.organization))
    form.is_valid()  # a bad field shows its error; the valid ones still filter
    service, min_score = form.cleaned_data.get("service", ""), form.cleaned_data.get("min_score")
    anomalies = anomaly_list(organization=request.organization, service_id=service, min_score=min_score)
    page = anomaly_page(anomalies=anomalies, limit=ANOMALY_PAGE_SIZE, after=_after(request))
    query = {
        key: value
        for key, value in (("service", service), ("min_score", min_score))
        if value not in ("", None)
    }
    context = {
        "form": form,
        "filtered": bool(query),
        "page": page,
        "rows": [AnomalyRow(anomaly, round(anomaly.anomaly_score * 100)) for anomaly in page.anomalies],
        "first_url": f"?{urlencode(query)}",
        "next_url": f"?{urlencode({**query, 'page_token': page.page_token})}" if page.page_token else "",
        "paged": "page_token" in request.GET,
    }
    return render(request, "console/anomalies/list.html", context)


# --- The service graph ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphNode:
    name: str
    x: float
    y: float
    radius: int
    depth: int

    @property
    def label_y(self) -> float:
        return round(self.y + self.radius + LABEL_OFFSET, 1)


@dataclass(frozen=True)
class GraphEdge:
    entry: GraphEntry
    upstream: str
    downstream: str
    x1: float
    y1: float
    x2: float
    y2: float
    label_x: float
    label_y: float

    @property
    def directed(self) -> bool:
        return self.entry.direction != ServiceCorrelation.Direction.CONCURRENT

    @property
    def lag_label(self) -> str:
        return f"+{abs(self.entry.lag_minutes)} min" if self.directed else "same minute"

    @property
    def width(self) -> float:
        return round(1 + 4 * self.entry.correlation_score, 2)

    @property
    def opacity(self) -> float:
        return round(0.35 + 0.65 * self.entry.correlation_score, 2)


@dataclass(frozen=True)
class GraphLayout:
    origin: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    size: float

    @property
    def description(self) -> str:
        """The SVG's <desc>: what a glance at the picture tells."""
        if not self.edges:
            return f"{self.origin} has no learned correlations."
        strongest = max(self.edges, key=lambda edge: edge.entry.correlation_score)
        linked = f"{self.origin} is linked to {len(self.edges)} service{'s' if len(self.edges) != 1 else ''}."
        if not strongest.directed:
            return f"{linked} The strongest link fails in the same minute as its neighbour."
        return (
            f"{linked} Strongest link: {strongest.upstream} fails first and {strongest.downstream} follows "
            f"{strongest.lag_label} later (score {strongest.entry.correlation_score:.2f})."
        )


def _ring_angles(parents: list[float]) -> list[float]:
    """Evenly spaced angles (degrees) for a ring whose nodes are sorted by their parents' angles, turned
    as a whole to sit as close to those parents as it can (the circular mean of the differences)."""
    count = len(parents)
    base = [360 * index / count for index in range(count)]
    sin = sum(math.sin(math.radians(p - b)) for p, b in zip(parents, base, strict=True))
    cos = sum(math.cos(math.radians(p - b)) for p, b in zip(parents, base, strict=True))
    turn = math.degrees(math.atan2(sin, cos)) if (sin or cos) else -90.0
    return [b + turn for b in base]


def _edge(entry: GraphEntry, nodes: dict[str, GraphNode]) -> GraphEdge:
    parent, child = nodes[entry.via], nodes[entry.related_service]
    start, end = (
        (child, parent) if entry.direction == ServiceCorrelation.Direction.UPSTREAM else (parent, child)
    )
    dx, dy = end.x - start.x, end.y - start.y
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    return GraphEdge(
        entry=entry,
        upstream=start.name,
        downstream=end.name,
        x1=round(start.x + ux * start.radius, 1),
        y1=round(start.y + uy * start.radius, 1),
        x2=round(end.x - ux * (end.radius + ARROW_GAP), 1),
        y2=round(end.y - uy * (end.radius + ARROW_GAP), 1),
        label_x=round((start.x + end.x) / 2 - uy * 10, 1),  # beside the line, not on it
        label_y=round((start.y + end.y) / 2 + ux * 10, 1),
    )


def correlation_graph_layout(*, origin: str, entries: list[GraphEntry]) -> GraphLayout:
    depth = max((entry.depth for entry in entries), default=0)
    size = 2 * (depth * RING + MARGIN)
    center = size / 2
    nodes = {origin: GraphNode(origin, center, center, ORIGIN_RADIUS, 0)}
    angles = {origin: -90.0}
    for ring in range(1, depth + 1):
        members = sorted(
            (e for e in entries if e.depth == ring), key=lambda e: (angles[e.via] % 360, e.related_service)
        )
        for entry, angle in zip(members, _ring_angles([angles[e.via] for e in members]), strict=True):
            angles[entry.related_service] = angle
            x = center + ring * RING * math.cos(math.radians(angle))
            y = center + ring * RING * math.sin(math.radians(angle))
            nodes[entry.related_service] = GraphNode(
                entry.related_service, round(x, 1), round(y, 1), NODE_RADIUS, ring
            )
    edges = [_edge(entry, nodes) for entry in entries]
    return GraphLayout(origin=origin, nodes=list(nodes.values()), edges=edges, size=size)


@requires("read")
@require_safe
def correlation_graph_view(request: HttpRequest) -> HttpResponse:
    """GET /console/anomalies/graph/?service=&depth=: the learned graph around one origin service."""
    services = service_correlation_services(organization=request.organization)
    best_connected = services[0][0] if services else ""
    initial = {"service": best_connected, "depth": DEFAULT_DEPTH}
    form = CorrelationGraphForm(request.GET or None, services=services, initial=initial)
    chosen = form.cleaned_data if form.is_valid() else {}
    origin = chosen.get("service") or best_connected
    depth = chosen.get("depth") or DEFAULT_DEPTH
    entries = service_correlation_graph(organization=request.organization, service_id=origin, depth=depth)
    context = {
        "form": form,
        "origin": origin,
        "depth": depth,
        "has_graph": bool(services),
        "layout": correlation_graph_layout(origin=origin, entries=entries) if origin else None,
        "computed_at": max((entry.computed_at for entry in entries), default=None),
    }
    return render(request, "console/anomalies/graph.html", context)
