"""The day's reconciliation, the books against the bank: each kind of difference is one
item of its type with the effect worked out here by hand, a day with only payments in
transit is clean, a day is kept and the same run finds the same, and a day whose item
is resolved is clean when run again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.bank import Bank
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.books.service import current_business_date
from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.ledger import service as ledger
from yirong.reconciliation import daily, kept_days
from yirong.reconciliation import exceptions as queue
from yirong.reconciliation.daily import DayReport, run_day
from yirong.reconciliation.statements import import_statement_file
from yirong.wallets import service as wallets


def reserve(db) -> int:  # type: ignore[no-untyped-def]
    return db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, "platform:reserve")).balance
    )


def items(report: DayReport) -> list[tuple[str, str, int]]:
    (account,) = report.accounts
    return [(i.kind.value, i.ref, i.effect) for i in account.items]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_books_against_the_bank_day_by_day(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, 3)
    db = market.db
    bank = Bank(db, running=0)
    bank.running = reserve(db)  # the commissions came before the first statement
    agent = f"agent:{market.code(0)}"

    # Day 1: an agent withdraws 100 yuan; the bank books it tomorrow. A stranger's
    # transfer lands in suspense.
    day1 = current_business_date(db)
    held = wallets.request_withdrawal(db, agent, 10_000, "w1")
    w1 = f"YP{held.entry_id:012d}"
    bank.credit(55_500, memo="货款 INV-7", name="某某贸易", account="62284800001")
    bank.close_day()
    run_eod(db)
    # Day 2: the bank pays the withdrawal; nothing else moves.
    bank.debit(10_000, memo=f"代付 {w1}", account="")
    bank.close_day()
    run_eod(db)

    first = run_day(db, day1, actor="operator:ops")
    closing1 = bank.running + 10_000  # the bank's balance that evening: before the debit
    (account,) = first.accounts
    assert account.bank is not None and account.bank.closing == closing1
    # The books counted the withdrawal when it was made: 100 yuan below the bank.
    assert account.books == closing1 - 10_000
    assert (account.difference, account.explained) == (10_000, 10_000)
    stray_exc = next(e for e in queue.list_exceptions(db) if e.kind == "unknown")
    assert sorted(items(first)) == [
        ("in_transit", w1, 10_000),
        ("suspense", f"exception:{stray_exc.id}", 0),
    ]
    assert not first.clean and first.open_items == 1
    assert first.versions == (1,)

    # The same day again, nothing changed: the same result, no new version.
    again = run_day(db, day1, actor="operator:ops")
    assert again.accounts == first.accounts and again.versions == (1,)

    # Day 2 alone: the withdrawal is on both sides; the stray line waits, but it is
    # day 1's item (one open exception makes one day unclean).
    second = run_day(db, day1 + timedelta(days=1), actor="operator:ops")
    assert items(second) == [] and second.clean
    assert second.difference == 0 and second.bank_closing == bank.running

    # Only an unclean day is signed off, and only with a note saying why.
    for day, note, code in (
        (day1 + timedelta(days=1), "all fine", "recon_day_not_unclean"),
        (day1, "  ", "recon_acknowledge_needs_note"),
    ):
        with pytest.raises(YirongError) as refused:
            kept_days.acknowledge_day(db, day, note, actor="operator:ops")
        assert refused.value.code == code
    [signed] = kept_days.acknowledge_day(db, day1, "a stranger's money", actor="operator:ops")
    assert signed.acknowledged is not None and signed.version == 1

    # The stranger's money is sent back: the line leaves suspense, the return is a
    # payment in transit. Day 1 is then clean (its withdrawal is on both sides as seen
    # now), and kept as a second version.
    queue.return_to_sender(db, stray_exc.id, actor="ops")
    resolved = run_day(db, day1, actor="operator:ops")
    assert resolved.clean and resolved.versions == (2,)
    assert items(resolved) == [("in_transit", w1, 10_000)]

    # Money in the books that no bank line brought: unexplained, to the fen.
    wallets.credit_from_bank(db, agent, 7_700, "no-line")
    odd = run_day(db, day1 + timedelta(days=1), actor="operator:ops")
    assert ("unexplained", f"difference:{day1 + timedelta(days=1)}", -7_700) in items(odd)
    assert not odd.clean


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_at_the_bank_a_debit_we_did_not_order_and_a_line_out_of_the_books(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 3)
    db = market.db
    bank = Bank(db, running=0)
    bank.running = reserve(db)
    day1 = current_business_date(db)
    held = wallets.request_withdrawal(db, f"agent:{market.code(1)}", 20_000, "lost")
    lost = f"YP{held.entry_id:012d}"
    fee = bank.debit(1_500, memo="手续费 fee", name="招商银行")  # never ordered
    bank.close_day()
    run_eod(db)
    for _ in range(5):  # the bank never pays the withdrawal, and prints no empty day
        run_eod(db)
    code = wallets.wallet(db, f"agent:{market.code(0)}").pay_in_code
    bank.credit(3_000, memo=f"充值 YT{code}", account="6222020000000000001")
    bank.close_day()  # today's statement opens where day 1's closed: nothing between
    unordered = next(e for e in queue.list_exceptions(db) if e.kind == "unordered_debit")
    suspense = ("suspense", f"exception:{unordered.id}", 0)
    assert sorted(items(run_day(db, day1, actor="ops"))) == [("in_transit", lost, 20_000), suspense]
    # Three days after it was instructed, it was still in transit; the fourth, the
    # bank was late (the wait is three days).
    third = run_day(db, day1 + timedelta(days=3), actor="ops")
    assert items(third) == [("in_transit", lost, 20_000)] and third.clean
    report = run_day(db, day1 + timedelta(days=4), actor="ops")
    assert items(report) == [("missing_at_bank", lost, 20_000)]
    assert not report.clean

    # The bank's fee taken out of suspense again: the books then hold it nowhere.
    queue.release_from_suspense(db, unordered.id, actor="ops")
    report = run_day(db, day1 + timedelta(days=4), actor="operator:ops")
    fee_item = next(i for i in report.accounts[0].items if i.kind.value == "missing_in_books")
    assert fee_item.effect == -1_500 and fee_item.since == fee.booking_date
    assert report.accounts[0].difference == report.accounts[0].explained == 20_000 - 1_500


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_missing_statement_and_a_gap_between_statements(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db = market.db
    bank = Bank(db, running=0)
    bank.running = reserve(db)
    code = wallets.wallet(db, f"agent:{market.code(0)}").pay_in_code

    def top_up(amount: int) -> None:
        bank.credit(amount, memo=f"充值 YT{code}", account="6222020000000000001")

    day1 = current_business_date(db)
    top_up(1_000)
    bank.close_day()
    run_eod(db)
    # Day 2's statement does not reach us: the bank's balance grew by 2,000 fen.
    day2 = current_business_date(db)
    top_up(2_000)
    lost = bank.statement_bytes()
    run_eod(db)
    day3 = current_business_date(db)
    assert day3 == day2 + timedelta(days=1)
    # Nothing speaks for day 2 yet.
    report = run_day(db, day2, actor="ops")
    assert report.accounts[0].bank is None and items(report) == [
        ("statement_missing", f"statement:{day2}", 0)
    ]
    top_up(3_000)
    bank.close_day()
    run_eod(db)
    # Day 3's statement opens 2,000 fen above where day 1's closed: lines are missing.
    report = run_day(db, day3, actor="ops")
    assert [(k, e) for k, _, e in items(report)] == [("statement_gap", 2_000)]
    assert report.accounts[0].difference == 2_000 == report.accounts[0].explained
    assert [k for k, _, _ in items(run_day(db, day2, actor="ops"))] == [
        "statement_gap",
        "statement_missing",
    ]
    assert run_day(db, day1, actor="ops").clean  # the gap is after it
    # The lost statement arrives: every day is clean.
    import_statement_file(db, lost, filename="late.csv", actor="operator:test")
    for day in (day1, day2, day3):
        assert run_day(db, day, actor="ops").clean, day
    with pytest.raises(YirongError) as refused:
        run_day(db, current_business_date(db), actor="ops")
    assert refused.value.code == "recon_day_not_closed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crash_mid_run_then_the_same_command_gives_one_run(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db = market.db
    bank = Bank(db, running=0)
    bank.running = reserve(db)
    day = current_business_date(db)
    bank.credit(1_000, memo="货款 stray", name="某某")
    bank.close_day()
    run_eod(db)  # reconciles the day before (nothing: the account opened today)
    real = daily.keep_figures

    def crash(*args: object, **kwargs: object) -> int:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("power cut after the result was written")

    monkeypatch.setattr(daily, "keep_figures", crash)
    with pytest.raises(RuntimeError):
        run_day(db, day, actor="ops")
    monkeypatch.setattr(daily, "keep_figures", real)
    with pytest.raises(YirongError) as nothing:
        kept_days.kept_day(db, day)
    assert nothing.value.code == "recon_day_not_run"  # the crashed run left nothing
    report = run_day(db, day, actor="ops")
    assert report.versions == (1,) and not report.clean
    assert [k.version for k in kept_days.kept_day(db, day)] == [1]
