"""A drawdown's life as data: its states, what moves it from one to the next, and the
refusal for a move its state does not allow. Pure: no I/O, no clock.

    requested --credited--> credited      (the money reached the wallet)
    requested --funded----> funded --returned--> returned
                            (the money came; the wallet could not take it: it waits
                            with the funder, and its payout that evening returns it)
    requested --escrowed--> escrowed --paid_out--> credited
                            (an order's advance: the money came and waits in escrow
                            until the supplier is paid, 受托支付; interest runs from
                            the day the bank shows the supplier paid)
    escrowed --called_off--> returned (the financing was called off: back to the funder)
    requested --cancelled | rejected | expired--> (closed, no money ever moved)
    credited --fell_overdue--> overdue --cured--> credited
    credited | overdue --repaid--> repaid --reopened--> credited | overdue

Every use case, and the end of day's set-based statements, change a drawdown's
status only through :func:`after` (one row) or :func:`sources` (the states a set-based
UPDATE may move from), so a status nobody can leave, or one nobody can reach, shows
here and in its specification test, not in five files."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from yirong.errors import YirongError


class DrawdownStatus(StrEnum):
    REQUESTED = "requested"  # ordered from the funder, no money yet
    FUNDED = "funded"  # money arrived but waits with the funder (wallet blocked)
    CREDITED = "credited"  # lent and current
    OVERDUE = "overdue"  # lent, and something fell due unpaid past its grace
    REPAID = "repaid"  # nothing owed
    EXPIRED = "expired"  # no money by the order's deadline
    REJECTED = "rejected"  # the funder declined the order
    CANCELLED = "cancelled"  # the agent withdrew the order
    RETURNED = "returned"  # its money went back to the funder (the wallet could not take it)
    ESCROWED = "escrowed"  # an order's advance: the money waits to be paid to the supplier


class Event(StrEnum):
    FUNDED = "funded"
    CREDITED = "credited"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FELL_OVERDUE = "fell_overdue"
    CURED = "cured"  # what had fallen due is paid: current again
    REPAID = "repaid"
    REOPENED = "reopened"  # its last repayment reversed: owed again, current
    REOPENED_OVERDUE = "reopened_overdue"  # ... owed again, and past due
    RETURNED = "returned"  # the funder's payout took the money that waited back
    ESCROWED = "escrowed"  # an order's advance arrived: it waits for the supplier's payout
    PAID_OUT = "paid_out"  # the bank shows the supplier paid: the advance is lent
    # The financing was called off before the payout: the advance goes back to the
    # funder's account (not the end of day's RETURNED, which takes FUNDED money only).
    CALLED_OFF = "called_off"


S = DrawdownStatus  # short, for the tables below

ORDER = frozenset({S.REQUESTED})  # an order no money has come for
LENT = frozenset({S.CREDITED, S.OVERDUE})  # a loan that runs: owes, accrues
OUTSTANDING = frozenset({*LENT, S.FUNDED})  # lent money not paid back
IN_ESCROW = frozenset({S.ESCROWED})  # an advance's money, not yet paid to the supplier
OPEN = frozenset({*ORDER, *OUTSTANDING, *IN_ESCROW})  # holds some of its line
CLOSED = frozenset({S.REPAID, S.EXPIRED, S.REJECTED, S.CANCELLED, S.RETURNED})
_OWED_AGAIN = frozenset({*LENT, S.REPAID})

# event -> (the states it may happen in, the state it leads to, the refusal otherwise)
TRANSITIONS: Mapping[Event, tuple[frozenset[DrawdownStatus], DrawdownStatus, str]] = {
    Event.FUNDED: (ORDER, S.FUNDED, "drawdown_not_pending"),
    Event.CREDITED: (ORDER, S.CREDITED, "drawdown_not_pending"),
    Event.CANCELLED: (ORDER, S.CANCELLED, "drawdown_not_pending"),
    Event.REJECTED: (ORDER, S.REJECTED, "drawdown_not_pending"),
    Event.EXPIRED: (ORDER, S.EXPIRED, "drawdown_not_pending"),
    Event.FELL_OVERDUE: (frozenset({S.CREDITED}), S.OVERDUE, "drawdown_not_lent"),
    Event.CURED: (frozenset({S.OVERDUE}), S.CREDITED, "drawdown_not_lent"),
    Event.REPAID: (LENT, S.REPAID, "drawdown_not_lent"),
    Event.REOPENED: (_OWED_AGAIN, S.CREDITED, "drawdown_not_lent"),
    Event.REOPENED_OVERDUE: (_OWED_AGAIN, S.OVERDUE, "drawdown_not_lent"),
    Event.RETURNED: (frozenset({S.FUNDED}), S.RETURNED, "drawdown_not_funded"),
    Event.CALLED_OFF: (IN_ESCROW, S.RETURNED, "drawdown_not_escrowed"),
    Event.ESCROWED: (ORDER, S.ESCROWED, "drawdown_not_pending"),
    Event.PAID_OUT: (IN_ESCROW, S.CREDITED, "drawdown_not_escrowed"),
}


def sources(event: Event) -> tuple[str, ...]:
    """The states ``event`` may happen in, for a set-based UPDATE's WHERE."""
    return tuple(sorted(TRANSITIONS[event][0]))


def target(event: Event) -> DrawdownStatus:
    return TRANSITIONS[event][1]


def after(status: str, event: Event, **context: object) -> DrawdownStatus:
    """The state a drawdown in ``status`` is in once ``event`` happened; or the named
    refusal (``drawdown_not_pending`` for an order that is no longer one,
    ``drawdown_not_lent`` for a loan move on what is not a running loan,
    ``drawdown_not_funded`` for returning money that is not waiting), carrying
    ``context`` (the drawdown's id or reference) for the one who reads it."""
    allowed, to, refusal = TRANSITIONS[event]
    if status not in allowed:
        raise YirongError(refusal, **context, status=status)
    return to


def reopened(overdue: bool) -> Event:
    """A reversed repayment's event: the loan owes again, past due or not by its clock."""
    return Event.REOPENED_OVERDUE if overdue else Event.REOPENED
