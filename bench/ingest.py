#!/usr/bin/env python
"""Load the alert ingestion path of a running Statux server on loopback with a realistic mix.

Sends `POST /webhook` (X-Source: webhook, an ingestion-scoped API key) where 90% of the alerts repeat
one of a small set of recurring alerts (deduplicated into their open incident) and 10% are new
(a new incident, often grouped under another of the same service), next to `GET /health`, the
trivial JSON view, under the same load. Prints req/s and p50/p99 and checks the issue's targets:
ingestion at least 60% of /health's req/s, and its p99 under 50 ms at that load.

    bench/serve.sh up
    .venv/bin/python bench/ingest.py --server-pids $(cat /tmp/statux-bench/pids)
    bench/serve.sh stop

Every loop is bounded in count and time; only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import (  # noqa: E402  the sibling benchmark holds the load generator
    MAX_CONCURRENCY,
    MAX_DURATION_SECONDS,
    MAX_REQUESTS,
    Connection,
    Scenario,
    SetupError,
    create_api_key,
    drive,
    loopback_target,
    machine,
    obtain_token,
    organization_of,
    revoke_api_key,
    table,
    tree_cpu_seconds,
)

MIN_RPS_RATIO, MAX_P99_MS = 0.6, 50.0


def alert_bodies(run: str, recurring: int, new_share: float, seed: int):
    """The n-th request's alert: mostly one of `recurring` repeating alerts, sometimes a new one."""
    rng = random.Random(seed)

    def body_for(number: int) -> bytes:
        if rng.random() < new_share:
            title, service = f"bench {run} new alert {number}", f"bench-svc-{number % 25}"
        else:
            k = rng.randrange(recurring)
            title, service = f"bench {run} recurring alert {k}", f"bench-svc-{k % 25}"
        return json.dumps(
            {
                "title": title,
                "service": service,
                "severity": "warning",
                "namespace": "bench",
                "description": "bench/ingest.py",
            }
        ).encode()

    return body_for


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="admin@demo.statux.local")
    parser.add_argument("--password", default="statux-demo-admin")
    parser.add_argument("--org", default=None)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--recurring", type=int, default=50, help="distinct recurring alerts (default 50)")
    parser.add_argument("--new-share", type=float, default=0.1, help="share of new alerts (default 0.1)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server-pids", default="", help="comma-separated pids for server CPU per request")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (1 <= args.concurrency <= MAX_CONCURRENCY and 1 <= args.requests <= MAX_REQUESTS):
        parser.error("--concurrency or --requests out of range")
    if not (0 < args.duration <= MAX_DURATION_SECONDS and 0 <= args.new_share <= 1 and args.recurring >= 1):
        parser.error("--duration, --new-share or --recurring out of range")
    return args


def measure(target, scenario, args, pids):
    before = tree_cpu_seconds(pids) if pids else {}
    result = drive(target, scenario, args.concurrency, args.requests, args.duration)
    if pids and result.requests:
        after = tree_cpu_seconds(pids)
        by_pid = {pid: (after.get(pid, 0.0) - before.get(pid, 0.0)) * 1000 / result.requests for pid in pids}
        result.server_cpu_ms_per_request_by_pid = {pid: round(ms, 3) for pid, ms in by_pid.items()}
        result.server_cpu_ms_per_request = round(sum(by_pid.values()), 2)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = loopback_target(args.base_url, args.timeout)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    pids = [int(pid) for pid in args.server_pids.split(",") if pid.strip()]
    setup = Connection(target)
    try:
        token = obtain_token(setup, args.email, args.password)
        org = organization_of(setup, token, args.org)
        key_id, raw_key = create_api_key(setup, token, org, scope="ingestion")
    except (SetupError, OSError) as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    run = uuid.uuid4().hex[:6]
    health = Scenario("health", "GET /health", "GET", "/health")
    ingest = Scenario(
        "ingest",
        "POST /webhook (90% repeats)",
        "POST",
        "/webhook",
        headers={"X-API-Key": raw_key, "X-Source": "webhook", "Content-Type": "application/json"},
        body_for=alert_bodies(run, args.recurring, args.new_share, args.seed),
    )
    try:
        for scenario in (health, ingest):
            drive(target, scenario, args.concurrency, args.warmup, args.duration)
        results = [measure(target, health, args, pids), measure(target, ingest, args, pids)]
    except SetupError as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        revoke_api_key(setup, token, org, key_id)
        setup.close()
    base, load = results
    load.p50_ratio_to_health = round(load.p50_ms / base.p50_ms, 2) if base.p50_ms else None
    base.p50_ratio_to_health = 1.0
    rps_ratio = load.rps / base.rps if base.rps else 0.0
    verdicts = [
        (
            rps_ratio >= MIN_RPS_RATIO,
            f"ingest req/s is {rps_ratio:.0%} of /health's (target {MIN_RPS_RATIO:.0%})",
        ),
        (load.p99_ms < MAX_P99_MS, f"ingest p99 is {load.p99_ms:.1f} ms (target under {MAX_P99_MS:.0f} ms)"),
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "machine": machine(),
                    "results": [asdict(r) for r in results],
                    "rps_ratio": round(rps_ratio, 3),
                },
                indent=2,
            )
        )
    else:
        print(table(results))
        for result in results:
            if result.server_cpu_ms_per_request_by_pid:
                shares = ", ".join(
                    f"{pid}: {ms:.2f}" for pid, ms in result.server_cpu_ms_per_request_by_pid.items()
                )
                print(f"{result.name}: server CPU ms/req by --server-pids tree: {shares}")
        for ok, message in verdicts:
            print(("ok:   " if ok else "FAIL: ") + message)
    if any(r.errors for r in results):
        return 3
    return 0 if all(ok for ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
