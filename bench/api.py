#!/usr/bin/env python3
"""Load a running Statux server on loopback and report req/s, p50 and p99 per scenario.

    bench/serve.sh up                      # PostgreSQL, Redis, gunicorn with 2 workers on :8000
    .venv/bin/python bench/api.py          # the four scenarios, a table, exit 1 if reads are too slow
    bench/serve.sh stop

Scenarios: GET /health (no auth, no database), GET /api/v1/organizations/{org}/users with a JWT and
with an X-API-Key, and POST /api/v1/auth/token/. Authenticated reads must keep their p50 within
2x of /health's; see bench/README.md for the options, exit codes and recorded figures.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import os
import platform
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

AUTH_READ_MAX_RATIO = 2.0
MAX_REQUESTS = 100_000  # per scenario; keeps a typo from running for hours
MAX_DURATION_SECONDS = 600.0
MAX_CONCURRENCY = 256
SCENARIO_KEYS = ("health", "jwt", "apikey", "token")
AUTHENTICATED_READS = ("jwt", "apikey")

EXIT_OK, EXIT_SLOW_READS, EXIT_SETUP, EXIT_ERRORS = 0, 1, 2, 3


class SetupError(Exception):
    """The server is not there, or will not log us in: nothing to measure."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    timeout: float


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    body_for: Callable[[int], bytes] | None = None  # the n-th request's body, for scenarios that vary it


