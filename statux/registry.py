"""A registry per pluggable kind (normalizers, AI providers, log backends, action providers, notifiers)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class UnknownIntegration(LookupError):
    pass


class Registry:
    """Integrations register themselves by `name`; `GET /adapters` lists what is really here."""

    all: dict[str, Registry] = {}

    def __init__(self, kind: str) -> None:
        if kind in Registry.all:
            raise ValueError(f"A registry of {kind} exists already.")
        self.kind = kind
        self._items: dict[str, Any] = {}
        Registry.all[kind] = self

    def register(self, item: T) -> T:
        name = getattr(item, "name", "")
        if not name:
            raise ValueError(f"A {self.kind} integration needs a name.")
        if name in self._items:
            raise ValueError(f"{self.kind} '{name}' is registered already.")
        self._items[name] = item
        return item

    def get(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise UnknownIntegration(f"Unknown {self.kind} '{name}'; known: {known}.") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[Any]:
        return [self._items[name] for name in self.names()]

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)


def registry_names(kind: str, attribute: Callable[[Any], list[str]] | None = None) -> list[str]:
    registry = Registry.all.get(kind)
    if registry is None:
        return []
    if attribute is None:
        return registry.names()
    return sorted({name for item in registry.items() for name in attribute(item)})


def import_integrations(package_name: str) -> None:
    """Import every module of an integration package, so each one registers itself (no list to keep)."""
    package = importlib.import_module(package_name)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package_name}.{module.name}")
