"""Credentials this process checked in the last few seconds, so that a client's burst
of requests costs one database lookup, not one each.

Anything done through this process (sign-out, revoking or rotating a key) forgets at
once; a change made by another process (or by hand in the database) is seen within
``TTL_SECONDS``, and no entry outlives its token's own expiry."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from yirong.access.principals import Principal

TTL_SECONDS = 5.0
MAX_ENTRIES = 50_000

_lock = threading.Lock()
_seen: dict[str, tuple[Principal, float]] = {}


def recall(digest: str) -> Principal | None:
    found = _seen.get(digest)
    if found is None or found[1] <= time.monotonic():
        return None
    return found[0]


def remember(digest: str, principal: Principal, expires_at: datetime | None) -> None:
    ttl = TTL_SECONDS
    if expires_at is not None:
        ttl = min(ttl, (expires_at - datetime.now(UTC)).total_seconds())
    if ttl <= 0:
        return
    with _lock:
        if len(_seen) >= MAX_ENTRIES:
            _seen.clear()
        _seen[digest] = (principal, time.monotonic() + ttl)


def forget_all() -> None:
    with _lock:
        _seen.clear()