@dataclass
class Result:
    key: str
    name: str
    requests: int
    errors: int
    statuses: dict[str, int]
    stopped_by_time: bool
    elapsed_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    p50_ratio_to_health: float | None = None
    client_cpu_ms_per_request: float | None = None
    server_cpu_ms_per_request: float | None = None
    server_cpu_ms_per_request_by_pid: dict[int, float] | None = None


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects after the server closes it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.conn = http.client.HTTPConnection(target.host, target.port, timeout=target.timeout)

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> tuple[int, bytes]:
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a fresh socket
            raise

    def json(
        self,
        method: str,
        path: str,
        token: str | None = None,
        payload: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict]:
        headers = {"Accept": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        # Setup calls can be minutes apart, past the server's keep-alive: each gets a fresh socket.
        self.conn.close()
        status, raw = self.request(method, path, headers, body)
        try:
            return status, json.loads(raw) if raw else {}
        except ValueError:
            return status, {"raw": raw[:200].decode(errors="replace")}

    def close(self) -> None:
        self.conn.close()


def is_success(code: str) -> bool:
    return code.isdigit() and 200 <= int(code) < 300


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def tree_cpu_seconds(roots: list[int]) -> dict[int, float]:
    """CPU seconds of the process tree under each root, reaped children included, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # exited while we looked
            continue
        # Fields after the command, from 0: state, ppid, ..., utime, stime, cutime, cstime at 11..14.
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = sum(int(value) for value in fields[11:15])
    totals = dict.fromkeys(roots, 0.0)
    for pid, used in ticks.items():
        ancestor, hops = pid, 0
        while ancestor and hops < 64:
            if ancestor in totals:
                totals[ancestor] += used / tick
                break
            ancestor, hops = parents.get(ancestor, 0), hops + 1
    return totals


def drive(target: Target, scenario: Scenario, concurrency: int, count: int, duration: float) -> Result:
    """Send up to `count` requests from `concurrency` threads, stopping early after `duration` seconds."""
    lock = threading.Lock()
    issued = 0
    deadline = time.perf_counter() + duration
    per_worker: list[tuple[list[float], Counter]] = []
    ends: list[float] = []

    def worker() -> None:
        nonlocal issued
        latencies: list[float] = []
        statuses: Counter = Counter()
        connection = Connection(target)
        try:
            while True:
                with lock:
                    if issued >= count or time.perf_counter() >= deadline:
                        break
                    issued += 1
                    number = issued
                body = scenario.body_for(number) if scenario.body_for else scenario.body
                started = time.perf_counter()
                try:
                    status, _ = connection.request(scenario.method, scenario.path, scenario.headers, body)
                    code = str(status)
                except (OSError, http.client.HTTPException) as exc:
                    code = type(exc).__name__
                latencies.append(time.perf_counter() - started)
                statuses[code] += 1
        finally:
            connection.close()
            with lock:
                per_worker.append((latencies, statuses))
                ends.append(time.perf_counter())

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        # Each request is bounded by the socket timeout, so a worker ends by deadline + timeout.
        thread.join(timeout=duration + target.timeout + 5)
    if any(thread.is_alive() for thread in threads):
        raise SetupError(f"{scenario.name}: workers did not finish; is the server hung?")

    latencies = sorted(value for worker_latencies, _ in per_worker for value in worker_latencies)
    statuses: Counter = Counter()
    for _, worker_statuses in per_worker:
        statuses.update(worker_statuses)
    elapsed = max(ends, default=started) - started
    done = len(latencies)
    errors = sum(n for code, n in statuses.items() if not is_success(code))
    ms = [value * 1000 for value in latencies]
    return Result(
        key=scenario.key,
        name=scenario.name,
        requests=done,
        errors=errors,
        statuses=dict(sorted(statuses.items())),
        stopped_by_time=done < count,
        elapsed_s=round(elapsed, 3),
        rps=round(done / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(ms, 50), 2),
        p90_ms=round(percentile(ms, 90), 2),
        p99_ms=round(percentile(ms, 99), 2),
        max_ms=round(ms[-1], 2) if ms else math.nan,
        mean_ms=round(sum(ms) / done, 2) if done else math.nan,
    )


def obtain_token(connection: Connection, email: str, password: str) -> str:
    status, body = connection.json(
        "POST", "/api/v1/auth/token/", payload={"email": email, "password": password}
    )
    if status == 429:
        raise SetupError(
            "token issuance was throttled (429); start the server with API_ANON_RATE_LIMIT=1000000/min"
        )
    if status != 200 or "access" not in body:
        raise SetupError(f"POST /api/v1/auth/token/ answered {status}: {body}; check --email/--password")
    return body["access"]


def organization_of(connection: Connection, token: str, wanted: str | None) -> str:
    status, body = connection.json("GET", "/api/v1/users/me", token=token)
    if status != 200:
        raise SetupError(f"GET /api/v1/users/me answered {status}: {body}")
    slugs = [org["slug"] for org in body.get("organizations", [])]
    if wanted:
        return wanted
    if not slugs:
        raise SetupError(f"{body.get('email')} belongs to no organization; run `manage.py seed_demo`")
    return slugs[0]


def create_api_key(connection: Connection, token: str, org: str, scope: str = "read") -> tuple[str, str]:
    status, body = connection.json(
        "POST",
        "/api/v1/apikeys",
        token=token,
        payload={"name": "bench", "scope": scope},
        headers={"X-Workspace-Id": org},
    )
    if status != 201:
        raise SetupError(f"POST /api/v1/apikeys answered {status}: {body}; the user needs manage_keys")
    return body["key_id"], body["api_key"]


def revoke_api_key(connection: Connection, token: str, org: str, key_id: str) -> None:
    status, body = connection.json(
        "DELETE", f"/api/v1/apikeys/{quote(key_id)}", token=token, headers={"X-Workspace-Id": org}
    )
    if status != 200:
        print(f"warning: could not revoke API key {key_id}: {status} {body}", file=sys.stderr)


def loopback_target(base_url: str, timeout: float) -> Target:
    """The host and port of `base_url`; ValueError unless it is plain HTTP on a loopback address."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"--base-url must be http://HOST[:PORT] with no path, not {base_url!r}")
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"refusing to load {host}: the benchmark only drives a server on loopback")
    return Target(host=host, port=parts.port or 80, timeout=timeout)


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model
            )
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": os.getloadavg(),
    }


