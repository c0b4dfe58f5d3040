"""Alert normalizers: one module per provider turns its webhook payload into normalized alerts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from statux.registry import Registry

normalizers = Registry("alert_sources")


class Normalizer(ABC):
    name: str

    @abstractmethod
    def normalize(self, payload: Any) -> list[Any]:
        """Return the normalized alerts in `payload`; raise InvalidPayload when its shape is wrong."""
