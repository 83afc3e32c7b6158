"""Refusals as RFC 9457 problem details (``application/problem+json``): ``type`` links
to the code's description, ``title`` is its plain message, ``code`` the stable code the
service raised, ``request_id`` the id in the logs; the refusal's details follow as
extension members."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from yirong.api.observability import is_console
from yirong.errors import CATALOGUE, YirongError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"
log = logging.getLogger("yirong.api")


class Problem(BaseModel):
    """The body of every refusal."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem_response(
    request: Request, code: str, message: str | None = None, /, **details: Any
) -> JSONResponse:
    """The problem document for ``code``; ``details`` become extension members (any
    name, even one of this function's parameters: they are positional-only)."""
    spec = CATALOGUE[code]
    body = {
        "type": TYPE_BASE + code,
        "title": spec.message,
        "status": spec.status,
        "detail": message or spec.message,
        "code": code,
        "instance": request.url.path,
        "request_id": request_id_of(request),
        **{k: v for k, v in details.items() if k not in _RESERVED},
    }
    headers = {}
    if code in ("login_throttled", "idempotency_request_in_flight"):
        headers["Retry-After"] = str(details.get("retry_after", 1))
    if spec.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=spec.status, media_type=MEDIA_TYPE, headers=headers)


_RESERVED = frozenset({"type", "title", "status", "detail", "code", "instance", "request_id"})


def refusal_response(request: Request, exc: YirongError) -> JSONResponse:
    return problem_response(request, exc.code, exc.message, **_jsonable(exc.details))


def _jsonable(details: Any) -> dict[str, Any]:
    encoded: dict[str, Any] = jsonable_encoder(dict(details))
    return encoded


# A console page's renderer of a refusal (request, code, HTTP status): a page in the
# reader's language where the API answers a problem document.
PageRenderer = Callable[[Request, str, int], Response]


def install(app: FastAPI, *, pages: PageRenderer | None = None) -> None:
    def answer(request: Request, code: str, response: Callable[[], Response]) -> Response:
        if pages is not None and is_console(request.url.path):
            return pages(request, code, CATALOGUE[code].status)
        return response()

    @app.exception_handler(YirongError)
    async def _refused(request: Request, exc: YirongError) -> Response:
        return answer(request, exc.code, lambda: refusal_response(request, exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # The offending input is not echoed back: it may be personal data.
        errors = [
            {"loc": [str(part) for part in e.get("loc", ())], "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        code = "request_invalid"
        return answer(request, code, lambda: problem_response(request, code, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "route_not_found", 405: "method_not_allowed"}.get(exc.status_code) or (
            "request_invalid" if exc.status_code < 500 else "internal_error"
        )
        return answer(request, code, lambda: problem_response(request, code))

    @app.exception_handler(Exception)
    async def _crashed(request: Request, exc: Exception) -> Response:
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"request_id": request_id_of(request), "path": request.url.path},
        )
        return answer(
            request, "internal_error", lambda: problem_response(request, "internal_error")
        )
