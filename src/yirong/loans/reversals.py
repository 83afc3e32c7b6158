"""Reversing a repayment (冲正): an operator undoes a repayment made in error. Its
three postings (the wallet's payment, the funder's memo book, the platform's revenue
share) are reversed, never edited; the drawdowns owe again exactly as if it had never
been made, including the interest the restored principal earned since; and the
funder is told. Only a drawdown's latest repayment can be reversed (a later one was
split on the balances this one left: reverse that one first)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.funders.tables import Funder
from yirong.infra.db import Tx, transactional
from yirong.infra.outbox import tell
from yirong.ledger import service as ledger
from yirong.ledger.model import Reverse
from yirong.loans import model
from yirong.loans.accruals import add_to_closed, final_charges
from yirong.loans.debts import clock_of
from yirong.loans.repayments import RepaymentView, repayment_entry_keys, view
from yirong.loans.tables import Drawdown, Repayment, RepaymentPart
from yirong.loans.term_loans import is_term, reopen, term_loans
from yirong.wallets.service import FreezeReason, freeze_in, wallet_account


@transactional
def reverse_repayment(tx: Tx, repayment_id: int, reason: str) -> RepaymentView:
    """Reverse repayment ``repayment_id`` for ``reason``. Asked again, it returns the
    reversal already made (``exists``) and moves nothing."""
    reason = " ".join(reason.split())
    if not reason:
        raise YirongError("reason_required")
    repayment = tx.session.get(Repayment, repayment_id, with_for_update=True)
    if repayment is None:
        raise YirongError("repayment_not_found", repayment=repayment_id)
    if repayment.reversed_on is not None:
        return view(repayment, "exists")
    parts = list(
        tx.session.scalars(select(RepaymentPart).where(RepaymentPart.repayment_id == repayment.id))
    )
    drawdown_ids = [p.drawdown_id for p in parts]
    later = tx.session.scalar(
        select(func.min(Repayment.id))
        .join(RepaymentPart, RepaymentPart.repayment_id == Repayment.id)
        .where(
            RepaymentPart.drawdown_id.in_(drawdown_ids),
            Repayment.id > repayment.id,
            Repayment.reversed_on.is_(None),
        )
    )
    if later is not None:
        raise YirongError("later_repayment_exists", repayment=repayment.id, later=later)
    agent = tx.session.get(Agent, repayment.agent_id)
    funder = tx.session.get(Funder, repayment.funder_id)
    assert agent is not None and funder is not None
    held = ledger.balance_of(tx, wallet_account(tx, f"funder:{funder.code}")).available
    if held < repayment.amount:
        raise YirongError(
            "repayment_paid_out", repayment=repayment.id, amount=repayment.amount, held=held
        )
    today = business_date_of(tx)
    _reverse_postings(tx, agent.code, repayment, reason)
    drawdowns = {
        d.id: d
        for d in tx.session.scalars(
            select(Drawdown).where(Drawdown.id.in_(drawdown_ids)).with_for_update()
        )
    }
    # A term loan is replayed without this repayment (it was its latest).
    terms = term_loans(tx, list(drawdowns.values()), leaving_out=repayment.id)
    for part in parts:
        d = drawdowns[part.drawdown_id]
        if is_term(d):
            reopen(tx, d, terms[d.id], today)
        else:
            _unsettle(tx, d, part, repayment, today)
    repayment.reversed_on, repayment.reversal_reason = today, reason[:200]
    tell(
        tx,
        f"funder:{funder.code}",
        "repayment.reversed",
        repayment.id,
        today,
        amount=repayment.amount,
        share=repayment.share,
        reason=reason,
    )
    if any(d.status == model.DrawdownStatus.OVERDUE for d in drawdowns.values()):
        # Debt overdue again: the wallet is frozen again. What came back is not swept
        # at once (that would undo the operator's reversal); the next credit sweeps.
        freeze_in(
            tx,
            f"agent:{agent.code}",
            FreezeReason.OVERDUE,
            note=f"repayment {repayment.id} reversed",
            actor="loans",
        )
    return view(repayment)


def _reverse_postings(tx: Tx, agent_code: str, repayment: Repayment, reason: str) -> None:
    keys = repayment_entry_keys(agent_code, repayment.request_key)
    found = ledger.posted_entry_ids(tx, keys)
    ledger.post_batch(
        tx,
        [
            Reverse(f"reverse:{key}", "loan.repayment_reversed", found[key], memo=reason[:200])
            for key in keys
            if key in found  # no share entry when the share was nothing
        ],
        atomic=True,
    )


def _unsettle(tx: Tx, d: Drawdown, part: RepaymentPart, repayment: Repayment, today: date) -> None:
    """The drawdown as if its share of the repayment had never been paid."""
    if part.principal and not d.accrual_open:
        # The repayment closed the clock and added its final charge to the funder's
        # closed total; the clock runs again, so that charge is taken back out.
        taken_back = {kind: -value for kind, value in final_charges(d).items()}
        add_to_closed(tx, d.funder_id, d.product_id, taken_back)
        d.accrual_open = True
    clock = clock_of(d).restored(today, part.principal, repayment.business_date)
    d.principal, d.since_day = clock.principal, clock.since
    d.normal_fen_days, d.penalty_fen_days = clock.normal_fen_days, clock.penalty_fen_days
    d.penalty_paid -= part.penalty
    d.interest_paid -= part.interest
    d.principal_paid -= part.principal
    event = model.reopened(overdue=d.overdue_day <= today.toordinal())
    d.status = model.after(d.status, event, drawdown=d.id)
    d.closed_on = None
