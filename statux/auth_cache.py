"""Who a credential is, cached per process and invalidated by one auth version counter in Redis.

Every authenticated request needs the user and the membership of the token's organization, or the
API key row. They change rarely, so each web process keeps them in memory, stamped with the value of
`statux:auth:version` they were read under. A request reads that counter in the same pipelined round
trip as its rate-limit increment (`statux.throttling.redis_round_trip`), and every change that could
alter an authentication or authorization answer bumps it (the signals in `connect_signals`), so the
next request in every process misses and reads the database again.

What bumps the version: saving or deleting a User (deactivated, password or superuser flag changed),
a Membership (added, role changed, removed), an Organization, an ApiKey (created, revoked). Expiry
needs no bump: it is checked from the cached row on every request. `QuerySet.update()` sends no signal:
code that updates these models that way must call `bump()` itself (today only `last_used_at` of a
key is updated so, which answers no authorization question).

Without Redis (the embedded run) no counter is shared between processes, so nothing is cached there.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from statux.throttling import redis_client, redis_round_trip

VERSION_KEY = "statux:auth:version"
# A second line of defence for a change that bypassed the signals (raw SQL, a forgotten update()).
MAX_AGE_SECONDS = 60.0
MAX_ENTRIES = 10_000

T = TypeVar("T")
_UNSET = object()


@dataclass(frozen=True)
class Entry:
    version: bytes
    loaded_at: float
    value: Any


class ProcessCache:
    """A dict per process. Tests swap in a new one to play a second process with its own entries."""

    def __init__(self) -> None:
        self.entries: dict[tuple, Entry] = {}

    def get(self, key: tuple, version: bytes) -> Any:
        entry = self.entries.get(key)
        if entry is None or entry.version != version or time.monotonic() - entry.loaded_at > MAX_AGE_SECONDS:
            return None
        return entry.value

    def peek(self, key: tuple) -> Any:
        """The last value stored, however old: good for naming a rate-limit counter, never for access."""
        entry = self.entries.get(key)
        return entry.value if entry is not None else None

    def put(self, key: tuple, version: bytes, value: Any) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.clear()  # rare, and cheaper than an LRU's bookkeeping on every hit
        self.entries[key] = Entry(version, time.monotonic(), value)


process_cache = ProcessCache()


def _http(request: Any) -> Any:
    return getattr(request, "_request", request)  # DRF's Request wraps Django's


def _new_version() -> int:
    # Random, not 0: after Redis loses the key, old stamps must not match the restarted count.
    return secrets.randbits(62)


def read_version(client: Any) -> bytes:
    """The current version; starts the counter at a random value if Redis has none (restart, flush)."""
    pipe = client.pipeline(transaction=False)
    pipe.set(VERSION_KEY, _new_version(), nx=True)
    pipe.get(VERSION_KEY)
    return pipe.execute()[1]


def prefetch(request: Any, counters: Sequence[tuple[str, int]]) -> None:
    """Read the version and count the request's rate-limit windows in one round trip.

    The throttles pick their counts up from the request instead of asking Redis again.
    """
    if redis_client() is None:
        return
    counts, version = redis_round_trip(counters, read=VERSION_KEY)
    http = _http(request)
    http.statux_window_counts = dict(zip((name for name, _ in counters), counts, strict=True))
    http.statux_auth_version = version if version is not None else read_version(redis_client())


def request_version(request: Any) -> bytes | None:
    """The version this request runs under, read at most once; None without Redis (cache off)."""
    http = _http(request)
    version = getattr(http, "statux_auth_version", _UNSET)
    if version is _UNSET:
        client = redis_client()
        version = read_version(client) if client is not None else None
        http.statux_auth_version = version
    return version


def cached(request: Any, key: tuple, load: Callable[[], T | None]) -> T | None:
    """`load()`, or its answer from this process's cache if stored under the current version.

    The version is read before the database, so a change committed while `load()` runs has bumped
    the counter past the stamp stored here. A None answer is not cached. Callers hand out copies.
    """
    version = request_version(request)
    if version is None:
        return load()
    value = process_cache.get(key, version)
    if value is None:
        value = load()
        if value is not None:
            process_cache.put(key, version, value)
    return value


def peek(key: tuple) -> Any:
    return process_cache.peek(key)


def _incr(client: Any) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.set(VERSION_KEY, _new_version(), nx=True)
    pipe.incr(VERSION_KEY)
    pipe.execute()


def bump() -> None:
    """Make every process re-read credentials on its next request.

    Bumped now, and again when the transaction commits: a process that read the new version before
    the commit may have cached the old rows under it; the second bump drops those.
    """
    client = redis_client()
    if client is None:
        return
    _incr(client)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _incr(client))


def _bump_on_change(sender: Any, **kwargs: Any) -> None:
    bump()


def connect_signals() -> None:
    """Admin edits, services, management commands and cascades all go through save() or delete()."""
    from statux.models import ApiKey, Membership, Organization, User

    for model in (User, Membership, Organization, ApiKey):
        post_save.connect(_bump_on_change, sender=model, dispatch_uid=f"auth_cache_save_{model.__name__}")
        post_delete.connect(_bump_on_change, sender=model, dispatch_uid=f"auth_cache_delete_{model.__name__}")
