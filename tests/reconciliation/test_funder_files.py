"""The books against each funder: the daily files we make (control record, ``.ok``,
every loan's figures worked out here by hand from the contract), a funder's own file
compared line by line, and each way a file can be wrong refused with its own code."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.bank import Bank, fund
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.books.service import current_business_date
from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.funders.accounts import share_account
from yirong.funders.tables import Funder
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import request_drawdown
from yirong.loans.repayments import repay
from yirong.loans.tables import Drawdown
from yirong.reconciliation import funder_files as files
from yirong.reconciliation.funder_files import compare_funder_file, file_checks, funder_file
from yirong.reconciliation.funder_layout import ok_marker


def half_up(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rows_of(content: bytes) -> tuple[list[str], list[list[str]]]:
    lines = content.decode().rstrip("\n").split("\n")
    return lines[0].split("|"), [line.split("|") for line in lines[2:]]


def with_rows(control: list[str], header: str, rows: list[list[str]], amounts: list[int]) -> bytes:
    """A file in the layout, its control record recounted from ``rows``."""
    totals = [str(sum(int(r[i]) for r in rows)) for i in amounts]
    head = "|".join([*control[:4], str(len(rows)), *totals])
    return ("\n".join([head, header, *("|".join(r) for r in rows)]) + "\n").encode()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_funders_daily_files_and_their_comparison(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, 3)
    db = market.db
    Bank(db)
    day1 = current_business_date(db)
    first = request_drawdown(db, market.code(0), 365_000, 30, "a")
    second = request_drawdown(db, market.code(1), 200_000, 60, "b")
    assert fund(db, "T1", first.order_ref, 365_000) == "matched"
    assert fund(db, "T1", second.order_ref, 200_000) == "matched"
    run_eod(db)  # day 1's files are made at its end

    def contract(ref: str) -> tuple[Decimal, int]:
        rate, basis = db.run(
            lambda tx: tx.conn.execute(
                select(Drawdown.annual_rate_ppm, Drawdown.day_basis).where(
                    Drawdown.order_ref == ref
                )
            ).one()
        )
        return Decimal(rate) / 1_000_000, basis

    def interest(ref: str, principal: int, days: int) -> int:
        rate, basis = contract(ref)
        return half_up(principal * rate * days / basis)  # 算头不算尾: the first day counts

    made = funder_file(db, "T1", day1, "LOANS")
    assert made.name == f"YIRONG_T1_LOANS_{day1:%Y%m%d}.txt"
    for day, kind, code in (
        (day1, "INVOICES", "funder_file_kind_unknown"),  # LOANS, REPAYMENTS or PAYOUTS
        (day1 + timedelta(days=1), "LOANS", "funder_file_not_found"),  # not ended yet
    ):
        with pytest.raises(YirongError) as refused:
            funder_file(db, "T1", day, kind)
        assert refused.value.code == code
    control, rows = rows_of(made.content)
    want = {
        first.order_ref: [
            first.order_ref,
            market.code(0),
            "365000",
            str(interest(first.order_ref, 365_000, 1)),
            "0",
            "credited",
            "0",
            str(day1 + timedelta(days=30)),
        ],
        second.order_ref: [
            second.order_ref,
            market.code(1),
            "200000",
            str(interest(second.order_ref, 200_000, 1)),
            "0",
            "credited",
            "0",
            str(day1 + timedelta(days=60)),
        ],
    }
    assert sorted(rows) == sorted(want.values())
    interest_total = sum(int(r[3]) for r in want.values())
    assert control == [
        "H",
        "T1",
        "LOANS",
        f"{day1:%Y%m%d}",
        "2",
        "565000",
        str(interest_total),
        "0",
    ]
    assert made.ok == f"2|{__import__('hashlib').sha256(made.content).hexdigest()}\n".encode()

    # Day 2: the first agent repays 100,000 fen; interest first, then principal.
    day2 = current_business_date(db)
    owed_interest = interest(first.order_ref, 365_000, 1)  # the repayment day does not count
    repay(db, market.code(0), 100_000, "r1")
    run_eod(db)
    _, paid = rows_of(funder_file(db, "T1", day2, "REPAYMENTS").content)
    share = half_up(Decimal(owed_interest) * Decimal("0.2"))  # T1 shares 20% of interest
    assert len(paid) == 1
    assert paid[0][1:] == [
        first.order_ref,
        "0",
        str(owed_interest),
        str(100_000 - owed_interest),
        str(share),
    ]
    _, out = rows_of(funder_file(db, "T1", day2, "PAYOUTS").content)
    # T1's agreement settles the platform's share on its monthly statement: the payout
    # is all it collected.
    assert [(r[1], r[2], r[3]) for r in out] == [("100000", "instructed", str(day2))]

    # The funder's own loan book of day 1: one loan's interest differs, the other is
    # missing. Exactly two differences, each of its type.
    ours = funder_file(db, "T1", day1, "LOANS")
    header = ours.content.decode().split("\n")[1]
    theirs_rows = [list(want[first.order_ref])]
    theirs_rows[0][3] = str(int(theirs_rows[0][3]) + 1)
    theirs = with_rows(control, header, theirs_rows, [2, 3, 4])
    check = compare_funder_file(
        db, "T1", day1, "LOANS", theirs, ok_marker(theirs), actor="operator:ops"
    )
    assert not check.clean
    assert sorted((d.kind.value, d.key, d.field) for d in check.differences) == [
        ("amount_differs", first.order_ref, "interest_due_fen"),
        ("missing_at_funder", second.order_ref, ""),
    ]
    same = compare_funder_file(db, "T1", day1, "LOANS", ours.content, ours.ok, actor="operator:ops")
    assert same.clean and same.differences == ()
    assert [c.clean for c in file_checks(db, "T1", day=day1)] == [False, True]

    # Each way a file can be wrong: refused with its own code, nothing kept.
    def refused(content: bytes, ok: bytes | None, *, funder: str = "T1", day: date = day1) -> str:
        with pytest.raises(YirongError) as caught:
            compare_funder_file(db, funder, day, "LOANS", content, ok, actor="operator:ops")
        return caught.value.code

    assert refused(theirs, None) == "funder_file_not_complete"
    assert refused(theirs, ok_marker(ours.content)) == "funder_file_not_complete"
    wrong_total = theirs.replace(f"|1|{theirs_rows[0][2]}|".encode(), b"|1|1|", 1)
    assert refused(wrong_total, ok_marker(wrong_total)) == "funder_file_control_mismatch"
    other_day = with_rows([*control[:3], f"{day2:%Y%m%d}"], header, theirs_rows, [2, 3, 4])
    assert refused(other_day, ok_marker(other_day)) == "funder_file_other_date"
    t2 = funder_file(db, "T2", day1, "LOANS")
    t2_control, _ = rows_of(t2.content)
    foreign = with_rows(t2_control, header, theirs_rows, [2, 3, 4])  # T1's loan, in T2's file
    assert refused(foreign, ok_marker(foreign), funder="T2") == "funder_file_foreign_rows"
    assert refused(foreign, ok_marker(foreign)) == "funder_file_other_funder"
    garbled = b"not a funder file\n"
    assert refused(garbled, ok_marker(garbled)) == "funder_file_malformed"
    assert len(file_checks(db, "T1")) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_funder_whose_agreement_nets_the_share_is_paid_out_net(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db = market.db
    # T1's agreement keeps the platform's share back from its payouts (set as the
    # registration would have: the market registers T1 with the default).
    db.run(
        lambda tx: tx.conn.execute(
            update(Funder).where(Funder.code == "T1").values(share_settlement="net")
        )
    )
    Bank(db)
    order = request_drawdown(db, market.code(0), 365_000, 30, "n1")
    assert fund(db, "T1", order.order_ref, 365_000) == "matched"
    run_eod(db)
    day2 = current_business_date(db)
    paid = repay(db, market.code(0), 100_000, "n-r1")
    assert paid.share > 0
    run_eod(db)
    _, out = rows_of(funder_file(db, "T1", day2, "PAYOUTS").content)
    assert [int(r[1]) for r in out] == [100_000 - paid.share]

    def owed(tx: Any) -> int:
        return ledger.balance_of(tx, ledger.account_by_code(tx, share_account("T1"))).balance

    assert db.run(owed) == 0  # the share receivable is settled
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crash_while_the_files_are_made_then_the_same_again_makes_each_once(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db = market.db
    Bank(db)
    order = request_drawdown(db, market.code(0), 200_000, 30, "c1")
    assert fund(db, "T1", order.order_ref, 200_000) == "matched"
    day = current_business_date(db)
    real_keep = files._keep
    kept: list[str] = []

    def keep_then_crash(tx: Any, **kw: Any) -> Any:
        if len(kept) == 2:
            raise RuntimeError("power cut")
        made = real_keep(tx, **kw)
        kept.append(made.name)
        return made

    monkeypatch.setattr(files, "_keep", keep_then_crash)
    with pytest.raises(RuntimeError):
        files.make_files(db, day)
    monkeypatch.setattr(files, "_keep", real_keep)
    made = files.make_files(db, day)
    assert len(made) == 6 and len({m.name for m in made}) == 6  # two funders, three kinds
    first = funder_file(db, "T1", day, "LOANS")
    assert [m.sha256 for m in files.make_files(db, day)] == [m.sha256 for m in made]
    assert funder_file(db, "T1", day, "LOANS").content == first.content
    assert order.order_ref.encode() in first.content
