"""Console incident pages: the list, its live partials, one incident's workflow, and the dashboard summary."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analyses.models import Incident, IncidentNote
from analyses.services import incident_add_note, incident_change_status, incident_record_alert
from statux.audit import Actor
from statux.console.dashboard import incident_hourly_chart
from webhooks.normalizers.base import NormalizedAlert


def text(response) -> str:
    return html.unescape(response.content.decode())


def record(
    organization, title="High CPU on payments-api", *, severity="critical", service="", **extra
) -> Incident:
    """An incident as an alert source makes it: through the service that records alerts."""
    alert = NormalizedAlert(
        source="webhook",
        title=title,
        fingerprint=extra.pop("fingerprint", f"fp:{title}"),
        severity=severity,
        service=service or f"svc-{title.split()[0].lower()}",
        **extra,
    )
    return incident_record_alert(organization=organization, alert=alert).incident


def move(incident, *statuses: str) -> Incident:
    for status in statuses:
        incident = incident_change_status(incident=incident, status=status, actor=Actor(system="test"))
    return incident


def row_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-row-id="(inc-[0-9a-f]+)"', page)


def timeline(page: str) -> list[str]:
    """Each timeline entry as "<label> by <actor>", in page order."""
    items = re.findall(r'<li class="timeline-item.*?</li>', page, re.S)
    return [
        " ".join(re.sub(r"<[^>]+>", " ", re.search(r"<strong>.*?</span>", item, re.S).group(0)).split())
        for item in items
    ]


@pytest.fixture
def incident(org):
    return record(org, namespace="production", pod="payments-api-7d8f9c6b5-x2k4m", deployment="payments-api")


# --- List ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/console/incidents/", "/console/incidents/rows/", "/console/incidents/counts/"]
)
def test_incident_pages_send_anonymous_visitors_to_the_login_page(client, db, path):
    response = client.get(path)

    assert (response.status_code, response["Location"]) == (302, f"/console/login/?next={path}")


def test_the_list_shows_severity_title_service_status_alerts_and_last_seen(viewer_console, org):
    disk = record(org, "Disk full on db-1", severity="warning", service="postgres")
    cpu = record(org, "High CPU on payments-api", service="payments-api")
    record(org, "High CPU on payments-api", service="payments-api")  # a repeat: two alerts

    response = viewer_console.get("/console/incidents/")

    page = text(response)
    assert response.status_code == 200
    assert row_ids(page) == [cpu.pk, disk.pk]
    cpu_row = re.search(rf'<tr data-row-id="{cpu.pk}".*?</tr>', page, re.S).group(0)
    assert '<span class="badge badge--severity badge--critical">' in cpu_row and ">critical</span>" in cpu_row
    assert f'<a href="/console/incidents/{cpu.pk}/" data-row-link>High CPU on payments-api</a>' in cpu_row
    assert "<td>payments-api</td>" in cpu_row
    assert '<span class="badge badge--status badge--open">open</span>' in cpu_row
    assert '<td class="num">2</td>' in cpu_row
    seen = Incident.objects.get(pk=cpu.pk).last_seen_at
    assert f'title="{seen:%Y-%m-%d %H:%M:%S} UTC">just now</time>' in cpu_row
    assert "2 incidents." in page


def test_the_list_counts_incidents_per_status_and_links_to_each(viewer_console, org):
    record(org, "One")
    move(record(org, "Two"), "acknowledged")
    move(record(org, "Three"), "resolved")
    move(record(org, "Four"), "resolved", "closed")

    page = text(viewer_console.get("/console/incidents/?status=acknowledged"))

    counts = re.findall(
        r'href="/console/incidents/\?status=(\w+)"[^>]*><span class="stat-value">(\d+)<', page
    )
    assert counts == [("open", "1"), ("acknowledged", "1"), ("investigating", "0"), ("resolved", "1")]
    assert 'href="/console/incidents/?status=acknowledged" aria-current="true"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", ["Latency"]),
        ("status=active", ["Latency", "Errors"]),
        ("status=resolved", ["Disk"]),
        ("severity=critical", ["Latency", "Disk"]),
        ("service=CHECK", ["Errors"]),
        ("q=latency", ["Latency"]),
        ("status=active&severity=critical", ["Latency"]),
    ],
)
def test_the_list_filters_by_status_severity_service_and_title(viewer_console, org, query, expected):
    disk = record(org, "Disk full", severity="critical", service="postgres")
    move(disk, "resolved")
    move(record(org, "Errors rising", severity="warning", service="checkout"), "acknowledged")
    record(org, "Latency high", severity="critical", service="payments")

    page = text(viewer_console.get(f"/console/incidents/?{query}"))

    titles = re.findall(r"data-row-link>([^<]+)</a>", page)
    assert [title.split()[0] for title in titles] == expected
    assert "Clear filters" in page


def test_an_unknown_filter_value_says_so_and_the_other_filters_still_apply(viewer_console, org):
    record(org, "Latency high", severity="critical")
    record(org, "Errors rising", severity="warning")

    response = viewer_console.get("/console/incidents/?status=sleeping&severity=warning")

    page = text(response)
    assert response.status_code == 200
    assert "Select a valid choice. sleeping is not one of the available choices." in page
    assert re.findall(r"data-row-link>([^<]+)</a>", page) == ["Errors rising"]


def test_the_rows_partial_renders_only_the_rows_of_the_same_query(viewer_console, org):
    record(org, "Latency high", severity="critical")
    warning = record(org, "Errors rising", severity="warning")

    response = viewer_console.get("/console/incidents/rows/?severity=warning")

    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page and "<tbody" not in page
    assert row_ids(page) == [warning.pk]


def test_the_list_points_its_live_refresh_at_the_rows_partial_with_the_same_query(viewer_console, org):
    page = text(viewer_console.get("/console/incidents/?severity=warning&q=cpu"))

    assert 'data-refresh-url="/console/incidents/rows/?severity=warning&q=cpu"' in page
    assert 'data-refresh-url="/console/incidents/counts/?status="' in page
    assert re.search(r'<script src="/static/console/js/live-refresh\.js" defer></script>', page)


def test_the_counts_partial_renders_the_counts_alone(viewer_console, org):
    record(org, "Latency high")

    page = text(viewer_console.get("/console/incidents/counts/?status=open"))

    assert "<html" not in page
    assert re.search(r'\?status=open" aria-current="true"><span class="stat-value">1<', page)


def test_a_grouped_incident_says_whose_child_it_is(viewer_console, org):
    parent = record(org, "Latency high", service="payments")
    child = record(org, "Errors rising", service="payments")  # same service within the window

    page = text(viewer_console.get("/console/incidents/"))

    assert Incident.objects.get(pk=child.pk).parent_id == parent.pk
    child_row = re.search(rf'<tr data-row-id="{child.pk}".*?</tr>', page, re.S).group(0)
    parent_row = re.search(rf'<tr data-row-id="{parent.pk}".*?</tr>', page, re.S).group(0)
    assert f'child of <a href="/console/incidents/{parent.pk}/">{parent.pk}</a>' in child_row
    assert "parent of 1" in parent_row


def test_the_list_shows_fifty_incidents_a_page(viewer_console, org):
    for number in range(51):
        record(org, f"Alert {number:02d}")

    first = text(viewer_console.get("/console/incidents/?severity=critical"))
    second = text(viewer_console.get("/console/incidents/?severity=critical&page=2"))

    assert len(row_ids(first)) == 50 and len(row_ids(second)) == 1
    assert "Page 1 of 2" in first
    assert 'href="?severity=critical&page=2" rel="next"' in first
    assert re.findall(r"data-row-link>([^<]+)</a>", second) == ["Alert 00"]


def test_the_list_never_shows_another_organizations_incidents(owner_console, org, other_org):
    record(other_org, "Globex secret outage")

    page = text(owner_console.get("/console/incidents/"))

    assert "Globex secret outage" not in page
    assert "No incidents match." in page


def test_incidents_come_first_in_the_nav(viewer_console, org):
    page = viewer_console.get("/console/incidents/").content.decode()

    nav = re.search(r'<nav class="mainnav".*?</nav>', page, re.S).group(0)
    assert re.findall(r">([A-Z][a-z ]+|API keys)</a>", nav)[:3] == ["Incidents", "Insights", "Dashboard"]
    assert 'href="/console/incidents/" data-shortcut="g i" aria-keyshortcuts="g i" aria-current="page"' in nav


# --- One incident ----------------------------------------------------------------------------------


def test_the_incident_page_shows_its_facts_timeline_alerts_and_metrics(viewer_console, org, incident):
    record(org, incident.title, service=incident.service)  # a repeat of the same alert

    response = viewer_console.get(f"/console/incidents/{incident.pk}/")

    page = text(response)
    assert response.status_code == 200
    assert "<h1>High CPU on payments-api</h1>" in page
    assert f"<code>{incident.pk}</code>" in page
    for fact, value in [
        ("Service", "svc-high"),
        ("Namespace", "production"),
        ("Pod", "payments-api-7d8f9c6b5-x2k4m"),
        ("Deployment", "payments-api"),
        ("Alerts", "2"),
    ]:
        assert re.search(rf"<dt>{fact}</dt><dd[^>]*>{value}</dd>", page), fact
    assert f'{incident.created_at:%Y-%m-%d %H:%M} UTC</time> <span class="muted">(just now)' in page
    assert timeline(page) == [
        "Alert received by webhook:webhook",
        "Incident created by system",
        "Deduplicated by webhook:webhook",
    ]
    assert page.count('<details class="raw">') == 2  # the received alert and its repeat
    assert '"dedup_strategy": "fingerprint"' in page
    assert "<dd>no response yet</dd>" in page and "<dd>not resolved</dd>" in page


def test_a_flapping_alert_shows_its_latest_fifty_payloads_and_every_timeline_event(viewer_console, org):
    for _ in range(52):
        incident = record(org, "Flapping probe")

    page = text(viewer_console.get(f"/console/incidents/{incident.pk}/"))

    assert page.count('<details class="raw">') == 50
    assert "The latest 50 of 52 alert payloads; the timeline lists them all." in page
    assert len(timeline(page)) == 53  # 52 alerts and the creation


def test_the_list_and_the_incident_page_run_as_many_queries_for_many_incidents_as_for_few(
    viewer_console, org
):
    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_console.get(path).status_code == 200
        return len(captured)

    parent = record(org, "Latency high", service="payments")
    record(org, "Errors rising", service="payments")
    few = (queries("/console/incidents/"), queries(f"/console/incidents/{parent.pk}/"))
    for number in range(10):
        record(org, f"Errors rising {number}", service="payments")
        record(org, "Latency high", service="payments")
        incident_add_note(incident=parent, content=f"Note {number}", actor=Actor(system="test"))
    many = (queries("/console/incidents/"), queries(f"/console/incidents/{parent.pk}/"))

    assert many == few


def test_an_operator_sees_buttons_for_the_allowed_next_statuses_only(operator_console, incident):
    page = text(operator_console.get(f"/console/incidents/{incident.pk}/"))

    buttons = re.findall(r'name="status" value="(\w+)"', page)
    assert buttons == ["acknowledged", "investigating", "resolved", "closed"]
    assert re.search(r'value="acknowledged" data-shortcut="a" aria-keyshortcuts="a">Acknowledge', page)
    assert re.search(r'value="resolved" data-shortcut="r" aria-keyshortcuts="r">Resolve', page)


def test_a_resolved_incident_offers_close_and_reopen(operator_console, incident):
    move(incident, "resolved")

    page = text(operator_console.get(f"/console/incidents/{incident.pk}/"))

    assert re.findall(r'name="status" value="(\w+)"', page) == ["closed", "open"]
    assert ">Reopen</button>" in page


def test_a_closed_incident_offers_no_status_change(operator_console, incident):
    move(incident, "closed")

    page = text(operator_console.get(f"/console/incidents/{incident.pk}/"))

    assert 'name="status"' not in page
    assert "This incident is closed: its status can no longer change." in page


def test_acknowledging_changes_the_status_through_the_service_and_records_who(
    operator_console, operator, incident
):
    response = operator_console.post(
        f"/console/incidents/{incident.pk}/status/", {"status": "acknowledged"}, follow=True
    )

    assert response.redirect_chain == [(f"/console/incidents/{incident.pk}/", 302)]
    page = text(response)
    assert f"Incident {incident.pk} is now acknowledged." in page
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_at is not None) == ("acknowledged", True)
    assert timeline(page)[-1] == "Status changed by operator@acme.test"
    assert '<span class="kv-key">status</span> open → acknowledged' in page
    assert re.findall(r'name="status" value="(\w+)"', page) == ["investigating", "resolved", "closed"]
    assert re.search(r"<dt>Time to first response</dt><dd>\d+ s</dd>", page)


def test_a_move_the_workflow_forbids_is_refused_with_the_services_message(operator_console, incident):
    move(incident, "closed")

    response = operator_console.post(
        f"/console/incidents/{incident.pk}/status/", {"status": "open"}, follow=True
    )

    assert f"Incident {incident.pk} cannot move from closed to open." in text(response)
    incident.refresh_from_db()
    assert incident.status == "closed"


def test_an_unknown_status_is_refused(operator_console, incident):
    response = operator_console.post(
        f"/console/incidents/{incident.pk}/status/", {"status": "sleeping"}, follow=True
    )

    assert "Pick one of the statuses" in text(response)
    incident.refresh_from_db()
    assert incident.status == "open"


def test_adding_a_note_saves_it_and_puts_it_on_the_timeline(operator_console, incident):
    response = operator_console.post(
        f"/console/incidents/{incident.pk}/notes/",
        {"content": "Rolled back payments-api to v41."},
        follow=True,
    )

    page = text(response)
    assert "Note added to the incident and its timeline." in page
    note = IncidentNote.objects.get(incident=incident)
    assert (note.author, note.content) == ("operator@acme.test", "Rolled back payments-api to v41.")
    assert '<p class="note-body">Rolled back payments-api to v41.</p>' in page
    assert timeline(page)[-1] == "Note added by operator@acme.test"


def test_a_blank_note_is_refused_and_nothing_is_saved(operator_console, incident):
    response = operator_console.post(f"/console/incidents/{incident.pk}/notes/", {"content": "   "})

    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert not IncidentNote.objects.exists()


def test_a_viewer_sees_neither_status_buttons_nor_the_note_form(viewer_console, incident):
    page = text(viewer_console.get(f"/console/incidents/{incident.pk}/"))

    assert 'name="status"' not in page and 'name="content"' not in page
    assert "Your role <strong>viewer</strong> can follow incidents" in page


@pytest.mark.parametrize(
    ("path", "data"), [("status/", {"status": "acknowledged"}), ("notes/", {"content": "hello"})]
)
def test_a_viewer_cannot_change_an_incident(viewer_console, incident, path, data):
    response = viewer_console.post(f"/console/incidents/{incident.pk}/{path}", data)

    assert response.status_code == 403
    assert "Your role 'viewer' in Acme Corporation cannot change incidents" in text(response)
    incident.refresh_from_db()
    assert incident.status == "open" and not IncidentNote.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "", {}),
        ("post", "status/", {"status": "acknowledged"}),
        ("post", "notes/", {"content": "hello"}),
    ],
)
def test_another_organizations_incident_is_not_found(owner_console, other_org, method, path, data):
    foreign = record(other_org, "Globex outage")

    response = getattr(owner_console, method)(f"/console/incidents/{foreign.pk}/{path}", data)

    assert response.status_code == 404
    assert f"There is no incident {foreign.pk} in this organization." in text(response)
    assert "Globex outage" not in text(response)
    foreign.refresh_from_db()
    assert foreign.status == "open" and not IncidentNote.objects.exists()


def test_the_incident_page_shows_its_group(viewer_console, org):
    parent = record(org, "Latency high", service="payments")
    child = record(org, "Errors rising", service="payments")

    parent_page = text(viewer_console.get(f"/console/incidents/{parent.pk}/"))
    child_page = text(viewer_console.get(f"/console/incidents/{child.pk}/"))

    assert "1 incident grouped under this one:" in parent_page
    assert f'<a href="/console/incidents/{child.pk}/">Errors rising</a>' in parent_page
    assert "same service within window" in parent_page
    assert f'Grouped under <a href="/console/incidents/{parent.pk}/">Latency high</a>' in child_page
    assert "<strong>same service within window</strong>" in child_page


# --- Dashboard -------------------------------------------------------------------------------------


def test_the_dashboard_counts_active_incidents_by_severity(viewer_console, org, other_org):
    record(org, "Latency high", severity="critical")
    record(org, "Errors rising", severity="critical")
    move(record(org, "Disk full", severity="critical"), "resolved")
    move(record(org, "Queue slow", severity="warning"), "acknowledged")
    record(other_org, "Globex outage", severity="info")

    page = text(viewer_console.get("/console/"))

    counts = re.findall(r'status=active&severity=(\w+)"><span class="stat-value">(\d+)</span>', page)
    assert counts == [("critical", "2"), ("high", "0"), ("warning", "1"), ("info", "0")]
    assert re.search(r'Active incidents <span class="count">3</span>', page)


def test_the_dashboard_draws_incidents_created_per_hour(viewer_console, org):
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=3), tick=False):
        record(org, "Latency high")
        record(org, "Errors rising")
    record(org, "Disk full")
    with time_machine.travel(now - timedelta(hours=30), tick=False):
        record(org, "Too old to count")

    page = text(viewer_console.get("/console/"))

    svg = re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)
    three_hours_ago = f"{now - timedelta(hours=3):%H}:00"
    assert f"<title>{three_hours_ago} UTC: 2 incidents</title>" in svg
    assert f"<title>{now:%H}:00 UTC: 1 incident</title>" in svg
    assert len(re.findall(r'<rect class="chart-bar"', svg)) == 2
    assert "3 incidents in the last 24 hours; the busiest hour began at" in svg
    assert "last 24 hours, UTC · 3 in all" in page


def test_the_hourly_chart_has_a_round_scale_and_the_current_hour_last(org):
    now = datetime(2025, 3, 4, 15, 42, tzinfo=UTC)
    with time_machine.travel(now - timedelta(hours=23, minutes=30), tick=False):  # 16:12 the day before
        for number in range(7):
            record(org, f"Burst {number}")

    chart = incident_hourly_chart(organization=org, now=now)

    assert [bar.label for bar in (chart.bars[0], chart.bars[-1])] == ["16:00", "15:00"]
    assert [bar.count for bar in chart.bars] == [7] + [0] * 23
    assert (chart.scale_max, chart.total, chart.busiest.label) == (10, 7, "16:00")
    assert chart.bars[0].height == pytest.approx(0.7 * 120)
