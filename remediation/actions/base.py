"""Action providers (Kubernetes …): what operators and the autonomy loop can do, behind the policy engine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from statux.registry import Registry

action_providers = Registry("action_providers")


class ActionProvider(ABC):
    name: str
    action_names: tuple[str, ...] = ()

    @abstractmethod
    def execute(self, *, action: str, params: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        """Run (or, with dry_run, preview) one action and report what happened."""
