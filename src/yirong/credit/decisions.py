"""Formal decisions by a funder's own scorecard: an application to a scorecard funder
is decided by re-scoring the agent's current features with the same card. Funders
that decide by hand or by their own system use approve/reject directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import select

from yirong.books.service import business_date_of
from yirong.credit import applications
from yirong.credit.tables import CreditApplication, Offer
from yirong.features.service import compute_in, features_of, month_start
from yirong.funders import scorecard
from yirong.funders.tables import Funder, FunderProduct
from yirong.infra.db import Database, Tx
from yirong.money import ppm_to_rate


@dataclass
class DecisionReport:
    approved: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


def decide_by_scorecards(db: Database) -> DecisionReport:
    """Decide every submitted application to a scorecard funder (one transaction each)."""
    report = DecisionReport()
    db.run(compute_in)  # decide on today's features
    pending = db.run(
        lambda tx: list(
            tx.conn.scalars(
                select(CreditApplication.id)
                .join(Funder, Funder.id == CreditApplication.funder_id)
                .where(CreditApplication.status == "submitted", Funder.decision_mode == "scorecard")
                .order_by(CreditApplication.id)
            )
        ),
        readonly=True,
    )
    for application_id in pending:
        outcome = db.run(partial(_decide, application_id=application_id))
        if outcome == "approved":
            report.approved += 1
        else:
            report.rejected[outcome] = report.rejected.get(outcome, 0) + 1
    return report


def _decide(tx: Tx, *, application_id: int) -> str:
    application = tx.session.get(CreditApplication, application_id)
    assert application is not None
    if application.status != "submitted":  # decided meanwhile by someone else
        return application.status
    offer = tx.session.get(Offer, application.offer_id)
    funder = tx.session.get(Funder, application.funder_id)
    assert offer is not None and funder is not None
    product = tx.session.get(FunderProduct, offer.product_id)
    assert product is not None
    card = scorecard.parse(funder.scorecard or "")
    features = features_of(tx, application.agent_id, month_start(business_date_of(tx)))
    decision = card.decide(features) if features is not None else None
    if decision is None or min(decision.limit, offer.credit_limit) < product.min_limit:
        reason = "insufficient_income"
    else:
        # Never worse for the agent than the offer it accepted.
        limit = min(decision.limit, offer.credit_limit)
        rate = min(decision.annual_rate, ppm_to_rate(offer.annual_rate_ppm))
        applications.approve_in(
            tx, application_id, funder_code=funder.code, credit_limit=limit, annual_rate=rate
        )
        return "approved"
    applications.reject_in(tx, application_id, funder_code=funder.code, reason_code=reason)
    return reason
