"""Log backends the context builder reads recent log lines from (Loki, Elastic, Datadog …).

Every backend returns `LogRecord`s newest first, at most `limit`, with bounded messages, and raises
only `LogBackendError`: the context builder records "logs unavailable: <reason>" and carries on.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypedDict

import httpx
from django.conf import settings

from statux.registry import Registry, UnknownIntegration

log_backends = Registry("log_backends")

MAX_MESSAGE_CHARS = 2000
MAX_LIMIT = 1000  # one analysis never needs more lines than this, whatever the caller asks
LEVELS = {"warning": "WARN", "err": "ERROR", "crit": "CRITICAL", "information": "INFO", "emerg": "FATAL"}
LEVEL_IN_TEXT = re.compile(r"\b(fatal|panic|critical|error|warn(?:ing)?|info|debug|trace)\b", re.IGNORECASE)


class LogRecord(TypedDict):
    timestamp: str  # ISO 8601 UTC
    level: str  # upper case (ERROR, WARN, INFO …), "" when the backend does not say
    message: str  # untrusted text, at most MAX_MESSAGE_CHARS
    source: str  # the backend's name


class LogBackendError(Exception):
    """No usable answer: unreachable, timeout, HTTP error, unexpected body, or not configured."""


class LogBackend(ABC):
    """One place recent log lines come from.

    Subclasses register with `@log_backends.register`, take their HTTP client through the constructor
    (tests point it at a local fake server) and build the production one in `from_settings()`.
    """

    name: str

    @classmethod
    @abstractmethod
    def from_settings(cls) -> LogBackend:
        """Build the backend from Django settings; raise LogBackendError when a setting is missing."""

    @abstractmethod
    def _search(self, *, service: str, since: datetime, until: datetime, limit: int) -> list[LogRecord]:
        """Return records of `service` in the window, in any order; may return more than `limit`."""

    def search(self, *, service: str, since: datetime, until: datetime, limit: int) -> list[LogRecord]:
        """Return up to `limit` log records of `service` in the window, newest first.

        Raises LogBackendError, never a transport or parsing exception.
        """
        if not service:
            raise LogBackendError("no service to search logs for")
        since, until = as_utc(since), as_utc(until)
        limit = max(1, min(limit, MAX_LIMIT))
        try:
            records = self._search(service=service, since=since, until=until, limit=limit)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise LogBackendError(f"{self.name} answered in an unexpected shape ({exc!r})") from exc
        records.sort(key=lambda record: record["timestamp"], reverse=True)
        return records[:limit]

    def close(self) -> None:  # noqa: B027  a backend without connections has nothing to release
        """Release connections; the backend is not used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def record(self, *, timestamp: datetime, level: str, message: str) -> LogRecord:
        return {
            "timestamp": iso_utc(timestamp),
            "level": normalize_level(level),
            "message": truncate(message.rstrip(), MAX_MESSAGE_CHARS),
            "source": self.name,
        }


class HttpLogBackend(LogBackend):
    """A backend behind an HTTP JSON API, reached with an `httpx.Client` whose base_url is the server."""

    def __init__(self, *, client: httpx.Client) -> None:
        self.client = client

    @staticmethod
    def build_client(*, base_url: str, setting: str, headers: dict[str, str] | None = None) -> httpx.Client:
        if not base_url:
            raise LogBackendError(f"{setting} is not set")
        return httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=settings.LOG_REQUEST_TIMEOUT_SECONDS
        )

    def close(self) -> None:
        self.client.close()

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return its decoded JSON body; every failure is a LogBackendError."""
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            timeout = self.client.timeout.read or self.client.timeout.connect
            within = f" within {timeout:g}s" if timeout else ""
            raise LogBackendError(f"{self.name} did not answer{within}") from exc
        except httpx.HTTPError as exc:
            raise LogBackendError(f"{self.name} is unreachable at {self.client.base_url}: {exc}") from exc
        if response.is_error:
            detail = " ".join(response.text.split())[:200]
            raise LogBackendError(f"{self.name} answered HTTP {response.status_code}: {detail}")
        try:
            return response.json()
        except ValueError as exc:
            raise LogBackendError(f"{self.name} answered HTTP {response.status_code} without JSON") from exc


def log_backend_from_settings() -> LogBackend | None:
    """The backend LOG_BACKEND names, or None when it is empty.

    Raises LogBackendError when LOG_BACKEND names no registered backend (with UnknownIntegration's
    message, which lists the known ones) or when the backend's own settings are missing: a
    misconfigured log source costs the analysis its logs, never the analysis.
    """
    if not settings.LOG_BACKEND:
        return None
    try:
        backend_class = log_backends.get(settings.LOG_BACKEND)
    except UnknownIntegration as exc:
        raise LogBackendError(str(exc)) from exc
    return backend_class.from_settings()


def log_excerpt(records: list[LogRecord], max_chars: int) -> str:
    """Format records (newest first, as backends return them) as "timestamp LEVEL message" lines,
    oldest first, keeping the newest lines that fit in `max_chars`."""
    lines: list[str] = []
    used = 0
    for record in records:
        message = " | ".join(line.strip() for line in record["message"].splitlines() if line.strip())
        line = " ".join(part for part in (record["timestamp"], record["level"], message) if part)
        if used + len(line) + len(lines) > max_chars:  # len(lines): the newlines joining them
            if not lines:
                lines.append(truncate(line, max_chars))
            break
        lines.append(line)
        used += len(line)
    return "\n".join(reversed(lines))


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """Millisecond precision, so that records of one backend sort correctly as strings."""
    return as_utc(moment).isoformat(timespec="milliseconds")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def normalize_level(level: str) -> str:
    level = (level or "").strip().lower()
    return LEVELS.get(level, level.upper())


def level_in_text(message: str) -> str:
    """The first level word of a line that carries no level label ("level=error", "[WARN]", "ERROR:")."""
    match = LEVEL_IN_TEXT.search(message[:200])
    return match.group(1) if match else ""


def truncate(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