def table(results: list[Result]) -> str:
    with_cpu = any(r.server_cpu_ms_per_request is not None for r in results)
    rows = [("scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms", "p50/health")]
    if with_cpu:
        rows[0] += ("server CPU ms/req",)
    for r in results:
        codes = ", ".join(f"{code}x{n}" for code, n in r.statuses.items() if not is_success(code))
        errors = f"{r.errors} ({codes})" if r.errors else "0"
        ratio = f"{r.p50_ratio_to_health:.2f}" if r.p50_ratio_to_health is not None else "-"
        row = (
            r.name,
            f"{r.requests}{'*' if r.stopped_by_time else ''}",
            errors,
            f"{r.rps:.1f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            ratio,
        )
        if with_cpu:
            row += (f"{r.server_cpu_ms_per_request:.2f}" if r.server_cpu_ms_per_request is not None else "-",)
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2])]
        cells += [cell.rjust(width) for cell, width in zip(row[3:], widths[3:], strict=True)]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--base-url", default="http://127.0.0.1:8000", help="loopback only (default %(default)s)"
    )
    parser.add_argument(
        "--email", default="admin@demo.statux.local", help="login (default: seed_demo's admin)"
    )
    parser.add_argument("--password", default="statux-demo-admin")
    parser.add_argument("--org", help="organization slug or id (default: the user's first)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default %(default)s)")
    parser.add_argument("--requests", type=int, default=2000, help="per scenario (default %(default)s)")
    parser.add_argument(
        "--duration",
        type=float,
        default=30.0,
        help="seconds per scenario before it stops early (default %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=100,
        help="unmeasured requests per scenario first; token issuance does a tenth (default %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="per request, seconds (default %(default)s)"
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIO_KEYS),
        help=f"comma-separated subset of {','.join(SCENARIO_KEYS)} (default: all)",
    )
    parser.add_argument(
        "--server-pids",
        default="",
        help="comma-separated pids (gunicorn master, postmaster, redis-server) whose process trees' CPU time "
        "is reported per request; bench/serve.sh writes them to /tmp/statux-bench/pids",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency must be 1..{MAX_CONCURRENCY}")
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be 1..{MAX_REQUESTS}")
    if not 0 < args.duration <= MAX_DURATION_SECONDS:
        parser.error(f"--duration must be in (0, {MAX_DURATION_SECONDS:g}]")
    if not 0 <= args.warmup <= MAX_REQUESTS:
        parser.error(f"--warmup must be 0..{MAX_REQUESTS}")
    if not 0 < args.timeout <= 120:
        parser.error("--timeout must be in (0, 120]")
    try:
        args.server_pids = [int(pid) for pid in args.server_pids.split(",") if pid.strip()]
    except ValueError:
        parser.error("--server-pids takes comma-separated process ids")
    missing = [pid for pid in args.server_pids if not os.path.exists(f"/proc/{pid}")]
    if missing:
        parser.error(f"--server-pids: no such process {missing}; the server must run on this machine")
    try:
        args.target = loopback_target(args.base_url, args.timeout)
    except ValueError as exc:
        parser.error(str(exc))
    args.scenarios = [key.strip() for key in args.scenarios.split(",") if key.strip()]
    unknown = set(args.scenarios) - set(SCENARIO_KEYS)
    if unknown or not args.scenarios:
        parser.error(f"--scenarios takes {','.join(SCENARIO_KEYS)}; unknown: {','.join(sorted(unknown))}")
    return args


def run(args: argparse.Namespace) -> tuple[list[Result], dict]:
    target = args.target
    say = (lambda message: print(message, file=sys.stderr)) if args.json else print
    setup = Connection(target)
    try:
        try:
            status, _ = setup.request("GET", "/health")
        except OSError as exc:
            raise SetupError(
                f"nothing answers at {args.base_url} ({exc}); start it with bench/serve.sh up"
            ) from exc
        if status != 200:
            raise SetupError(f"GET /health answered {status}")
        token = obtain_token(setup, args.email, args.password)
        org = organization_of(setup, token, args.org)
        key_id = raw_key = None
        if "apikey" in args.scenarios:
            key_id, raw_key = create_api_key(setup, token, org)
        try:
            members = f"/api/v1/organizations/{quote(org)}/users"
            credentials = json.dumps({"email": args.email, "password": args.password}).encode()
            plans = {
                "health": lambda: Scenario("health", "GET /health", "GET", "/health"),
                # A fresh token per run: the access token lives 15 minutes, a run up to 10.
                "jwt": lambda: Scenario(
                    "jwt",
                    "GET members (JWT)",
                    "GET",
                    members,
                    {"Authorization": f"Bearer {obtain_token(setup, args.email, args.password)}"},
                ),
                "apikey": lambda: Scenario(
                    "apikey",
                    "GET members (API key)",
                    "GET",
                    members,
                    {"X-API-Key": raw_key},
                ),
                "token": lambda: Scenario(
                    "token",
                    "POST auth/token",
                    "POST",
                    "/api/v1/auth/token/",
                    {"Content-Type": "application/json"},
                    credentials,
                ),
            }
            say(
                f"Statux API benchmark against {args.base_url} (org {org}): concurrency {args.concurrency}, "
                f"up to {args.requests} requests or {args.duration:g} s per scenario"
            )
            results = []
            for key in SCENARIO_KEYS:
                if key not in args.scenarios:
                    continue
                scenario = plans[key]()
                warmup = args.warmup // 10 if key == "token" else args.warmup
                if warmup:
                    drive(target, scenario, min(args.concurrency, warmup), warmup, min(args.duration, 30.0))
                client_before = time.process_time()
                server_before = tree_cpu_seconds(args.server_pids)
                result = drive(target, scenario, args.concurrency, args.requests, args.duration)
                if result.requests:
                    per_request = 1000 / result.requests
                    client_cpu = time.process_time() - client_before
                    result.client_cpu_ms_per_request = round(client_cpu * per_request, 3)
                    if args.server_pids:
                        server_after = tree_cpu_seconds(args.server_pids)
                        by_pid = {
                            pid: (server_after[pid] - server_before[pid]) * per_request
                            for pid in server_after
                        }
                        result.server_cpu_ms_per_request_by_pid = {
                            pid: round(ms, 3) for pid, ms in by_pid.items()
                        }
                        result.server_cpu_ms_per_request = round(sum(by_pid.values()), 3)
                say(
                    f"  {scenario.name}: {result.requests} requests, {result.rps:.1f} req/s, "
                    f"p50 {result.p50_ms} ms"
                )
                results.append(result)
        finally:
            if key_id:
                revoke_api_key(setup, obtain_token(setup, args.email, args.password), org, key_id)
    finally:
        setup.close()
    return results, {"org": org}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    try:
        results, context = run(args)
    except SetupError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return EXIT_SETUP

    health = next((r for r in results if r.key == "health"), None)
    for result in results:
        if health and health.p50_ms > 0:
            result.p50_ratio_to_health = round(result.p50_ms / health.p50_ms, 2)
    slow = [
        r
        for r in results
        if r.key in AUTHENTICATED_READS and (r.p50_ratio_to_health or 0) > AUTH_READ_MAX_RATIO
    ]
    failed = [r for r in results if r.errors]

    if args.json:
        document = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "base_url": args.base_url,
            "org": context["org"],
            # Other work on the machine skews every figure: a load near nproc before the run is a warning.
            "machine": {**machine(), "loadavg_1min_before": load_before},
            "settings": {
                "concurrency": args.concurrency,
                "requests": args.requests,
                "duration_s": args.duration,
                "warmup": args.warmup,
            },
            "results": [asdict(r) for r in results],
            "authenticated_read_max_ratio": AUTH_READ_MAX_RATIO,
            "authenticated_reads_ok": health is not None and not slow,
        }
        print(json.dumps(document, indent=2))
    else:
        print()
        print(table(results))
        if any(r.stopped_by_time for r in results):
            print(f"* stopped at the {args.duration:g} s time cap before --requests {args.requests}")
        info = machine()
        print(
            f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {info['nproc']} CPUs ({info['cpu_model']}), "
            f"Python {info['python']} client; 1-min load average {load_before:.2f} before, "
            f"{info['loadavg'][0]:.2f} after"
        )

    out = sys.stderr if args.json else sys.stdout
    for result in failed:
        print(
            f"ERRORS: {result.name}: {result.errors} of {result.requests} requests failed: {result.statuses}"
            + (
                "; 429 means the server's API_RATE_LIMIT is too low for a benchmark"
                if "429" in result.statuses
                else ""
            ),
            file=out,
        )
    if health is None:
        print("NOTE: /health was not run, so the authenticated-read check was skipped.", file=out)
    for result in slow:
        print(
            f"FAIL: {result.name} p50 {result.p50_ms} ms is {result.p50_ratio_to_health:.2f}x /health's "
            f"{health.p50_ms} ms; authenticated reads must stay within {AUTH_READ_MAX_RATIO:g}x.",
            file=out,
        )
    if health is not None and not slow and any(r.key in AUTHENTICATED_READS for r in results):
        print(f"OK: authenticated reads are within {AUTH_READ_MAX_RATIO:g}x of /health's p50.", file=out)
    if slow:
        return EXIT_SLOW_READS
    return EXIT_ERRORS if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
