"""The application: every capability's routes under ``/api/v1``, problem documents for
every refusal, health and readiness, Prometheus metrics, and the browsable docs at
``/docs`` (the schema at ``/openapi.json``)."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from yirong.api import problems
from yirong.api.client_address import trusted_networks
from yirong.api.idempotency import idempotency_key
from yirong.api.observability import Metrics, RequestMiddleware
from yirong.api.security import BEARER, BEARER_SCHEME, Access, Operator
from yirong.api.uploads import form_schemas
from yirong.books.service import current_business_date
from yirong.config import settings
from yirong.console import site as console
from yirong.console.pages import problem_page
from yirong.errors import CATALOGUE, YirongError
from yirong.infra.db import Database
from yirong.infra.migrate import current_revision, head_revision
from yirong.wiring import wire

VERSION = "1"
SWAGGER_ASSETS = Path(__file__).parent / "static" / "swagger"
# Each capability's routes, in the order the docs list them.
VIEWS = (
    "yirong.access.views",
    "yirong.agents.views",
    "yirong.wallets.views",
    "yirong.funders.views",
    "yirong.credit.views",
    "yirong.loans.views",
    "yirong.orders.views",
    "yirong.reconciliation.views",
    "yirong.reconciliation.daily_views",
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
  `Authorization: Bearer <token>`; funders' and suppliers' systems send their API key
  the same way (a supplier has no sign-in: its key is its only credential).
  Failed sign-ins slow the account down (`login_throttled`, `Retry-After`).
* **Systems** sign every money-moving or recording call they make with an API key
  (`X-Yirong-Timestamp`, `X-Yirong-Nonce`, `X-Yirong-Signature`: HMAC-SHA256 over the
  method, path and query, timestamp, nonce and the body's SHA-256, under the key's
  signing secret); keys expire, and only people issue them.
* **Roles**: an agent sees only its own wallet, offers, loans and orders; a funder only
  its own applications, lines, loans and order financings and agents that consented to
  it; a supplier only its own orders; operators see all, and every operator request is
  written to the audit log.
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


class YirongApi(FastAPI):
    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, with the upload forms' schemas that routes refer to by
        name (their bodies are read by hand, so FastAPI does not know them), and the
        bearer scheme the routes' ``security`` names (``_document_access``)."""
        if self.openapi_schema is None:
            components = super().openapi().setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            forms = form_schemas()
            if clash := sorted(schemas.keys() & forms.keys()):
                raise ValueError(f"an upload form and a model share a name: {clash}")
            schemas.update(forms)
            components.setdefault("securitySchemes", {})[BEARER] = BEARER_SCHEME
        return super().openapi()


def create_app(db: Database) -> FastAPI:
    wire()
    app = YirongApi(
        title="Yirong (易融) API",
        version=VERSION,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # served below from the package's own copy of Swagger UI
        redoc_url=None,
    )
    app.state.db = db
    # Read once: a wrong entry stops the server at start, not at the first sign-in.
    app.state.trusted_proxies = trusted_networks(settings().trusted_proxies)
    problems.install(app, pages=problem_page)
    metrics = Metrics()
    app.add_middleware(RequestMiddleware, db=db, metrics=metrics)
    service = _service_router(db, metrics)
    _document_access(service)
    app.include_router(service)
    _docs(app)
    routes: list[APIRoute] = []
    for name in VIEWS:
        router: APIRouter = import_module(name).router
        _document_access(router)
        routes.extend(r for r in router.routes if isinstance(r, APIRoute))
        # The routes themselves, not the router: FastAPI matches an included router's
        # routes through a layer of its own that costs 40-270 µs a request here, where
        # a route's own match costs about one (BENCHMARKS.md). The routers' prefix,
        # tags and responses are already on their routes.
        app.router.routes.extend(router.routes)
    app.state.api_routes = routes  # the route table (the authorization matrix reads it)
    console.install(app)
    return app


def _service_router(db: Database, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["service"])

    @router.get("/healthz", response_model=Health, summary="The process is up")
    def health() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="Ready for traffic: database reachable, schema current, books open "
        "(operators: it names the schema and the business date)",
        responses={503: {"model": problems.Problem}},
    )
    def readiness(_who: Operator) -> Readiness:
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

    @router.get(
        "/metrics",
        summary="Prometheus metrics (operators: routes, counts and timings are a map of use)",
        response_class=Response,
    )
    def prometheus(_who: Operator) -> Response:
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


def _docs(app: FastAPI) -> None:
    """The browsable docs, with Swagger UI's files shipped inside the package (copied
    from the npm registry's swagger-ui-dist by ``make install``), never from a CDN."""
    if SWAGGER_ASSETS.is_dir():
        app.mount("/static/swagger", StaticFiles(directory=SWAGGER_ASSETS), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if not (SWAGGER_ASSETS / "swagger-ui-bundle.js").is_file():
            return HTMLResponse(
                "<p>The docs' assets are not installed (run <code>make install</code>); "
                'the schema is at <a href="/openapi.json">/openapi.json</a>.</p>',
                status_code=503,
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Yirong (易融) API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
            # No badge from swagger.io's validator: the page calls nothing outside.
            swagger_ui_parameters={"validatorUrl": None},
        )


def access_of(route: APIRoute) -> Access | None:
    """The roles a route admits (None: open to all, like health)."""
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Access):
            return dependency.call
    return None


def _document_access(router: APIRouter) -> None:
    """Each route's roles, credential and idempotency into the OpenAPI document
    (``x-roles``, ``security``, ``x-idempotent``), so a client can be built from the
    schema alone."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        extra: dict[str, Any] = dict(route.openapi_extra or {})
        access = access_of(route)
        if access is not None:
            extra["x-roles"] = sorted(r.value for r in access.roles)
            extra["security"] = [{BEARER: []}]
        if any(d.call is idempotency_key for d in route.dependant.dependencies):
            extra["x-idempotent"] = True
        route.openapi_extra = extra or None
