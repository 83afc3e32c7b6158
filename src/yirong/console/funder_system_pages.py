"""A funder's officer's pages about its systems: the daily files the platform makes
for it (T+1: loan book, repayments, payouts) to download, and the differences its own
files showed against them; its API keys (issued, each shown once; rotated; revoked)
and where its events are pushed (a new signing secret, shown once)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.access.service import (
    IssuedApiKey,
    api_keys,
    issue_api_key,
    revoke_api_key,
    rotate_api_key,
)
from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console import i18n
from yirong.console.forms import (
    funder_or_page,
    role_form,
    see_other,
)
from yirong.console.pages import refusal_text, refused, render
from yirong.errors import YirongError
from yirong.funders.public import EventsEndpoint, set_events_endpoint
from yirong.infra.db import Database
from yirong.reconciliation.funder_files import file_checks, funder_file, funder_files
from yirong.roles import Role

router = APIRouter(include_in_schema=False)


@router.get("/funder/files")
def files_page(request: Request, db: DB) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    text = request.query_params.get("day", "")
    try:
        # T+1: the files of the last closed day, unless another is asked for.
        day = date.fromisoformat(text) if text else current_business_date(db) - timedelta(1)
    except ValueError:
        return refused(request, refusal_text(request, "business_date_invalid"), 422, who=who)
    return render(
        request,
        "funder_files.html",
        who=who,
        day=day,
        files=funder_files(db, who.subject, day=day),
        checks=file_checks(db, who.subject, day=day),
        kinds=i18n.FILE_KINDS,
        differences=i18n.FILE_DIFFERENCES,
    )


@router.get("/funder/files/{day}/{kind}")
def download_file(request: Request, db: DB, day: date, kind: str) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    try:
        found = funder_file(db, who.subject, day, kind)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    return Response(
        found.content,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.name}"'},
    )


# ---------------------------------------------------------------- keys and events


def _keys_page(
    request: Request,
    db: Database,
    who: Principal,
    *,
    issued: IssuedApiKey | None = None,
    endpoint: EventsEndpoint | None = None,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "funder_keys.html",
        422 if error else 200,
        who=who,
        keys=api_keys(db, who.subject, limit=200),
        issued=issued,
        endpoint=endpoint,
        error=error,
    )


@router.get("/funder/keys")
def keys_page(request: Request, db: DB) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _keys_page(request, db, who)


@router.post("/funder/keys")
async def issue(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.FUNDER)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    label = form.get("label", "").strip() or "console"
    issued = await run_in_threadpool(lambda: issue_api_key(db, who.subject, label))
    # Shown on this answer only: only its hash is kept.
    return _keys_page(request, db, who, issued=issued)


@router.post("/funder/keys/{key_id}/{action}")
async def change_key(request: Request, db: DB, key_id: int, action: str) -> Response:
    taken = await role_form(request, db, Role.FUNDER)
    if isinstance(taken, Response):
        return taken
    who, _form = taken
    try:
        if action == "rotate":
            issued = await run_in_threadpool(
                lambda: rotate_api_key(db, key_id, funder_code=who.subject)
            )
            return _keys_page(request, db, who, issued=issued)
        if action == "revoke":
            await run_in_threadpool(lambda: revoke_api_key(db, key_id, funder_code=who.subject))
            return see_other("/funder/keys")
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    return refused(request, refusal_text(request, "route_not_found"), 404, who=who)


@router.post("/funder/events-endpoint")
async def events_endpoint(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.FUNDER)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        endpoint = await run_in_threadpool(
            set_events_endpoint, db, who.subject, form.get("url", "").strip()
        )
    except YirongError as exc:
        return _keys_page(request, db, who, error=refusal_text(request, exc.code))
    return _keys_page(request, db, who, endpoint=endpoint)
