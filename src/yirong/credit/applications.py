"""Formal credit (正式授信): the agent picks one offer, confirms its firm's details and
consents to that one funder receiving them; the funder approves (a credit line) or
rejects. An agent has at most one application in progress or active line at a time
in each product family (``funders.terms.family_of``): one line (revolving or term)
and one order facility, from the same funder or two. The family's
`agent_engagements` row is taken first, so of two racing requests one fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Exists, SQLColumnExpression, case, delete, exists, select
from sqlalchemy.exc import IntegrityError

from yirong.agents import identifiers
from yirong.agents.service import OPERATOR, AgentView, agent_row
from yirong.agents.service import view as agent_view
from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.credit.consents import (
    APPLICATION_FIELDS,
    ConsentTerms,
    check_terms,
    is_valid,
    record_shares,
)
from yirong.credit.offers import offer_for
from yirong.credit.tables import (
    CREDIT_LINE,
    AgentEngagement,
    Consent,
    CreditApplication,
    CreditLine,
    Offer,
)
from yirong.credit.tokens import funder_token
from yirong.errors import YirongError
from yirong.funders.service import funder_row
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import (
    FAMILIES,
    LINE_FAMILY,
    ORDER,
    ORDER_FAMILY,
    Terms,
    apr_of,
    family_of,
)
from yirong.infra.db import Tx, read_only, transactional
from yirong.infra.outbox import tell
from yirong.money import check_amount, ppm_to_rate, rate_to_ppm
from yirong.policy.service import apr_cap, setting

MAX_VALID_DAYS = 3 * 366  # a line is granted for three years at most
REJECTION_REASONS = (
    "insufficient_income",
    "income_volatility",
    "overdue_history",
    "identity_mismatch",
    "policy",
    "other",
)


@dataclass(frozen=True, slots=True)
class FirmDetails:
    """What the agent confirms about its firm before it goes to the funder."""

    name: str
    uscc: str
    legal_rep_name: str
    legal_rep_id: str
    mobile: str
    bank_card: str

    def __repr__(self) -> str:
        return "FirmDetails(<personal data>)"


@dataclass(frozen=True, slots=True)
class ApplicationView:
    id: int
    agent_code: str
    funder_code: str
    offer_id: int
    consent_id: int
    status: str
    submitted_on: date
    decided_on: date | None
    reason_code: str | None
    line_id: str | None  # the line's public reference (CREDIT_LINE)


@dataclass(frozen=True, slots=True)
class LineView:
    id: str  # cl_ and 14 digits (CREDIT_LINE), never the row's number
    agent_code: str
    funder_code: str
    product_code: str
    credit_limit: int
    annual_rate: Decimal
    max_term_days: int
    opened_on: date
    valid_until: date
    status: str


def details_of(agent: Agent) -> FirmDetails:
    return FirmDetails(
        agent.name,
        agent.uscc,
        agent.legal_rep_name,
        agent.legal_rep_id,
        agent.mobile,
        agent.bank_card,
    )


@read_only
def firm_details(tx: Tx, agent_code: str) -> FirmDetails:
    """The details the agent registered with: what it confirms when it applies."""
    return details_of(agent_row(tx, agent_code))


# ---------------------------------------------------------------- the agent applies


@transactional
def apply_for_credit(
    tx: Tx, agent_code: str, offer_id: int, details: FirmDetails, consent: ConsentTerms | None
) -> ApplicationView:
    """Apply to the funder of the chosen offer. Nothing identified leaves before the
    consent is recorded, and its sharing is logged against it."""
    agent = agent_row(tx, agent_code)
    today = business_date_of(tx)
    terms = check_terms(tx, consent, today)
    offer, _, funder = offer_for(tx, offer_id, agent.id)
    if _normalised(details, today) != _normalised(details_of(agent), today):
        raise YirongError("firm_details_mismatch")
    session = tx.session
    record = Consent(
        agent_id=agent.id,
        funder_id=funder.id,
        purpose=terms.purpose.value,
        fields=",".join(terms.fields),
        text_version=terms.text_version,
        given_on=today,
        valid_until=terms.valid_until,
    )
    session.add(record)
    session.flush()
    application = CreditApplication(
        agent_id=agent.id,
        funder_id=funder.id,
        offer_id=offer.id,
        consent_id=record.id,
        status="submitted",
        submitted_on=today,
    )
    session.add(application)
    session.flush()
    _engage(tx, agent, funder, application, today)
    offer.status = "accepted"
    record_shares(
        tx,
        [
            {
                "consent_id": record.id,
                "agent_id": agent.id,
                "funder_id": funder.id,
                "fields": ",".join(APPLICATION_FIELDS),
                "identified": True,
                "reference": f"application:{application.id}",
                "shared_on": today,
            }
        ],
    )
    # No personal data in the event: the funder reads the applicant under the consent.
    tell(
        tx,
        f"funder:{funder.code}",
        "application.submitted",
        application.id,
        today,
        application_id=application.id,
        offer_id=offer.id,
        agent_token=funder_token(funder.code, agent.code),
        submitted_on=today,
    )
    return _application_view(application, agent.code, funder.code)


def _engage(
    tx: Tx, agent: Agent, funder: Funder, application: CreditApplication, today: date
) -> None:
    """Take the agent's engagement slot in the family of the application's product,
    or refuse."""
    code = agent.code  # read now: a failed flush below expires every loaded object
    family = _family_of_application(tx, application)
    held = tx.session.get(AgentEngagement, (agent.id, family), with_for_update=True)
    if held is not None:
        raise YirongError(
            "credit_already_engaged",
            agent=agent.code,
            family=family,
            application=held.application_id,
            line=_line_ref(held.line_id),
        )
    tx.session.add(
        AgentEngagement(
            agent_id=agent.id,
            family=family,
            funder_id=funder.id,
            application_id=application.id,
            line_id=None,
            since=today,
        )
    )
    try:
        tx.session.flush()
    except IntegrityError as exc:  # the other request of a race took it first
        raise YirongError("credit_already_engaged", agent=code, family=family) from exc


def _normalised(details: FirmDetails, today: date) -> tuple[str, ...] | None:
    """The details in the form onboarding stores them (E.164 mobile, upper-case
    codes...), or None if an identifier is not even valid."""
    try:
        return (
            " ".join(details.name.split()),
            identifiers.unified_social_credit_code(details.uscc),
            " ".join(details.legal_rep_name.split()),
            identifiers.resident_id(details.legal_rep_id, on=today),
            identifiers.mainland_mobile(details.mobile),
            identifiers.bank_card(details.bank_card),
        )
    except YirongError:
        return None


@transactional
def withdraw_application(tx: Tx, agent_code: str, application_id: int) -> ApplicationView:
    agent = agent_row(tx, agent_code)
    application = _application(tx, application_id)
    if application.agent_id != agent.id:
        raise YirongError("application_not_found", application=application_id)
    _must_be_open(application)
    today = business_date_of(tx)
    application.status, application.decided_on = "withdrawn", today
    _release(tx, application.agent_id, _family_of_application(tx, application))
    funder_code = _funder_code(tx, application.funder_id)
    tell(
        tx,
        f"funder:{funder_code}",
        "application.withdrawn",
        application.id,
        today,
        application_id=application.id,
        withdrawn_on=today,
    )
    return _application_view(application, agent.code, funder_code)


# ---------------------------------------------------------------- the funder decides


def approve_in(
    tx: Tx,
    application_id: int,
    *,
    funder_code: str,
    credit_limit: int,
    annual_rate: Decimal,
    valid_days: int | None = None,
) -> LineView:
    """Grant a credit line within the product's terms and the legal cap (on an order
    product: an order facility)."""
    funder = funder_row(tx, funder_code)
    application = _application(tx, application_id)
    if application.funder_id != funder.id:
        raise YirongError("application_not_found", application=application_id)  # not theirs
    _must_be_open(application)
    offer = tx.session.get(Offer, application.offer_id)
    assert offer is not None
    product = tx.session.get(FunderProduct, offer.product_id)
    assert product is not None
    check_amount(credit_limit)
    if valid_days is not None and not 1 <= valid_days <= MAX_VALID_DAYS:
        raise YirongError("valid_days_invalid", valid_days=valid_days)
    rate_ppm = rate_to_ppm(annual_rate)
    if (
        not product.min_limit <= credit_limit <= product.max_limit
        or not product.min_rate_ppm <= rate_ppm <= product.max_rate_ppm
    ):
        raise YirongError("line_terms_invalid", product=product.code)
    terms = Terms.of(product)
    sample = terms.sample_amount(int(setting(tx, "sample_drawdown_fen")))
    apr = apr_of(terms, sample, rate_ppm, product.min_term_days)  # its dearest drawdown
    if apr.higher > apr_cap(tx):
        raise YirongError("offer_above_rate_cap", apr=str(apr.higher.quantize(Decimal("0.0001"))))
    today = business_date_of(tx)
    line = CreditLine(
        agent_id=application.agent_id,
        funder_id=funder.id,
        product_id=product.id,
        application_id=application.id,
        credit_limit=credit_limit,
        annual_rate_ppm=rate_ppm,
        max_term_days=product.max_term_days,
        opened_on=today,
        valid_until=today + timedelta(days=valid_days or product.line_valid_days),
        status="active",
    )
    tx.session.add(line)
    tx.session.flush()
    application.status, application.decided_on, application.line_id = "approved", today, line.id
    engagement = tx.session.get(
        AgentEngagement, (application.agent_id, family_of(product.kind)), with_for_update=True
    )
    assert engagement is not None and engagement.application_id == application.id
    engagement.line_id = line.id
    tell(
        tx,
        f"funder:{funder.code}",
        "application.decided",
        application.id,
        today,
        application_id=application.id,
        status="approved",
        line_id=CREDIT_LINE.of(line.id),
        credit_limit=credit_limit,
        annual_rate=str(annual_rate),
        valid_until=line.valid_until,
        decided_on=today,
    )
    return _line_view(tx, line)


def reject_in(
    tx: Tx, application_id: int, *, funder_code: str, reason_code: str
) -> ApplicationView:
    if reason_code not in REJECTION_REASONS:
        raise YirongError(
            "rejection_reason_invalid", reason=reason_code, allowed=list(REJECTION_REASONS)
        )
    funder = funder_row(tx, funder_code)
    application = _application(tx, application_id)
    if application.funder_id != funder.id:
        raise YirongError("application_not_found", application=application_id)  # not theirs
    _must_be_open(application)
    today = business_date_of(tx)
    application.status, application.decided_on = "rejected", today
    application.reason_code = reason_code
    _release(tx, application.agent_id, _family_of_application(tx, application))
    tell(
        tx,
        f"funder:{funder.code}",
        "application.decided",
        application.id,
        today,
        application_id=application.id,
        status="rejected",
        reason_code=reason_code,
        decided_on=today,
    )
    agent = tx.session.get(Agent, application.agent_id)
    assert agent is not None
    return _application_view(application, agent.code, funder.code)


def applicant_data_in(tx: Tx, application_id: int, *, funder_code: str) -> AgentView:
    """The applicant's identified data, for the funder it applied to, while the
    consent stands. Every read is logged against the consent."""
    funder = funder_row(tx, funder_code)
    application = _application(tx, application_id, lock=False)
    if application.funder_id != funder.id:
        raise YirongError("application_not_found", application=application_id)  # not theirs
    consent = tx.session.get(Consent, application.consent_id)
    assert consent is not None
    if consent.withdrawn_on is not None:
        raise YirongError("consent_withdrawn", consent=consent.id)
    today = business_date_of(tx)
    if not is_valid(consent, today):
        raise YirongError(
            "consent_invalid", consent=consent.id, valid_until=str(consent.valid_until)
        )
    agent = tx.session.get(Agent, application.agent_id)
    assert agent is not None
    record_shares(
        tx,
        [
            {
                "consent_id": consent.id,
                "agent_id": agent.id,
                "funder_id": funder.id,
                "fields": consent.fields,
                "identified": True,
                "reference": f"application:{application.id}",
                "shared_on": today,
            }
        ],
    )
    return agent_view(agent, OPERATOR)


applicant_data = transactional(applicant_data_in)
approve_application = transactional(approve_in)
reject_application = transactional(reject_in)


# ---------------------------------------------------------------- lines


def active_line_locked(tx: Tx, reference: str) -> CreditLine:
    """The active line ``reference`` names, locked for the caller's transaction."""
    line = tx.session.get(CreditLine, CREDIT_LINE.number_of(reference), with_for_update=True)
    if line is None:
        raise YirongError("line_not_found", line=reference)
    if line.status != "active":
        raise YirongError("line_not_active", line=reference, status=line.status)
    return line


