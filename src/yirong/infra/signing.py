"""HMAC-SHA256 signatures over a timestamp and a body, for what the platform and a
funder's system send each other. The timestamp bounds replays; it is security, not
money, so it is the one place that reads the wall clock."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_PREFIX = "sha256="
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def sign(secret: str, body: bytes, *, now: float | None = None) -> tuple[str, str]:
    """(timestamp, signature) headers for this body."""
    timestamp = str(int(now if now is not None else time.time()))
    return timestamp, signature(secret, timestamp, body)


def verify(
    secret: str, timestamp: str | None, body: bytes, given: str | None, *, now: float | None = None
) -> bool:
    # Headers arrive decoded as latin-1: anything not plain ASCII digits or hex is
    # simply a bad signature (and must not reach int() or compare_digest()).
    if not timestamp or not given or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if not given.isascii():
        return False
    current = now if now is not None else time.time()
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)
