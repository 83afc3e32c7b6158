"""The operations team's pages: the dashboard (the business date and the end of day's
steps, the book, wallets frozen, the last days' reconciliation of the books against
the bank); the reconciliation's exception queue and each exception's actions (match
by hand, return, book to or release from suspense, dismiss), with a second
operator's approval at or above the threshold; the freezes (the funders' requests to
apply or decline, the active ones to lift where an operator may). They call the
service functions the API calls; the middleware audits every page, as the API's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access import service as access
from yirong.access.principals import Principal
from yirong.access.service import AuditFilter
from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console import charts, day_close, i18n
from yirong.console.exports import csv_response, yuan_number
from yirong.console.forms import role_form, see_other, signed_in_as, tr
from yirong.console.i18n import N_
from yirong.console.pages import language, refusal_text, refused, render
from yirong.eod.service import eod_status, steps
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.loans.freeze_requests import (
    apply_freeze_request,
    decline_freeze_request,
    freeze_requests,
    requested_count,
)
from yirong.loans.standing import platform_book
from yirong.policy import service as policy
from yirong.reconciliation import exceptions
from yirong.reconciliation.kept_days import recent_days
from yirong.reconciliation.model import ExceptionKind
from yirong.roles import Role
from yirong.wallets import service as wallets

router = APIRouter(include_in_schema=False)
PAGE = 25
LIFTABLE = ("funder_request", "legal_order", "risk")  # wallets.lift_freeze's (not overdue)


def _operator(request: Request, db: Database) -> Principal | Response:
    return signed_in_as(request, db, Role.OPERATOR)


@router.get("/operator")
def dashboard(request: Request, db: DB) -> Response:
    who = _operator(request, db)
    if isinstance(who, Response):
        return who
    status = eod_status(db)
    planned = [name for name, _ in steps()]
    days = recent_days(db, days=10)
    book = platform_book(db)
    return render(
        request,
        "operator_home.html",
        who=who,
        today=status["business_date"],
        planned=planned,
        done=set(status["steps_done"]),
        step_names=i18n.EOD_STEPS,
        run=_runs(request).state(),
        days=days,
        items=i18n.RECON_ITEMS,
        chart=charts.recon_chart(
            days, tr(request, "Books"), tr(request, "Bank"), language(request)
        ),
        book=book,
        principal=sum(b.principal for b in book.buckets),
        loans=sum(b.loans for b in book.buckets),
        past_due=sum(b.loans for b in book.buckets if b.bucket != "M0"),
        counts=wallets.wallet_counts(db),
        waiting=exceptions.open_count(db),
        approvals=len(exceptions.approvals(db)),
        requests=requested_count(db),
    )


# ---------------------------------------------------------------- exceptions


@router.get("/operator/exceptions")
def exceptions_page(
    request: Request, db: DB, status: str = "open", kind: str = "", after: int = 0
) -> Response:
    who = _operator(request, db)
    if isinstance(who, Response):
        return who
    shown_status = status if status in ("open", "resolved") else None
    shown_kind = kind if kind in set(ExceptionKind) else None
    found = exceptions.list_exceptions(
        db, status=shown_status, kind=shown_kind, after=after, limit=PAGE + 1
    )
    return render(
        request,
        "operator_exceptions.html",
        who=who,
        found=found[:PAGE],
        next_after=found[PAGE - 1].id if len(found) > PAGE else None,
        shown_status=shown_status or "all",
        shown_kind=shown_kind or "",
        kinds=i18n.EXCEPTION_KINDS,
        approvals=exceptions.approvals(db),
    )


def _exception_page(
    request: Request,
    db: Database,
    who: Principal,
    exception_id: int,
    status: int = 200,
    error: str | None = None,
) -> Response:
    try:
        found, actions = exceptions.exception_detail(db, exception_id)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    pending = next((a for a in exceptions.approvals(db) if a.id == found.awaiting_approval), None)
    return render(
        request,
        "operator_exception.html",
        status,
        who=who,
        exc=found,
        actions=actions,
        pending=pending,
        kinds=i18n.EXCEPTION_KINDS,
        error=error,
        notice=_notice(request),
    )


def _notice(request: Request) -> str | None:
    return {
        "done": tr(request, "Done."),
        "awaiting_approval": tr(
            request, "Asked: a second operator must approve it, at or above the threshold."
        ),
        "approved": tr(request, "Approved: it is carried out."),
        "refused": tr(request, "Refused: nothing moved, the exception stays open."),
    }.get(request.query_params.get("done", ""))


@router.get("/operator/exceptions/{exception_id}")
def exception_page(request: Request, db: DB, exception_id: int) -> Response:
    who = _operator(request, db)
    if isinstance(who, Response):
        return who
    return _exception_page(request, db, who, exception_id)


# What each action's button calls, with the form's fields (the actor is the operator).
ACTIONS: dict[str, Callable[..., Any]] = {
    "match": lambda db, n, form, actor: exceptions.match_by_hand(
        db, n, form.get("target", "").strip() or None, actor=actor
    ),
    "return": lambda db, n, form, actor: exceptions.return_to_sender(db, n, actor=actor),
    "suspense": lambda db, n, form, actor: exceptions.book_to_suspense(db, n, actor=actor),
    "release": lambda db, n, form, actor: exceptions.release_from_suspense(db, n, actor=actor),
    "dismiss": lambda db, n, form, actor: exceptions.dismiss(
        db, n, form.get("reason", ""), actor=actor
    ),
}


@router.post("/operator/exceptions/{exception_id}/{action}")
async def act(request: Request, db: DB, exception_id: int, action: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    call = ACTIONS.get(action)
    if call is None:
        return refused(request, refusal_text(request, "route_not_found"), 404, who=who)
    try:
        result = await run_in_threadpool(call, db, exception_id, form, who.handle)
    except YirongError as exc:
        if exc.code == "exception_resolved":  # a second click, or a colleague first
            return see_other(f"/operator/exceptions/{exception_id}")
        error = refusal_text(request, exc.code)
        return _exception_page(request, db, who, exception_id, 422, error)
    return see_other(f"/operator/exceptions/{exception_id}?done={result.status}")


@router.post("/operator/approvals/{approval_id}/{decision}")
async def decide(request: Request, db: DB, approval_id: int, decision: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    exception_id = int(form.get("exception", "0") or 0)
    try:
        if decision == "approve":
            await run_in_threadpool(lambda: exceptions.approve(db, approval_id, actor=who.handle))
        elif decision == "refuse":
            reason = form.get("reason", "")
            await run_in_threadpool(
                lambda: exceptions.refuse(db, approval_id, reason, actor=who.handle)
            )
        else:
            return refused(request, refusal_text(request, "route_not_found"), 404, who=who)
    except YirongError as exc:
        if exc.code == "approval_decided":
            return see_other(f"/operator/exceptions/{exception_id}")
        error = refusal_text(request, exc.code)
        return _exception_page(request, db, who, exception_id, 422, error)
    done = "approved" if decision == "approve" else "refused"
    return see_other(f"/operator/exceptions/{exception_id}?done={done}")


# ---------------------------------------------------------------- freezes


@router.get("/operator/freezes")
def freezes_page(request: Request, db: DB, reason: str = "", after: int = 0) -> Response:
    who = _operator(request, db)
    if isinstance(who, Response):
        return who
    shown = reason if reason in i18n.FREEZES else None
    found = wallets.active_freezes(db, reason=shown, after=after, limit=PAGE + 1)
    return render(
        request,
        "operator_freezes.html",
        who=who,
        requests=freeze_requests(db, status="requested", limit=200),
        found=found[:PAGE],
        next_after=found[PAGE - 1].id if len(found) > PAGE else None,
        shown=shown or "",
        why=i18n.FREEZES,
        liftable=LIFTABLE,
        notice=tr(request, "Done.") if request.query_params.get("done") else None,
    )


@router.post("/operator/freeze-requests/{request_id}/{decision}")
async def decide_freeze(request: Request, db: DB, request_id: int, decision: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    note = form.get("note", "")
    try:
        if decision == "apply":
            await run_in_threadpool(apply_freeze_request, db, request_id, who.handle, note or None)
        elif decision == "decline":
            await run_in_threadpool(decline_freeze_request, db, request_id, who.handle, note)
        else:
            return refused(request, refusal_text(request, "route_not_found"), 404, who=who)
    except YirongError as exc:
        if exc.code == "freeze_request_decided":  # a second click, or a colleague first
            return see_other("/operator/freezes")
        return refused(request, refusal_text(request, exc.code), 409, who=who)
    return see_other("/operator/freezes?done=1")


@router.post("/operator/freezes/lift")
async def lift(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    reason, note = form.get("reason", ""), form.get("note", "").strip()
    wallet = form.get("wallet", "")
    try:
        await run_in_threadpool(
            lambda: wallets.lift_freeze(db, wallet, reason, note=note, actor=who.handle)
        )
    except YirongError as exc:
        if exc.code == "wallet_not_frozen":  # lifted already (a second click)
            return see_other("/operator/freezes")
        return refused(request, refusal_text(request, exc.code), 422, who=who)
    return see_other("/operator/freezes?done=1")


# ---------------------------------------------------------------- the audit log


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
    who = _operator(request, db)
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
    who = _operator(request, db)
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


# ---------------------------------------------------------------- policy


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
    who = _operator(request, db)
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


# ---------------------------------------------------------------- closing the day


def _runs(request: Request) -> day_close.DayClose:
    runs: day_close.DayClose = request.app.state.day_close
    return runs


def _eod_card(request: Request, db: Database, who: Principal) -> Response:
    status = eod_status(db)
    return render(
        request,
        "operator_eod.html",
        who=who,
        today=status["business_date"],
        planned=[name for name, _ in steps()],
        done=set(status["steps_done"]),
        step_names=i18n.EOD_STEPS,
        run=_runs(request).state(),
    )


@router.get("/operator/eod")
def eod_card(request: Request, db: DB) -> Response:
    """The end of day's card alone: the dashboard polls it while a run goes on."""
    who = _operator(request, db)
    if isinstance(who, Response):
        return who
    return _eod_card(request, db, who)