def close_line_in(tx: Tx, line: CreditLine, *, reason: str) -> LineView:
    """Close ``line`` (locked, active, and found by the loans to carry no debt: see
    ``loans.lines.close_line``); the agent is free to apply elsewhere in the line's
    family."""
    line.status, line.closed_on, line.close_reason = "closed", business_date_of(tx), reason[:200]
    _release(tx, line.agent_id, _family_of_product(tx, line.product_id))
    return _line_view(tx, line)


def current_credit_in(
    tx: Tx, agent_code: str, *, family: str = LINE_FAMILY
) -> tuple[ApplicationView | None, LineView | None]:
    """The agent's application in progress or active line in ``family`` (default: its
    line; ``order``: its order facility), if any."""
    if family not in FAMILIES:
        raise ValueError(f"no product family {family!r}")
    agent = agent_row(tx, agent_code)
    engagement = tx.session.get(AgentEngagement, (agent.id, family))
    if engagement is None:
        return None, None
    application = _application(tx, engagement.application_id, lock=False)
    app_view = _application_view(application, agent.code, _funder_code(tx, application.funder_id))
    line = tx.session.get(CreditLine, engagement.line_id) if engagement.line_id else None
    return app_view, (_line_view(tx, line) if line else None)


current_credit = read_only(current_credit_in)


