"""A real Celery worker on Redis runs our task code against the real database (CI: PostgreSQL + Redis)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from statux.models import Heartbeat
from statux.tasks import worker_probe_task

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(redis_url: str, log_path: Path, queues: str = "default") -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "statux",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queues,
            "-n",
            f"test-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for_heartbeat(name: str, worker: subprocess.Popen, log_path: Path, seconds: float = 60) -> Heartbeat:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (heartbeat := Heartbeat.objects.filter(name=name).first()) is not None:
            return heartbeat
        assert worker.poll() is None, f"worker exited with {worker.returncode}:\n{log_path.read_text()}"
        time.sleep(0.2)
    raise AssertionError(f"no worker ran the task within {seconds}s:\n{log_path.read_text()}")


def stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()


def test_a_task_sent_by_the_app_runs_in_a_real_worker(settings, tmp_path):
    log_path = tmp_path / "worker.log"
    worker = start_worker(settings.REDIS_URL, log_path)
    try:
        name = f"probe-{uuid.uuid4().hex}"

        worker_probe_task.delay(name)

        heartbeat = wait_for_heartbeat(name, worker, log_path)
        assert heartbeat.details["host"] == socket.gethostname()
    finally:
        stop(worker)


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of this test's own, so it can be restarted under a running worker."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is required (CI installs it)"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return process
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    state = {"process": start()}

    def restart() -> None:
        state["process"].kill()
        state["process"].wait()
        time.sleep(2)  # the worker notices the lost connection and starts retrying
        state["process"] = start()

    yield f"redis://127.0.0.1:{port}/0", restart
    state["process"].kill()
    state["process"].wait()


def test_a_worker_survives_a_broker_restart_and_keeps_working(private_redis, tmp_path):
    redis_url, restart_redis = private_redis
    producer = Celery(broker=redis_url, set_as_current=False)  # shared tasks keep using our app
    log_path = tmp_path / "worker.log"
    worker = start_worker(redis_url, log_path)
    try:
        before = f"probe-{uuid.uuid4().hex}"
        producer.send_task("statux.worker_probe", args=[before], queue="default")
        wait_for_heartbeat(before, worker, log_path)

        restart_redis()
        after = f"probe-{uuid.uuid4().hex}"
        producer.send_task("statux.worker_probe", args=[after], queue="default")

        wait_for_heartbeat(after, worker, log_path, seconds=90)
        assert worker.poll() is None
    finally:
        stop(worker)
        producer.close()
