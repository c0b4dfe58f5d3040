"""Gunicorn settings for production and the benchmark (bench/serve.sh), read from the environment.

Run with `gunicorn -c gunicorn.conf.py statux.wsgi:application`. Every value below can be overridden
by an environment variable; the defaults suit a small host behind a reverse proxy on loopback.
"""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
workers = _int("WEB_CONCURRENCY", 2)
# gthread keeps client connections alive and overlaps database and Redis waits; sync workers close every
# connection, which cut /health to a third of gthread's throughput in bench/api.py.
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
backlog = _int("GUNICORN_BACKLOG", 2048)
# Recycling a worker bounds a slow leak; off by default so a benchmark does not time worker restarts.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 10)
preload_app = os.environ.get("GUNICORN_PRELOAD", "0") == "1"
# Only the proxy in front of us may set X-Forwarded-*; a comma-separated list, or "*" behind a trusted LB.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The heartbeat file on a tmpfs: on a disk-backed /tmp a slow fsync can get a healthy worker killed.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Access logging costs a write per request; the proxy usually logs already. GUNICORN_ACCESS_LOG=- for stdout.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "statux"
# Recent gunicorn opens a control socket under $HOME; nothing here uses it, so it is off unless named.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):

    def child_exit(server, worker):
        # A dead worker's live gauges would otherwise stay in the multiprocess files and be summed forever.
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
