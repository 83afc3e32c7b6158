"""Idempotency-Key for every request that moves money (IETF draft
``httpapi-idempotency-key-header``; Stripe's behaviour).

The first request under a (caller, key) runs and its answer is stored, success or
refusal; a repeat with the same body gets that stored answer, marked
``Idempotent-Replayed: true``, and moves nothing; the same key with another body is
refused (``idempotency_key_reused``); a repeat while the first still runs gets a clear
``idempotency_request_in_flight`` (409, Retry-After). The key also reaches the service
(namespaced by the caller), whose own idempotency is what makes a crash between the
two harmless: a request left in flight by a dead process is taken over after a lease,
and the service answers it as the first time."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from yirong.access.principals import Principal
from yirong.api.problems import MEDIA_TYPE, problem_response, refusal_response
from yirong.api.security import Access, principal_of
from yirong.api.signing import check_signature
from yirong.api.tables import ApiRequest
from yirong.api.uploads import uploaded_file
from yirong.errors import YirongError
from yirong.infra.db import Database, Retryable, Tx, transactional

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 64
LEASE = timedelta(seconds=60)  # a request in flight longer than this was orphaned


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable() and " " not in key


def idempotency_key(
    request: Request,
    key: Annotated[
        str,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=MAX_KEY_LENGTH,
            description="Your unique key for this operation (1-64 printable ASCII, no "
            "spaces). Repeat it to retry safely: the first answer comes back.",
        ),
    ],
) -> str:
    """The caller-namespaced key a money-moving service receives."""
    principal: Principal = request.state.principal
    return fitted(f"{principal.handle}:{key}")


# Services prefix the key they are given (``repay:<agent>:<key>:share``, up to 77 more
# characters) and keep it in 128-character columns: a longer one goes by its digest.
SERVICE_KEY_ROOM = 48


def fitted(key: str) -> str:
    """The key as it is when short enough, else its digest: as unique and as repeatable."""
    if len(key) <= SERVICE_KEY_ROOM:
        return key
    digest = base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()
    return f"h:{digest[:32].lower()}"


ServiceKey = Annotated[str, Depends(idempotency_key)]


@dataclass(frozen=True, slots=True)
class _Stored:
    status: int | None  # None: the first request is still in flight
    body: str | None


def _now() -> datetime:
    return datetime.now(UTC)  # a lease, not money


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _this(caller: str, key: str) -> ColumnElement[bool]:
    return and_(ApiRequest.caller == caller, ApiRequest.key == key)


def _begin(tx: Tx, caller: str, key: str, fingerprint: str) -> _Stored | str:
    """A stored answer, or "new" (this request runs), or "reused". (Core statements,
    not the ORM: this runs twice for every request that moves money.)"""
    moment = _now()
    c = ApiRequest
    row = tx.conn.execute(
        select(c.fingerprint, c.state, c.status_code, c.response, c.started_at)
        .where(_this(caller, key))
        .with_for_update()
    ).one_or_none()
    if row is None:
        try:
            tx.conn.execute(
                insert(ApiRequest).values(
                    caller=caller,
                    key=key,
                    fingerprint=fingerprint,
                    state="in_flight",
                    started_at=moment,
                )
            )
        except IntegrityError as exc:  # a concurrent first request took the key
            raise Retryable from exc
        return "new"
    if row.fingerprint != fingerprint:
        return "reused"
    if row.state == "done":
        return _Stored(row.status_code, row.response)
    if moment - _aware(row.started_at) < LEASE:
        return _Stored(None, None)
    # Orphaned by a crash: this request takes it over.
    tx.conn.execute(update(ApiRequest).where(_this(caller, key)).values(started_at=moment))
    return "new"


def _finish(tx: Tx, caller: str, key: str, status: int, body: str) -> None:
    tx.conn.execute(
        update(ApiRequest)
        .where(_this(caller, key))
        .values(state="done", status_code=status, response=body)
    )


def _release(tx: Tx, caller: str, key: str) -> None:
    tx.conn.execute(delete(ApiRequest).where(_this(caller, key)))


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class IdempotentRoute(APIRoute):
    """Routes that take an ``Idempotency-Key`` (those depending on ``ServiceKey``: the
    money-moving ones) are wrapped; the others run as they are. A funder system's
    call (an API key) must first be signed (``api.signing``)."""

    def get_route_handler(self) -> Handler:
        handler: Handler = super().get_route_handler()
        if not any(d.call is idempotency_key for d in self.dependant.dependencies):
            return handler
        route_path = self.path
        upload = any(d.call is uploaded_file for d in self.dependant.dependencies)
        admitted = frozenset(
            role
            for d in self.dependant.dependencies
            if isinstance(d.call, Access)
            for role in d.call.roles
        )

        async def idempotent(request: Request) -> Response:
            try:
                principal = await principal_of(request)
                # A role the route refuses is told so by Access, signed or not.
                if principal is not None and principal.role in admitted:
                    await check_signature(request, principal)
            except YirongError as exc:
                return refusal_response(request, exc)
            if principal is None:
                return await handler(request)  # refused as unauthenticated by Access
            key = request.headers.get(HEADER)
            if key is None:
                return problem_response(request, "idempotency_key_required")
            if not _valid(key):
                return problem_response(request, "idempotency_key_invalid")
            try:
                body = await (uploaded_file(request) if upload else request.body())
            except YirongError as exc:
                return refusal_response(request, exc)
            fingerprint = hashlib.sha256(
                b"\n".join(
                    (request.method.encode(), route_path.encode(), request.url.path.encode(), body)
                )
            ).hexdigest()
            db: Database = request.app.state.db
            caller = principal.handle
            started = await run_in_threadpool(
                db.run, lambda tx: _begin(tx, caller, key, fingerprint)
            )
            if started == "reused":
                return problem_response(request, "idempotency_key_reused")
            if isinstance(started, _Stored):
                if started.status is None:
                    return problem_response(request, "idempotency_request_in_flight", retry_after=1)
                return _replay(started)
            try:
                response = await handler(request)
            except YirongError as exc:
                response = refusal_response(request, exc)
            except BaseException:
                await run_in_threadpool(db.run, lambda tx: _release(tx, caller, key))
                raise
            if response.status_code >= 500 or not isinstance(response.body, bytes):
                await run_in_threadpool(db.run, lambda tx: _release(tx, caller, key))
                return response
            stored = response.body.decode()
            await run_in_threadpool(
                db.run, lambda tx: _finish(tx, caller, key, response.status_code, stored)
            )
            return response

        return idempotent


def _replay(stored: _Stored) -> Response:
    assert stored.status is not None and stored.body is not None
    is_problem = stored.status >= 400 and json.loads(stored.body).get("code") is not None
    return Response(
        stored.body,
        status_code=stored.status,
        media_type=MEDIA_TYPE if is_problem else "application/json",
        headers={REPLAYED: "true"},
    )


# A client retries a request within minutes, a batch job within days: a month of
# answers is kept, then they go (each holds the response, which may be personal).
KEEP_ANSWERS = timedelta(days=30)


@transactional
def prune_answers(tx: Tx, now: datetime) -> int:
    """Answered requests older than ``KEEP_ANSWERS`` deleted; those still in flight are
    kept (a repeat must still see them). Returns how many went."""
    gone = tx.conn.execute(
        delete(ApiRequest).where(
            ApiRequest.state == "done", ApiRequest.started_at < now - KEEP_ANSWERS
        )
    )
    return int(gone.rowcount or 0)