@read_only
def lines(tx: Tx, *, status: str = "active") -> list[LineView]:
    """Credit lines in a status, oldest first."""
    found = tx.session.scalars(
        select(CreditLine).where(CreditLine.status == status).order_by(CreditLine.id)
    )
    return [_line_view(tx, line) for line in found]


# ---------------------------------------------------------------- helpers


def _application(tx: Tx, application_id: int, *, lock: bool = True) -> CreditApplication:
    found = tx.session.get(CreditApplication, application_id, with_for_update=lock)
    if found is None:
        raise YirongError("application_not_found", application=application_id)
    return found


def _must_be_open(application: CreditApplication) -> None:
    if application.status != "submitted":
        raise YirongError(
            "application_already_decided", application=application.id, status=application.status
        )


def _release(tx: Tx, agent_id: int, family: str) -> None:
    """Free the agent's slot in ``family``; the other family's stays as it is."""
    tx.session.flush()
    tx.session.execute(
        delete(AgentEngagement).where(
            AgentEngagement.agent_id == agent_id, AgentEngagement.family == family
        )
    )


def _family_of_product(tx: Tx, product_id: int) -> str:
    product = tx.session.get(FunderProduct, product_id)
    assert product is not None
    return family_of(product.kind)


def _family_of_application(tx: Tx, application: CreditApplication) -> str:
    """The family of the product the application's offer was for."""
    offer = tx.session.get(Offer, application.offer_id)
    assert offer is not None
    return _family_of_product(tx, offer.product_id)


