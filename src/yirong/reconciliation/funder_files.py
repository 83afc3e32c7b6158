"""The books against each funder: the daily files we produce for every funder (T+1:
made at the end of the day they describe, read the next morning), and a funder's own
file of the same day compared with ours, line by line (``funder_layout``).

A file is made once per funder, day and kind and kept as written; making it again
returns the kept one, so that what a funder downloaded is what it compares."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import select, text

from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.funders.tables import Funder
from yirong.infra.bulk import stream_rows
from yirong.infra.db import Database, Dialect, Tx, read_only, transactional
from yirong.loans.book import charged_interest_sql, charged_penalty_sql
from yirong.loans.tables import Drawdown
from yirong.payments.tables import Payment
from yirong.reconciliation.funder_layout import (
    KINDS,
    Difference,
    DifferenceKind,
    FunderFile,
    compare,
    file_name,
    ok_marker,
    read,
    split_share,
    write,
    write_proved,
)
from yirong.reconciliation.tables import FunderFileCheck, FunderFileDifference, FunderFileRecord
from yirong.wallets.service import wallet_account


@dataclass(frozen=True, slots=True)
class MadeFile:
    funder: str
    day: date
    kind: str
    name: str
    rows: int
    totals: tuple[int, ...]
    sha256: str


@dataclass(frozen=True, slots=True)
class FileCheck:
    id: int
    funder: str
    day: date
    kind: str
    clean: bool
    differences: tuple[Difference, ...]


# ---------------------------------------------------------------- making


@dataclass(frozen=True, slots=True)
class FunderRef:
    id: int
    code: str


def make_files(db: Database, day: date) -> list[MadeFile]:
    """Every funder's files for ``day`` (those not made yet), from the books as they
    stand at the end of it: the end of day calls this before moving the date on. Each
    file is read in one read-only snapshot (its control record and rows agree even
    while repayments go on) and kept in a transaction of its own; made again after a
    crash, the kept ones are kept."""
    funders = db.run(
        lambda tx: [
            FunderRef(f.id, f.code)
            for f in tx.session.scalars(select(Funder).order_by(Funder.code))
        ],
        readonly=True,
    )
    made = []
    for funder in funders:
        for kind in KINDS:
            kept = db.run(partial(_kept, funder=funder, day=day, kind=kind), readonly=True)
            if kept is None:
                content = db.run(
                    partial(_content, funder=funder, day=day, kind=kind), readonly=True
                )
                kept = db.run(partial(_keep, funder=funder, day=day, kind=kind, content=content))
            made.append(kept)
    return made


def _kept(tx: Tx, *, funder: FunderRef, day: date, kind: str) -> MadeFile | None:
    record = _record(tx, funder.id, day, kind)
    return None if record is None else _made(funder.code, record)


def _content(tx: Tx, *, funder: FunderRef, day: date, kind: str) -> bytes:
    if kind == "LOANS" and tx.dialect is Dialect.POSTGRESQL:
        return _loan_book_copied(tx, funder, day)
    if kind == "LOANS":
        # Its fields come typed from the database (codes and references hold no
        # separator): the lines need no proving, only their totals.
        totals: list[int] = []
        lines = list(_loan_lines(tx, funder, day, totals))
        return write_proved(funder.code, KINDS[kind], day, lines, tuple(totals))
    rows = {"REPAYMENTS": _repayment_rows, "PAYOUTS": _payout_rows}[kind](tx, funder, day)
    return write(funder.code, KINDS[kind], day, rows)


def _keep(tx: Tx, *, funder: FunderRef, day: date, kind: str, content: bytes) -> MadeFile:
    kept = _record(tx, funder.id, day, kind)
    if kept is not None:  # made meanwhile: what was made first stands
        return _made(funder.code, kept)
    head = content[: content.index(b"\n")].decode().split("|")
    record = FunderFileRecord(
        funder_id=funder.id,
        day=day,
        kind=kind,
        name=file_name(funder.code, kind, day),
        rows=int(head[4]),
        totals="|".join(head[5:]),
        sha256=hashlib.sha256(content).hexdigest(),
        content=gzip.compress(content, compresslevel=1, mtime=0),
        made_on=business_date_of(tx),
    )
    tx.session.add(record)
    tx.session.flush()
    return _made(funder.code, record)


def _made(code: str, r: FunderFileRecord) -> MadeFile:
    totals = tuple(int(t) for t in r.totals.split("|")) if r.totals else ()
    return MadeFile(code, r.day, r.kind, r.name, r.rows, totals, r.sha256)


def _record(tx: Tx, funder_id: int, day: date, kind: str) -> FunderFileRecord | None:
    return tx.session.scalars(
        select(FunderFileRecord).where(
            FunderFileRecord.funder_id == funder_id,
            FunderFileRecord.day == day,
            FunderFileRecord.kind == kind,
        )
    ).one_or_none()


def _loan_lines(tx: Tx, funder: FunderRef, day: date, totals: list[int]) -> Iterator[str]:
    """The loan book at the end of ``day``: each drawdown still owing, what it owes,
    written as the file's lines where they are read (a million of them, some days);
    ``totals`` (principal, interest, penalty) added up on the way."""
    charged = (charged_interest_sql(), charged_penalty_sql())
    sql = f"""
