"""Commission files: checked whole, applied once, all rows or none."""

from __future__ import annotations

import pytest

from tests.ledger.helpers import assert_books_balance
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.wallets import commission_file
from yirong.wallets import service as wallets
from yirong.wallets.commissions import import_commissions

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


def test_a_file_is_applied_once(agents: Database) -> None:
    first = import_commissions(agents, GOOD, "dec.csv")
    assert (first.status, first.rows, first.total_fen) == ("created", 2, 248_000)
    again = import_commissions(agents, GOOD, "dec-copy.csv")
    assert (again.status, again.file_id) == ("exists", first.file_id)
    assert wallets.wallet(agents, "A001").balance == 150_000
    assert wallets.wallet(agents, "A002").balance == 98_000
    assert_books_balance(agents)


def test_the_same_commission_in_another_file_is_refused(agents: Database) -> None:
    import_commissions(agents, GOOD, "dec.csv")
    overlapping = b"agent,month,amount\nA003,2025-12,5000\nA001,2025-12,150000\n"
    with pytest.raises(YirongError) as refused:
        import_commissions(agents, overlapping, "dec-2.csv")
    assert errors_of(refused.value) == [(3, "commission_already_credited")]
    changed = b"agent,month,amount\nA003,2025-12,5000\nA001,2025-12,150001\n"
    with pytest.raises(YirongError) as different:
        import_commissions(agents, changed, "dec-3.csv")
    assert errors_of(different.value) == [(3, "exists_with_different_amount")]
    assert wallets.wallet(agents, "A003").balance == 0  # nothing from either file


def test_nothing_is_applied_from_a_file_with_errors(agents: Database) -> None:
    content = b"agent,month,amount\nA001,2025-12,100\nA999,2025-12,100\nA002,2026-02,5\n"
    with pytest.raises(YirongError) as refused:
        import_commissions(agents, content, "bad.csv")
    assert errors_of(refused.value) == [(3, "wallet_not_found"), (4, "month_in_future")]
    assert wallets.wallet(agents, "A001").balance == 0


def test_a_frozen_wallet_still_receives_its_commission(agents: Database) -> None:
    wallets.freeze(agents, "A001", "legal_order", note="order", actor="op")
    import_commissions(agents, GOOD, "dec.csv")
    assert wallets.wallet(agents, "A001").balance == 150_000


def test_a_closed_wallet_fails_the_file(agents: Database) -> None:
    wallets.close_wallet(agents, "A003", note="gone")
    content = b"agent,month,amount\nA001,2025-12,100\nA003,2025-12,100\n"
    with pytest.raises(YirongError) as refused:
        import_commissions(agents, content, "closed.csv")
    assert errors_of(refused.value) == [(3, "account_closed")]
    assert wallets.wallet(agents, "A001").balance == 0
