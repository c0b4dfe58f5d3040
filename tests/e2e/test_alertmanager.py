"""End to end: a real Prometheus Alertmanager notifies our live server; incidents open, then resolve."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from analyses.models import Anomaly, Incident
from statux.audit import Actor
from statux.services import api_key_create
from statux.tenancy import Access

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

CONFIG = """
route:
  receiver: statux
  group_by: [alertname, service_id]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: statux
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def alertmanager(live_server, org, tmp_path: Path):
    assert BINARY, "prometheus-alertmanager is required (make test installs Debian's package)"
    access = Access(org, "owner", 4, ("read", "write", "manage_keys", "manage_users"))
    _, key = api_key_create(
        organization=org, name="alertmanager", scope="ingestion", access=access, actor=Actor(system="test")
    )
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG.format(url=f"{live_server.url}/api/v1/alerts/webhook", key=key))
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=debug",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"alertmanager did not start:\n{(tmp_path / 'alertmanager.log').read_text()}")
    yield base, tmp_path / "alertmanager.log"
    process.terminate()
    process.wait(timeout=20)


def wait_for(condition, log: Path, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out; alertmanager log:\n{log.read_text()[-4000:]}")


def alert(name: str, service: str, ends_at: datetime) -> dict:
    return {
        "labels": {"alertname": name, "service_id": service, "severity": "critical", "namespace": "prod"},
        "annotations": {"summary": f"{name} on {service}", "description": "fired by the e2e test"},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "endsAt": ends_at.isoformat(),
    }


def test_alertmanager_notifications_open_and_then_resolve_incidents(alertmanager, org):
    base, log = alertmanager
    later = datetime.now(UTC) + timedelta(hours=1)
    alerts = [alert("HighCPU", "payment-api", later), alert("DiskFull", "ledger", later)]

    assert httpx.post(f"{base}/api/v2/alerts", json=alerts, timeout=10).status_code == 200
    incidents = Incident.objects.for_org(org)
    opened = wait_for(lambda: list(incidents.all()) if incidents.count() == 2 else None, log)

    assert {(i.title, i.service, i.severity, i.status) for i in opened} == {
        ("HighCPU on payment-api", "payment-api", "critical", "open"),
        ("DiskFull on ledger", "ledger", "critical", "open"),
    }
    assert Anomaly.objects.for_org(org).filter(service_id="payment-api").exists()

    now = datetime.now(UTC)
    resolved = [alert("HighCPU", "payment-api", now), alert("DiskFull", "ledger", now)]
    assert httpx.post(f"{base}/api/v2/alerts", json=resolved, timeout=10).status_code == 200

    wait_for(lambda: not Incident.objects.for_org(org).exclude(status="resolved").exists(), log)
    assert Incident.objects.for_org(org).count() == 2  # resolved, not duplicated
