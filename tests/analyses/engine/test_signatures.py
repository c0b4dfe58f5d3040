"""Pre-analysis signatures, one realistic incident per failure class."""

from __future__ import annotations

import re

import pytest

from analyses.providers.base import IncidentContext, SignatureMatch
from analyses.signatures import SIGNATURES, detect_signatures, evidence_fields, playbooks_for
from remediation.catalog import ACTION_CATALOG


def context(**fields) -> IncidentContext:
    return IncidentContext(incident_id="inc-0123456789ab", organization_id="org-1", **{"title": "", **fields})


DB_HOST = "orders-db.production.svc.cluster.local"

CASES = {
    "oom_killed": (
        context(
            title="KubeContainerOOMKilled",
            labels={"alertname": "KubeContainerOOMKilled", "container": "api", "reason": "OOMKilled"},
            kubernetes={"last_termination_reason": "OOMKilled", "last_exit_code": 137, "restart_count": 2},
            log_excerpt='Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
        ),
        "kubernetes: last_termination_reason=OOMKilled",
    ),
    "crash_loop": (
        context(
            title="KubePodCrashLooping",
            description="Pod production/payments-5f7d9c8b4-abcde (payments) is in waiting state (reason: "
            '"CrashLoopBackOff").',
            labels={"alertname": "KubePodCrashLooping", "namespace": "production"},
            kubernetes={"pod_status": "CrashLoopBackOff", "restart_count": 12, "last_exit_code": 1},
            log_excerpt="panic: runtime error: invalid memory address or nil pointer dereference",
        ),
        "kubernetes: pod_status=CrashLoopBackOff",
    ),
    "image_pull": (
        context(
            title="KubePodNotReady",
            description="Pod production/web-6b9f7c-q8z2x has been in a non-ready state for longer than "
            "15 minutes.",
            kubernetes={"pod_status": "Pending", "waiting_reason": "ImagePullBackOff"},
            log_excerpt='Failed to pull image "registry.example.com/web:v2.4.1": rpc error: code = NotFound',
        ),
        "kubernetes: waiting_reason=ImagePullBackOff",
    ),
    "cpu_throttling": (
        context(
            title="CPUThrottlingHigh",
            description="52.3% throttling of CPU in namespace production for container api in pod "
            "api-7c9d-xyz.",
            labels={"alertname": "CPUThrottlingHigh", "container": "api"},
        ),
        "labels: alertname=CPUThrottlingHigh",
    ),
    "memory_leak": (
        context(
            title="Memory of search-indexer growing",
            description="Memory working set of search-indexer has grown steadily for 6 hours and will reach "
            "its memory limit in 2h.",
            labels={"alertname": "ContainerMemoryUsageGrowing"},
            log_excerpt="[Full GC (Ergonomics) 1843200K->1843100K(2097152K), 4.1 secs]",
        ),
        "labels: alertname=ContainerMemoryUsageGrowing",
    ),
    "disk_pressure": (
        context(
            title="KubePersistentVolumeFillingUp",
            description="The PersistentVolume claimed by data-postgres-0 in Namespace databases is only "
            "3.2% free.",
            labels={"alertname": "KubePersistentVolumeFillingUp", "persistentvolumeclaim": "data-postgres-0"},
            log_excerpt='PANIC: could not write to file "pg_wal/xlogtemp.123": No space left on device',
        ),
        'logs: PANIC: could not write to file "pg_wal/xlogtemp.123": No space left on device',
    ),
    "connection_pool": (
        context(
            title="checkout-api 5xx error rate above 5%",
            labels={"alertname": "HighErrorRate", "service": "checkout-api"},
            log_excerpt="WARN HikariPool-1 - Connection is not available, request timed out after 30000ms.\n"
            "FATAL: sorry, too many clients already",
        ),
        "logs: WARN HikariPool-1 - Connection is not available, request timed out after 30000ms.",
    ),
    "http_5xx_spike": (
        context(
            title="api-gateway error rate",
            description="5xx responses are 12% of requests on api-gateway",
            labels={"alertname": "ServiceHighErrorRate", "status_code": "503"},
            log_excerpt='10.0.0.1 - - [23/Nov/2026:10:31:02 +0000] "GET /api/orders HTTP/1.1" 503 0',
        ),
        "labels: alertname=ServiceHighErrorRate",
    ),
    "latency_regression": (
        context(
            title="APIHighLatency search-api",
            description="p99 latency of search-api is 2.4s, above the 500ms SLO",
            labels={"alertname": "APIHighLatency"},
            metric="http_request_duration_seconds",
        ),
        "labels: alertname=APIHighLatency",
    ),
    "certificate_expiry": (
        context(
            title="TLS handshake failures on payments-gateway",
            labels={"alertname": "BlackboxSSLCertificateWillExpireSoon"},
            log_excerpt='Get "https://payments.internal:8443/health": x509: certificate has expired or '
            "is not yet valid: current time 2026-11-23T10:30:00Z is after 2026-11-22T23:59:59Z",
        ),
        "labels: alertname=BlackboxSSLCertificateWillExpireSoon",
    ),
    "dns_failure": (
        context(
            title="orders-api cannot reach its database",
            log_excerpt=f"dial tcp: lookup {DB_HOST} on 10.96.0.10:53: no such host",
        ),
        f"logs: dial tcp: lookup {DB_HOST} on 10.96.0.10:53: no such host",
    ),
    "node_not_ready": (
        context(
            title="KubeNodeNotReady",
            description="ip-10-0-3-17.ec2.internal has been unready for more than 15 minutes.",
            labels={"alertname": "KubeNodeNotReady", "node": "ip-10-0-3-17.ec2.internal"},
            kubernetes={
                "node": "ip-10-0-3-17.ec2.internal",
                "node_conditions": [
                    {"type": "MemoryPressure", "status": "Unknown"},
                    {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"},
                ],
            },
        ),
        "kubernetes: node_conditions: type=Ready status=Unknown reason=NodeStatusUnknown",
    ),
    "dependency_timeout": (
        context(
            title="checkout-api: calls to payments-service failing",
            log_excerpt="rpc error: code = DeadlineExceeded desc = context deadline exceeded\n"
            "upstream request timeout",
        ),
        "logs: rpc error: code = DeadlineExceeded desc = context deadline exceeded",
    ),
    "rate_limited": (
        context(
            title="Payment provider errors",
            log_excerpt="POST https://api.stripe.com/v1/charges -> 429 Too Many Requests",
        ),
        "logs: POST https://api.stripe.com/v1/charges -> 429 Too Many Requests",
    ),
    "queue_backlog": (
        context(
            title="KafkaConsumerGroupLag",
            description="Consumer group order-events lag is 184302 messages on topic orders",
            labels={"alertname": "KafkaConsumerGroupLag", "consumergroup": "order-events", "topic": "orders"},
        ),
        "labels: alertname=KafkaConsumerGroupLag",
    ),
    "bad_deploy": (
        context(
            title="KubeDeploymentReplicasMismatch",
            description="Deployment production/checkout-api has not matched the expected number of replicas "
            "for longer than 15 minutes.",
            labels={"alertname": "KubeDeploymentReplicasMismatch"},
            deploy={"deploy_id": "deploy-9f2c", "service": "checkout-api", "minutes_before_incident": 6},
            log_excerpt="ModuleNotFoundError: No module named 'pricing_v2'",
        ),
        "deploy: deploy_id=deploy-9f2c service=checkout-api, deployed 6 minutes before the incident",
    ),
    "unschedulable": (
        context(
            title="KubePodNotScheduled",
            kubernetes={"pod_status": "Pending", "reason": "Unschedulable"},
            log_excerpt="0/6 nodes are available: 3 Insufficient memory, 3 node(s) had untolerated taint.",
        ),
        "kubernetes: reason=Unschedulable",
    ),
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_each_failure_class_ranks_first_on_its_own_incident_with_quoted_evidence(key):
    incident, quoted = CASES[key]

    matches = detect_signatures(incident)

    assert matches[0].key == key, [(match.key, match.score) for match in matches]
    assert quoted in matches[0].evidence
    assert 0 < matches[0].score <= 1


def test_every_case_class_is_in_the_catalog_and_every_catalog_class_has_a_case():
    assert {signature.key for signature in SIGNATURES} == set(CASES)


def test_servfail_from_coredns_is_a_dns_failure():
    incident = context(
        title="Intermittent errors calling partner API",
        log_excerpt='[INFO] 10.244.1.5:43210 - 12345 "A IN api.partner.com. udp 45" SERVFAIL qr,rd 45',
    )

    assert detect_signatures(incident)[0].key == "dns_failure"


def test_node_disk_pressure_condition_is_a_disk_signature():
    incident = context(
        title="Pods evicted on worker-3",
        kubernetes={"node_conditions": {"DiskPressure": "True", "Ready": "True"}, "reason": "Evicted"},
    )

    top = detect_signatures(incident)[0]

    assert (top.key, top.playbook) == ("disk_pressure", "disk-full")
    assert "kubernetes: node_conditions.DiskPressure=True" in top.evidence


def test_a_cause_ranks_above_the_symptom_it_explains():
    incident, _ = CASES["connection_pool"]

    keys = [match.key for match in detect_signatures(incident)]

    assert keys.index("connection_pool") < keys.index("http_5xx_spike")


def test_independent_fields_score_higher_than_one_field():
    title_only = context(title="KubePodCrashLooping")
    confirmed = context(
        title="KubePodCrashLooping",
        labels={"alertname": "KubePodCrashLooping"},
        kubernetes={"pod_status": "CrashLoopBackOff"},
    )

    assert detect_signatures(title_only)[0].score < detect_signatures(confirmed)[0].score


def test_a_deploy_long_before_the_incident_is_not_a_bad_deploy():
    incident = context(title="Disk usage", deploy={"deploy_id": "deploy-1", "minutes_before_incident": 600})

    assert "bad_deploy" not in {match.key for match in detect_signatures(incident)}


def test_an_incident_of_no_known_class_matches_nothing():
    incident = context(title="Synthetic check flapped", description="The check went red, then green again.")

    assert detect_signatures(incident) == ()


def test_playbooks_follow_the_matches_strongest_first_each_once():
    matches = (
        SignatureMatch(key="oom_killed", title="", score=0.9, playbook="oom-recovery"),
        SignatureMatch(key="crash_loop", title="", score=0.6),
        SignatureMatch(key="unknown", title="", score=0.5, playbook="oom-recovery"),
    )

    assert playbooks_for(matches) == ("oom-recovery", "crashloop-triage")


def test_the_log_tail_is_scanned_and_a_huge_log_stays_bounded():
    noise = "INFO request served in 12ms\n" * 200_000
    incident = context(title="api", log_excerpt=noise + "ERROR java.lang.OutOfMemoryError: Java heap space")

    fields = evidence_fields(incident)

    assert len(fields["logs"]) <= 64_000
    assert detect_signatures(incident)[0].key == "oom_killed"


def test_label_values_of_any_type_are_read_as_text():
    incident = context(
        title="pod event",
        labels={"reason": b"OOMKilled", "restarts": 7, "ready": False, None: "x", "nest": {"a": [{"b": 2}]}},
    )

    assert detect_signatures(incident)[0].key == "oom_killed"
    assert "restarts=7" in evidence_fields(incident)["labels"]


def test_every_signature_action_is_a_catalog_action_with_exactly_its_parameters():
    for signature in SIGNATURES:
        for action in signature.actions:
            assert action.name in ACTION_CATALOG, (signature.key, action.name)
            assert {name for name, _ in action.arguments} == set(ACTION_CATALOG[action.name].parameters)


def test_every_signature_is_complete():
    for signature in SIGNATURES:
        assert signature.severity in {"critical", "high", "warning", "info"}, signature.key
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", signature.playbook), signature.key
        assert len(signature.recommendations) >= 3, signature.key
        assert signature.clues and all(clue.pattern.flags & re.IGNORECASE for clue in signature.clues)
        assert signature.explained_by <= {other.key for other in SIGNATURES}
