"""The application: every capability's routes under ``/api/v1``, problem documents for
every refusal, health and readiness, Prometheus metrics, and the browsable docs at
``/docs`` (the schema at ``/openapi.json``)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from yirong.api import problems
from yirong.api.idempotency import idempotency_key
from yirong.api.observability import Metrics, RequestMiddleware
from yirong.api.security import Access
from yirong.books.service import current_business_date
from yirong.errors import CATALOGUE, YirongError
from yirong.infra.db import Database
from yirong.infra.migrate import current_revision, head_revision

VERSION = "1"
# Each capability's routes, in the order the docs list them.
VIEWS = (
    "yirong.access.views",
    "yirong.agents.views",
    "yirong.wallets.views",
    "yirong.funders.views",
    "yirong.credit.views",
    "yirong.loans.views",
    "yirong.eod.views",
    "yirong.ledger.views",
    "yirong.policy.views",
    "yirong.events.views",
)

DESCRIPTION = """\
Revenue-based lending to small businesses: agents borrow from licensed funders against
the commissions that land in their wallets.

* **Money** is integer fen (分) on the wire; rates are decimal strings ("0.18").
* **Sign in**: people `POST /api/v1/auth/token` with a username and password and send
  `Authorization: Bearer <token>`; funder systems send their API key the same way.
* **Roles**: an agent sees only its own wallet, offers and loans; a funder only its own
  applications, lines and loans and agents that consented to it; operators see all, and
  every operator request is written to the audit log.
* **Idempotency**: every request that moves money needs an `Idempotency-Key` header; a
  repeat returns the first answer with `Idempotent-Replayed: true`.
* **Errors** are RFC 9457 problem documents (`application/problem+json`) whose `code`
  is stable; `GET /api/v1/problems` lists them all.
* **Lists** are paged: `limit` and `cursor` (the previous page's `next_cursor`).
* **Events** for funders leave signed (HMAC-SHA256 over `timestamp.body`,
  `X-Yirong-Signature`), each with an `X-Yirong-Event-Id` to de-duplicate by.
"""


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    business_date: str | None


class ProblemType(BaseModel):
    code: str
    status: int
    title: str


def create_app(db: Database) -> FastAPI:
    app = FastAPI(
        title="Yirong (易融) API",
        version=VERSION,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url="/redoc",
    )
    app.state.db = db
    problems.install(app)
    metrics = Metrics()
    app.add_middleware(RequestMiddleware, db=db, metrics=metrics)
    app.include_router(_service_router(db, metrics))
    routes: list[APIRoute] = []
    for name in VIEWS:
        router: APIRouter = import_module(name).router
        _document_access(router)
        routes.extend(r for r in router.routes if isinstance(r, APIRoute))
        app.include_router(router)
    app.state.api_routes = routes  # the route table (the authorization matrix reads it)
    return app


def _service_router(db: Database, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["service"])

    @router.get("/healthz", response_model=Health, summary="The process is up")
    def health() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="Ready for traffic: database reachable, schema current, books open",
        responses={503: {"model": problems.Problem}},
    )
    def readiness() -> Readiness:
        try:
            revision = current_revision(db)
            if revision != head_revision(db):
                raise YirongError(
                    "database_busy", reason="schema not at head: run yirong db upgrade"
                )
            today = current_business_date(db)
        except YirongError:
            raise
        except Exception as exc:
            raise YirongError("database_busy", reason="database unreachable") from exc
        return Readiness(
            status="ready",
            database=db.dialect.value,
            schema_revision=revision,
            business_date=str(today),
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get(
        "/api/v1/problems", response_model=list[ProblemType], summary="Every refusal's stable code"
    )
    def problem_types() -> list[ProblemType]:
        return [ProblemType(code=c, status=s.status, title=s.message) for c, s in CATALOGUE.items()]

    @router.get(
        "/api/v1/problems/{code}",
        response_model=ProblemType,
        summary="What one refusal code means",
        responses={404: {"model": problems.Problem}},
    )
    def problem_type(code: str, request: Request) -> Any:
        spec = CATALOGUE.get(code)
        if spec is None:
            return problems.problem_response(request, "route_not_found")
        return ProblemType(code=code, status=spec.status, title=spec.message)

    return router


def access_of(route: APIRoute) -> Access | None:
    """The roles a route admits (None: open to all, like health)."""
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Access):
            return dependency.call
    return None


def _document_access(router: APIRouter) -> None:
    """Each route's roles and idempotency into the OpenAPI document (``x-roles``,
    ``x-idempotent``), so a client can be built from the schema alone."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        extra: dict[str, Any] = dict(route.openapi_extra or {})
        access = access_of(route)
        if access is not None:
            extra["x-roles"] = sorted(r.value for r in access.roles)
        if any(d.call is idempotency_key for d in route.dependant.dependencies):
            extra["x-idempotent"] = True
        route.openapi_extra = extra or None
