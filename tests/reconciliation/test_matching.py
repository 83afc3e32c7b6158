"""Money only from the bank: a statement's lines are matched to orders, wallets, files
and payments, and only a matched line moves money; notices move nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.bank import (
    RESERVE_BANK,
    RESERVE_NAME,
    RESERVE_NUMBER,
    Bank,
    funder_account,
    line_outcome,
)
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from yirong.books.service import add_bank_account, bank_accounts, current_business_date
from yirong.books.tables import BANK_LINE
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import drawdowns_of, request_drawdown
from yirong.reconciliation.exceptions import list_exceptions
from yirong.reconciliation.notices import NoticeView, notices, record_notice
from yirong.reconciliation.statements import statement_file, statement_files
from yirong.reconciliation.tables import BankLine
from yirong.wallets import service as wallets


def balance(db, code: str) -> int:  # type: ignore[no-untyped-def]
    return db.run(lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, code)).balance)


def refused(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(YirongError) as caught:
        call(*args, **kwargs)
    return caught.value.code


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_funders_notice_moves_nothing_and_the_bank_line_funds_the_order(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    before = wallets.wallet(db, handle).balance
    reserve = balance(db, "platform:reserve")
    order = request_drawdown(db, agent, 200_000, 30, "a")
    said = record_notice(
        db,
        kind="funding",
        recorded_by="funder:T1",
        key="n1",
        target=order.order_ref,
        amount=200_000,
        their_ref="NO-SUCH-BANK-REF",
        funder="T1",
    )
    assert (said.status, said.moved_money) == ("open", False)
    assert wallets.wallet(db, handle).balance == before  # the funder's word is not money
    assert {d.id: d.status for d in drawdowns_of(db, agent)}[order.id] == "requested"
    # The same notice again is the same notice; another with the same key is refused.
    again = record_notice(
        db,
        kind="funding",
        recorded_by="funder:T1",
        key="n1",
        target=order.order_ref,
        amount=200_000,
        their_ref="NO-SUCH-BANK-REF",
        funder="T1",
    )
    assert (again.id, again.outcome) == (said.id, "exists")
    assert (
        refused(
            record_notice,
            db,
            kind="funding",
            recorded_by="funder:T1",
            key="n1",
            target=order.order_ref,
            amount=1,
            funder="T1",
        )
        == "funding_differs"
    )
    bank = Bank(db)
    bank.credit(
        200_000, memo=f"放款 {order.order_ref}", account=funder_account(db, "T1"), name="T1"
    )
    result = bank.close_day()
    assert (result.lines, result.new, result.matched, result.exceptions) == (1, 1, 1, 0)
    fee = next(d for d in drawdowns_of(db, agent) if d.id == order.id).fee
    assert wallets.wallet(db, handle).balance == before + 200_000 - fee
    assert [n.status for n in notices(db)] == ["matched"]
    assert balance(db, "platform:reserve") == reserve + 200_000
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_notice_again_under_its_key_with_other_details_names_what_differs(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    first = request_drawdown(db, agent, 200_000, 30, "a")
    second = request_drawdown(db, agent, 100_000, 30, "b")
    said = {"target": first.order_ref, "amount": 200_000, "their_ref": "TR-1"}

    def notice(kind: str = "funding", key: str = "n1", **changed: object) -> NoticeView:
        return record_notice(  # type: ignore[no-any-return]
            db, kind=kind, recorded_by="funder:T1", key=key, funder="T1", **{**said, **changed}
        )

    def differs(**changed: object) -> tuple[str, object]:
        with pytest.raises(YirongError) as caught:
            notice(**changed)
        return caught.value.code, caught.value.details["field"]

    created = notice()
    assert differs(target=second.order_ref) == ("funding_differs", "order_ref")
    assert differs(amount=200_001) == ("funding_differs", "amount")
    assert differs(their_ref="TR-2") == ("funding_differs", "bank_ref")
    assert differs(amount=1, their_ref="TR-2") == ("funding_differs", "amount")  # the first
    assert differs(kind="top_up", target=f"agent:{agent}") == (
        "exists_with_different_request",
        "kind",
    )
    assert (notice().id, notice().outcome) == (created.id, "exists")
    assert refused(notice, key="n2", kind="refund") == "notice_kind_invalid"
    assert refused(notice, key="n3", kind="payment", target="PAY-NONE") == "payment_not_found"
    assert [n.id for n in notices(db)] == [created.id]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fault_is_one_exception_held_in_suspense(backend: str, tmp_path: Path) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    before = wallets.wallet(db, handle).balance
    first = request_drawdown(db, agent, 200_000, 30, "a")
    second = request_drawdown(db, agent, 100_000, 30, "b")
    t1, t2 = funder_account(db, "T1"), funder_account(db, "T2")
    bank = Bank(db)
    over = bank.credit(200_001, memo=first.order_ref, account=t1)
    unknown = bank.credit(5_000, memo="YR209901010000000009", account=t1)
    foreign = bank.credit(200_000, memo=first.order_ref, account=t2)
    matched = bank.credit(200_000, memo=first.order_ref, account=t1)
    twice = bank.credit(200_000, memo=first.order_ref, account=t1)
    nothing = bank.credit(8_888, memo="货款", name="某某商贸", account="6228480000000000001")
    fee = bank.debit(1_500, memo="手续费")
    result = bank.close_day()
    assert (result.lines, result.matched, result.exceptions) == (7, 1, 6)
    outcomes = {
        line.bank_serial: line_outcome(db, line.bank_serial)
        for line in (over, unknown, foreign, matched, twice, nothing, fee)
    }
    assert outcomes == {
        over.bank_serial: "over",
        unknown.bank_serial: "unknown",
        foreign.bank_serial: "unknown",
        matched.bank_serial: "matched",
        twice.bank_serial: "duplicate",
        nothing.bank_serial: "unknown",
        fee.bank_serial: "unordered_debit",
    }
    fee_paid = next(d for d in drawdowns_of(db, agent) if d.id == first.id).fee
    assert wallets.wallet(db, handle).balance == before + 200_000 - fee_paid
    held_in = 200_001 + 5_000 + 200_000 + 200_000 + 8_888
    assert balance(db, "platform:suspense") == held_in - 1_500
    assert len(list_exceptions(db)) == 6
    # The second order is not funded in time; its money, when it comes, is late.
    close_days_until(market, current_business_date(db).replace(day=7))
    assert {d.id: d.status for d in drawdowns_of(db, agent)}[second.id] == "expired"
    late = Bank(db)
    line = late.credit(100_000, memo=second.order_ref, account=t1)
    late.close_day()
    assert line_outcome(db, line.bank_serial) == "late"
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_statement_is_imported_once_and_a_line_is_booked_once(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    code = wallets.wallet(db, handle).pay_in_code
    bank = Bank(db)
    line = bank.credit(10_000, memo=f"充值 YT{code}", account="6228480000000000002")
    content = bank.statement_bytes()
    from yirong.reconciliation.statements import import_statement_file

    first = import_statement_file(db, content, filename="a.csv")
    again = import_statement_file(db, content, filename="a-again.csv")
    assert (first.status, first.new, first.matched) == ("created", 1, 1)
    assert (again.status, again.file_id, again.new) == ("exists", first.file_id, 1)
    before = wallets.wallet(db, handle).balance
    # The same line in another file (the next day's statement repeats it): a duplicate.
    bank.lines.append(line)
    bank.credit(20_000, memo=f"YT{code}")
    overlap = bank.statement_bytes()
    # (the writer started from the last closing: the repeated line counts twice in it)
    result = import_statement_file(db, overlap, filename="b.csv")
    assert (result.new, result.duplicates, result.matched) == (1, 1, 1)
    assert wallets.wallet(db, handle).balance == before + 20_000
    # A line the bank gave before, now with another amount: the whole file is refused.
    bank.lines.append(line.__class__(**{**_fields(line), "amount": 10_001}))
    bank.credit(30_000, memo=f"YT{code}")
    assert refused(import_statement_file, db, bank.statement_bytes(), filename="c.csv") == (
        "statement_line_conflict"
    )
    assert wallets.wallet(db, handle).balance == before + 20_000
    # One file giving the same line twice, the second time with another amount.
    twice = bank.credit(40_000, memo=f"YT{code}")
    bank.lines.append(line.__class__(**{**_fields(twice), "amount": 40_001}))
    assert refused(import_statement_file, db, bank.statement_bytes(), filename="d.csv") == (
        "statement_line_conflict"
    )
    assert wallets.wallet(db, handle).balance == before + 20_000
    assert verify(db).ok


def _fields(line: object) -> dict[str, object]:
    return {name: getattr(line, name) for name in line.__slots__}  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_notice_meets_the_line_that_funded_its_order_not_the_second_payment(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    order = request_drawdown(db, agent, 200_000, 30, "a")
    record_notice(
        db,
        kind="funding",
        recorded_by="funder:T1",
        key="n1",
        target=order.order_ref,
        amount=200_000,
        funder="T1",
    )
    bank = Bank(db)
    t1 = funder_account(db, "T1")
    paid = bank.credit(200_000, memo=order.order_ref, account=t1)
    again = bank.credit(200_000, memo=order.order_ref, account=t1)
    bank.close_day()
    assert (line_outcome(db, paid.bank_serial), line_outcome(db, again.bank_serial)) == (
        "matched",
        "duplicate",
    )
    [notice] = notices(db)
    lines = db.run(
        lambda tx: dict(
            tx.conn.execute(
                select(BankLine.bank_serial, BankLine.id).where(
                    BankLine.bank_serial.in_([paid.bank_serial, again.bank_serial])
                )
            ).all()
        )
    )
    assert notice.status == "matched" and notice.line_id is not None
    assert BANK_LINE.number_of(notice.line_id) == lines[paid.bank_serial]


def test_the_platform_reads_statements_only_of_bank_accounts_it_holds(db: Database) -> None:
    for number in ("12345", "6222 0000 12345 #"):  # 6 to 34 digits or capitals
        assert refused(add_bank_account, db, number, RESERVE_BANK, RESERVE_NAME) == (
            "bank_account_invalid"
        )
    Bank(db)  # the reserve account, recorded
    assert refused(add_bank_account, db, RESERVE_NUMBER, "另一家银行", RESERVE_NAME) == (
        "bank_account_taken"
    )
    stranger = Bank(db, number="755900000000001", register=False)
    stranger.credit(1_000, memo="货款", name="某某商贸有限公司", account="6228480000000000009")
    with pytest.raises(YirongError) as caught:
        stranger.close_day()
    assert caught.value.code == "statement_account_unknown"
    assert statement_files(db) == []  # nothing of the file was kept
    assert refused(statement_file, db, 1) == "statement_file_not_found"
    # Once the platform records the account (here or in another worker), its
    # statements are read: the accounts a worker keeps are read again for a number
    # not among them.
    add_bank_account(db, "755900000000001", "某银行", "易融备付金二号")
    stranger.credit(1_000, memo="货款", name="某某商贸有限公司", account="6228480000000000009")
    assert stranger.close_day().new == 1


def test_bank_accounts_recorded_at_once_are_each_recorded_once(pg: Database) -> None:
    """Two operators (or two first statements) recording accounts at the same moment:
    each gets the account, only one becomes the reserve, nobody gets a server error."""
    numbers = [RESERVE_NUMBER] * 6 + ["6222000000000000011", "6222000000000000012"]
    start = threading.Barrier(len(numbers))
    results: list[str] = []
    failures: list[BaseException] = []

    def record(number: str) -> None:
        start.wait()
        try:
            results.append(add_bank_account(pg, number, RESERVE_BANK, RESERVE_NAME).number)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=record, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert sorted(results) == sorted(numbers)
    recorded = {a.number: a.ledger_account for a in bank_accounts(pg)}
    assert set(recorded) == set(numbers)
    assert sorted(recorded.values()).count("platform:reserve") == 1


def test_a_long_file_contradicting_one_line_given_before_is_refused(db: Database) -> None:
    """Past 64 lines the stored ones are looked up in one statement (on PostgreSQL a
    JSON parameter): a contradiction among them still refuses the whole file."""
    from yirong.reconciliation.statements import import_statement_file

    bank = Bank(db)
    given = [bank.credit(1_000 + n, memo=f"无法识别 {n}") for n in range(70)]
    assert bank.close_day().new == 70
    bank.lines.extend(given[:69])
    bank.lines.append(given[69].__class__(**{**_fields(given[69]), "amount": 1}))
    contradicting = bank.statement_bytes()
    assert refused(import_statement_file, db, contradicting, filename="b.csv") == (
        "statement_line_conflict"
    )
    bank.lines.extend(given)
    again = import_statement_file(db, bank.statement_bytes(), filename="c.csv")
    assert (again.new, again.duplicates) == (0, 70)
