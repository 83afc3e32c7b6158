"""The exception queue: each action an operator takes, the second operator's approval
above the threshold, and the trail every action leaves. Nothing moves money that the
bank's statement did not show."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.bank import Bank, funder_account, line_outcome
from tests.databases import BACKENDS
from tests.loans.story import market_with_line
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import drawdowns_of, request_drawdown
from yirong.payments.service import open_payments
from yirong.policy.service import set_setting
from yirong.reconciliation import exceptions as queue
from yirong.reconciliation.notices import record_notice
from yirong.reconciliation.rules import set_rule
from yirong.wallets import service as wallets


def balance(db, code: str) -> int:  # type: ignore[no-untyped-def]
    return db.run(lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, code)).balance)


def refused(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(YirongError) as caught:
        call(*args, **kwargs)
    return caught.value.code


def one_line(db, amount: int, memo: str, account: str = "6228480000000000009") -> int:  # type: ignore[no-untyped-def]
    """A credit line on today's statement; returns its open exception's id."""
    bank = Bank(db)
    bank.credit(amount, memo=memo, name="某某商贸有限公司", account=account, bank="农业银行")
    bank.close_day()
    return queue.list_exceptions(db)[-1].id


@pytest.mark.parametrize("backend", BACKENDS)
def test_money_from_nobody_is_returned_to_its_sender_and_leaves_on_the_statement(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    exc = one_line(db, 8_888, "货款 INV-0310")
    [listed] = queue.list_exceptions(db)
    assert (listed.kind, listed.amount, listed.owner, listed.age_days) == (
        "unknown",
        8_888,
        "operations",
        0,
    )
    assert listed.line is not None and listed.line.in_suspense
    assert balance(db, "platform:suspense") == 8_888
    assert refused(queue.dismiss, db, exc, "not ours", actor="operator:a") == (
        "exception_action_invalid"  # a bank line's money is real: it cannot be waved away
    )
    done = queue.return_to_sender(db, exc, actor="operator:a")
    assert (done.status, done.exception.resolution) == ("done", "returned")
    [payment] = open_payments(db)
    assert (payment.kind, payment.amount, payment.payee_account) == (
        "return",
        8_888,
        "6228480000000000009",
    )
    assert balance(db, "platform:suspense") == 8_888  # held until the bank shows it left
    assert refused(queue.return_to_sender, db, exc, actor="operator:a") == "exception_resolved"
    bank = Bank(db)
    line = bank.debit(8_888, memo=f"退汇 {payment.reference}", account="6228480000000000009")
    bank.close_day()
    assert line_outcome(db, line.bank_serial) == "matched"
    assert balance(db, "platform:suspense") == 0
    assert open_payments(db) == []
    _, actions = queue.exception_detail(db, exc)
    assert [(a["action"], a["actor"]) for a in actions] == [("return", "operator:a")]
    assert actions[0]["detail"]["payment"] == payment.reference
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hand_match_is_held_to_the_facts_and_above_the_threshold_needs_a_second_operator(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    set_setting(
        db, "recon_approval_threshold_fen", "100000", effective_from=date(2026, 1, 5), set_by="ops"
    )
    order = request_drawdown(db, agent, 200_000, 30, "a")
    # The funder paid without quoting the order: matched by hand, by two operators.
    exc = one_line(db, 200_000, "放款", account=funder_account(db, "T1"))
    wrong = refused(queue.match_by_hand, db, exc, f"wallet:{handle}x", actor="operator:a")
    assert wrong == "wallet_not_found"
    assert refused(queue.match_by_hand, db, exc, "loan:1", actor="operator:a") == (
        "match_target_invalid"
    )
    asked = queue.match_by_hand(db, exc, f"order:{order.order_ref}", actor="operator:a")
    assert (asked.status, asked.approval_id is not None) == ("awaiting_approval", True)
    assert [d.status for d in drawdowns_of(db, agent)] == ["requested"]  # nothing yet
    assert queue.list_exceptions(db)[0].awaiting_approval == asked.approval_id
    assert asked.approval_id is not None
    assert refused(queue.approve, db, asked.approval_id, actor="operator:a") == (
        "approval_same_operator"
    )
    before = wallets.wallet(db, handle).balance
    approved = queue.approve(db, asked.approval_id, actor="operator:b")
    assert (approved.status, approved.exception.resolution) == ("done", "matched")
    assert [d.status for d in drawdowns_of(db, agent)] == ["credited"]
    assert wallets.wallet(db, handle).balance == before + 200_000
    assert balance(db, "platform:suspense") == 0
    assert refused(queue.approve, db, asked.approval_id, actor="operator:c") == "approval_decided"
    _, actions = queue.exception_detail(db, exc)
    assert [(a["action"], a["actor"]) for a in actions] == [
        ("match_asked", "operator:a"),
        ("match", "operator:b"),
    ]
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hand_match_must_fit_and_a_refused_approval_moves_nothing(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    order = request_drawdown(db, agent, 200_000, 30, "a")
    small = one_line(db, 199_000, "放款")
    assert refused(
        queue.match_by_hand, db, small, f"order:{order.order_ref}", actor="operator:a"
    ) == ("match_amount_differs")
    assert refused(
        queue.match_by_hand, db, small, "payment:YP000000000001", actor="operator:a"
    ) == (
        "match_target_invalid"  # money in cannot settle money out
    )
    # Below the threshold, to a wallet: at once.
    done = queue.match_by_hand(db, small, f"wallet:agent:{agent}", actor="operator:a")
    assert done.status == "done"
    set_setting(
        db, "recon_approval_threshold_fen", "1", effective_from=date(2026, 1, 5), set_by="ops"
    )
    big = one_line(db, 50_000, "转账")
    asked = queue.match_by_hand(db, big, f"wallet:agent:{agent}", actor="operator:a")
    assert asked.approval_id is not None
    # Another action on it while the approval waits is refused; the same one answers again.
    assert refused(queue.return_to_sender, db, big, actor="operator:b") == "approval_pending"
    again = queue.match_by_hand(db, big, f"wallet:agent:{agent}", actor="operator:a")
    assert again.approval_id == asked.approval_id
    before = wallets.wallet(db, f"agent:{agent}").balance
    decided = queue.refuse(db, asked.approval_id, "the agent denies it", actor="operator:b")
    assert decided.status == "refused"
    assert wallets.wallet(db, f"agent:{agent}").balance == before
    [still] = [e for e in queue.list_exceptions(db) if e.id == big]
    assert (still.status, still.awaiting_approval) == ("open", None)
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_suspense_booking_and_release_and_ownership_are_recorded(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    exc = one_line(db, 4_321, "不明款项")
    assert balance(db, "platform:suspense") == 4_321
    released = queue.release_from_suspense(db, exc, actor="operator:a")
    assert released.exception.line is not None and not released.exception.line.in_suspense
    assert balance(db, "platform:suspense") == 0
    assert queue.release_from_suspense(db, exc, actor="operator:a").status == "exists"
    booked = queue.book_to_suspense(db, exc, actor="operator:a")
    assert booked.exception.line is not None and booked.exception.line.in_suspense
    assert balance(db, "platform:suspense") == 4_321
    owned = queue.assign(db, exc, "zhang.wei", actor="operator:a")
    assert owned.exception.owner == "zhang.wei"
    assert [e.id for e in queue.list_exceptions(db, owner="zhang.wei")] == [exc]
    _, actions = queue.exception_detail(db, exc)
    assert [a["action"] for a in actions] == ["release", "suspense", "assign"]
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_notice_the_bank_never_confirms_becomes_an_exception_and_is_dismissed_with_a_reason(
    backend: str, tmp_path: Path
) -> None:
    from tests.loans.story import close_days_until

    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    order = request_drawdown(db, agent, 200_000, 30, "a")
    said = record_notice(
        db,
        kind="funding",
        recorded_by="funder:T1",
        key="n1",
        target=order.order_ref,
        amount=200_000,
        funder="T1",
    )
    close_days_until(market, date(2026, 1, 9))  # three days' wait: not yet
    assert [e.kind for e in queue.list_exceptions(db)] == []
    close_days_until(market, date(2026, 1, 10))
    [exc] = queue.list_exceptions(db)
    assert (exc.kind, exc.notice_id, exc.amount) == ("notice_unfunded", said.id, 200_000)
    assert refused(queue.return_to_sender, db, exc.id, actor="operator:a") == (
        "exception_action_invalid"
    )
    assert refused(queue.dismiss, db, exc.id, " ", actor="operator:a") == "reason_required"
    done = queue.dismiss(db, exc.id, "T1 confirms it never sent it", actor="operator:a")
    assert done.exception.resolution == "dismissed"
    assert queue.list_exceptions(db) == []
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_money_whose_line_names_no_sender_cannot_be_sent_back(backend: str, tmp_path: Path) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    exc = one_line(db, 5_000, "货款", account="")  # the bank printed no account
    assert refused(queue.return_to_sender, db, exc, actor="operator:a") == (
        "return_needs_counterparty"
    )
    assert open_payments(db) == []
    assert balance(db, "platform:suspense") == 5_000  # still held, for another action
    assert queue.list_exceptions(db)[-1].id == exc  # and still open
    assert refused(queue.exception_detail, db, exc + 1_000) == "exception_not_found"
    assert refused(queue.approve, db, 4_242, actor="operator:b") == "approval_not_found"
    assert verify(db).ok


def test_a_matching_rule_is_changed_by_its_name_within_its_bounds(db: Database) -> None:
    assert refused(set_rule, db, "by_hunch", days_after=4) == "match_rule_not_found"
    for bad in (-1, 10**9 + 1):  # 0 to 1,000,000,000
        assert refused(set_rule, db, "funding_notice", days_after=bad) == "match_rule_invalid"
    assert set_rule(db, "funding_notice", days_after=10**9).days_after == 10**9
