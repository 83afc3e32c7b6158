"""The agent's credit pages: applying to one offer's funder (the firm's details, then a
consent that says which data go to which funder, for what and until when), its
credit (the application, the line: limit, used, available, expiry) and its consents,
each withdrawable. They call the credit service functions the API calls."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console import i18n
from yirong.console.forms import agent_form, agent_or_page, see_other, tr
from yirong.console.pages import refusal_text, refused, render
from yirong.credit.applications import (
    FirmDetails,
    apply_for_credit,
    current_credit,
    firm_details,
    withdraw_application,
)
from yirong.credit.consents import ConsentTerms, consents_of, withdraw_consent
from yirong.credit.offers import OfferView, compare_offers
from yirong.credit.queries import consent_text, latest_applications
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.loans.standing import line_use

router = APIRouter(include_in_schema=False)
CONSENT_DAYS = 365  # the consent's proposed length: a line's year; the agent may shorten it
DETAILS = ("name", "uscc", "legal_rep_name", "legal_rep_id", "mobile", "bank_card")


def _offer(db: Database, agent_code: str, offer_id: int) -> OfferView | None:
    """The agent's offer, if it is still open (the application would refuse it else)."""
    return next((o for o in compare_offers(db, agent_code) if o.id == offer_id), None)


def _apply_page(
    request: Request,
    db: Database,
    who: Principal,
    offer: OfferView,
    form: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> Response:
    today = current_business_date(db)
    return render(
        request,
        "apply.html",
        status,
        who=who,
        offer=offer,
        form=form,
        text=consent_text(db),
        labels=i18n.FIRM_FIELDS,
        today=today,
        error=error,
    )


@router.get("/agent/apply/{offer_id}")
def apply_page(request: Request, db: DB, offer_id: int) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    offer = _offer(db, who.subject, offer_id)
    if offer is None:
        return refused(request, refusal_text(request, "offer_not_live"), 409, who=who)
    # The details the agent registered with, for it to check: its own, on its own page.
    details = firm_details(db, who.subject)
    until = current_business_date(db) + timedelta(days=CONSENT_DAYS)
    form = {name: getattr(details, name) for name in DETAILS} | {"valid_until": str(until)}
    return _apply_page(request, db, who, offer, form)


@router.post("/agent/apply/{offer_id}")
async def apply(request: Request, db: DB, offer_id: int) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    offer = _offer(db, who.subject, offer_id)
    if offer is None:
        return _applied_already(request, db, who, offer_id)
    details = FirmDetails(*(form.get(name, "").strip() for name in DETAILS))
    try:
        consent = _consent(form)
        await run_in_threadpool(apply_for_credit, db, who.subject, offer_id, details, consent)
    except YirongError as exc:
        return _apply_page(request, db, who, offer, form, 422, refusal_text(request, exc.code))
    return see_other("/agent/credit")


def _consent(form: dict[str, str]) -> ConsentTerms | None:
    """The consent as the form gave it: None unless its box was ticked."""
    if form.get("consent") != "yes":
        return None
    try:
        until = date.fromisoformat(form.get("valid_until", ""))
    except ValueError as exc:
        raise YirongError("business_date_invalid", date=form.get("valid_until")) from exc
    fields = tuple(form.get("fields", "").split(","))
    return ConsentTerms(fields, until, form.get("text_version", ""))


def _applied_already(request: Request, db: Database, who: Principal, offer_id: int) -> Response:
    """A second post of an application already made (a double click, a reload) leads
    to the credit page; any other closed offer is refused by name."""
    application, _line = current_credit(db, who.subject)
    if application is not None and application.offer_id == offer_id:
        return see_other("/agent/credit")
    return refused(request, refusal_text(request, "offer_not_live"), 409, who=who)


@router.get("/agent/credit")
def credit_page(request: Request, db: DB) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    notice = None
    if request.query_params.get("withdrawn") == "consent":
        notice = tr(request, "The consent is withdrawn: nothing more is shared under it.")
    elif request.query_params.get("withdrawn") == "application":
        notice = tr(request, "The application is withdrawn; you may apply to another funder.")
    return render(
        request,
        "credit.html",
        who=who,
        use=line_use(db, who.subject),
        applications=latest_applications(db, who.subject),
        consents=consents_of(db, who.subject)[::-1],
        today=current_business_date(db),
        labels=i18n.FIRM_FIELDS,
        features=i18n.FEATURES,
        reasons=i18n.REJECTIONS,
        statuses=i18n.APPLICATION_STATUSES,
        notice=notice,
    )


@router.post("/agent/consents/{consent_id}/withdraw")
async def withdraw(request: Request, db: DB, consent_id: int) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, _form = taken
    try:
        await run_in_threadpool(withdraw_consent, db, who.subject, consent_id)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    return see_other("/agent/credit?withdrawn=consent")


@router.post("/agent/applications/{application_id}/withdraw")
async def withdraw_applied(request: Request, db: DB, application_id: int) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, _form = taken
    try:
        await run_in_threadpool(withdraw_application, db, who.subject, application_id)
    except YirongError as exc:
        if exc.code != "application_already_decided":
            return refused(request, refusal_text(request, exc.code), 404, who=who)
        # Decided meanwhile (or withdrawn by a first click): the page says how it stands.
        return see_other("/agent/credit")
    return see_other("/agent/credit?withdrawn=application")
