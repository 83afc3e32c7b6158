"""The operations team's record and rules: the audit log (newest first, filtered by
who, changes and Beijing days, paged on its own index, exported as a CSV) and the
dated rules (changed from a date, never the past)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access import service as access
from yirong.access.principals import Principal
from yirong.access.service import AuditFilter
from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console import i18n
from yirong.console.exports import csv_response
from yirong.console.forms import (
    operator_or_page,
    role_form,
    see_other,
    tr,
)
from yirong.console.i18n import N_
from yirong.console.pages import PAGE, refusal_text, refused, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.policy import service as policy
from yirong.roles import Role

router = APIRouter(include_in_schema=False)


def _audit_filter(request: Request) -> AuditFilter:
    """The page's filters; a date that is not one is refused by name."""
    q = request.query_params

    def start(name: str, days: int = 0) -> datetime | None:
        text = q.get(name, "")
        if not text:
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise YirongError("business_date_invalid", date=text) from exc
        return datetime.combine(day + timedelta(days=days), time(), i18n.CHINA)

    return AuditFilter(
        actor=q.get("actor", "").strip() or None,
        changes_only=q.get("changes") == "1",
        since=start("since"),
        until=start("until", days=1),  # the whole of the last day
    )


@router.get("/operator/audit")
def audit_page(request: Request, db: DB, before: int | None = None) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    q = request.query_params
    shown = {name: q.get(name, "") for name in ("actor", "changes", "since", "until")}
    try:
        found = access.audit_page(db, _audit_filter(request), before=before, limit=PAGE + 1)
    except YirongError as exc:
        return render(
            request,
            "operator_audit.html",
            422,
            who=who,
            shown=shown,
            found=[],
            older=None,
            error=refusal_text(request, exc.code),
        )
    return render(
        request,
        "operator_audit.html",
        who=who,
        shown=shown,
        filters={k: v for k, v in shown.items() if v},
        found=found[:PAGE],
        older=found[PAGE - 1].id if len(found) > PAGE else None,
    )


@router.get("/operator/audit.csv")
def audit_export(request: Request, db: DB) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    try:
        shown = _audit_filter(request)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 422, who=who)

    def rows() -> Iterator[list[object]]:
        before = None
        while True:  # a page at a time, each its own short read
            found = access.audit_page(db, shown, before=before, limit=5_000)
            for r in found:
                yield [i18n.moment(r.at), r.actor, r.username or "", r.action, r.target, r.status]
            if len(found) < 5_000:
                return
            before = found[-1].id

    header = [tr(request, name) for name in AUDIT_COLUMNS]
    return csv_response("audit-log.csv", header, rows())


AUDIT_COLUMNS = (
    N_("Time"),
    N_("Actor"),
    N_("Signed in as"),
    N_("Action"),
    N_("Path"),
    N_("Status"),
)


def _policy_page(
    request: Request,
    db: Database,
    who: Principal,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "operator_policy.html",
        status,
        who=who,
        current=policy.current_settings(db),
        scheduled=policy.scheduled_settings(db),
        today=current_business_date(db),
        rules=i18n.SETTINGS,
        form=form or {},
        error=error,
        notice=tr(request, "Done.") if request.query_params.get("done") else None,
    )


@router.get("/operator/policy")
def policy_page(request: Request, db: DB) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _policy_page(request, db, who)


@router.post("/operator/policy")
async def set_policy(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        start = date.fromisoformat(form.get("effective_from", ""))
    except ValueError:
        error = refusal_text(request, "business_date_invalid")
        return _policy_page(request, db, who, 422, error, form)
    try:
        await run_in_threadpool(
            lambda: policy.set_setting(
                db,
                form.get("key", ""),
                form.get("value", "").strip(),
                effective_from=start,
                set_by=who.handle,
            )
        )
    except YirongError as exc:
        return _policy_page(request, db, who, 422, refusal_text(request, exc.code), form)
    return see_other("/operator/policy?done=1")
