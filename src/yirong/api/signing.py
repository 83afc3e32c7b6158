"""Checking a signed request (``access.signing``, docs/request-signing.md).

A route that moves money (one taking an Idempotency-Key) called with an API key must
be signed; a person's session, from a browser, is not. The check runs before the
request's idempotency is looked at, so an unsigned or replayed request is refused
without touching anything, and its nonce is recorded only once the signature is
known good (nobody can spend a system's nonces for it)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from yirong.access import signing
from yirong.access.principals import Principal
from yirong.access.secrets import signing_secret
from yirong.access.service import use_nonce
from yirong.config import settings
from yirong.errors import YirongError
from yirong.infra.db import Database

BODY_DIGEST = "body_sha256"  # request.state: the body's digest as it arrived


def needs_signature(principal: Principal) -> bool:
    return principal.credential.startswith("api_key:")


def _now() -> datetime:
    return datetime.now(UTC)  # a freshness window: security, not money


async def _body_digest(request: Request) -> str:
    given = getattr(request.state, BODY_DIGEST, None)
    if isinstance(given, str):
        return given
    return hashlib.sha256(await request.body()).hexdigest()


def _target(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    return signing.target_of(path, request.scope.get("query_string", b"").decode("latin-1"))


async def check_signature(request: Request, principal: Principal) -> None:
    """Refuse (401, a ``signature_*`` code) unless an API-key caller signed this very
    request, within the window, with a nonce not used before."""
    if not needs_signature(principal):
        return
    headers = request.headers
    timestamp = headers.get(signing.TIMESTAMP)
    nonce = headers.get(signing.NONCE)
    given = headers.get(signing.SIGNATURE)
    if not (timestamp and nonce and given):
        raise YirongError("signature_missing")
    if not (
        signing.TIMESTAMP_PATTERN.match(timestamp)
        and signing.NONCE_PATTERN.match(nonce)
        and signing.SIGNATURE_PATTERN.match(given)
    ):
        raise YirongError("signature_invalid")
    key = headers.get("authorization", "").partition(" ")[2].strip()
    secret = signing_secret(key, settings().secret_key)
    message = signing.canonical(
        request.method, _target(request), timestamp, nonce, await _body_digest(request)
    )
    if not signing.matches(secret, message, given):
        raise YirongError("signature_invalid")
    moment = _now()
    window = signing.WINDOW.total_seconds()
    if abs(int(timestamp) - moment.timestamp()) > window:
        raise YirongError("signature_expired", server_time=int(moment.timestamp()))
    # Kept until the timestamp itself is out of the window: a replay after that is
    # refused as expired.
    keep_until = datetime.fromtimestamp(int(timestamp), UTC) + signing.WINDOW
    db: Database = request.app.state.db
    await run_in_threadpool(use_nonce, db, principal.credential, nonce, keep_until)