# ---------------------------------------------------------------- families in SQL


def family_sql(kind: SQLColumnExpression[str]) -> ColumnElement[str]:
    """``funders.terms.family_of`` in SQL, of a product's ``kind`` column."""
    return case((kind == ORDER, ORDER_FAMILY), else_=LINE_FAMILY)


def engaged_in(agent_id: SQLColumnExpression[int], family: str | ColumnElement[str]) -> Exists:
    """SQL: the agent (``agent_id``, a correlated column) holds its slot in ``family``."""
    return exists().where(AgentEngagement.agent_id == agent_id, AgentEngagement.family == family)


def _funder_code(tx: Tx, funder_id: int) -> str:
    code = tx.session.scalar(select(Funder.code).where(Funder.id == funder_id))
    assert code is not None
    return code


def _line_ref(line_id: int | None) -> str | None:
    return None if line_id is None else CREDIT_LINE.of(line_id)


def _application_view(a: CreditApplication, agent_code: str, funder_code: str) -> ApplicationView:
    return ApplicationView(
        a.id,
        agent_code,
        funder_code,
        a.offer_id,
        a.consent_id,
        a.status,
        a.submitted_on,
        a.decided_on,
        a.reason_code,
        _line_ref(a.line_id),
    )


def _line_view(tx: Tx, line: CreditLine) -> LineView:
    agent = tx.session.get(Agent, line.agent_id)
    product = tx.session.get(FunderProduct, line.product_id)
    assert agent is not None and product is not None
    return LineView(
        CREDIT_LINE.of(line.id),
        agent.code,
        _funder_code(tx, line.funder_id),
        product.code,
        line.credit_limit,
        ppm_to_rate(line.annual_rate_ppm),
        line.max_term_days,
        line.opened_on,
        line.valid_until,
        line.status,
    )
