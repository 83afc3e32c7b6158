"""Routes: signing in and out, who am I, people's sign-ins (operators create them),
systems' API keys (a funder's: issue, rotate, revoke one or all; a supplier's, its only
credential: an operator issues it; only people issue and rotate keys, and every call
is audited) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from yirong.access import service
from yirong.access.principals import Principal
from yirong.access.service import (
    MAX_KEY_DAYS,
    ApiKeyView,
    AuditView,
    IssuedApiKey,
    IssuedToken,
    UserView,
)
from yirong.api.client_address import client_of
from yirong.api.pages import Cursor, Limit, Page, after_of, page_of
from yirong.api.routing import api_router
from yirong.api.security import (
    AUDITED,
    DB,
    Access,
    Anyone,
    AnyRole,
    FunderOrOperator,
    Operator,
    own_funder,
    staff_session,
)
from yirong.orders.suppliers import supplier_row
from yirong.roles import Role

router = api_router("access")
# Who holds keys (a funder's staff or system, a supplier's system), or an operator.
KeyHolderOrOperator = Annotated[
    Principal, Depends(Access(Role.FUNDER, Role.SUPPLIER, Role.OPERATOR))
]


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    password: str = Field(min_length=12, max_length=256)
    role: Role = Field(description="agent, funder or operator (a supplier has no sign-in)")
    subject: str = Field(
        min_length=1, max_length=64, description="The agent's or funder's code; an operator's name"
    )


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=100, description="What the key is for")
    days: int | None = Field(
        None,
        ge=1,
        le=MAX_KEY_DAYS,
        description="How long it works (default: the platform's setting, 90 days)",
    )


class Revoked(BaseModel):
    funder: str
    revoked: int = Field(description="How many keys were still unrevoked")


class Me(BaseModel):
    role: Role
    subject: str
    handle: str


@router.post("/auth/token", response_model=IssuedToken, summary="Sign in with a password")
async def sign_in(credentials: Credentials, request: Request, db: DB) -> IssuedToken:
    client = client_of(request)
    return await run_in_threadpool(
        service.sign_in, db, credentials.username, credentials.password, client
    )


@router.post("/auth/logout", status_code=204, summary="End this session token")
def sign_out(who: Anyone, request: Request, db: DB) -> None:
    if who.credential.startswith("session:"):
        service.sign_out(db, request.headers["authorization"].partition(" ")[2].strip())


@router.get("/me", response_model=Me, summary="Who this token or API key acts for")
def me(who: AnyRole) -> Me:
    return Me(role=who.role, subject=who.subject, handle=who.handle)


@router.post("/users", response_model=UserView, status_code=201, summary="Create a sign-in")
def create_user(data: NewUser, _who: Operator, db: DB, request: Request) -> UserView:
    made = service.create_user(db, data.username, data.password, data.role.value, data.subject)
    request.state.audit_detail = f"user {made.username} ({made.role.value}:{made.subject})"
    return made


@router.post(
    "/funders/{funder}/api-keys",
    response_model=IssuedApiKey,
    status_code=201,
    summary="Issue an API key for a funder's system, with its signing secret (both shown "
    "once); people only, not another key",
    openapi_extra=AUDITED,
)
def issue_api_key(funder: str, data: NewApiKey, who: FunderOrOperator, db: DB) -> IssuedApiKey:
    own_funder(who, funder)
    staff_session(who)
    return service.issue_api_key(db, funder, data.label, days=data.days)


@router.post(
    "/funders/{funder}/api-keys/revoke-all",
    response_model=Revoked,
    summary="Stop every API key of the funder now (people only)",
    openapi_extra=AUDITED,
)
def revoke_all_api_keys(funder: str, who: FunderOrOperator, db: DB) -> Revoked:
    own_funder(who, funder)
    staff_session(who)
    return Revoked(funder=funder, revoked=service.revoke_all_api_keys(db, funder))


@router.post(
    "/suppliers/{supplier}/api-keys",
    response_model=IssuedApiKey,
    status_code=201,
    summary="Issue an API key for a supplier's system, with its signing secret (both shown "
    "once): a supplier's only credential; an operator signed in issues it",
    openapi_extra=AUDITED,
)
def issue_supplier_api_key(supplier: str, data: NewApiKey, who: Operator, db: DB) -> IssuedApiKey:
    staff_session(who)
    return service.issue_supplier_api_key(
        db, supplier, data.label, check_supplier=supplier_row, days=data.days
    )


def _own_scope(who: Principal) -> str | None:
    return None if who.role is Role.OPERATOR else who.subject


@router.get("/api-keys", response_model=Page[ApiKeyView], summary="API keys (a funder: its own)")
def list_api_keys(
    who: FunderOrOperator, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[ApiKeyView]:
    found = service.api_keys(db, _own_scope(who), after=after_of(cursor), limit=limit + 1)
    return page_of(found, limit, lambda k: k.id)


@router.post(
    "/api-keys/{key_id}/rotate",
    response_model=IssuedApiKey,
    status_code=201,
    summary="A new key; the old one works 24 more hours (people only)",
    openapi_extra=AUDITED,
)
def rotate_api_key(key_id: int, who: FunderOrOperator, db: DB) -> IssuedApiKey:
    staff_session(who)
    return service.rotate_api_key(db, key_id, funder_code=_own_scope(who))


@router.post(
    "/api-keys/{key_id}/revoke",
    response_model=ApiKeyView,
    summary="Stop a key now (a funder's or a supplier's system may stop one of its own keys too)",
    openapi_extra=AUDITED,
)
def revoke_api_key(key_id: int, who: KeyHolderOrOperator, db: DB) -> ApiKeyView:
    if who.role is Role.SUPPLIER:
        return service.revoke_api_key(db, key_id, supplier_code=who.subject)
    return service.revoke_api_key(db, key_id, funder_code=_own_scope(who))


@router.get("/audit", response_model=Page[AuditView], summary="The operators' audit log")
def audit(
    _who: Operator,
    db: DB,
    actor: Annotated[str | None, Query(max_length=80, description="Only this actor's")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AuditView]:
    found = service.audit_log(db, actor=actor, after=after_of(cursor), limit=limit + 1)
    return page_of(found, limit, lambda r: r.id)
