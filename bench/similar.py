#!/usr/bin/env python
"""Measure `GET /incidents/{incident_id}/similar` against PostgreSQL with a large incident history.

Seeds the organization with 100,000 incidents (varied titles, services and descriptions; about 20% with
a resolution in the knowledge base) unless it already holds them, then asks for the similar incidents
of a few hundred random ones and prints p50/p95. Exit 1 when p95 is 100 ms or more (Issue 5).

    BENCH_PG_PORT=55441 BENCH_REDIS_PORT=56441 BENCH_STATE_DIR=/tmp/statux-bench-similar \\
        bench/serve.sh up 8011
    .venv/bin/python bench/similar.py --base-url http://127.0.0.1:8011 --env /tmp/statux-bench-similar/env
    BENCH_PG_PORT=55441 BENCH_REDIS_PORT=56441 BENCH_STATE_DIR=/tmp/statux-bench-similar bench/serve.sh stop

The seeding writes to the database of `--env` (the environment bench/serve.sh saved) directly through
Django, in batches of `bulk_create`. Only loopback servers are accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from api import (  # noqa: E402  the sibling benchmark holds the HTTP client and login helpers
    Connection,
    SetupError,
    create_api_key,
    loopback_target,
    machine,
    obtain_token,
    organization_of,
    percentile,
    revoke_api_key,
)

MAX_P95_MS = 100.0
MARKER = "bench-similar"  # fingerprint prefix of the seeded incidents
BATCH = 5000
EXIT_OK, EXIT_SLOW, EXIT_SETUP, EXIT_ERRORS = 0, 1, 2, 3

SERVICES = [
    "payments-api", "checkout-api", "cart-service", "auth-service", "user-service", "search-api",
    "inventory-service", "orders-api", "notifications-worker", "email-worker", "billing-service",
    "pricing-api", "recommendations-api", "catalog-service", "api-gateway", "frontend-web", "mobile-bff",
    "analytics-pipeline", "reporting-service", "postgres-main", "redis-cache", "kafka-broker",
    "elasticsearch", "shipping-api", "fraud-detector", "ledger-service", "media-transcoder",
    "image-resizer", "session-store", "feature-flags", "scheduler", "webhook-dispatcher", "sms-gateway",
    "loyalty-service", "tax-calculator", "invoice-generator", "audit-log", "identity-provider",
    "rate-limiter", "config-service",
]  # fmt: skip
NODES = [f"ip-10-0-{a}-{b}" for a in range(1, 5) for b in (11, 23, 37, 42, 58)]
TOPICS = ["orders", "payments", "events", "clicks", "audit", "emails"]

# alertname -> (title templates, description templates, resolutions)
ALERTS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "OOMKilled": (
        ["OOMKilled on {svc}", "{svc} pod OOMKilled", "Container {svc} killed: out of memory"],
        [
            "Pod {svc}-{pod} was OOMKilled {n} times in the last hour; memory limit {mem}Mi.",
            "Java heap space exhausted in {svc}, container restarted with exit code 137.",
        ],
        ["Increased memory limit to {mem2}Mi", "Fixed a cache that grew without bound; rolled out v{v}"],
    ),
    "KubePodCrashLooping": (
        ["KubePodCrashLooping: {svc}", "{svc} pod crash looping", "CrashLoopBackOff in {svc}"],
        [
            "Pod {svc}-{pod} is restarting {n} times / 10 minutes.",
            "Back-off restarting failed container {svc} in namespace production.",
        ],
        ["Rolled back the bad release v{v}", "Fixed missing environment variable DATABASE_URL"],
    ),
    "HighCPUUsage": (
        ["High CPU on {svc}", "CPU usage above {pct}% on {svc}", "{svc} CPU throttling"],
        ["CPU usage > {pct}% for 5 minutes on {svc}.", "Throttled periods at {pct}% of all periods."],
        ["Scaled {svc} from {n} to {n2} replicas", "Removed a hot loop in the request parser"],
    ),
    "HighLatency": (
        ["p99 latency above {s}s on {svc}", "Slow responses from {svc}", "{svc} latency SLO burn"],
        ["p99 request latency is {s}s (threshold 1s) for {svc}.", "Upstream calls from {svc} time out."],
        ["Added an index on orders(created_at)", "Raised the connection pool to {n2}"],
    ),
    "HighErrorRate": (
        ["5xx error rate above {pct}% on {svc}", "{svc} returning 503s", "Error budget burn on {svc}"],
        ["HTTP 5xx ratio at {pct}% over 10 minutes.", "Upstream connect error or disconnect/reset."],
        ["Restarted the stuck {svc} pods", "Rolled back deployment v{v} of {svc}"],
    ),
    "DiskPressure": (
        ["Disk usage above {pct}% on {node}", "Node {node} disk pressure", "Filesystem almost full"],
        ["/var/lib/docker on {node} is {pct}% full.", "Kubelet evicting pods for DiskPressure."],
        ["Pruned unused images on {node}", "Expanded the volume to 200Gi"],
    ),
    "CertificateExpiry": (
        ["TLS certificate for {svc} expires in {n} days", "Certificate expiring: {svc}.example.com"],
        ["The certificate served by {svc} expires on the {n}th.", "cert-manager renewal failed."],
        ["Renewed the certificate manually", "Fixed the cert-manager ClusterIssuer credentials"],
    ),
    "DBConnectionsExhausted": (
        ["{svc} connection pool exhausted", "Too many connections on postgres-main from {svc}"],
        ["Pool size {n2} reached, {n} requests waiting.", "FATAL: remaining connection slots reserved."],
        ["Added pgbouncer in front of postgres-main", "Lowered CONN_MAX_AGE and restarted {svc}"],
    ),
    "ReplicationLag": (
        ["Replication lag on postgres-main above {n}s", "Replica behind primary by {n}s"],
        ["Streaming replication lag {n}s on replica-2.", "WAL replay is slower than WAL generation."],
        ["Stopped the long-running analytics query", "Moved the replica to a faster disk"],
    ),
    "KafkaConsumerLag": (
        ["Consumer lag on topic {topic} for {svc}", "{svc} falling behind on {topic}"],
        ["Lag {n}000 messages on {topic}, growing.", "Consumer group {svc} rebalancing repeatedly."],
        ["Scaled consumers of {topic} to {n2}", "Fixed a poison message that blocked the partition"],
    ),
    "ProbeFailure": (
        ["Synthetic check failed: {svc} /health", "Endpoint down: {svc}", "{svc} health check failing"],
        ["Probe from eu-west got connection refused.", "GET /health answered 502 three times in a row."],
        ["Fixed the ingress annotation", "Restarted the load balancer target group"],
    ),
    "NodeNotReady": (
        ["Node {node} NotReady", "Kubelet stopped posting status on {node}"],
        ["Node {node} has been NotReady for {n} minutes.", "Container runtime is down on {node}."],
        ["Cordoned and replaced {node}", "Restarted containerd on {node}"],
    ),
    "DeploymentReplicasMismatch": (
        ["{svc} deployment replicas mismatch", "Deployment {svc} has unavailable replicas"],
        ["{n} of {n2} replicas available for {svc}.", "ImagePullBackOff: image not found."],
        ["Fixed the image tag in the {svc} deployment", "Raised the namespace quota"],
    ),
    "QueueBacklog": (
        ["Job queue backlog growing on {svc}", "{svc} queue depth above {n}000"],
        ["Queue depth {n}000 and rising; workers idle.", "Celery workers lost their broker connection."],
        ["Restarted the workers of {svc}", "Made the worker reconnect to Redis on restart"],
    ),
}


def _fill(template: str, rng: random.Random, svc: str) -> str:
    return template.format(
        svc=svc,
        node=rng.choice(NODES),
        topic=rng.choice(TOPICS),
        pod=f"{rng.getrandbits(32):08x}",
        n=rng.randint(2, 60),
        n2=rng.randint(4, 120),
        pct=rng.choice([80, 85, 90, 95, 99]),
        s=rng.choice([1, 2, 3, 5]),
        mem=rng.choice([256, 512, 1024]),
        mem2=rng.choice([1024, 2048, 4096]),
        v=f"{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}",
    )


def seed(organization, count: int, rng_seed: int = 5) -> int:
    """Add incidents (and ~20% knowledge-base resolutions) until `count` seeded ones exist; return added."""
    from analyses.models import Incident, KnowledgeBaseEntry

    rng = random.Random(rng_seed)
    have = Incident.objects.for_org(organization).filter(fingerprint__startswith=MARKER).count()
    now = datetime.now(UTC)
    names = list(ALERTS)
    for start in range(have, count, BATCH):
        incidents, entries = [], []
        for number in range(start, min(start + BATCH, count)):
            alertname = rng.choice(names)
            titles, descriptions, fixes = ALERTS[alertname]
            svc = rng.choice(SERVICES)
            created = now - timedelta(minutes=rng.randint(1, 365 * 24 * 60))
            status = rng.choices(["resolved", "closed", "open"], weights=[70, 28, 2])[0]
            incident = Incident(
                organization=organization,
                id=f"inc-bs{number:010d}",
                title=_fill(rng.choice(titles), rng, svc),
                description=" ".join(_fill(d, rng, svc) for d in rng.sample(descriptions, rng.randint(1, 2))),
                severity=rng.choice(["critical", "high", "warning", "info"]),
                status=status,
                source=rng.choice(["alertmanager", "pagerduty", "webhook", "datadog"]),
                service=svc,
                namespace="production",
                fingerprint=f"{MARKER}-{number}",
                labels={"alertname": alertname, "service": svc, "severity": "critical"},
                created_at=created,
                last_seen_at=created,
                resolved_at=None if status == "open" else created + timedelta(minutes=rng.randint(2, 600)),
            )
            incidents.append(incident)
            if rng.random() < 0.2:
                entries.append(
                    KnowledgeBaseEntry(
                        organization=organization,
                        incident=incident,
                        incident_ref=incident.id,
                        service_id=svc,
                        resolution=_fill(rng.choice(fixes), rng, svc),
                        resolved_by="bench",
                        tags=[alertname],
                        created_at=incident.resolved_at or created,
                    )
                )
        Incident.objects.bulk_create(incidents, batch_size=BATCH)
        KnowledgeBaseEntry.objects.bulk_create(entries, batch_size=BATCH)
    return max(0, count - have)


def load_env(path: str) -> None:
    """Take bench/serve.sh's saved environment (`export NAME=value` lines) unless already set."""
    for line in Path(path).read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if name and not name.startswith("#"):
            os.environ.setdefault(name.strip(), value.strip().strip("'\""))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8011")
    parser.add_argument("--env", default="/tmp/statux-bench-similar/env", help="bench/serve.sh's env file")
    parser.add_argument("--email", default="admin@demo.statux.local")
    parser.add_argument("--password", default="statux-demo-admin")
    parser.add_argument("--org", default=None)
    parser.add_argument("--incidents", type=int, default=100_000, help="seeded history (default 100,000)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests (default 300)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--limit", type=int, default=10, help="?limit= of each request")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (1 <= args.requests <= 10_000 and 0 <= args.incidents <= 1_000_000 and 1 <= args.limit <= 50):
        parser.error("--requests 1..10000, --incidents 0..1000000, --limit 1..50")
    try:
        args.target = loopback_target(args.base_url, args.timeout)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def prepare(args: argparse.Namespace, org: str) -> tuple[list[str], dict]:
    """Seed through Django (same database as the server) and pick the incidents to ask about."""
    load_env(args.env)
    import django

    django.setup()
    from django.db import connection

    from analyses.models import Incident
    from statux.models import Organization
    from statux.tenancy import organization_lookup_filter

    if connection.vendor != "postgresql":
        raise SetupError(f"the benchmark needs PostgreSQL; {args.env} points at {connection.vendor}")
    organization = Organization.objects.get(**organization_lookup_filter(org))
    started = time.perf_counter()
    added = seed(organization, args.incidents)
    if added:  # what autovacuum would do soon: statistics, and the GIN pending list merged
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE analyses_incident, analyses_knowledgebaseentry")
    seconds = round(time.perf_counter() - started, 1)
    total = Incident.objects.for_org(organization).count()
    rng = random.Random(args.seed)
    ids = [f"inc-bs{rng.randrange(args.incidents):010d}" for _ in range(args.warmup + args.requests)]
    return ids, {"incidents": total, "seeded_now": added, "seed_seconds": seconds}


