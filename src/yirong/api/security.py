"""Who is calling, and whether their role may call this route.

A route names the roles it admits with ``Access(...)``; the handler then checks that
the resource is the caller's own (``own_agent``, ``own_funder``...). The route table's
``Access`` declarations are what the authorization matrix test is generated from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from yirong.access import recent
from yirong.access.principals import Principal
from yirong.access.secrets import digest
from yirong.access.service import authenticate
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.roles import Role

# The scheme the OpenAPI document declares on every route that takes ``Access`` (by
# ``api.app``, not as a dependency: resolving it on every request cost a dependency's
# work for a header ``principal_of`` reads anyway).
BEARER = "HTTPBearer"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A session token from POST /api/v1/auth/token, or a funder's or a "
    "supplier's system's API key.",
}
_UNSET = object()


async def database(request: Request) -> Database:
    # async: FastAPI runs a plain function in the thread pool, a hop for nothing here.
    db: Database = request.app.state.db
    return db


DB = Annotated[Database, Depends(database)]


async def principal_of(request: Request) -> Principal | None:
    """The authenticated caller (looked up once per request), None when no credential
    was sent; an unknown, expired or revoked one is refused."""
    # The request's state as a plain dict: asking ``request.state`` for a name it does
    # not hold raises and catches an exception, a cost every request paid.
    found = request.scope.setdefault("state", {}).get("principal", _UNSET)
    if found is _UNSET:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if not header:
            found = None
        elif scheme.lower() != "bearer" or not credential.strip():
            raise YirongError("token_invalid")
        else:
            given = credential.strip()
            # A credential seen a moment ago needs no thread and no database.
            found = recent.recall(digest(given)) or await run_in_threadpool(
                authenticate, request.app.state.db, given
            )
        request.state.principal = found
    assert found is None or isinstance(found, Principal)
    return found


class Access:
    """A route's admitted roles, as a dependency that yields the caller."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, request: Request) -> Principal:
        principal = await principal_of(request)
        if principal is None:
            raise YirongError("unauthenticated")
        if principal.role not in self.roles:
            raise YirongError("access_denied", role=principal.role.value)
        return principal


AGENT, FUNDER, OPERATOR, SUPPLIER = Role.AGENT, Role.FUNDER, Role.OPERATOR, Role.SUPPLIER
# Everyone with a wallet, a book or the platform's view. A supplier is not among them:
# its key reaches its own orders (``orders.views``) and who it is (``/me``), no more.
Anyone = Annotated[Principal, Depends(Access(AGENT, FUNDER, OPERATOR))]
Operator = Annotated[Principal, Depends(Access(OPERATOR))]
AnyRole = Annotated[Principal, Depends(Access(*Role))]  # who am I: a supplier too
AgentOrOperator = Annotated[Principal, Depends(Access(AGENT, OPERATOR))]
FunderOrOperator = Annotated[Principal, Depends(Access(FUNDER, OPERATOR))]
AgentOnly = Annotated[Principal, Depends(Access(AGENT))]
FunderOnly = Annotated[Principal, Depends(Access(FUNDER))]


# A route's ``openapi_extra`` marking it audited whoever calls it (not only operators).
AUDITED = {"x-audited": True}


def staff_session(who: Principal) -> None:
    """A person signed in (a funder's staff or an operator), not a funder's system: an
    API key may not mint keys, or they would outlive its own revocation."""
    if not who.credential.startswith("session:"):
        raise YirongError("staff_session_required")


def deny() -> YirongError:
    """For what the caller's role may not do at all (the routes are public knowledge)."""
    return YirongError("access_denied")


def hidden(code: str, **details: object) -> YirongError:
    """Another party's record answers exactly as a missing one does (its ``*_not_found``
    code, 404, the same details), so that nobody learns what exists by asking."""
    return YirongError(code, **details)


def own_agent(who: Principal, agent_code: str) -> None:
    """An agent acts only on itself; operators on anyone."""
    if who.role is not Role.OPERATOR and not who.is_agent(agent_code):
        raise hidden("agent_not_found", agent=agent_code)


def own_funder(who: Principal, funder_code: str) -> None:
    """A funder acts only as itself; operators on anyone."""
    if who.role is not Role.OPERATOR and not who.is_funder(funder_code):
        raise hidden("funder_not_found", funder=funder_code)


def own_supplier(who: Principal, supplier_code: str) -> None:
    """A supplier acts only as itself; operators on any."""
    if who.role is not Role.OPERATOR and not who.is_supplier(supplier_code):
        raise hidden("supplier_not_found", supplier=supplier_code)


def own_party(who: Principal, agent_code: str, funder_code: str, missing: YirongError) -> None:
    """A thing between an agent and a funder (an application, a line, a loan): each of
    the two sees it, operators too; to anybody else it is ``missing``."""
    if who.role is Role.OPERATOR or who.is_agent(agent_code) or who.is_funder(funder_code):
        return
    raise missing


def scope_of(who: Principal) -> tuple[str | None, str | None]:
    """(agent, funder) a list is narrowed to for this caller; operators see all."""
    if who.role is Role.AGENT:
        return who.subject, None
    if who.role is Role.FUNDER:
        return None, who.subject
    if who.role is Role.OPERATOR:
        return None, None
    raise deny()  # a supplier lists no agent's or funder's records
