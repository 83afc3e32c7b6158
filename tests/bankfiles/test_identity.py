"""A line's identity: the bank's serial when it prints one, else a digest of what it printed,
numbered when two lines of a statement print alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

from tests.bankfiles.helpers import composed, sample
from yirong.bankfiles import BankLine, Direction, line_identity, number_repeats, parse_statements

DAY = date(2026, 1, 5)


def identity(**changes: object) -> str:
    fields: dict[str, object] = {
        "booking_date": DAY,
        "booked_at": time(9, 30, 1),
        "direction": Direction.DEBIT,
        "amount": 1_200,
        "counterparty_account": "6222021234567890123",
        "balance_after": -5_000,
        "memo": "手续费",
    }
    fields.update(changes)
    return line_identity(**fields)  # type: ignore[arg-type]


def test_a_serial_is_the_identity() -> None:
    assert identity(bank_serial="K3052300000123C") == "s:K3052300000123C"


def test_without_a_serial_the_identity_is_a_digest_of_the_printed_fields() -> None:
    assert identity() == composed(
        "2026-01-05", "09:30:01", "D", "1200", "6222021234567890123", "-5000", "手续费"
    )
    assert identity(booked_at=None, balance_after=None) == composed(
        "2026-01-05", "", "D", "1200", "6222021234567890123", "", "手续费"
    )


def test_each_composed_field_changes_the_identity() -> None:
    base = identity()
    changed = [
        identity(booking_date=date(2026, 1, 6)),
        identity(booked_at=time(9, 30, 2)),
        identity(booked_at=None),
        identity(direction=Direction.CREDIT),
        identity(amount=1_201),
        identity(counterparty_account="6222021234567890124"),
        identity(balance_after=-5_001),
        identity(balance_after=None),
        identity(memo="手续费 "),
    ]
    assert base not in changed
    assert len(set(changed)) == len(changed)


def test_fields_cannot_run_into_each_other() -> None:
    # "12" + "" and "1" + "2" would join alike without a separator
    assert identity(counterparty_account="12", memo="") != identity(
        counterparty_account="1", memo="2"
    )


def test_two_lines_that_print_alike_are_numbered_in_order() -> None:
    fee = BankLine(DAY, DAY, Direction.DEBIT, 200, identity(), memo="手续费")
    serial = BankLine(DAY, DAY, Direction.DEBIT, 200, "s:X1", bank_serial="X1")
    numbered = number_repeats([fee, serial, fee, fee, serial])
    assert [line.identity for line in numbered] == [
        identity(),
        "s:X1",
        identity() + "#2",
        identity() + "#3",
        "s:X1",  # a serial is the bank's own identity: it is not renumbered
    ]
    assert numbered[2] == replace(fee, identity=identity() + "#2")


def test_identical_lines_in_a_file_are_two_lines() -> None:
    (stmt,) = parse_statements(sample("yirong.csv"))
    fee = composed("2026-01-10", "", "D", "200", "", "", "手续费")
    assert [line.identity for line in stmt.lines[1:]] == [fee, fee + "#2"]
    assert stmt.debits == 400


def test_the_same_line_has_the_same_identity_in_camt053_and_mt940() -> None:
    (camt,) = parse_statements(sample("camt053_v02.xml"))
    (mt940,) = parse_statements(sample("mt940_envelope.sta"))
    assert [line.identity for line in camt.lines] == [line.identity for line in mt940.lines]


def test_our_csv_reader_composes_identities_as_line_identity_does() -> None:
    """The CSV reader composes inline for speed: bound here to the one rule."""
    header = sample("yirong.csv").decode().split("\n")[8]
    body = "\n".join(
        [
            "2026-01-10,2026-01-11,C,1500,某某,62-22 01,杭州银行,甲,,E1,,7000,09:30:01,Y",
            "2026-01-10,,D,200,,,,手续费,,,,6800,,",
            "2026-01-10,,D,200,,,,手续费,,,,6600,,",
            "2026-01-10,,D,200,,,,,,,,6400,23:59:59,",
        ]
    )
    text = f"# account: 755915678910802\n# currency: CNY\n{header},booked_at,reversal\n{body}\n"
    (stmt,) = parse_statements(text.encode())
    assert [line.identity for line in stmt.lines] == [
        line_identity(
            booking_date=line.booking_date,
            booked_at=line.booked_at,
            direction=line.direction,
            amount=line.amount,
            counterparty_account=line.counterparty_account,
            balance_after=line.balance_after,
            memo=line.memo,
        )
        for line in stmt.lines
    ]
    assert stmt.lines[0].counterparty_account == "622201"  # spaces and dashes dropped
