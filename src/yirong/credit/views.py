"""Routes of the credit marketplace: consents (pre-approval opt-in, withdrawal), the
pre-approval run (operators), funders' candidates (pseudonymous), offers side by
side, formal applications and their decisions, and credit lines.

None of these moves money, so none takes an Idempotency-Key: deciding or applying
twice is refused by the service's own state checks (``application_already_decided``,
``credit_already_engaged``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from yirong.access.principals import Principal
from yirong.agents.service import AgentView
from yirong.api.fields import Fen
from yirong.api.pages import Cursor, Limit, Page, after_of, cursor_of, page_in_memory, page_of
from yirong.api.routing import api_router
from yirong.api.security import (
    DB,
    AgentOnly,
    AgentOrOperator,
    Anyone,
    FunderOnly,
    FunderOrOperator,
    Operator,
    hidden,
    own_agent,
    own_funder,
    own_party,
    scope_of,
)
from yirong.credit import applications as apps
from yirong.credit.applications import ApplicationView, FirmDetails, LineView
from yirong.credit.consents import (
    ConsentTerms,
    ConsentView,
    consents_of,
    opt_in_preapproval,
    withdraw_consent,
)
from yirong.credit.disclosure import Candidate, candidates
from yirong.credit.offers import OfferView, compare_offers
from yirong.credit.preapproval import FunderOutcome, run_preapproval
from yirong.credit.queries import (
    ConsentText,
    consent_text,
    get_application,
    get_line,
    list_applications,
    list_lines,
)
from yirong.credit.tables import CREDIT_LINE
from yirong.infra.db import Database
from yirong.loans import lines as loan_lines
from yirong.roles import Role

router = api_router("credit")

Rate = Annotated[
    Decimal, Field(gt=0, lt=1, description='An annual rate as a decimal string, "0.12" for 12%')
]
TextVersion = Annotated[str, Field(min_length=1, max_length=32)]
Identifier = Annotated[str, Field(min_length=1, max_length=40)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
ApplicationStatus = Literal["submitted", "approved", "rejected", "withdrawn"]
LineStatus = Literal["active", "closed"]


class PreapprovalOptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text_version: TextVersion = Field(description="The consent text the agent accepted")


class PreapprovalRunView(BaseModel):
    run_id: int
    business_date: date
    features_as_of: date
    offers_expired: int
    offers_created: int
    funders: dict[str, FunderOutcome]


class Firm(BaseModel):
    """The firm's details as the agent confirms them (they must match its record)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    uscc: Identifier
    legal_rep_name: Name
    legal_rep_id: Identifier
    mobile: Identifier
    bank_card: Identifier


class ApplicationConsent(BaseModel):
    """The agent's explicit consent: which data go to the offer's funder, until when,
    under which version of the text."""

    model_config = ConfigDict(extra="forbid")

    fields: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(max_length=20)
    valid_until: date
    text_version: TextVersion


