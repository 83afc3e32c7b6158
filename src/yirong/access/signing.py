"""Signed requests: what a funder's system adds to each money-moving call it makes
with an API key, so that a captured key alone can neither make nor replay one
(docs/request-signing.md).

The system signs, with the key's signing secret (given once, when the key is issued),
one line each of: the method, the path with its query as sent, the timestamp (Unix
seconds), a nonce of its choosing and the SHA-256 of the body, in hex:

    POST\\n/api/v1/fundings\\n1767600000\\nc0ffee...\\n<sha256 of the body>

and sends ``X-Yirong-Timestamp``, ``X-Yirong-Nonce`` and ``X-Yirong-Signature`` (the
HMAC-SHA256 in lowercase hex). The platform accepts a timestamp within
``WINDOW`` of its clock and each nonce once.

``signature_headers`` is the whole client: the demo, the benchmark and the tests
sign with it, and a funder may copy it."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import timedelta

TIMESTAMP = "X-Yirong-Timestamp"
NONCE = "X-Yirong-Nonce"
SIGNATURE = "X-Yirong-Signature"
WINDOW = timedelta(minutes=5)
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SIGNATURE_PATTERN = re.compile(r"^[0-9a-f]{64}$")
TIMESTAMP_PATTERN = re.compile(r"^[0-9]{1,12}$")


def target_of(path: str, query: str = "") -> str:
    """The request target signed: the path as sent, then ``?`` and the query if any."""
    return f"{path}?{query}" if query else path


def canonical(method: str, target: str, timestamp: str, nonce: str, body_sha256: str) -> bytes:
    """The bytes signed: five lines, no trailing newline (``body_sha256``: the body's
    SHA-256 in lowercase hex, that of no bytes for a request without one)."""
    return f"{method.upper()}\n{target}\n{timestamp}\n{nonce}\n{body_sha256}".encode()


def sign(signing_secret: str, message: bytes) -> str:
    return hmac.new(signing_secret.encode(), message, hashlib.sha256).hexdigest()


def signature_headers(
    signing_secret: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The three headers for one request (a fresh nonce and the current time unless
    given). ``target``: the path and query exactly as the request sends them."""
    when = str(int(time.time()) if timestamp is None else timestamp)
    once = nonce or secrets.token_urlsafe(18)
    message = canonical(method, target, when, once, hashlib.sha256(body).hexdigest())
    return {TIMESTAMP: when, NONCE: once, SIGNATURE: sign(signing_secret, message)}


def matches(signing_secret: str, message: bytes, given: str) -> bool:
    return hmac.compare_digest(sign(signing_secret, message), given)
