"""Notification channels (email, Slack, Teams, PagerDuty …)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from statux.registry import Registry

notifiers = Registry("notification_channels")


class Notifier(ABC):
    name: str

    @abstractmethod
    def send(self, *, subject: str, body: str, target: dict[str, Any]) -> None:
        """Deliver one message; raise on failure so the task can retry."""
