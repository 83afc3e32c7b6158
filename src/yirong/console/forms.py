"""What every console route does first: the posted form taken only with its CSRF
token, the page kept for the role it is for, the reader's own words."""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from yirong.access.principals import Principal
from yirong.console import i18n
from yirong.console.pages import language, refused
from yirong.console.session import CSRF_FIELD, csrf_ok, signed_in
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.roles import Role


def tr(request: Request, message: str) -> str:
    """``message`` in the reader's language."""
    return i18n.translations(language(request)).gettext(message)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def posted(request: Request) -> dict[str, str] | None:
    """The posted form, or None when its CSRF token is not this browser's."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return fields if csrf_ok(request, fields.get(CSRF_FIELD)) else None


def csrf_refused(request: Request) -> Response:
    return refused(
        request,
        tr(request, "This form has expired or did not come from this site. Please try again."),
        403,
    )


def signed_in_as(request: Request, db: Database, role: Role) -> Principal | Response:
    """The signed-in principal of ``role``; else the sign-in page or a refusal."""
    who = signed_in(request, db)
    if who is None:
        return see_other("/")
    if who.role is not role:
        return refused(request, tr(request, "This page is not for your role."), 403, who=who)
    return who


def agent_or_page(request: Request, db: Database) -> Principal | Response:
    return signed_in_as(request, db, Role.AGENT)


def funder_or_page(request: Request, db: Database) -> Principal | Response:
    return signed_in_as(request, db, Role.FUNDER)


def operator_or_page(request: Request, db: Database) -> Principal | Response:
    return signed_in_as(request, db, Role.OPERATOR)


async def role_form(
    request: Request, db: Database, role: Role
) -> tuple[Principal, dict[str, str]] | Response:
    """A form posted by someone of ``role``: its CSRF token checked first, then who
    posted it."""
    form = await posted(request)
    if form is None:
        return csrf_refused(request)
    who = signed_in_as(request, db, role)
    return who if isinstance(who, Response) else (who, form)


async def agent_form(request: Request, db: Database) -> tuple[Principal, dict[str, str]] | Response:
    return await role_form(request, db, Role.AGENT)


def new_key() -> str:
    """The key a confirming form is given when it is shown: whatever happens to the
    page (a double click, a reload), every post of it carries the same key."""
    return secrets.token_urlsafe(16)


def key_of(form: dict[str, str]) -> str:
    """The idempotency key a confirming form carries, as the service records it."""
    key = form.get("key", "")
    if not key:
        raise YirongError("idempotency_key_required")
    return f"console:{key}"
