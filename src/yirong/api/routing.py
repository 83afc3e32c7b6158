"""The router every capability's ``views.py`` starts from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from yirong.api.idempotency import IdempotentRoute
from yirong.api.problems import Problem

PREFIX = "/api/v1"

_PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_PROBLEM, "description": "Bad request"},
    401: {
        **_PROBLEM,
        "description": "Not signed in, the token is invalid or expired, or a funder "
        "system's money-moving call is not signed (docs/request-signing.md)",
    },
    403: {**_PROBLEM, "description": "Your role may not do this, or it is not yours"},
    404: {**_PROBLEM, "description": "Not found"},
    409: {**_PROBLEM, "description": "Refused in the current state (a stable code says why)"},
    422: {**_PROBLEM, "description": "The request is invalid"},
    428: {**_PROBLEM, "description": "Idempotency-Key missing (money-moving routes)"},
    429: {**_PROBLEM, "description": "Too many attempts: wait the seconds in Retry-After"},
}


def api_router(tag: str) -> APIRouter:
    return APIRouter(
        prefix=PREFIX, tags=[tag], responses=COMMON_RESPONSES, route_class=IdempotentRoute
    )
