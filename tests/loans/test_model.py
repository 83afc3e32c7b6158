"""The drawdown's life, as a specification: every (state, event) pair, the state it
leads to or the refusal, written here by hand from the contract's story rather than
read from the model's table."""

from __future__ import annotations

import itertools

import pytest

from yirong.errors import CATALOGUE, YirongError
from yirong.loans import model
from yirong.loans.model import DrawdownStatus as S
from yirong.loans.model import Event as E

# The only moves there are. Everything else is refused.
LEGAL: dict[tuple[S, E], S] = {
    # An order, before any money: credited, left waiting with the funder, or closed.
    (S.REQUESTED, E.CREDITED): S.CREDITED,
    (S.REQUESTED, E.FUNDED): S.FUNDED,
    (S.REQUESTED, E.CANCELLED): S.CANCELLED,
    (S.REQUESTED, E.REJECTED): S.REJECTED,
    (S.REQUESTED, E.EXPIRED): S.EXPIRED,
    # Money that waited with the funder goes back with its payout.
    (S.FUNDED, E.RETURNED): S.RETURNED,
    # A loan: falls overdue, is cured, is repaid; a reversed repayment reopens it.
    (S.CREDITED, E.FELL_OVERDUE): S.OVERDUE,
    (S.OVERDUE, E.CURED): S.CREDITED,
    (S.CREDITED, E.REPAID): S.REPAID,
    (S.OVERDUE, E.REPAID): S.REPAID,
    (S.REPAID, E.REOPENED): S.CREDITED,
    (S.REPAID, E.REOPENED_OVERDUE): S.OVERDUE,
    (S.CREDITED, E.REOPENED): S.CREDITED,  # a part repayment reversed: still current
    (S.CREDITED, E.REOPENED_OVERDUE): S.OVERDUE,  # ... and past its due date by now
    (S.OVERDUE, E.REOPENED): S.CREDITED,
    (S.OVERDUE, E.REOPENED_OVERDUE): S.OVERDUE,
    # An order's advance waits in escrow for the supplier's payout (受托支付).
    (S.REQUESTED, E.ESCROWED): S.ESCROWED,
    (S.ESCROWED, E.PAID_OUT): S.CREDITED,
    (S.ESCROWED, E.CALLED_OFF): S.RETURNED,
}
ORDER_EVENTS = {E.CREDITED, E.FUNDED, E.CANCELLED, E.REJECTED, E.EXPIRED, E.ESCROWED}


@pytest.mark.parametrize(("status", "event"), list(itertools.product(S, E)))
def test_each_state_and_event(status: S, event: E) -> None:
    if (status, event) in LEGAL:
        assert model.after(status, event) is LEGAL[status, event]
        return
    with pytest.raises(YirongError) as refused:
        model.after(status, event, drawdown=7)
    expected = (
        "drawdown_not_pending"
        if event in ORDER_EVENTS
        else "drawdown_not_funded"
        if event is E.RETURNED
        else "drawdown_not_escrowed"
        if event in (E.PAID_OUT, E.CALLED_OFF)
        else "drawdown_not_lent"
    )
    assert refused.value.code == expected
    assert refused.value.details == {"drawdown": 7, "status": status.value}


def test_the_refusals_are_catalogued() -> None:
    assert {
        "drawdown_not_pending",
        "drawdown_not_lent",
        "drawdown_not_funded",
        "drawdown_not_escrowed",
    } <= set(CATALOGUE)


def test_a_set_based_move_reads_its_states_from_the_model() -> None:
    assert model.sources(E.EXPIRED) == ("requested",)
    assert model.target(E.EXPIRED) is S.EXPIRED
    assert model.sources(E.FELL_OVERDUE) == ("credited",)
    # The end of day's payout returns money waiting with the funder, never an order's
    # advance waiting in escrow for its supplier.
    assert model.sources(E.RETURNED) == ("funded",)
    assert model.target(E.FELL_OVERDUE) is S.OVERDUE


def test_every_state_is_reached_from_an_order() -> None:
    reached, frontier = {S.REQUESTED}, [S.REQUESTED]
    while frontier:
        here = frontier.pop()
        for (source, _), to in LEGAL.items():
            if source is here and to not in reached:
                reached.add(to)
                frontier.append(to)
    assert reached == set(S)
    # The model's own table agrees: the same reach, walked over TRANSITIONS.
    walked = {S.REQUESTED}
    for _ in S:
        walked |= {to for allowed, to, _ in model.TRANSITIONS.values() if allowed & walked}
    assert walked == set(S)


def test_which_states_have_no_way_out() -> None:
    ends = {s for s in S if not any(source is s for source, _ in LEGAL)}
    # A closed order stays closed; a repaid loan may reopen (a reversal); money that
    # waited with the funder (a blocked wallet could not take it) is returned.
    assert ends == {S.EXPIRED, S.REJECTED, S.CANCELLED, S.RETURNED}
    assert {S.REPAID, S.EXPIRED, S.REJECTED, S.CANCELLED, S.RETURNED} == model.CLOSED


def test_a_reversal_reopens_by_the_clock() -> None:
    assert model.reopened(overdue=True) is E.REOPENED_OVERDUE
    assert model.reopened(overdue=False) is E.REOPENED
