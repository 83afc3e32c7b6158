"""What each outstanding drawdown owes on a day, bullet or term, and which of it a
repayment of a given amount is split over. Read by repayments, their preview, the
sweep and the standings alike, so that all of them agree.

A bullet loan (a revolving line's drawdown) owes its principal and what its clock
has charged, and may be repaid in any part. A term loan owes what has fallen due
(``due``: repayable in any part) or, all at once, its payoff (提前还款: the principal
not yet due and the running period's interest to the day too); an amount in between
is refused (``term_prepayment_partial``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from yirong.errors import YirongError
from yirong.infra.db import Tx
from yirong.loans.allocation import Owed
from yirong.loans.interest import Clock, charged
from yirong.loans.model.term import TermLoan
from yirong.loans.tables import Drawdown
from yirong.loans.term_loans import owed_on, term_loans


@dataclass(frozen=True, slots=True)
class Debt:
    drawdown: Drawdown
    due: Owed  # repayable in any part today
    payoff: Owed  # everything, settled today
    term: TermLoan | None  # the model of a term loan (None: a bullet loan's clock)


def clock_of(d: Drawdown) -> Clock:
    return Clock(d.principal, d.since_day, d.normal_fen_days, d.penalty_fen_days, d.overdue_day)


def owed_by(d: Drawdown, today: date) -> Owed:
    """What a bullet drawdown owes as of ``today`` (today's own interest is not yet due)."""
    normal, late = clock_of(d).fen_days(today)
    return Owed(
        d.id,
        charged(late, d.penalty_rate_ppm, d.day_basis) - d.penalty_paid,
        charged(normal, d.annual_rate_ppm, d.day_basis) - d.interest_paid,
        d.principal,
    )


def debts_of(tx: Tx, drawdowns: Sequence[Drawdown], today: date) -> list[Debt]:
    """The debt of each of ``drawdowns`` (outstanding ones), in their order."""
    loans = term_loans(tx, drawdowns)
    debts = []
    for d in drawdowns:
        loan = loans.get(d.id)
        if loan is None:
            owed = owed_by(d, today)
            debts.append(Debt(d, owed, owed, None))
        else:
            debts.append(Debt(d, *owed_on(loan, d.id, today), loan))
    return debts


def split_over(debts: Sequence[Debt], amount: int | None, agent: str) -> tuple[list[Owed], int]:
    """What a repayment of ``amount`` (``None``: everything) is split over and the
    amount it pays; or the refusal it meets: nothing owed, more than everything, or
    a term loan partly prepaid."""
    everything = sum(x.payoff.total for x in debts)
    if everything == 0:
        raise YirongError("nothing_owed", agent=agent)
    if amount is None or amount == everything:
        return [x.payoff for x in debts], everything
    if amount > everything:
        raise YirongError("exceeds_owed", amount=amount, owed=everything)
    due = sum(x.due.total for x in debts)
    if amount > due:
        raise YirongError("term_prepayment_partial", amount=amount, due_now=due, payoff=everything)
    return [x.due for x in debts], amount
