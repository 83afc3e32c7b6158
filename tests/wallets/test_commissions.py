"""Commission files: checked whole and recorded once; credited, all rows or none, when
the carrier's payment of the total is on the bank's statement."""

from __future__ import annotations

import pytest

from tests.bank import Bank, line_outcome
from tests.ledger.helpers import assert_books_balance
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.wallets import commission_file
from yirong.wallets import service as wallets
from yirong.wallets.commissions import (
    apply_commission_file,
    commission_files,
    import_commissions,
)

GOOD = b"agent,month,amount\nA001,2025-12,150000\nA002,2025-12,98000\n"


@pytest.fixture
def agents(db: Database) -> Database:
    wallets.open_wallets(db, [("A001", "Shop 1"), ("A002", "Shop 2"), ("A003", "Shop 3")])
    return db


def errors_of(exc: YirongError) -> list[tuple[int, str]]:
    return [(e["line"], e["code"]) for e in exc.details["errors"]]


def test_parse_reports_every_bad_line() -> None:
    content = (
        b"agent,month,amount\n"
        b"A001,2025-12,100\n"
        b"A002,2025-13,100\n"
        b"A 3,2025-12,100\n"
        b"A004,2025-12,1.50\n"
        b"A005,2025-12,0\n"
        b"A001,2025-12,200\n"
        b"A006,2025-12\n"
        b"\n"
        b"A007,2025-11,-4\n"
        b"A008,2025-11,10000000000000000\n"
    )
    with pytest.raises(YirongError) as invalid:
        commission_file.parse(content)
    assert invalid.value.code == "commission_file_invalid"
    assert errors_of(invalid.value) == [
        (3, "month_invalid"),
        (4, "agent_invalid"),
        (5, "amount_not_integer"),
        (6, "amount_zero"),
        (7, "duplicate_row"),
        (8, "wrong_column_count"),
        (10, "amount_negative"),
        (11, "amount_too_large"),
    ]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "commission_file_empty"),
        (b"agent,month,amount\n", "commission_file_empty"),
        (b"who,when,what\nA1,2025-12,1\n", "commission_file_invalid"),
        (b"\xff\xfe\x00garbage", "commission_file_invalid"),
    ],
)
def test_malformed_files(content: bytes, code: str) -> None:
    with pytest.raises(YirongError) as refused:
        commission_file.parse(content)
    assert refused.value.code == code


def test_amount_fen_header_and_bom_are_accepted() -> None:
    rows = commission_file.parse("\ufeffagent,month,amount_fen\r\nA1,2025-12,5\r\n".encode())
    assert [(r.agent, r.month, r.amount, r.line) for r in rows] == [("A1", "2025-12", 5, 2)]


def carrier_pays(db: Database, reference: str, amount: int) -> str:
    """The carrier's transfer quoting the file appears on the bank's statement."""
    bank = Bank(db)
    line = bank.credit(amount, memo=f"佣金 {reference}", name="中国移动", account="1100000000001")
    bank.close_day()
    return line_outcome(db, line.bank_serial)


def test_a_file_moves_nothing_until_the_carrier_pays_it_and_then_once(agents: Database) -> None:
    first = import_commissions(agents, GOOD, "dec.csv")
    assert (first.status, first.rows, first.total_fen, first.state) == (
        "created",
        2,
        248_000,
        "awaiting_funds",
    )
    assert first.reference == f"YC{first.file_id:08d}"
    again = import_commissions(agents, GOOD, "dec-copy.csv")
    assert (again.status, again.file_id) == ("exists", first.file_id)
    assert wallets.wallet(agents, "A001").balance == 0  # the carrier's word is not money
    assert carrier_pays(agents, first.reference, 247_999) == "short"
    assert wallets.wallet(agents, "A001").balance == 0
    assert carrier_pays(agents, first.reference, 248_000) == "matched"
    assert wallets.wallet(agents, "A001").balance == 150_000
    assert wallets.wallet(agents, "A002").balance == 98_000
    assert [f.state for f in commission_files(agents)] == ["applied"]
    assert carrier_pays(agents, first.reference, 248_000) == "duplicate"  # paid twice
    assert wallets.wallet(agents, "A001").balance == 150_000
    assert_books_balance(agents)


def test_only_a_recorded_file_can_be_credited(agents: Database) -> None:
    recorded = import_commissions(agents, GOOD, "dec.csv")
    with pytest.raises(YirongError) as refused:
        apply_commission_file(agents, recorded.file_id + 1)
    assert refused.value.code == "commission_file_not_found"
    assert wallets.wallet(agents, "A001").balance == 0
    assert [f.state for f in commission_files(agents)] == ["awaiting_funds"]


def test_the_same_commission_in_another_file_is_refused(agents: Database) -> None:
    import_commissions(agents, GOOD, "dec.csv")
    overlapping = b"agent,month,amount\nA003,2025-12,5000\nA001,2025-12,150000\n"
    with pytest.raises(YirongError) as refused:
        import_commissions(agents, overlapping, "dec-2.csv")
    assert errors_of(refused.value) == [(3, "commission_already_credited")]
    changed = b"agent,month,amount\nA003,2025-12,5000\nA001,2025-12,150001\n"
    with pytest.raises(YirongError) as different:
        import_commissions(agents, changed, "dec-3.csv")
    assert errors_of(different.value) == [(3, "commission_already_credited")]
    assert len(commission_files(agents)) == 1  # neither file was recorded


def test_nothing_is_recorded_from_a_file_with_errors(agents: Database) -> None:
    content = b"agent,month,amount\nA001,2025-12,100\nA999,2025-12,100\nA002,2026-02,5\n"
    with pytest.raises(YirongError) as refused:
        import_commissions(agents, content, "bad.csv")
    assert errors_of(refused.value) == [(3, "wallet_not_found"), (4, "month_in_future")]
    assert commission_files(agents) == []


def test_a_frozen_wallet_still_receives_its_commission(agents: Database) -> None:
    wallets.freeze(agents, "A001", "legal_order", note="order", actor="op")
    recorded = import_commissions(agents, GOOD, "dec.csv")
    assert carrier_pays(agents, recorded.reference, recorded.total_fen) == "matched"
    assert wallets.wallet(agents, "A001").balance == 150_000


def test_a_file_with_a_closed_wallet_is_an_exception_when_paid(agents: Database) -> None:
    content = b"agent,month,amount\nA001,2025-12,100\nA003,2025-12,100\n"
    recorded = import_commissions(agents, content, "closed.csv")
    wallets.close_wallet(agents, "A003", note="gone")
    assert carrier_pays(agents, recorded.reference, 200) == "account_closed"
    assert wallets.wallet(agents, "A001").balance == 0  # all rows or none
    assert [f.state for f in commission_files(agents)] == ["awaiting_funds"]
    assert_books_balance(agents)