def measure(args: argparse.Namespace) -> tuple[list[float], dict]:
    """Sequential requests (concurrency 1): the latency of one request, not the server's throughput."""
    setup = Connection(args.target)
    try:
        token = obtain_token(setup, args.email, args.password)
        org = organization_of(setup, token, args.org)
        ids, history = prepare(args, org)
        key_id, raw_key = create_api_key(setup, token, org)
        headers = {"X-API-Key": raw_key, "Accept": "application/json"}
        latencies, statuses, counts = [], {}, []
        try:
            for number, incident_id in enumerate(ids):
                path = f"/incidents/{quote(incident_id)}/similar?limit={args.limit}"
                began = time.perf_counter()
                status, raw = setup.request("GET", path, headers)
                elapsed = (time.perf_counter() - began) * 1000
                if number < args.warmup:
                    continue
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                latencies.append(elapsed)
                if status == 200:
                    counts.append(json.loads(raw)["count"])
        finally:
            revoke_api_key(setup, token, org, key_id)
    finally:
        setup.close()
    history |= {"org": org, "statuses": statuses, "mean_results": round(sum(counts) / max(1, len(counts)), 1)}
    return sorted(latencies), history


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    try:
        latencies, info = measure(args)
    except (SetupError, OSError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return EXIT_SETUP
    figures = {
        "requests": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else None,
    }
    errors = sum(n for code, n in info["statuses"].items() if code != "200")
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "history": info,
        "results": figures,
        "p95_target_ms": MAX_P95_MS,
    }
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(
            f"GET /incidents/{{id}}/similar?limit={args.limit} over {info['incidents']:,} incidents "
            f"(seeded {info['seeded_now']:,} in {info['seed_seconds']} s), concurrency 1"
        )
        print("| requests | errors | p50 ms | p95 ms | p99 ms | max ms | results/answer |")
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {figures['requests']} | {errors} | {figures['p50_ms']} | {figures['p95_ms']} | "
            f"{figures['p99_ms']} | {figures['max_ms']} | {info['mean_results']} |"
        )
        m = document["machine"]
        print(
            f"{m['nproc']} CPUs ({m['cpu_model']}); 1-min load average {load_before[0]:.2f} before, "
            f"{m['loadavg_after'][0]:.2f} after"
        )
    if errors:
        print(f"ERRORS: {info['statuses']}", file=sys.stderr)
        return EXIT_ERRORS
    ok = figures["p95_ms"] < MAX_P95_MS
    print(("ok:   " if ok else "FAIL: ") + f"p95 {figures['p95_ms']} ms (target under {MAX_P95_MS:g} ms)")
    return EXIT_OK if ok else EXIT_SLOW


if __name__ == "__main__":
    sys.exit(main())