@router.post("/operator/eod")
async def close_day(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        day = date.fromisoformat(form.get("business_date", ""))
    except ValueError:
        return refused(request, refusal_text(request, "business_date_invalid"), 422, who=who)
    if day == current_business_date(db):  # else closed already: a second click
        _runs(request).start(db, day)
    return see_other("/operator")


@router.get("/operator/exceptions.csv")
def exceptions_export(request: Request, db: DB, status: str = "open", kind: str = "") -> Response:
    """The queue as filtered, every page of it, for a finance person to take away."""
    who = _operator(request, db)
    if isinstance(who, Response):
        return who
    shown_status = status if status in ("open", "resolved") else None
    shown_kind = kind if kind in set(ExceptionKind) else None
    kinds = {code: tr(request, text) for code, text in i18n.EXCEPTION_KINDS.items()}

    def rows() -> Iterator[list[object]]:
        after = 0
        while True:
            found = exceptions.list_exceptions(
                db, status=shown_status, kind=shown_kind, after=after, limit=2_000
            )
            for e in found:
                line = e.line
                yield [
                    e.id,
                    kinds.get(e.kind, e.kind),
                    e.status,
                    yuan_number(e.amount),
                    e.opened_on.isoformat(),
                    e.age_days,
                    line.bank_serial if line else "",
                    line.counterparty_name if line else "",
                    line.memo if line else "",
                    e.proposal or "",
                    e.resolution or "",
                ]
            if len(found) < 2_000:
                return
            after = found[-1].id

    header = [tr(request, name) for name in EXCEPTION_COLUMNS]
    return csv_response("exceptions.csv", header, rows())


EXCEPTION_COLUMNS = (
    N_("Exception"),
    N_("Kind"),
    N_("Status"),
    N_("Amount"),
    N_("Opened on"),
    N_("Age in days"),
    N_("Bank serial"),
    N_("Counterparty"),
    N_("Memo"),
    N_("Proposed match"),
    N_("Resolution"),
)
