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
import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from fastapi.utils import is_body_allowed_for_status_code
from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from yirong.access.principals import Principal
from yirong.access.service import action_record
from yirong.access.tables import AuditRecord
from yirong.api.observability import audited, audited_route
from yirong.api.problems import MEDIA_TYPE, problem_response, refusal_response
from yirong.api.security import Access, principal_of
from yirong.api.signing import check_signature
from yirong.api.tables import ApiRequest
from yirong.api.uploads import uploaded_file
from yirong.books.service import BUSINESS_DATE, note_business_date
from yirong.errors import YirongError
from yirong.infra.db import (
    Database,
    Dialect,
    FirstWrite,
    Retryable,
    Tx,
    insert_new,
    per_dialect,
    transactional,
)
from yirong.infra.direct import send

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 64
LEASE = timedelta(seconds=60)  # a request in flight longer than this was orphaned


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable() and " " not in key


async def idempotency_key(
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
    """A stored answer, or "new" (this request runs), or "reused". A first request
    (the usual case) costs one statement: the insert that takes the key. (Core
    statements, not the ORM: this runs for every request that moves money.)"""
    moment = _now()
    c = ApiRequest
    taken = send(
        tx,
        _take_statement(tx),
        {"caller": caller, "key": key, "fingerprint": fingerprint, "started_at": moment},
    ).first()
    if taken is not None:
        note_business_date(tx, taken[1])  # every use case that moves money asks it
        return "new"
    row = tx.conn.execute(
        select(c.fingerprint, c.state, c.status_code, c.response, c.started_at)
        .where(_this(caller, key))
        .with_for_update()
    ).one_or_none()
    if row is None:  # taken and let go (a refusal rolled back) in between: try again
        raise Retryable
    if row.fingerprint != fingerprint:
        return "reused"
    if row.state == "done":
        return _Stored(row.status_code, row.response)
    if moment - _aware(row.started_at) < LEASE:
        return _Stored(None, None)
    # Orphaned by a crash: this request takes it over.
    tx.conn.execute(update(ApiRequest).where(_this(caller, key)).values(started_at=moment))
    return "new"


@per_dialect
def _take_statement(tx: Tx) -> Any:
    """The insert that takes a key (nothing if it is taken), built once per dialect:
    it runs for every request that moves money. It brings the books' date along, which
    the use case would otherwise ask in a round trip of its own."""
    return (
        insert_new(tx, ApiRequest)
        .values(state="in_flight")
        .on_conflict_do_nothing()
        .returning(ApiRequest.state, BUSINESS_DATE)
    )


def _finish(tx: Tx, caller: str, key: str, status: int, body: str) -> None:
    tx.conn.execute(
        update(ApiRequest)
        .where(_this(caller, key))
        .values(state="done", status_code=status, response=body)
    )


def _release(tx: Tx, caller: str, key: str) -> None:
    tx.conn.execute(delete(ApiRequest).where(_this(caller, key)))


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class _Answered(Exception):
    """The key's record says this request was seen before: the use case stops at once
    (nothing it did is committed) and the stored answer, or a refusal, is given."""

    def __init__(self, started: _Stored | str) -> None:
        super().__init__("idempotency key seen before")
        self.started = started


@dataclass(frozen=True, slots=True)
class _Call:
    """What the wrapper knows of one request that moves money."""

    request: Request
    principal: Principal
    key: str
    fingerprint: str

    @property
    def db(self) -> Database:
        db: Database = self.request.app.state.db
        return db

    @property
    def caller(self) -> str:
        return self.principal.handle

    def take_key(self, tx: Tx) -> None:
        started = _begin(tx, self.caller, self.key, self.fingerprint)
        if started != "new":
            raise _Answered(started)


class IdempotentRoute(APIRoute):
    """Routes that take an ``Idempotency-Key`` (those depending on ``ServiceKey``: the
    money-moving ones) are wrapped; the others run as they are. A funder system's
    call (an API key) must first be signed (``api.signing``).

    The key's record is written by the use case's first transaction that writes
    (``infra.db.FirstWrite``), so it commits with what the request moves and costs no
    transaction of its own; the answer and the audit record follow in one more. A
    repeat of a request already answered stops at that first write, before anything
    of its own commits."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_one_hop(endpoint, self), **kwargs)

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
            return await _answer(_Call(request, principal, key, fingerprint), handler)

        return idempotent


def in_one_hop(endpoint: Callable[..., Any], route: APIRoute | None = None) -> Callable[..., Any]:
    """A plain endpoint made async, its body run in the thread pool: FastAPI would
    otherwise check its answer in a second trip to the pool (every hop is a hand-off of
    the GIL, which under load costs more than the check itself). A request that moves
    money (``_answer``) has its answer rendered and kept in the same trip."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        hop = _answering.get()
        if hop is None or route is None or not hop.first.done or isinstance(result, Response):
            return result
        body = _rendered(route, result)
        if body is None:
            return result
        response = Response(body, status_code=route.status_code or 200, media_type=JSON)
        hop.kept = True
        return _kept(hop, response)

    @functools.wraps(endpoint)
    async def in_the_pool(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(run, *args, **kwargs)

    return in_the_pool


JSON = "application/json"


def _rendered(route: APIRoute, content: Any) -> bytes | None:
    """The answer's body as FastAPI renders a route's model (``fastapi.routing.
    serialize_response``, its fast path), or None where that path is not FastAPI's
    (another response class, a header set by the endpoint, an answer that fails its
    model: FastAPI then renders it, or refuses it, as it does for every route)."""
    field = route.response_field
    serialize = getattr(field, "serialize_json", None)
    if (
        field is None
        or serialize is None
        or not isinstance(route.response_class, DefaultPlaceholder)
        or route.dependant.response_param_name is not None
        or not is_body_allowed_for_status_code(route.status_code or 200)
    ):
        return None
    value, errors = field.validate(content, {}, loc=("response",))
    if errors:
        return None
    body: bytes = serialize(
        value,
        include=route.response_model_include,
        exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias,
        exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults,
        exclude_none=route.response_model_exclude_none,
    )
    return body


@dataclass(slots=True)
class _Hop:
    """A request that moves money, as its endpoint's thread sees it: whether it has
    written (its key with it), and whether its answer is kept already."""

    call: _Call
    first: FirstWrite
    kept: bool = False


_answering: ContextVar[_Hop | None] = ContextVar("yirong_answering", default=None)


async def _answer(call: _Call, handler: Handler) -> Response:
    first = FirstWrite(call.db, call.take_key)
    hop = _Hop(call, first)
    leave = first.entered()
    token = _answering.set(hop)
    try:
        response = await handler(call.request)
    except _Answered as seen:
        return _answer_to_repeat(call.request, seen.started)
    except YirongError as exc:
        response = refusal_response(call.request, exc)
    except BaseException:
        if first.done:
            await run_in_threadpool(call.db.run, lambda tx: _release(tx, call.caller, call.key))
        raise
    finally:
        _answering.reset(token)
        leave()
    if hop.kept:  # in the endpoint's own trip to the pool
        return response
    return await run_in_threadpool(_kept, hop, response)


def _kept(hop: _Hop, response: Response) -> Response:
    """The answer kept under the key, with its audit record (a failure's is not: the
    key is let go, and a retry runs anew); the answer to give."""
    call, done = hop.call, hop.first.done
    if response.status_code >= 500 or not isinstance(response.body, bytes):
        if done:
            call.db.run(lambda tx: _release(tx, call.caller, call.key))
        return response
    stored = response.body.decode()
    status = response.status_code
    if done and call.db.dialect is Dialect.POSTGRESQL:
        # The answer and its audit record in one statement, its own transaction.
        call.db.run(lambda tx: _keep_in_one(tx, call, status, stored), alone=True)
        return response
    kept = call.db.run(lambda tx: _keep(tx, call, done, status, stored))
    return response if kept is None else _answer_to_repeat(call.request, kept)


def _keep(tx: Tx, call: _Call, taken: bool, status: int, stored: str) -> _Stored | str | None:
    """The answer stored under the key, with the audit record. A request that wrote
    nothing (a refusal, most often) takes its key now; should another request with
    the key have come first in the meantime, its answer is given instead."""
    if not taken:
        started = _begin(tx, call.caller, call.key, call.fingerprint)
        if started != "new":
            return started
    _finish(tx, call.caller, call.key, status, stored)
    audit = _audit_of(call, status)
    if audit is not None:
        tx.conn.execute(insert(AuditRecord).values(**audit))
    return None


def _keep_in_one(tx: Tx, call: _Call, status: int, stored: str) -> None:
    """:func:`_keep` for a key already taken, on PostgreSQL: the answer's update and
    the audit record's insert in one statement (a data-modifying WITH)."""
    answer = {"k_caller": call.caller, "k_key": call.key, "k_status": status, "k_body": stored}
    audit = _audit_of(call, status)
    if audit is None:
        send(tx, _ANSWERED, answer)
        return
    send(
        tx,
        _answered_and_audited(tuple(audit)),
        {**answer, **{f"a_{k}": v for k, v in audit.items()}},
    )


# The answer stored (built once: every request that moves money ends with it). Its
# parameters are not named as columns are, which an UPDATE would take as more to set.
_ANSWERED = (
    update(ApiRequest)
    .where(ApiRequest.caller == bindparam("k_caller"), ApiRequest.key == bindparam("k_key"))
    .values(state="done", status_code=bindparam("k_status"), response=bindparam("k_body"))
)


@functools.cache
def _answered_and_audited(columns: tuple[str, ...]) -> Any:
    """:data:`_ANSWERED` and the audit record's insert of ``columns`` (bound as
    ``a_<column>``), in one statement."""
    done = _ANSWERED.returning(ApiRequest.key).cte("answered")
    table = AuditRecord.__table__.c
    values = select(*(bindparam(f"a_{c}", type_=table[c].type) for c in columns))
    return insert(AuditRecord).from_select(list(columns), values.select_from(done)).add_cte(done)


def _audit_of(call: _Call, status: int) -> dict[str, Any] | None:
    """The audit record's columns, if the request is audited (the middleware is told
    it is written here, with the answer)."""
    state = call.request.state
    route = call.request.scope.get("route")
    if not (audited(call.principal, call.request.method) or audited_route(route)):
        return None
    state.audit_done = True
    return action_record(
        call.principal,
        f"{call.request.method} {getattr(route, 'path', 'unmatched')}",
        call.request.url.path,
        status,
        state.request_id,
        getattr(state, "audit_detail", None),
    )


def _answer_to_repeat(request: Request, started: _Stored | str) -> Response:
    if started == "reused":
        return problem_response(request, "idempotency_key_reused")
    assert isinstance(started, _Stored)
    if started.status is None:
        return problem_response(request, "idempotency_request_in_flight", retry_after=1)
    return _replay(started)


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
