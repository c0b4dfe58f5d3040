"""Every normalizer on real provider payloads (one file per case), plus hostile and fuzzed inputs.

Plain functions over JSON: no database.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhooks.normalizers.base import InvalidPayload, NormalizedAlert, Normalizer, normalizers

PAYLOADS = Path(__file__).parent / "payloads"
SOURCES = [
    "alertmanager",
    "datadog",
    "grafana",
    "newrelic",
    "opsgenie",
    "pagerduty",
    "prometheus",
    "synthetics",
    "webhook",
]
FIELDS = (
    "source", "title", "description", "severity", "status", "service", "namespace", "pod", "deployment",
    "fingerprint", "external_id", "rule_id", "rule_name", "metric", "threshold", "actual_value",
    "starts_at", "ends_at",
)  # fmt: skip
EMPTY = {
    "description": "", "service": "", "namespace": "", "pod": "", "deployment": "", "external_id": "",
    "rule_id": "", "rule_name": "", "metric": "", "threshold": None, "actual_value": None,
    "starts_at": None, "ends_at": None,
}  # fmt: skip


def load(source: str, case: str) -> Any:
    return json.loads((PAYLOADS / source / f"{case}.json").read_text())


def normalize(source: str, payload: Any) -> list[NormalizedAlert]:
    return normalizers.get(source)().normalize(payload)


def normalize_case(source: str, case: str) -> list[NormalizedAlert]:
    return normalize(source, load(source, case))


def fields_of(alert: NormalizedAlert) -> dict[str, Any]:
    return {name: getattr(alert, name) for name in FIELDS}


def expected(**fields: Any) -> dict[str, Any]:
    """The important fields of one alert: those given, and the empty value for the rest."""
    return {**EMPTY, **fields}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# Registry


def test_the_registry_lists_all_nine_sources():
    names = normalizers.names()

    assert set(SOURCES) <= set(names)
    assert all(issubclass(normalizers.get(name), Normalizer) for name in SOURCES)
    assert [normalizers.get(name).name for name in SOURCES] == SOURCES


# Generic webhook


def test_webhook_reads_the_documented_example():
    [alert] = normalize_case("webhook", "aisre_example")

    assert fields_of(alert) == expected(
        source="webhook",
        title="High CPU on payments-api",
        description="CPU usage > 90% for 5 minutes",
        severity="critical",
        status="firing",
        service="payments-api",
        namespace="production",
        pod="payments-api-7d8f9c6b5-x2k4m",
        deployment="payments-api",
        fingerprint="webhook:af70285ee3386ce11cfdc074e2d68301",
    )
    assert alert.labels == {"source": "prometheus"}


def test_webhook_accepts_camel_case_fields_and_its_own_fingerprint():
    [alert] = normalize_case("webhook", "camel_case_fields")

    assert fields_of(alert) == expected(
        source="webhook",
        title="Checkout latency above SLO",
        description="p95 latency of checkout is 1.9 s; the SLO is 0.8 s.",
        severity="critical",  # none given: 1.9 is more than twice the 0.8 threshold
        status="firing",
        service="checkout",
        namespace="shop",
        fingerprint="webhook:slo-checkout-latency",
        external_id="slo-4411",
        rule_id="rule-77",
        rule_name="Checkout latency SLO",
        metric="http_request_duration_p95_seconds",
        threshold=0.8,
        actual_value=1.9,
        starts_at=at(2026, 4, 13, 8, 0),
    )
    assert alert.labels == {"team": "payments", "env": "prod", "source": "custom-slo-checker"}
    assert alert.annotations == {"runbook_url": "https://runbooks.example.com/checkout/latency"}


def test_webhook_reads_an_alerts_envelope():
    first, second = normalize_case("webhook", "alerts_envelope")

    assert fields_of(first) == expected(
        source="webhook",
        title="Disk almost full on build-agent-3",
        severity="warning",
        status="firing",
        service="ci",
        fingerprint="webhook:ccb105e9d297cb489a7d89dbfa3fb126",
        rule_name="Disk usage",
        metric="disk_used_percent",
        threshold=85.0,
        actual_value=91.5,
        starts_at=at(2026, 4, 13, 9, 0),
    )
    assert fields_of(second) == expected(
        source="webhook",
        title="Disk almost full on build-agent-4",
        severity="warning",
        status="resolved",
        service="ci",
        fingerprint="webhook:aba309aba109b9676db49826fff16be8",
        starts_at=at(2026, 4, 13, 8, 30),
        ends_at=at(2026, 4, 13, 9, 5),
    )


def test_webhook_reads_a_bare_list_of_alerts():
    alerts = normalize_case("webhook", "list_of_alerts")

    assert [(a.title, a.severity, a.service) for a in alerts] == [
        ("Certificate for shop.example.com expires in 7 days", "info", "edge"),
        ("Certificate for api.example.com expires in 2 days", "high", "edge"),
    ]


def test_webhook_fingerprint_ignores_what_changes_between_repeats():
    firing = load("webhook", "aisre_example")
    resolved = {**firing, "status": "resolved", "description": "CPU back to 40%", "severity": "info"}

    [first], [second] = normalize("webhook", firing), normalize("webhook", resolved)

    assert first.fingerprint == second.fingerprint == "webhook:af70285ee3386ce11cfdc074e2d68301"
    assert (first.status, second.status) == ("firing", "resolved")


def test_webhook_alerts_on_different_pods_have_different_fingerprints():
    one = load("webhook", "aisre_example")
    other = {**one, "pod": "payments-api-7d8f9c6b5-q9w8e"}

    [first], [second] = normalize("webhook", one), normalize("webhook", other)

    assert first.fingerprint != second.fingerprint


WEBHOOK_HOSTILE = [
    ("webhook", {}, "'title' is required"),
    ("webhook", {"title": ""}, "'title' is required"),
    ("webhook", {"title": {"en": "CPU"}}, "'title' is required"),
    ("webhook", {"title": ["CPU"]}, "'title' is required"),
    ("webhook", [], "'payload' is an empty list"),
    ("webhook", [None], "'[0]' must be a JSON object"),
    ("webhook", [{"title": "ok"}, {"title": None}], "'[1].title' is required"),
    ("webhook", {"alerts": []}, "'alerts' is an empty list"),
    ("webhook", {"alerts": {"title": "CPU"}}, "'alerts' must be a list"),
    ("webhook", {"alerts": ["CPU"]}, "'alerts[0]' must be a JSON object"),
    ("webhook", {"title": "CPU", "labels": ["team:a"]}, "'labels' must be a JSON object"),
    ("webhook", {"title": "CPU", "annotations": "runbook"}, "'annotations' must be a JSON object"),
]
WEBHOOK_N_ALERTS = [
    ("webhook", "alerts_envelope", 2),
    ("webhook", "list_of_alerts", 2),
]


# Alertmanager

CRASH_LOOP_DESCRIPTION = (
    'Pod production/payments-api-7d8f9c6b5-x2k4m (api) is in waiting state (reason: "CrashLoopBackOff").'
)


def test_alertmanager_turns_each_alert_of_a_group_into_one_alert():
    crash, errors = normalize_case("alertmanager", "firing_two_alerts")

    assert fields_of(crash) == expected(
        source="alertmanager",
        title="Pod production/payments-api-7d8f9c6b5-x2k4m is crash looping",
        description=CRASH_LOOP_DESCRIPTION,
        severity="critical",
        status="firing",
        service="payments-api",
        namespace="production",
        pod="payments-api-7d8f9c6b5-x2k4m",
        deployment="payments-api",
        fingerprint="alertmanager:5ef77f1f8a3ecfa4",
        external_id="5ef77f1f8a3ecfa4",
        rule_name="KubePodCrashLooping",
        starts_at=at(2026, 4, 10, 12, 0, 0, 123000),
    )
    assert fields_of(errors) == expected(
        source="alertmanager",
        title="checkout answers 7.5% of requests with 5xx",
        description="The 5xx ratio of checkout has been above 5% for 10 minutes.",
        severity="warning",
        status="firing",
        service="checkout",
        namespace="production",
        fingerprint="alertmanager:b3c1d8e0f2a49c77",
        external_id="b3c1d8e0f2a49c77",
        rule_name="HighErrorRate",
        metric="http_requests_errors_ratio",
        threshold=5.0,
        actual_value=7.5,
        starts_at=at(2026, 4, 10, 12, 3, 30),
    )


def test_alertmanager_resolves_an_alert_and_keeps_its_fingerprint():
    [alert] = normalize_case("alertmanager", "resolved")

    assert fields_of(alert) == expected(
        source="alertmanager",
        title="Pod production/payments-api-7d8f9c6b5-x2k4m is crash looping",
        description=CRASH_LOOP_DESCRIPTION,
        severity="critical",
        status="resolved",
        service="payments-api",
        namespace="production",
        pod="payments-api-7d8f9c6b5-x2k4m",
        deployment="payments-api",
        fingerprint="alertmanager:5ef77f1f8a3ecfa4",
        external_id="5ef77f1f8a3ecfa4",
        rule_name="KubePodCrashLooping",
        starts_at=at(2026, 4, 10, 12, 0, 0, 123000),
        ends_at=at(2026, 4, 10, 12, 25),
    )


def test_alertmanager_reads_the_ai_sre_example():
    [alert] = normalize_case("alertmanager", "aisre_example")

    assert fields_of(alert) == expected(
        source="alertmanager",
        title="Pod is crash looping",
        description="Pod has restarted 5 times in the last 10 minutes",
        severity="warning",
        status="firing",
        namespace="production",
        pod="api-server-5d4f3c2b1-xyz",
        fingerprint="alertmanager:abc123",
        external_id="abc123",
        rule_name="PodCrashLooping",
    )


def test_alertmanager_without_a_fingerprint_hashes_the_labels():
    [alert] = normalize_case("alertmanager", "without_fingerprint")

    assert fields_of(alert) == expected(
        source="alertmanager",
        title="CPU usage above 85% for 5 minutes",
        severity="critical",
        status="firing",
        service="payment-api",
        fingerprint="alertmanager:34d16b639e10561f8875ec9aefd758eb",
        rule_name="HighCPU",
        starts_at=at(2026, 4, 10, 12, 0),
    )
    assert normalize_case("alertmanager", "without_fingerprint")[0].fingerprint == alert.fingerprint


ALERTMANAGER_HOSTILE = [
    ("alertmanager", {}, "'alerts' must be a list"),
    ("alertmanager", {"alerts": None}, "'alerts' must be a list"),
    ("alertmanager", {"alerts": "firing"}, "'alerts' must be a list"),
    ("alertmanager", {"alerts": []}, "'alerts' is empty"),
    ("alertmanager", {"alerts": [None]}, "'alerts[0]' must be a JSON object"),
    ("alertmanager", {"alerts": [[{"labels": {}}]]}, "'alerts[0]' must be a JSON object"),
    ("alertmanager", {"alerts": [{}]}, "'alerts[0]' has neither a fingerprint nor labels"),
    ("alertmanager", {"alerts": [{"status": "firing", "labels": None}]}, "neither a fingerprint nor labels"),
    (
        "alertmanager",
        {"alerts": [{"labels": "alertname=HighCPU"}]},
        "'alerts[0].labels' must be a JSON object",
    ),
    (
        "alertmanager",
        {"alerts": [{"fingerprint": "a", "annotations": [1]}]},
        "'alerts[0].annotations' must be",
    ),
    (
        "alertmanager",
        {"alerts": [{"fingerprint": "a"}], "commonLabels": "x"},
        "'commonLabels' must be a JSON",
    ),
]
ALERTMANAGER_LIFECYCLES = [
    ("alertmanager", "firing_two_alerts", "resolved"),
]
ALERTMANAGER_N_ALERTS = [
    ("alertmanager", "firing_two_alerts", 2),
]


# Prometheus


def test_prometheus_reads_the_alertmanager_envelope_under_its_own_name():
    [alert] = normalize_case("prometheus", "firing")

    assert fields_of(alert) == expected(
        source="prometheus",
        title="Filesystem has less than 5% space left.",
        description="Filesystem on /dev/nvme0n1p1 at node-7:9100 has only 3.92% available space left.",
        severity="warning",
        status="firing",
        service="node-exporter",
        fingerprint="prometheus:1a30ba71cca2921f",
        external_id="1a30ba71cca2921f",
        rule_name="NodeFilesystemAlmostOutOfSpace",
        metric="node_filesystem_avail_bytes",
        threshold=5.0,
        actual_value=3.92,
        starts_at=at(2026, 4, 11, 8, 14, 45, 828000),
    )


def test_prometheus_reads_its_own_alert_list_and_resolves_alerts_whose_end_has_passed():
    down, recovered = normalize_case("prometheus", "api_v2_alerts")

    assert fields_of(down) == expected(
        source="prometheus",
        title="orders:8080 is down",
        description="100% of the orders targets in shop are down.",
        severity="critical",
        status="firing",
        service="orders",
        namespace="shop",
        fingerprint="prometheus:b0562d809ed7dc9020ba2580742e1ba0",
        rule_name="TargetDown",
        starts_at=at(2026, 4, 11, 9, 0),
        ends_at=at(2999, 1, 1),
    )
    assert fields_of(recovered) == expected(
        source="prometheus",
        title="carts:8080 is down",
        description="100% of the carts targets in shop are down.",
        severity="critical",
        status="resolved",
        service="carts",
        namespace="shop",
        fingerprint="prometheus:9bc3abab949aa7bf38c026a1e6508715",
        rule_name="TargetDown",
        starts_at=at(2026, 4, 11, 8, 40),
        ends_at=at(2026, 4, 11, 8, 55),
    )


PROMETHEUS_HOSTILE = [
    ("prometheus", [], "'alerts' is empty"),
    ("prometheus", [{"labels": {"a": "b"}}, 7], "'alerts[1]' must be a JSON object"),
    ("prometheus", {"alerts": [{"labels": []}]}, "'alerts[0].labels' must be a JSON object"),
]
PROMETHEUS_N_ALERTS = [
    ("prometheus", "api_v2_alerts", 2),
]


# Grafana


def test_grafana_reads_each_alert_and_takes_the_first_value_as_the_actual_value():
    memory, cpu = normalize_case("grafana", "firing")

    assert fields_of(memory) == expected(
        source="grafana",
        title="Memory of search-6b9f7c4d8-2xq9z above 90%",
        description="search uses 93.5% of its memory limit.",
        severity="high",
        status="firing",
        service="search",
        namespace="production",
        pod="search-6b9f7c4d8-2xq9z",
        fingerprint="grafana:c6eadffa33fcdf37",
        external_id="c6eadffa33fcdf37",
        rule_id="f3a9c1d2-7b4e-4c1a-9d2f-0e5b6a7c8d9e",
        rule_name="High memory usage",
        actual_value=93.5,
        starts_at=at(2026, 4, 12, 7, 51, 3, 157076),
    )
    assert fields_of(cpu) == expected(
        source="grafana",
        title="High CPU usage",
        description="indexer uses 2.7 cores.",
        severity="warning",  # none given: 2.7 is 35% over the threshold of 2
        status="firing",
        service="indexer",
        namespace="production",
        fingerprint="grafana:bc97ff14869b13e3",
        external_id="bc97ff14869b13e3",
        rule_id="0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
        rule_name="High CPU usage",
        threshold=2.0,
        actual_value=2.7,
        starts_at=at(2026, 4, 12, 7, 56, 3, 157076),
    )


def test_grafana_resolves_an_alert_and_keeps_its_fingerprint():
    [alert] = normalize_case("grafana", "resolved")

    assert fields_of(alert) == expected(
        source="grafana",
        title="Memory of search-6b9f7c4d8-2xq9z above 90%",
        description="search uses 61.2% of its memory limit.",
        severity="high",
        status="resolved",
        service="search",
        namespace="production",
        pod="search-6b9f7c4d8-2xq9z",
        fingerprint="grafana:c6eadffa33fcdf37",
        external_id="c6eadffa33fcdf37",
        rule_id="f3a9c1d2-7b4e-4c1a-9d2f-0e5b6a7c8d9e",
        rule_name="High memory usage",
        actual_value=61.2,
        starts_at=at(2026, 4, 12, 7, 51, 3, 157076),
        ends_at=at(2026, 4, 12, 8, 21, 3),
    )


def test_grafana_reads_the_value_from_value_string_when_there_are_no_values():
    [alert] = normalize_case("grafana", "value_string_only")

    assert fields_of(alert) == expected(
        source="grafana",
        title="Queue depth",
        severity="warning",
        status="firing",
        service="mailer",
        fingerprint="grafana:77aa1b2c3d4e5f60",
        external_id="77aa1b2c3d4e5f60",
        rule_id="9xkq2m7vz",
        rule_name="Queue depth",
        actual_value=14151.0,
        starts_at=at(2026, 4, 12, 11, 0),
    )


def test_grafana_reads_a_legacy_dashboard_alert():
    [alert] = normalize_case("grafana", "legacy_alerting")

    assert fields_of(alert) == expected(
        source="grafana",
        title="Gateway p99 latency",
        description="p99 latency of the gateway is above 500 ms.",
        severity="critical",
        status="firing",
        service="gateway",
        fingerprint="grafana:8aeb0736797eb0110a4c99262e1c5479",
        external_id="12",
        rule_id="12",
        rule_name="Gateway p99 latency",
        metric="p99 latency",
        threshold=500.0,
        actual_value=612.4,
    )


def test_grafana_legacy_ok_state_resolves_the_same_alert():
    payload = {**load("grafana", "legacy_alerting"), "state": "ok", "title": "[OK] Gateway p99 latency"}

    [alert] = normalize("grafana", payload)

    assert (alert.status, alert.fingerprint) == ("resolved", "grafana:8aeb0736797eb0110a4c99262e1c5479")


GRAFANA_HOSTILE = [
    ("grafana", {"alerts": [{"fingerprint": "a", "values": [93.5, 1]}]}, "'alerts[0].values' must be a JSON"),
    ("grafana", {"alerts": []}, "'alerts' is empty"),
    ("grafana", {"ruleId": None, "evalMatches": []}, "needs 'ruleId' or 'ruleName'"),
    ("grafana", {"ruleId": 3, "evalMatches": {"value": 1}}, "'evalMatches' must be a list"),
    ("grafana", {"ruleId": 3, "tags": ["severity:critical"]}, "'tags' must be a JSON object"),
]
GRAFANA_LIFECYCLES = [
    ("grafana", "firing", "resolved"),
]
GRAFANA_N_ALERTS = [
    ("grafana", "firing", 2),
]


# PagerDuty


def test_pagerduty_reads_a_triggered_incident():
    [alert] = normalize_case("pagerduty", "incident_triggered")

    assert fields_of(alert) == expected(
        source="pagerduty",
        title="Database connection pool exhausted",
        severity="high",
        status="firing",
        service="auth-service",
        fingerprint="pagerduty:Q2HXLW9GPTY0RB",
        external_id="Q2HXLW9GPTY0RB",
        starts_at=at(2026, 4, 13, 14, 0, 4),
    )
    assert alert.labels == {
        "event_type": "incident.triggered",
        "urgency": "high",
        "incident_key": "6f3b1a4c2e8d4f0a9b7c5d3e1f2a4b6c",
        "incident_number": "4127",
        "escalation_policy": "Identity on-call",
        "teams": "Identity",
        "assignees": "Dana Okafor",
    }
    assert alert.annotations == {"html_url": "https://acme.pagerduty.com/incidents/Q2HXLW9GPTY0RB"}


def test_pagerduty_resolves_the_incident_it_triggered():
    [alert] = normalize_case("pagerduty", "incident_resolved")

    assert fields_of(alert) == expected(
        source="pagerduty",
        title="Database connection pool exhausted",
        severity="high",
        status="resolved",
        service="auth-service",
        fingerprint="pagerduty:Q2HXLW9GPTY0RB",
        external_id="Q2HXLW9GPTY0RB",
        starts_at=at(2026, 4, 13, 14, 0, 4),
        ends_at=at(2026, 4, 13, 14, 42, 10, 480000),
    )


def test_pagerduty_takes_the_severity_from_the_priority_when_there_is_one():
    [alert] = normalize_case("pagerduty", "incident_priority_updated")

    assert fields_of(alert) == expected(
        source="pagerduty",
        title="Database connection pool exhausted",
        severity="critical",
        status="firing",
        service="auth-service",
        fingerprint="pagerduty:Q2HXLW9GPTY0RB",
        external_id="Q2HXLW9GPTY0RB",
        starts_at=at(2026, 4, 13, 14, 0, 4),
    )
    assert (alert.labels["priority"], alert.labels["assignees"]) == ("P1", "Dana Okafor, Lee Park")


def test_pagerduty_low_urgency_is_a_warning_and_acknowledged_is_still_firing():
    [alert] = normalize_case("pagerduty", "incident_acknowledged_low_urgency")

    assert fields_of(alert) == expected(
        source="pagerduty",
        title="Nightly revenue report is late",
        severity="warning",
        status="firing",
        service="reporting",
        fingerprint="pagerduty:Q0ZNVB3MX1KLQE",
        external_id="Q0ZNVB3MX1KLQE",
        starts_at=at(2026, 4, 13, 16, 2),
    )


def test_pagerduty_reads_the_ai_sre_example():
    [alert] = normalize_case("pagerduty", "aisre_example")

    assert fields_of(alert) == expected(
        source="pagerduty",
        title="Database connection pool exhausted",
        severity="high",
        status="firing",
        service="auth-service",
        fingerprint="pagerduty:PD12345",
        external_id="PD12345",
    )


def test_pagerduty_note_on_an_incident_changes_no_alert():
    alerts = normalize_case("pagerduty", "incident_annotated")

    assert alerts == []


def test_pagerduty_events_about_other_resources_change_no_alert():
    ping = {
        "event": {"id": "01", "event_type": "pagey.ping", "resource_type": "pagey", "data": {"type": "ping"}}
    }
    service = {"event": {"event_type": "service.updated", "data": {"id": "PSVC042", "type": "service"}}}

    assert (normalize("pagerduty", ping), normalize("pagerduty", service)) == ([], [])


def test_pagerduty_note_on_a_resolved_incident_keeps_it_resolved():
    payload = load("pagerduty", "incident_resolved")
    payload["event"]["event_type"] = "incident.priority_updated"

    [alert] = normalize("pagerduty", payload)

    assert alert.status == "resolved"


def test_pagerduty_reads_the_older_v2_webhook():
    [triggered] = normalize_case("pagerduty", "v2_incident_trigger")
    [resolved] = normalize_case("pagerduty", "v2_incident_resolve")

    assert fields_of(triggered) == expected(
        source="pagerduty",
        title="Replication lag above 30 s on orders-db",
        description="Replication lag above 30 s on orders-db",
        severity="high",
        status="firing",
        service="Production XDB Cluster",
        fingerprint="pagerduty:PRORDTY",
        external_id="PRORDTY",
        starts_at=at(2026, 4, 13, 15, 14, 36),
    )
    assert triggered.labels["assignees"] == "Laura Haley"
    assert (resolved.status, resolved.fingerprint, resolved.ends_at) == (
        "resolved",
        "pagerduty:PRORDTY",
        at(2026, 4, 13, 15, 18, 9),
    )


PAGERDUTY_HOSTILE = [
    ("pagerduty", {}, "'event' is missing"),
    ("pagerduty", {"event": None}, "'event' is missing"),
    ("pagerduty", {"event": "incident.triggered"}, "'event' must be a JSON object"),
    ("pagerduty", {"event": {}}, "'event.event_type' must name the event"),
    ("pagerduty", {"event": {"event_type": ["incident.triggered"]}}, "'event.event_type' must name"),
    ("pagerduty", {"event": {"event_type": "incident.triggered"}}, "'event.data' is missing"),
    (
        "pagerduty",
        {"event": {"event_type": "incident.triggered", "data": "PD1"}},
        "'event.data' must be a JSON",
    ),
    (
        "pagerduty",
        {"event": {"event_type": "incident.triggered", "data": {"title": "x"}}},
        "'event.data.id' is",
    ),
    (
        "pagerduty",
        {"event": {"event_type": "incident.triggered", "data": {"id": "P1", "service": "auth"}}},
        "'event.data.service' must be a JSON object",
    ),
    (
        "pagerduty",
        {"event": {"event_type": "incident.triggered", "data": {"id": "P1", "priority": "P1"}}},
        "'event.data.priority' must be a JSON object",
    ),
    (
        "pagerduty",
        {"event": {"event_type": "incident.triggered", "data": {"id": "P1", "assignees": {"summary": "x"}}}},
        "'event.data.assignees' must be a list",
    ),
    ("pagerduty", {"messages": "incident.trigger"}, "'messages' must be a list"),
    ("pagerduty", {"messages": []}, "'messages' is an empty list"),
    ("pagerduty", {"messages": [1]}, "'messages[0]' must be a JSON object"),
    ("pagerduty", {"messages": [{"event": "incident.trigger"}]}, "'messages[0].incident' is missing"),
    ("pagerduty", {"messages": [{"event": "incident.trigger", "incident": {}}]}, "'messages[0].incident' is"),
    (
        "pagerduty",
        {"messages": [{"event": "incident.trigger", "incident": {"x": 1}}]},
        "incident.id' is required",
    ),
]
PAGERDUTY_LIFECYCLES = [
    ("pagerduty", "incident_triggered", "incident_resolved"),
    ("pagerduty", "incident_triggered", "incident_priority_updated"),
    ("pagerduty", "v2_incident_trigger", "v2_incident_resolve"),
]


# Opsgenie


def test_opsgenie_reads_a_created_alert_with_its_tags_and_details():
    [alert] = normalize_case("opsgenie", "create")

    assert fields_of(alert) == expected(
        source="opsgenie",
        title="Disk usage above 90% on db-primary-1",
        description="Volume /var/lib/postgresql is 93% full and grows 2% an hour.",
        severity="high",
        status="firing",
        service="orders-db",
        namespace="data",
        fingerprint="opsgenie:disk-usage-db-primary-1",
        external_id="ec03dad6-62c8-4c94-b38b-d88f398e900f",
        metric="disk_used_percent",
        threshold=90.0,
        actual_value=93.0,
        starts_at=at(2026, 4, 13, 15, 0, 0, 123000),
    )
    assert alert.labels == {
        "service": "orders-db",
        "namespace": "data",
        "vip": "",
        "metric": "disk_used_percent",
        "threshold": "90",
        "value": "93",
        "region": "eu-west-1",
        "priority": "P2",
        "entity": "db-primary-1",
        "source": "Zabbix",
        "tinyId": "412",
        "teams": "Data",
    }


def test_opsgenie_close_resolves_the_alert_it_created():
    [alert] = normalize_case("opsgenie", "close")

    assert fields_of(alert) == expected(
        source="opsgenie",
        title="Disk usage above 90% on db-primary-1",
        severity="high",
        status="resolved",
        service="orders-db",
        namespace="data",
        fingerprint="opsgenie:disk-usage-db-primary-1",
        external_id="ec03dad6-62c8-4c94-b38b-d88f398e900f",
        metric="disk_used_percent",
        threshold=90.0,
        actual_value=71.0,
        starts_at=at(2026, 4, 13, 15, 0, 0, 123000),
        ends_at=at(2026, 4, 13, 16, 0, 0, 456000),  # updatedAt is in nanoseconds
    )


def test_opsgenie_reads_a_numeric_priority_and_falls_back_to_the_alert_id():
    [alert] = normalize_case("opsgenie", "acknowledge_numeric_priority")

    assert fields_of(alert) == expected(
        source="opsgenie",
        title="Payment webhook backlog growing",
        severity="critical",
        status="firing",
        fingerprint="opsgenie:8743a1b2-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        external_id="8743a1b2-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        starts_at=at(2026, 4, 13, 17, 0),
    )


def test_opsgenie_escalation_of_a_bare_alert_id_still_names_the_alert():
    [alert] = normalize_case("opsgenie", "escalate")

    assert fields_of(alert) == expected(
        source="opsgenie",
        title="Opsgenie alert 7ba97e3a-d328-4b5e-8f9a-39e945a3869a",
        severity="warning",
        status="firing",
        fingerprint="opsgenie:7ba97e3a-d328-4b5e-8f9a-39e945a3869a",
        external_id="7ba97e3a-d328-4b5e-8f9a-39e945a3869a",
    )


def test_opsgenie_delete_resolves_the_alert_too():
    payload = {**load("opsgenie", "create"), "action": "Delete"}

    [alert] = normalize("opsgenie", payload)

    assert alert.status == "resolved"


OPSGENIE_HOSTILE = [
    ("opsgenie", {}, "'action' must name"),
    ("opsgenie", {"action": {"type": "Create"}, "alert": {"alertId": "a"}}, "'action' must name"),
    ("opsgenie", {"action": "Create"}, "'alert' is missing"),
    ("opsgenie", {"action": "Create", "alert": "ec03dad6"}, "'alert' must be a JSON object"),
    ("opsgenie", {"action": "Create", "alert": {}}, "'alert.alertId' is required"),
    ("opsgenie", {"action": "Create", "alert": {"alertId": ["a"]}}, "'alert.alertId' is required"),
    (
        "opsgenie",
        {"action": "Create", "alert": {"alertId": "a", "tags": "vip"}},
        "'alert.tags' must be a list",
    ),
    (
        "opsgenie",
        {"action": "Create", "alert": {"alertId": "a", "details": []}},
        "'alert.details' must be a JSON",
    ),
    (
        "opsgenie",
        {"action": "Create", "alert": {"alertId": "a", "teams": "Data"}},
        "'alert.teams' must be a list",
    ),
]
OPSGENIE_LIFECYCLES = [
    ("opsgenie", "create", "close"),
]


# Datadog


def test_datadog_reads_a_triggered_monitor_with_its_tags():
    [alert] = normalize_case("datadog", "triggered")

    assert fields_of(alert) == expected(
        source="datadog",
        title="Checkout p95 latency is high",
        description="Checkout p95 latency is above 800 ms.\n\n@webhook-statux",
        severity="high",
        status="firing",
        service="checkout",
        namespace="shop",
        deployment="checkout",
        fingerprint="datadog:9bd4ac313a4d1e8fae2482df7b77628",
        external_id="221164084",
        rule_id="221164084",
        rule_name="Checkout p95 latency is high",
        metric="trace.http.request.duration",
        starts_at=at(2026, 4, 13, 15, 1),
    )
    assert alert.labels == {
        "service": "checkout",
        "env": "prod",
        "kube_namespace": "shop",
        "kube_deployment": "checkout",
        "monitor": "",
        "team": "payments",
    }


def test_datadog_recovery_resolves_the_same_alert():
    [alert] = normalize_case("datadog", "recovered")

    assert fields_of(alert) == expected(
        source="datadog",
        title="Checkout p95 latency is high",
        description="Checkout p95 latency is back under 800 ms.",
        severity="high",  # success carries no severity: the monitor's P2 does
        status="resolved",
        service="checkout",
        namespace="shop",
        deployment="checkout",
        fingerprint="datadog:9bd4ac313a4d1e8fae2482df7b77628",
        external_id="221164084",
        rule_id="221164084",
        rule_name="Checkout p95 latency is high",
        metric="trace.http.request.duration",
        ends_at=at(2026, 4, 13, 15, 31),
    )


def test_datadog_p1_error_is_critical_and_without_aggregate_uses_monitor_and_scope():
    [alert] = normalize_case("datadog", "p1_host_down")

    assert fields_of(alert) == expected(
        source="datadog",
        title="Host is not reporting",
        description="web-07 stopped reporting 3 minutes ago.",
        severity="critical",
        status="firing",
        service="storefront",
        fingerprint="datadog:99001:host:web-07",
        external_id="99001",
        rule_id="99001",
        rule_name="Host is not reporting",
        starts_at=at(2026, 4, 13, 18, 0),
    )
    assert alert.labels == {"host": "web-07", "env": "prod", "service": "storefront"}


def test_datadog_warn_is_a_warning_and_reads_tags_sent_as_a_list():
    [alert] = normalize_case("datadog", "warn")

    assert fields_of(alert) == expected(
        source="datadog",
        title="Queue worker memory is high",
        description="Memory of queue-worker is at 85% of its limit.",
        severity="warning",
        status="firing",
        service="queue-worker",
        namespace="jobs",
        pod="queue-worker-5c7d9-abcde",
        fingerprint="datadog:e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6",
        external_id="55120",
        rule_id="55120",
        rule_name="Queue worker memory is high",
        metric="kubernetes.memory.usage_pct",
        starts_at=at(2026, 4, 13, 19, 0),
    )


DATADOG_HOSTILE = [
    ("datadog", {}, "Neither 'title' nor 'alert_id'"),
    ("datadog", {"body": "CPU is high"}, "Neither 'title' nor 'alert_id'"),
    ("datadog", {"title": {"text": "CPU"}, "alert_id": None}, "Neither 'title' nor 'alert_id'"),
    ("datadog", {"title": "CPU", "tags": 5}, "'tags' must be Datadog's comma-separated"),
    ("datadog", {"title": "CPU", "tags": {"env": "prod"}}, "'tags' must be Datadog's comma-separated"),
]
DATADOG_LIFECYCLES = [
    ("datadog", "triggered", "recovered"),
]


# New Relic


def test_newrelic_reads_an_activated_workflow_issue():
    [alert] = normalize_case("newrelic", "workflow_activated")

    assert fields_of(alert) == expected(
        source="newrelic",
        title="orders-api query result is > 2.0 for 5 minutes on 'Orders API error rate'",
        description="Error rate of orders-api above 2% for 5 minutes.",
        severity="critical",
        status="firing",
        service="orders-api",
        namespace="shop",
        deployment="orders-api",
        fingerprint="newrelic:c5faa7e6-7b54-402d-af79-f99601e0278c",
        external_id="c5faa7e6-7b54-402d-af79-f99601e0278c",
        rule_id="48213377",
        rule_name="Orders API error rate",
        starts_at=at(2026, 4, 13, 15, 0),
    )
    assert alert.labels == {
        "service": "orders-api",
        "namespaceName": "shop",
        "deploymentName": "orders-api",
        "environment": "production",
        "state": "ACTIVATED",
        "priority": "CRITICAL",
        "policy": "Golden Signals",
        "workflow": "Statux",
        "trigger": "STATE_CHANGE",
        "sources": "newrelic",
        "impacted_entities": "orders-api",
    }


def test_newrelic_closed_issue_resolves_it_and_reads_a_title_list():
    [alert] = normalize_case("newrelic", "workflow_closed")

    assert fields_of(alert) == expected(
        source="newrelic",
        title="orders-api query result is > 2.0 for 5 minutes on 'Orders API error rate'",
        severity="critical",
        status="resolved",
        service="orders-api",
        fingerprint="newrelic:c5faa7e6-7b54-402d-af79-f99601e0278c",
        external_id="c5faa7e6-7b54-402d-af79-f99601e0278c",
        rule_name="Orders API error rate",
        starts_at=at(2026, 4, 13, 15, 0),
        ends_at=at(2026, 4, 13, 15, 45),
    )


def test_newrelic_reads_a_created_issue_with_only_the_essential_fields():
    [alert] = normalize_case("newrelic", "workflow_minimal_high")

    assert fields_of(alert) == expected(
        source="newrelic",
        title="BUILD-HOST-3 query result is > 90.0 for 5 minutes on 'Storage on host'",
        severity="high",
        status="firing",
        fingerprint="newrelic:13bbcdca-f0b6-470d-b0be-b34583c58869",
        external_id="13bbcdca-f0b6-470d-b0be-b34583c58869",
        rule_name="Storage on host",
        starts_at=at(2026, 4, 13, 17, 5, 49, 493000),
    )


def test_newrelic_reads_a_legacy_channel_incident():
    [alert] = normalize_case("newrelic", "legacy_open")

    assert fields_of(alert) == expected(
        source="newrelic",
        title="Apdex below 0.7",
        description="Apdex score < 0.7 for at least 5 minutes on 'storefront'",
        severity="critical",
        status="firing",
        service="storefront",
        namespace="shop",
        fingerprint="newrelic:98765",
        external_id="98765",
        rule_id="1234567",
        rule_name="Apdex below 0.7",
        starts_at=at(2026, 4, 13, 18, 0),
    )
    assert alert.labels == {
        "namespace": "shop",
        "team": "web",
        "state": "open",
        "policy": "Storefront SLOs",
        "severity": "CRITICAL",
    }


def test_newrelic_legacy_closed_incident_resolves_it():
    [alert] = normalize_case("newrelic", "legacy_closed")

    assert fields_of(alert) == expected(
        source="newrelic",
        title="Apdex below 0.7",
        description="Apdex score < 0.7 for at least 5 minutes on 'storefront'",
        severity="critical",
        status="resolved",
        service="storefront",
        fingerprint="newrelic:98765",
        external_id="98765",
        rule_id="1234567",
        rule_name="Apdex below 0.7",
        ends_at=at(2026, 4, 13, 18, 30),
    )


NEWRELIC_HOSTILE = [
    ("newrelic", {}, "Neither a New Relic workflow issue"),
    ("newrelic", {"title": "CPU", "priority": "HIGH"}, "Neither a New Relic workflow issue"),
    ("newrelic", {"state": "ACTIVATED"}, "'id' is required"),
    ("newrelic", {"id": "c5f", "state": None}, "'state' is required"),
    ("newrelic", {"id": "c5f", "state": "ACTIVATED", "accumulations": []}, "'accumulations' must be a JSON"),
    ("newrelic", {"id": "c5f", "state": "ACTIVATED", "entitiesData": "x"}, "'entitiesData' must be a JSON"),
    (
        "newrelic",
        {"id": "c5f", "state": "ACTIVATED", "alertConditionNames": "x"},
        "'alertConditionNames' must",
    ),
    ("newrelic", {"incident_id": None, "current_state": "open"}, "'incident_id' is required"),
    ("newrelic", {"incident_id": 1, "targets": {"name": "x"}}, "'targets' must be a list"),
    (
        "newrelic",
        {"incident_id": 1, "targets": [{"labels": "x"}]},
        "'targets[0].labels' must be a JSON object",
    ),
]
NEWRELIC_LIFECYCLES = [
    ("newrelic", "workflow_activated", "workflow_closed"),
    ("newrelic", "legacy_open", "legacy_closed"),
]


# Synthetics


def test_synthetics_failed_check_is_a_high_alert_with_its_response_time():
    [alert] = normalize_case("synthetics", "failed")

    assert fields_of(alert) == expected(
        source="synthetics",
        title="Login flow failed from eu-west-1",
        description="Timed out after 10000 ms waiting for #submit",
        severity="high",
        status="firing",
        service="storefront",
        fingerprint="synthetics:chk-login-flow:eu-west-1",
        external_id="chk-login-flow",
        rule_id="chk-login-flow",
        rule_name="Login flow",
        metric="response_time_ms",
        threshold=2000.0,
        actual_value=10000.0,
        starts_at=at(2026, 4, 13, 15, 0),
    )


def test_synthetics_degraded_check_is_judged_from_its_response_time():
    [alert] = normalize_case("synthetics", "degraded")

    assert fields_of(alert) == expected(
        source="synthetics",
        title="Search API is degraded from us-east-1",
        description="https://api.example.com/search?q=shoes answered in 2600 ms (threshold 1000 ms)",
        severity="critical",  # 2600 ms is more than twice the 1000 ms threshold
        status="firing",
        service="search",
        fingerprint="synthetics:chk-search-api:us-east-1",
        external_id="chk-search-api",
        rule_id="chk-search-api",
        rule_name="Search API",
        metric="response_time_ms",
        threshold=1000.0,
        actual_value=2600.0,
        starts_at=at(2026, 4, 13, 15, 0),
    )


def test_synthetics_passed_check_resolves_the_failure_from_the_same_location():
    [alert] = normalize_case("synthetics", "passed")

    assert fields_of(alert) == expected(
        source="synthetics",
        title="Login flow passed from eu-west-1",
        description="https://shop.example.com/login answered in 840 ms (threshold 2000 ms)",
        severity="info",
        status="resolved",
        service="storefront",
        fingerprint="synthetics:chk-login-flow:eu-west-1",
        external_id="chk-login-flow",
        rule_id="chk-login-flow",
        rule_name="Login flow",
        metric="response_time_ms",
        threshold=2000.0,
        actual_value=840.0,
        ends_at=at(2026, 4, 13, 15, 20),
    )


def test_synthetics_reads_one_result_per_location():
    alerts = normalize_case("synthetics", "three_locations")

    assert [(a.fingerprint, a.status, a.severity, a.actual_value) for a in alerts] == [
        ("synthetics:chk-home:eu-west-1", "firing", "high", None),
        ("synthetics:chk-home:us-east-1", "firing", "high", None),
        ("synthetics:chk-home:ap-southeast-2", "resolved", "info", 410.0),
    ]


SYNTHETICS_HOSTILE = [
    ("synthetics", {}, "'check_id' is required"),
    ("synthetics", {"status": "failed"}, "'check_id' is required"),
    ("synthetics", {"check_id": "chk"}, "'status' must be failed, degraded or passed, not missing"),
    ("synthetics", {"check_id": "chk", "status": "exploded"}, "not exploded"),
    ("synthetics", {"check_id": "chk", "status": ["failed"]}, "'status' must be failed"),
    ("synthetics", {"check_id": "chk", "status": "failed", "labels": "x"}, "'labels' must be a JSON object"),
    ("synthetics", [], "'payload' is an empty list"),
    ("synthetics", {"results": []}, "'results' is an empty list"),
    ("synthetics", {"results": "x"}, "'results' must be a list"),
    ("synthetics", {"results": [None]}, "'results[0]' must be a JSON object"),
]
SYNTHETICS_LIFECYCLES = [
    ("synthetics", "failed", "passed"),
]
SYNTHETICS_N_ALERTS = [
    ("synthetics", "three_locations", 3),
]


# Repeats and differences, across sources

LIFECYCLES = [
    *ALERTMANAGER_LIFECYCLES,
    *GRAFANA_LIFECYCLES,
    *PAGERDUTY_LIFECYCLES,
    *OPSGENIE_LIFECYCLES,
    *DATADOG_LIFECYCLES,
    *NEWRELIC_LIFECYCLES,
    *SYNTHETICS_LIFECYCLES,
]


@pytest.mark.parametrize(("source", "first", "later"), LIFECYCLES)
def test_later_notifications_of_one_alert_share_its_fingerprint(source, first, later):
    opened = normalize_case(source, first)[0]

    updated = normalize_case(source, later)[0]

    assert opened.fingerprint == updated.fingerprint


@pytest.mark.parametrize(
    ("source", "case"), [(path.parent.name, path.stem) for path in sorted(PAYLOADS.glob("*/*.json"))]
)
def test_the_same_payload_twice_gives_the_same_fingerprints(source, case):
    first = [alert.fingerprint for alert in normalize_case(source, case)]

    second = [alert.fingerprint for alert in normalize_case(source, case)]

    assert first == second


N_ALERTS = [
    *WEBHOOK_N_ALERTS,
    *ALERTMANAGER_N_ALERTS,
    *PROMETHEUS_N_ALERTS,
    *GRAFANA_N_ALERTS,
    *SYNTHETICS_N_ALERTS,
]


@pytest.mark.parametrize(("source", "case", "count"), N_ALERTS)
def test_a_post_with_n_alerts_gives_n_alerts_with_different_fingerprints(source, case, count):
    alerts = normalize_case(source, case)

    assert len(alerts) == count
    assert len({alert.fingerprint for alert in alerts}) == count


def test_different_alerts_from_all_payload_files_have_different_fingerprints():
    lifecycle_pairs = {(source, case) for source, _, case in LIFECYCLES}
    fingerprints = [
        alert.fingerprint
        for path in sorted(PAYLOADS.glob("*/*.json"))
        if (path.parent.name, path.stem) not in lifecycle_pairs
        for alert in normalize_case(path.parent.name, path.stem)
    ]

    assert len(fingerprints) == len(set(fingerprints))


# Hostile input: the wrong shape is InvalidPayload, with a message that names the field

NOT_AN_OBJECT = [None, 42, 3.5, True, "alerts", ["x"]]
HOSTILE = [
    *[(source, payload, "must be a JSON object") for source in SOURCES for payload in NOT_AN_OBJECT],
    *WEBHOOK_HOSTILE,
    *ALERTMANAGER_HOSTILE,
    *PROMETHEUS_HOSTILE,
    *GRAFANA_HOSTILE,
    *PAGERDUTY_HOSTILE,
    *OPSGENIE_HOSTILE,
    *DATADOG_HOSTILE,
    *NEWRELIC_HOSTILE,
    *SYNTHETICS_HOSTILE,
]


@pytest.mark.parametrize(("source", "payload", "message"), HOSTILE)
def test_a_payload_of_the_wrong_shape_is_refused_with_a_message_naming_the_field(source, payload, message):
    normalizer = normalizers.get(source)()

    with pytest.raises(InvalidPayload, match=re.escape(message)):
        normalizer.normalize(copy.deepcopy(payload))


# Fuzzing: whatever arrives, the answer is alerts or InvalidPayload, never another exception

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", "firing", "resolved", "0001-01-01T00:00:00Z", "1776092460000", "P1", "CLOSED"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
PAYLOAD_FILES = [
    (path.parent.name, json.loads(path.read_text())) for path in sorted(PAYLOADS.glob("*/*.json"))
]


def paths_in(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_in(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_in(child, (*prefix, index))
    return found


def replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copied = copy.copy(value)
    copied[path[0]] = replaced(value[path[0]], path[1:], new)
    return copied


def normalizes_or_refuses(source: str, payload: Any) -> None:
    try:
        alerts = normalizers.get(source)().normalize(payload)
    except InvalidPayload as exc:
        assert str(exc)
    else:
        assert isinstance(alerts, list)
        assert all(isinstance(alert, NormalizedAlert) and alert.fingerprint for alert in alerts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(SOURCES), payload=json_values)
def test_any_json_value_normalizes_or_is_refused(source, payload):
    normalizes_or_refuses(source, payload)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_real_payload_with_any_parts_replaced_normalizes_or_is_refused(data):
    source, payload = data.draw(st.sampled_from(PAYLOAD_FILES))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(paths_in(payload)))
        payload = replaced(payload, path, data.draw(json_values))

    normalizes_or_refuses(source, payload)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_real_payload_read_by_another_normalizer_normalizes_or_is_refused(data):
    _, payload = data.draw(st.sampled_from(PAYLOAD_FILES))

    normalizes_or_refuses(data.draw(st.sampled_from(SOURCES)), payload)