SELECT d.order_ref, a.code, d.principal, {charged[0]} - d.interest_paid,
  {charged[1]} - d.penalty_paid, d.status, d.due_date
FROM drawdowns d JOIN agents a ON a.id = d.agent_id
WHERE d.funder_id = {int(funder.id)} AND d.status IN ('credited', 'overdue')
ORDER BY d.order_ref
""".replace(":next_ord", str(day.toordinal() + 1))
    past_due: dict[object, tuple[int, str]] = {}  # due date -> (days past due, as printed)
    principal_total = interest_total = penalty_total = 0
    for ref, agent, principal, interest, penalty, status, due in stream_rows(tx, sql):
        known = past_due.get(due)
        if known is None:
            due_day = due if isinstance(due, date) else date.fromisoformat(str(due))
            known = past_due[due] = (max((day - due_day).days, 0), due_day.isoformat())
        principal_total += principal
        interest_total += interest
        penalty_total += penalty
        yield f"{ref}|{agent}|{principal}|{interest}|{penalty}|{status}|{known[0]}|{known[1]}"
    totals[:] = [principal_total, interest_total, penalty_total]


def _loan_book_copied(tx: Tx, funder: FunderRef, day: date) -> bytes:
    """The loan book's file on PostgreSQL: the control record from one aggregate, the
    rows printed by the server (``COPY ... TO STDOUT``), so that a million lines never
    become a million Python tuples. Both read in the caller's read-only snapshot."""
    kind = KINDS["LOANS"]
    where = f"d.funder_id = {int(funder.id)} AND d.status IN ('credited', 'overdue')"
    interest = f"{charged_interest_sql()} - d.interest_paid"
    penalty = f"{charged_penalty_sql()} - d.penalty_paid"
    next_ord = str(day.toordinal() + 1)
    count, *totals = tx.conn.execute(
        text(
            f"SELECT COUNT(*), COALESCE(SUM(d.principal), 0), COALESCE(SUM({interest}), 0),"
            f" COALESCE(SUM({penalty}), 0) FROM drawdowns d WHERE {where}".replace(
                ":next_ord", next_ord
            )
        )
    ).one()
    head = "|".join(["H", funder.code, kind.name, f"{day:%Y%m%d}", str(count), *map(str, totals)])
    rows = f"""
SELECT d.order_ref, a.code, d.principal, {interest}, {penalty}, d.status,
  GREATEST(DATE '{day.isoformat()}' - d.due_date, 0), to_char(d.due_date, 'YYYY-MM-DD')
FROM drawdowns d JOIN agents a ON a.id = d.agent_id
WHERE {where}
""".replace(":next_ord", next_ord)
    parts = [f"{head}\n{'|'.join(kind.columns)}\n".encode()]
    with tx.raw.cursor() as cur, cur.copy(f"COPY ({rows}) TO STDOUT (DELIMITER '|')") as copy:
        parts.extend(bytes(block) for block in copy)
    return b"".join(parts)


def _repayment_rows(tx: Tx, funder: FunderRef, day: date) -> list[tuple[object, ...]]:
    """The day's repayments, one row per drawdown each paid, the platform's share
    apportioned to them (``split_share``)."""
    found = tx.conn.execute(
        text(
            """
SELECT r.id, r.share, d.order_ref, p.penalty, p.interest, p.principal
FROM repayments r JOIN repayment_parts p ON p.repayment_id = r.id
JOIN drawdowns d ON d.id = p.drawdown_id
WHERE r.funder_id = :funder AND r.business_date = :day
ORDER BY r.id, d.order_ref
"""
        ),
        {"funder": funder.id, "day": day},
    ).all()
    rows: list[tuple[object, ...]] = []
    for start, end in _groups([r[0] for r in found]):
        parts = found[start:end]
        shares = split_share(parts[0][1], [p[3] + p[4] for p in parts])
        rows += [
            (p[0], p[2], p[3], p[4], p[5], share) for p, share in zip(parts, shares, strict=True)
        ]
    return rows


def _groups(keys: Sequence[int]) -> Iterator[tuple[int, int]]:
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            yield start, i
            start = i


def _payout_rows(tx: Tx, funder: FunderRef, day: date) -> list[tuple[object, ...]]:
    source = wallet_account(tx, f"funder:{funder.code}").code
    return [
        (ref, amount, "instructed", day)
        for ref, amount in tx.conn.execute(
            select(Payment.reference, Payment.amount)
            .where(Payment.kind == "payout", Payment.source == source, Payment.instructed_on == day)
            .order_by(Payment.reference)
        )
    ]


# ---------------------------------------------------------------- reading and comparing


def _funder(tx: Tx, code: str) -> Funder:
    found = tx.session.scalars(select(Funder).where(Funder.code == code)).one_or_none()
    if found is None:
        raise YirongError("funder_not_found", funder=code)
    return found


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise YirongError("funder_file_kind_unknown", kind=kind, kinds=list(KINDS))
    return kind


