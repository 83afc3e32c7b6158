"""Each kind of money the reserve account sees, and what it does in the books: top-ups
by pay-in code or virtual account, an agent who forgot the code (an operator's notice
makes a proposal), an order paid in two parts or two orders in one transfer, and our
payment returned by the bank."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bank import RESERVE_NUMBER, Bank, funder_account, line_outcome, pay_out
from tests.databases import BACKENDS
from tests.loans.story import market_with_line, market_with_lines
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import drawdowns_of, request_drawdown
from yirong.payments.service import open_payments, payments
from yirong.reconciliation import exceptions as queue
from yirong.reconciliation.notices import notices, record_notice
from yirong.wallets import service as wallets


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_top_up_finds_its_wallet_by_pay_in_code_or_virtual_account(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db = market.db
    first, second = f"agent:{market.code(0)}", f"agent:{market.code(1)}"
    code1, code2 = wallets.wallet(db, first).pay_in_code, wallets.wallet(db, second).pay_in_code
    before = (wallets.wallet(db, first).balance, wallets.wallet(db, second).balance)
    bank = Bank(db)
    by_code = bank.credit(30_000, memo=f"充值 yt{code1}", account="6222020000000000001")
    by_virtual = bank.credit(
        40_000, memo="货款", account="6222020000000000002", virtual_account=RESERVE_NUMBER + code2
    )
    # One digit wrong: the check digit catches it; it credits nobody.
    typo = code1[:-2] + str((int(code1[-2]) + 1) % 10) + code1[-1]
    mistyped = bank.credit(5_000, memo=f"充值 YT{typo}", account="6222020000000000001")
    result = bank.close_day()
    assert (result.matched, result.exceptions) == (2, 1)
    assert line_outcome(db, by_code.bank_serial) == "matched"
    assert line_outcome(db, by_virtual.bank_serial) == "matched"
    assert line_outcome(db, mistyped.bank_serial) == "unknown"
    assert (wallets.wallet(db, first).balance, wallets.wallet(db, second).balance) == (
        before[0] + 30_000,
        before[1] + 40_000,
    )
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_top_up_without_its_code_is_proposed_from_the_operators_notice(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    handle = f"agent:{market.code(0)}"
    before = wallets.wallet(db, handle).balance
    said = record_notice(
        db, kind="top_up", recorded_by="operator:desk", key="n1", target=handle, amount=70_000
    )
    assert wallets.wallet(db, handle).balance == before
    bank = Bank(db)
    bank.credit(70_000, memo="转账", account="6222020000000000003")
    bank.close_day()
    [exc] = queue.list_exceptions(db)
    assert (exc.kind, exc.proposal) == ("proposed", f"wallet:{handle}")
    assert wallets.wallet(db, handle).balance == before  # proposed, not posted
    confirmed = queue.match_by_hand(db, exc.id, None, actor="operator:a")
    assert confirmed.exception.resolution == "matched"
    assert wallets.wallet(db, handle).balance == before + 70_000
    assert [(n.id, n.status) for n in notices(db)] == [(said.id, "matched")]
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_order_paid_in_two_parts_and_two_orders_paid_in_one_transfer(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db, a, b = market.db, market.code(0), market.code(1)
    t1 = funder_account(db, "T1")
    parts = request_drawdown(db, a, 300_000, 30, "p")
    one, two = request_drawdown(db, b, 100_000, 30, "1"), request_drawdown(db, b, 50_000, 30, "2")
    bank = Bank(db)
    first = bank.credit(120_000, memo=parts.order_ref, account=t1)
    both = bank.credit(150_000, memo=f"{one.order_ref},{two.order_ref}", account=t1)
    bank.close_day()
    assert line_outcome(db, first.bank_serial) == "partial"
    assert [d.status for d in drawdowns_of(db, a)] == ["requested"]  # waits for the rest
    assert line_outcome(db, both.bank_serial) == "matched"
    assert [d.status for d in drawdowns_of(db, b)] == ["credited", "credited"]
    rest = Bank(db)
    second = rest.credit(180_000, memo=f"补足 {parts.order_ref}", account=t1)
    rest.close_day()
    assert line_outcome(db, second.bank_serial) == "matched"
    assert line_outcome(db, first.bank_serial) == "matched"
    [loan] = drawdowns_of(db, a)
    assert (loan.status, loan.principal) == ("credited", 300_000)
    assert queue.list_exceptions(db) == []
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_part_of_an_order_that_expires_becomes_a_short_exception(
    backend: str, tmp_path: Path
) -> None:
    from datetime import date

    from tests.loans.story import close_days_until

    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    order = request_drawdown(db, agent, 300_000, 30, "p")
    bank = Bank(db)
    part = bank.credit(120_000, memo=order.order_ref, account=funder_account(db, "T1"))
    bank.close_day()
    close_days_until(market, date(2026, 1, 8))  # the order expired at the end of the 6th
    assert [d.status for d in drawdowns_of(db, agent)] == ["expired"]
    assert line_outcome(db, part.bank_serial) == "short"
    [exc] = queue.list_exceptions(db)
    assert exc.line is not None and exc.line.in_suspense
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_payment_the_bank_returns_puts_the_money_back(backend: str, tmp_path: Path) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    handle = f"agent:{market.code(0)}"
    before = wallets.wallet(db, handle).balance
    held = wallets.request_withdrawal(db, handle, 30_000, "w1")
    [payment] = open_payments(db)
    assert pay_out(db, held.entry_id) == "matched"
    assert wallets.wallet(db, handle).balance == before - 30_000
    # The next day the receiving bank sends it back (the card was closed).
    bank = Bank(db)
    back = bank.credit(30_000, memo=f"退汇 {payment.reference} 账户已销户")
    bank.close_day()
    assert line_outcome(db, back.bank_serial) == "matched"
    assert wallets.wallet(db, handle).balance == before
    assert [p.status for p in payments(db)] == ["returned"]
    # A return of a payment never made, or made twice: an exception.
    again = Bank(db)
    twice = again.credit(30_000, memo=f"退汇 {payment.reference}")
    again.close_day()
    assert line_outcome(db, twice.bank_serial) == "unknown"
    assert wallets.wallet(db, handle).balance == before
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_virtual_account_printed_in_the_memo_and_a_proposal_waiting_longer_than_a_notice(
    backend: str, tmp_path: Path
) -> None:
    from datetime import date

    from tests.loans.story import close_days_until

    market = market_with_line(backend, tmp_path)
    db = market.db
    handle = f"agent:{market.code(0)}"
    code = wallets.wallet(db, handle).pay_in_code
    before = wallets.wallet(db, handle).balance
    bank = Bank(db)
    # MT940 and ICBC exports have no column for it: the bank prints it in the memo.
    printed = bank.credit(6_000, memo=f"入账子账号 {RESERVE_NUMBER}{code} 货款")
    bank.close_day()
    assert line_outcome(db, printed.bank_serial) == "matched"
    assert wallets.wallet(db, handle).balance == before + 6_000
    # A top-up notice whose line is waiting as a proposal is not also "unfunded" when
    # nobody confirms it for days: the money did come.
    record_notice(db, kind="top_up", recorded_by="operator:d", key="n", target=handle, amount=900)
    late = Bank(db)
    late.credit(900, memo="转账", account="6222020000000000004")
    late.close_day()
    close_days_until(market, date(2026, 1, 12))
    assert [e.kind for e in queue.list_exceptions(db)] == ["proposed"]
    assert [n.status for n in notices(db)] == ["proposed"]
    queue.match_by_hand(db, queue.list_exceptions(db)[0].id, None, actor="operator:a")
    assert [n.status for n in notices(db)] == ["matched"]
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_funders_notice_after_its_money_is_matched_at_once_and_one_before_waits(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db, a, b = market.db, market.code(0), market.code(1)
    t1 = funder_account(db, "T1")
    alone = request_drawdown(db, a, 60_000, 30, "alone")
    one, two = request_drawdown(db, b, 100_000, 30, "1"), request_drawdown(db, b, 50_000, 30, "2")
    early = request_drawdown(db, a, 40_000, 30, "early")
    bank = Bank(db)
    bank.credit(60_000, memo=alone.order_ref, account=t1)
    bank.credit(150_000, memo=f"{one.order_ref},{two.order_ref}", account=t1)  # one transfer
    bank.close_day()

    def said(order: str, amount: int) -> tuple[str, str | None]:
        notice = record_notice(
            db,
            kind="funding",
            recorded_by="funder:T1",
            key=f"n-{order}",
            target=order,
            amount=amount,
            their_ref=f"T1-{order}",
            funder="T1",
        )
        return notice.status, notice.line_id

    # After the money: matched at once, to the line that brought it (the second order
    # of a transfer that paid two is found inside the line's list of orders).
    single, second = said(alone.order_ref, 60_000), said(two.order_ref, 50_000)
    assert single[0] == second[0] == "matched"
    assert None not in (single[1], second[1]) and single[1] != second[1]
    assert said(one.order_ref, 100_000) == second  # the same transfer's line
    # Before the money: the notice waits, and the line that comes closes it.
    assert said(early.order_ref, 40_000) == ("open", None)
    late = Bank(db)
    late.credit(40_000, memo=early.order_ref, account=t1)
    late.close_day()
    closed = {n.target: n.status for n in notices(db)}
    assert closed == dict.fromkeys(
        (alone.order_ref, one.order_ref, two.order_ref, early.order_ref), "matched"
    )
    assert verify(db).ok
