"""The funders' back offices (资金方对账): each morning every lender downloads the
files Yirong made for it at the end of yesterday and sends back its own loan book
of the same day, which Yirong compares line by line. Their systems mostly agree;
twice in the demo they do not, as real ones do now and then:

* once a funder's system rounds one loan's interest the other way (one fen more);
* once a funder's system has not yet booked the newest loan.

Each shows as exactly one listed difference."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select

from yirong.funders.tables import Funder
from yirong.infra.db import Database
from yirong.reconciliation.funder_files import compare_funder_file, funder_file
from yirong.reconciliation.funder_layout import ok_marker

ROUNDS_OTHERWISE_DAY = 20  # the lending day a funder's interest differs by a fen
MISSES_A_LOAN_DAY = 45  # the lending day a funder's file lacks its newest loan


def exchange_files(db: Database, day: date, day_index: int, counts: Counter[str]) -> None:
    """Every lender's loan book of ``day`` compared with ours (theirs, as they send it)."""
    for code in _lenders(db):
        ours = funder_file(db, code, day, "LOANS")
        lines = ours.content.decode().split("\n")
        rows = [line for line in lines[2:] if line]
        if not rows:
            continue
        rows = _their_rows(rows, day_index, counts)
        theirs = _file(lines[0], lines[1], rows)
        check = compare_funder_file(
            db, code, day, "LOANS", theirs, ok_marker(theirs), actor=f"funder:{code}"
        )
        counts["funder_files_compared"] += 1
        counts["funder_files_clean"] += int(check.clean)


def _lenders(db: Database) -> list[str]:
    return db.run(
        lambda tx: list(
            tx.conn.scalars(
                select(Funder.code).where(Funder.licence != "factoring").order_by(Funder.code)
            )
        ),
        readonly=True,
    )


def _their_rows(rows: list[str], day_index: int, counts: Counter[str]) -> list[str]:
    if day_index == ROUNDS_OTHERWISE_DAY and not counts["funder_rounding_injected"]:
        cells = rows[0].split("|")
        cells[3] = str(int(cells[3]) + 1)  # interest_due_fen, rounded up on their side
        counts["funder_rounding_injected"] += 1
        return ["|".join(cells), *rows[1:]]
    if day_index == MISSES_A_LOAN_DAY and not counts["funder_missing_injected"] and len(rows) > 1:
        counts["funder_missing_injected"] += 1
        return rows[:-1]
    return rows


def _file(control: str, header: str, rows: list[str]) -> bytes:
    """Their file: our layout, its control record counted from their rows."""
    head = control.split("|")[:4]
    cells = [row.split("|") for row in rows]
    totals = [str(sum(int(c[i]) for c in cells)) for i in (2, 3, 4)]
    return ("\n".join(["|".join([*head, str(len(rows)), *totals]), header, *rows]) + "\n").encode()