@dataclass(frozen=True, slots=True)
class FileContent:
    name: str
    content: bytes
    ok: bytes  # the .ok marker's content


@read_only
def funder_file(tx: Tx, funder: str, day: date, kind: str) -> FileContent:
    """One of our kept files for a funder, and its ``.ok`` marker."""
    record = _record(tx, _funder(tx, funder).id, day, _kind(kind))
    if record is None:
        raise YirongError("funder_file_not_found", funder=funder, day=day, kind=kind)
    content = gzip.decompress(record.content)
    return FileContent(record.name, content, ok_marker(content))


@read_only
def funder_files(tx: Tx, funder: str, *, day: date | None = None) -> list[MadeFile]:
    query = select(FunderFileRecord).where(FunderFileRecord.funder_id == _funder(tx, funder).id)
    if day is not None:
        query = query.where(FunderFileRecord.day == day)
    rows = tx.session.scalars(query.order_by(FunderFileRecord.day, FunderFileRecord.kind))
    return [_made(funder, r) for r in rows]


@transactional
def compare_funder_file(
    tx: Tx,
    funder: str,
    day: date,
    kind: str,
    content: bytes,
    ok: bytes | None,
    *,
    actor: str,
) -> FileCheck:
    """A funder's own file for ``day`` held against ours, every difference listed and
    kept. Refused whole (nothing kept) when the file is not proved (``read``)."""
    found = _funder(tx, funder)
    record = _record(tx, found.id, day, _kind(kind))
    if record is None:
        raise YirongError("funder_file_not_found", funder=funder, day=day, kind=kind)
    theirs = read(content, ok, funder=funder, kind=kind, day=day)
    # Ours as we kept it (proved when it was written): its lines, not parsed again.
    kept = gzip.decompress(record.content).decode()
    totals = tuple(int(t) for t in record.totals.split("|")) if record.totals else ()
    ours = FunderFile(funder, KINDS[kind], day, kept.split("\n")[2:-1], totals)
    del kept
    differences = compare(ours, theirs)
    del ours, theirs
    _refuse_foreign_rows(
        tx,
        found,
        kind,
        [d.key for d in differences if d.kind is DifferenceKind.MISSING_AT_PLATFORM],
    )
    check = FunderFileCheck(
        funder_id=found.id,
        day=day,
        kind=kind,
        sha256=hashlib.sha256(content).hexdigest(),
        clean=not differences,
        differences=len(differences),
        checked_on=business_date_of(tx),
        checked_by=actor[:80],
    )
    tx.session.add(check)
    tx.session.flush()
    tx.session.add_all(
        FunderFileDifference(
            check_id=check.id,
            kind=d.kind.value,
            key=d.key[:120],
            field=d.field,
            ours=d.ours[:80],
            theirs=d.theirs[:80],
        )
        for d in differences
    )
    tx.session.flush()
    return FileCheck(check.id, funder, day, kind, check.clean, tuple(differences))


def _refuse_foreign_rows(tx: Tx, funder: Funder, kind: str, keys: list[str]) -> None:
    """Rows about another funder's loans or payouts refuse the file: a funder's file
    speaks for its own book only (and is not told whose the others are). Only rows we
    do not list for this funder can be such rows."""
    if not keys:
        return
    if kind == "PAYOUTS":
        source = wallet_account(tx, f"funder:{funder.code}").code
        refs = sorted(set(keys))
        foreign = _foreign(tx, refs, Payment.reference, Payment.source != source)
    else:  # the order is the key's last part (REPAYMENTS: repayment/order)
        refs = sorted({key.rsplit("/", 1)[-1] for key in keys})
        foreign = _foreign(tx, refs, Drawdown.order_ref, Drawdown.funder_id != funder.id)
    if foreign:
        raise YirongError("funder_file_foreign_rows", rows=len(foreign))


def _foreign(tx: Tx, refs: list[str], column: Any, other: Any) -> list[str]:
    found: list[str] = []
    for start in range(0, len(refs), 500):
        found += tx.conn.scalars(select(column).where(column.in_(refs[start : start + 500]), other))
    return found


@read_only
def file_checks(tx: Tx, funder: str, *, day: date | None = None) -> list[FileCheck]:
    """The comparisons of a funder's files, with their differences, oldest first."""
    found = _funder(tx, funder)
    query = select(FunderFileCheck).where(FunderFileCheck.funder_id == found.id)
    if day is not None:
        query = query.where(FunderFileCheck.day == day)
    checks = list(tx.session.scalars(query.order_by(FunderFileCheck.id)))
    listed: dict[int, list[Difference]] = {c.id: [] for c in checks}
    for d in tx.session.scalars(
        select(FunderFileDifference)
        .where(FunderFileDifference.check_id.in_(list(listed)))
        .order_by(FunderFileDifference.id)
    ):
        listed[d.check_id].append(
            Difference(DifferenceKind(d.kind), d.key, d.field, d.ours, d.theirs)
        )
    return [FileCheck(c.id, funder, c.day, c.kind, c.clean, tuple(listed[c.id])) for c in checks]
