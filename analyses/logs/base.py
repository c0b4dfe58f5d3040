"""Log backends the context builder reads recent log lines from (Loki, Elastic, Datadog …)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from statux.registry import Registry

log_backends = Registry("log_backends")


class LogBackend(ABC):
    name: str

    @abstractmethod
    def search(self, *, service: str, since: datetime, until: datetime, limit: int) -> list[dict]:
        """Return up to `limit` log records of `service` in the window, newest first."""