class NewApplication(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer_id: int = Field(strict=True, gt=0)
    firm: Firm
    consent: ApplicationConsent | None = Field(
        None, description="Required: without it nothing identified may go to the funder"
    )


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_limit: Fen
    annual_rate: Rate
    valid_days: int | None = Field(
        None, strict=True, ge=1, le=3 * 366, description="Default: the product's line validity"
    )


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(
        min_length=1, max_length=32, description=", ".join(apps.REJECTION_REASONS)
    )


class LineClosing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


# ---------------------------------------------------------------- consent


@router.get(
    "/consent-text",
    response_model=ConsentText,
    summary="The current consent text's version and the data each consent covers",
)
def current_consent_text(_who: Anyone, db: DB) -> ConsentText:
    return consent_text(db)


@router.post(
    "/agents/{code}/preapproval-consent",
    response_model=ConsentView,
    summary="Opt in to pre-approval: funders may see pseudonymous features and make offers",
)
def opt_in(code: str, data: PreapprovalOptIn, who: AgentOnly, db: DB) -> ConsentView:
    own_agent(who, code)
    return opt_in_preapproval(db, code, text_version=data.text_version)


@router.get(
    "/agents/{code}/consents",
    response_model=Page[ConsentView],
    summary="The consents the agent gave, withdrawn ones too",
)
def consents(
    code: str, who: AgentOrOperator, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[ConsentView]:
    own_agent(who, code)
    return page_in_memory(consents_of(db, code), cursor, limit, lambda c: c.id)


@router.post(
    "/agents/{code}/consents/{consent_id}/withdraw",
    response_model=ConsentView,
    summary="Withdraw a consent: nothing more is shared under it",
)
def withdraw(code: str, consent_id: int, who: AgentOnly, db: DB) -> ConsentView:
    own_agent(who, code)
    return withdraw_consent(db, code, consent_id)


# ---------------------------------------------------------------- pre-approval


@router.post(
    "/preapproval/runs",
    response_model=PreapprovalRunView,
    status_code=201,
    summary="Recompute features and ask every funder for offers",
)
def preapproval_run(_who: Operator, db: DB) -> PreapprovalRunView:
    report = run_preapproval(db)
    return PreapprovalRunView(
        run_id=report.run_id,
        business_date=report.business_date,
        features_as_of=report.features_as_of,
        offers_expired=report.offers_expired,
        offers_created=report.offers_created,
        funders=report.funders,
    )


@router.get(
    "/funders/{code}/candidates",
    response_model=Page[Candidate],
    summary="Agents open to offers: pseudonymous tokens and features, no identity",
)
def funder_candidates(
    code: str, who: FunderOnly, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[Candidate]:
    own_funder(who, code)
    found, more = candidates(db, code, after=after_of(cursor), limit=limit)
    return Page[Candidate](
        items=[c for _, c in found], next_cursor=cursor_of(found[-1][0]) if more and found else None
    )


# ---------------------------------------------------------------- offers


@router.get(
    "/agents/{code}/offers",
    response_model=Page[OfferView],
    summary="The agent's live offers side by side, cheapest first (APR, sample cost)",
    description="The cursor here is a position in the comparison, which is re-ranked "
    "on every request.",
)
def offers(
    code: str, who: AgentOrOperator, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[OfferView]:
    own_agent(who, code)
    ranked = compare_offers(db, code)  # cheapest first: paged by position, not by id
    start = after_of(cursor)
    more = len(ranked) > start + limit
    return Page[OfferView](
        items=ranked[start : start + limit], next_cursor=cursor_of(start + limit) if more else None
    )


# ---------------------------------------------------------------- applications


@router.post(
    "/agents/{code}/applications",
    response_model=ApplicationView,
    status_code=201,
    summary="Apply to the funder of an offer, consenting to it receiving the firm's details",
)
def apply(code: str, data: NewApplication, who: AgentOnly, db: DB) -> ApplicationView:
    own_agent(who, code)
    terms = (
        ConsentTerms(
            tuple(data.consent.fields), data.consent.valid_until, data.consent.text_version
        )
        if data.consent is not None
        else None
    )
    firm = FirmDetails(**data.firm.model_dump())
    return apps.apply_for_credit(db, code, data.offer_id, firm, terms)


@router.get(
    "/applications",
    response_model=Page[ApplicationView],
    summary="Applications (an agent its own, a funder those to it, operators all)",
)
def applications(
    who: Anyone,
    db: DB,
    status: Annotated[ApplicationStatus | None, Query(description="Only these")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ApplicationView]:
    agent, funder = scope_of(who)
    found = list_applications(
        db,
        agent_code=agent,
        funder_code=funder,
        status=status,
        after=after_of(cursor),
        limit=limit + 1,
    )
    return page_of(found, limit, lambda a: a.id)


def _own_application(who: Principal, db: Database, application_id: int) -> ApplicationView:
    found = get_application(db, application_id)
    missing = hidden("application_not_found", application=application_id)
    own_party(who, found.agent_code, found.funder_code, missing)
    return found


@router.get(
    "/applications/{application_id}", response_model=ApplicationView, summary="One application"
)
def application(application_id: int, who: Anyone, db: DB) -> ApplicationView:
    return _own_application(who, db, application_id)


@router.get(
    "/applications/{application_id}/applicant",
    response_model=AgentView,
    summary="The applicant's identified data, for the funder applied to, under its consent",
)
def applicant(application_id: int, who: FunderOnly, db: DB) -> AgentView:
    return apps.applicant_data(db, application_id, funder_code=who.subject)


@router.post(
    "/applications/{application_id}/approve",
    response_model=LineView,
    status_code=201,
    summary="Approve: grant a revolving credit line within the product's terms",
)
def approve(application_id: int, data: Approval, who: FunderOnly, db: DB) -> LineView:
    return apps.approve_application(
        db,
        application_id,
        funder_code=who.subject,
        credit_limit=data.credit_limit,
        annual_rate=data.annual_rate,
        valid_days=data.valid_days,
    )


@router.post(
    "/applications/{application_id}/reject",
    response_model=ApplicationView,
    summary="Reject, with a reason code",
)
def reject(application_id: int, data: Rejection, who: FunderOnly, db: DB) -> ApplicationView:
    return apps.reject_application(
        db, application_id, funder_code=who.subject, reason_code=data.reason_code
    )


@router.post(
    "/applications/{application_id}/withdraw",
    response_model=ApplicationView,
    summary="The agent withdraws its application",
)
def withdraw_application(application_id: int, who: AgentOnly, db: DB) -> ApplicationView:
    _own_application(who, db, application_id)  # another agent's: refused, not "not found"
    return apps.withdraw_application(db, who.subject, application_id)


# ---------------------------------------------------------------- lines


@router.get(
    "/lines",
    response_model=Page[LineView],
    summary="Credit lines (an agent its own, a funder those it granted, operators all)",
)
def lines(
    who: Anyone,
    db: DB,
    status: Annotated[LineStatus | None, Query(description="Only these")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LineView]:
    agent, funder = scope_of(who)
    found = list_lines(
        db,
        agent_code=agent,
        funder_code=funder,
        status=status,
        after=after_of(cursor),
        limit=limit + 1,
    )
    return page_of(found, limit, lambda line: CREDIT_LINE.number_of(line.id))


LineId = Annotated[
    str,
    Path(
        pattern=r"^cl_[0-9]{14}$",
        description="The credit line's reference, such as cl_48120937465521",
    ),
]


@router.get("/lines/{line_id}", response_model=LineView, summary="One credit line")
def line(line_id: LineId, who: Anyone, db: DB) -> LineView:
    found = get_line(db, line_id)
    own_party(who, found.agent_code, found.funder_code, hidden("line_not_found", line=line_id))
    return found


@router.post(
    "/lines/{line_id}/close",
    response_model=LineView,
    summary="Close a line without debt (the agent may then go to another funder)",
)
def close_line(line_id: LineId, data: LineClosing, who: FunderOrOperator, db: DB) -> LineView:
    if who.role is not Role.OPERATOR and not who.is_funder(get_line(db, line_id).funder_code):
        raise hidden("line_not_found", line=line_id)
    return loan_lines.close_line(db, line_id, reason=data.reason)
