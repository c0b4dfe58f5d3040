"""Console: the anomalies page and the service graph drawn as an accessible inline SVG."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils.html import escape

from analyses.models import Incident
from statux.console.correlations import correlation_graph_layout
from tests.correlations.conftest import START
from tests.correlations.test_graph import edge

pytestmark = pytest.mark.django_db


def test_the_anomalies_page_lists_them_with_score_and_incident_link(org, viewer_console, make_anomaly):
    incident = Incident.objects.create(organization=org, title="CPU", service="payment-api", fingerprint="f")
    anomaly = make_anomaly(org, detected_at=START, anomaly_score=0.93, z_score=4.2, incident=incident)

    page = viewer_console.get("/console/anomalies/").content.decode()

    assert anomaly.pk in page and "HighCPU" in page and "4.2" in page
    assert 'aria-valuenow="0.93"' in page and "width: 93%" in page
    assert f'href="/console/incidents/{incident.pk}/"' in page
    assert "1 anomaly." in page


def test_the_anomalies_page_filters_and_pages_by_keyset(org, viewer_console, make_anomaly):
    for minute in range(120):
        make_anomaly(
            org, detected_at=START + timedelta(minutes=minute), anomaly_score=0.9 if minute % 2 else 0.2
        )
    make_anomaly(org, detected_at=START, service_id="checkout", anomaly_score=0.95)

    first = viewer_console.get("/console/anomalies/", {"min_score": "0.5"}).content.decode()
    older = re.search(r'href="\?([^"]*page_token=[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    second = viewer_console.get(f"/console/anomalies/?{older}").content.decode()
    checkout = viewer_console.get("/console/anomalies/", {"service": "checkout"}).content.decode()

    assert "61 anomalies match the filter." in first and first.count("<tr data-row-id") == 50
    assert "min_score=0.5" in older
    assert second.count("<tr data-row-id") == 11 and "← Newest" in second and 'rel="next"' not in second
    assert checkout.count("<tr data-row-id") == 1


def test_a_broken_page_link_falls_back_to_the_newest_page(org, viewer_console, make_anomaly):
    make_anomaly(org, detected_at=START)

    page = viewer_console.get("/console/anomalies/", {"page_token": "forged"}).content.decode()

    assert "no longer valid" in page and page.count("<tr data-row-id") == 1


def test_another_organizations_anomalies_stay_off_the_page(org, other_org, viewer_console, make_anomaly):
    theirs = make_anomaly(other_org, detected_at=START)

    page = viewer_console.get("/console/anomalies/").content.decode()

    assert theirs.pk not in page and "No anomalies yet" in page


def test_the_graph_page_draws_the_svg_and_the_same_edges_as_a_table(org, viewer_console):
    edge(org, "database", "payment-api", 0.91, 3)
    edge(org, "payment-api", "user-service", 0.87, 2)

    page = viewer_console.get(
        "/console/anomalies/graph/", {"service": "payment-api", "depth": 2}
    ).content.decode()

    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count("<line") == 2 and svg.count('marker-end="url(#graph-arrow)"') == 2
    assert ">+3 min</text>" in svg and ">+2 min</text>" in svg
    assert escape("database → payment-api") in svg
    table = page[page.index("<table") :]
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>\s*<td[^>]*>([^<]+)</td>", table)
    assert rows == [("database", "payment-api", "+3 min"), ("payment-api", "user-service", "+2 min")]


def test_the_graph_page_defaults_to_the_best_connected_service(org, viewer_console):
    edge(org, "database", "payment-api", 0.91, 3)
    edge(org, "database", "cache", 0.5, 0)

    page = viewer_console.get("/console/anomalies/graph/").content.decode()

    assert "Around database" in page and "same minute" in page
    assert '<option value="database" selected>' in page


def test_the_graph_page_says_when_nothing_was_learned(org, viewer_console):
    page = viewer_console.get("/console/anomalies/graph/").content.decode()

    assert "No correlations learned yet" in page and "<svg" not in page


def test_both_pages_need_a_login(client):
    for path in ("/console/anomalies/", "/console/anomalies/graph/"):
        assert client.get(path).status_code == 302


def test_rings_hold_each_depth_and_arrows_run_from_upstream_to_downstream():
    from analyses.correlations import GraphEntry

    def entry(name, depth, via, lag, direction):
        return GraphEntry(name, 0.8, lag, direction, 5, depth, via, START)

    layout = correlation_graph_layout(
        origin="api",
        entries=[
            entry("db", 1, "api", -3, "upstream"),
            entry("web", 1, "api", 2, "downstream"),
            entry("disk", 2, "db", -1, "upstream"),
        ],
    )

    center = layout.size / 2
    radius = {
        node.name: round(((node.x - center) ** 2 + (node.y - center) ** 2) ** 0.5) for node in layout.nodes
    }
    assert radius == {"api": 0, "db": 120, "web": 120, "disk": 240}
    assert [(e.upstream, e.downstream) for e in layout.edges] == [
        ("db", "api"),
        ("api", "web"),
        ("disk", "db"),
    ]
