"""The console's routes: sign-in at ``/`` (one form for every role), sign-out, the
language switch, and each role's home page. Every page calls the same service
functions as the API; every form is checked for its CSRF token first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access import service as access
from yirong.access.principals import Principal
from yirong.api.client_address import client_of
from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console import charts, i18n
from yirong.console.forms import (
    agent_form,
    agent_or_page,
    csrf_refused,
    posted,
    see_other,
    tr,
)
from yirong.console.i18n import N_
from yirong.console.pages import language, render
from yirong.console.session import (
    LANGUAGE_COOKIE,
    end_session,
    keep_session,
    session_token,
    signed_in,
)
from yirong.credit.applications import current_credit
from yirong.credit.consents import consents_of, opt_in_preapproval
from yirong.credit.offers import compare_offers
from yirong.credit.queries import consent_text
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.loans.standing import agent_standing
from yirong.roles import Role
from yirong.wallets import service as wallets
from yirong.wallets.history import monthly_flows

router = APIRouter(include_in_schema=False)
HOME = {Role.AGENT: "/agent", Role.FUNDER: "/funder", Role.OPERATOR: "/operator"}


@router.get("/")
def sign_in_page(request: Request, db: DB) -> Response:
    who = signed_in(request, db)
    if who is not None:
        return see_other(HOME[who.role])
    return render(request, "signin.html")


@router.post("/signin")
async def sign_in(request: Request, db: DB) -> Response:
    form = await posted(request)
    if form is None:
        return csrf_refused(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    try:
        issued = await run_in_threadpool(access.sign_in, db, username, password, client_of(request))
    except YirongError as exc:
        message = {
            "login_failed": N_("Wrong username or password."),
            "login_throttled": N_("Too many attempts: please wait a few minutes and try again."),
        }.get(exc.code, N_("You could not be signed in."))
        status = 429 if exc.code == "login_throttled" else 401
        return render(request, "signin.html", status, error=tr(request, message), username=username)
    response = see_other(HOME[issued.role])
    keep_session(request, response, issued.access_token)
    return response


@router.post("/signout")
async def sign_out(request: Request, db: DB) -> Response:
    form = await posted(request)
    if form is None:
        return csrf_refused(request)
    token = session_token(request)
    if token:
        signed_in(request, db)  # who signs out: the audit records it, as through the API
        await run_in_threadpool(access.sign_out, db, token)
    response = see_other("/")
    end_session(response)
    return response


@router.get("/language")
def switch_language(request: Request, to: str, next: str = "/") -> Response:
    # Only a path on this site: never a redirect elsewhere.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = see_other(target)
    response.set_cookie(LANGUAGE_COOKIE, i18n.language_of(to), max_age=365 * 86400, samesite="lax")
    keep_session(request, response)
    return response


@router.get("/agent")
def agent_home(request: Request, db: DB) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    wallet = wallets.wallet(db, who.handle)
    _application, line = current_credit(db, who.subject)
    standing = agent_standing(db, who.subject)
    flows = monthly_flows(db, who.handle)
    freezes = wallets.freezes_of(db, who.handle)
    chart = charts.months_chart(
        flows, tr(request, "Commissions"), tr(request, "Paid for stock"), language(request)
    )
    return render(
        request,
        "agent_home.html",
        who=who,
        wallet=wallet,
        line=line,
        standing=standing,
        flows=flows,
        chart=chart,
        freezes=freezes,
        why=i18n.FREEZES,
    )


@router.get("/agent/offers")
def agent_offers(request: Request, db: DB) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _offers_page(request, db, who)


def _offers_page(
    request: Request, db: Database, who: Principal, status: int = 200, error: str | None = None
) -> Response:
    today = current_business_date(db)
    opted = next(
        (
            c
            for c in consents_of(db, who.subject)
            if c.purpose == "preapproval" and c.withdrawn_on is None and c.valid_until >= today
        ),
        None,
    )
    return render(
        request,
        "offers.html",
        status,
        who=who,
        opted=opted,
        text=consent_text(db),
        offers=compare_offers(db, who.subject),
        engaged=any(current_credit(db, who.subject)),
        methods=i18n.METHODS,
        features=i18n.FEATURES,
        error=error,
    )


@router.post("/agent/preapproval")
async def agent_opt_in(request: Request, db: DB) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        await run_in_threadpool(
            opt_in_preapproval, db, who.subject, text_version=form.get("text_version", "")
        )
    except YirongError as exc:
        if exc.code != "consent_invalid":
            raise
        # The text changed while the page was open: shown again, to be read again.
        message = tr(request, "The consent's text has changed: please read it again.")
        return _offers_page(request, db, who, 409, message)
    return see_other("/agent/offers")
