"""The carrier's monthly commission files (佣金): recorded when they arrive, credited
when the carrier's money does.

A file is the carrier's word (information flow): it is validated as a whole and kept,
and moves nothing. The carrier pays its total into a reserve account quoting the
file's reference (``YC<id>``); when the reconciliation matches that bank line, every
row is credited to its wallet at once (one entry per row, keyed
``commission:<month>:<agent>``), and a wallet frozen for an overdue loan repays from
it. A commission can never be paid twice, whichever file carries it: each
(agent, month) belongs to one file, and each entry's key is unique in the ledger.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select, tuple_

from yirong.books.service import RESERVE, business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.ledger import service as ledger
from yirong.ledger.model import Leg, NewEntry, Side
from yirong.wallets import commission_file
from yirong.wallets.commission_file import CommissionRow, RowError
from yirong.wallets.service import account_code, repay_overdue_from
from yirong.wallets.tables import CommissionFile, CommissionFileRow

CODE = "wallet.commission"
PREFIX = "YC"
_REFERENCE = re.compile(rf"{PREFIX}(\d{{8,}})")


@dataclass(frozen=True, slots=True)
class CommissionImport:
    status: str  # created | exists (this very file was recorded before)
    file_id: int
    reference: str  # what the carrier quotes when it pays the total
    state: str  # awaiting_funds | applied
    rows: int
    total_fen: int
    business_date: date  # recorded on
    applied_on: date | None


def entry_key(agent: str, month: str) -> str:
    return f"commission:{month}:{agent}"


def reference_for(file_id: int) -> str:
    return f"{PREFIX}{file_id:08d}"


def file_ids_in(text: str) -> list[int]:
    """Commission files named by ``YC<id>`` references in a memo, in order."""
    return [int(m) for m in _REFERENCE.findall(text.upper())]


def _view(f: CommissionFile, status: str) -> CommissionImport:
    return CommissionImport(
        status,
        f.id,
        reference_for(f.id),
        f.state,
        f.rows,
        f.total_fen,
        f.business_date,
        f.applied_on,
    )


@transactional
def import_commissions(tx: Tx, content: bytes, filename: str) -> CommissionImport:
    """Record a commission file, all rows or none. Nothing is credited until the
    carrier's payment of its total is matched on a bank statement."""
    rows = commission_file.parse(content)
    digest = hashlib.sha256(content).hexdigest()
    found = _recorded(tx, digest)
    if found is not None:
        return _view(found, "exists")
    today = business_date_of(tx)
    errors = _check_against_books(tx, rows, today)
    if errors:
        raise _invalid(errors)
    record = CommissionFile(
        sha256=digest,
        filename=filename[:255],
        rows=len(rows),
        total_fen=sum(r.amount for r in rows),
        business_date=today,
        state="awaiting_funds",
    )
    tx.session.add(record)
    tx.session.flush()
    tx.conn.execute(
        insert(CommissionFileRow),
        [
            {"file_id": record.id, "agent": r.agent, "month": r.month, "amount": r.amount}
            for r in rows
        ],
    )
    return _view(record, "created")


def file_for_payment(tx: Tx, file_id: int) -> CommissionFile | None:
    """The file a carrier's payment names, locked while it is credited."""
    return tx.session.get(CommissionFile, file_id, with_for_update=True)


def apply_commission_file_in(
    tx: Tx, record: CommissionFile, *, bank_account: str = RESERVE
) -> CommissionImport:
    """The carrier's payment of the file's total is on the bank's statement: credit
    every row (once: a file already applied answers ``exists``)."""
    if record.state == "applied":
        return _view(record, "exists")
    rows = tx.conn.execute(
        select(CommissionFileRow.agent, CommissionFileRow.month, CommissionFileRow.amount)
        .where(CommissionFileRow.file_id == record.id)
        .order_by(CommissionFileRow.agent, CommissionFileRow.month)
    ).all()
    bank = ledger.account_by_code(tx, bank_account)
    ids = ledger.account_ids(tx, [account_code(agent) for agent, _, _ in rows])
    requests = [
        # No memo naming the file: the same commission in another file is the same
        # request, and the ledger refuses to pay it twice.
        NewEntry(
            entry_key(agent, month),
            CODE,
            (
                Leg(bank.id, Side.DEBIT, amount),
                Leg(ids[account_code(agent)], Side.CREDIT, amount),
            ),
        )
        for agent, month, amount in rows
    ]
    results = ledger.post_batch(tx, requests, atomic=True)
    record.state, record.applied_on = "applied", business_date_of(tx)
    repay_overdue_from(tx, results)
    return _view(record, "created")


@transactional
def apply_commission_file(tx: Tx, file_id: int) -> CommissionImport:
    """:func:`apply_commission_file_in` on its own (tests stand in for the bank with
    it; the edges never call it)."""
    found = file_for_payment(tx, file_id)
    if found is None:
        raise YirongError("commission_file_not_found", file=file_id)
    return apply_commission_file_in(tx, found)


@read_only
def commission_files(tx: Tx, *, state: str | None = None) -> list[CommissionImport]:
    query = select(CommissionFile).order_by(CommissionFile.id)
    if state is not None:
        query = query.where(CommissionFile.state == state)
    return [_view(f, "exists") for f in tx.session.scalars(query)]


def _recorded(tx: Tx, digest: str) -> CommissionFile | None:
    return tx.session.scalars(
        select(CommissionFile).where(CommissionFile.sha256 == digest)
    ).one_or_none()


def _check_against_books(tx: Tx, rows: list[CommissionRow], today: date) -> list[RowError]:
    errors = []
    current = commission_file.month_of(today)
    known = ledger.account_ids(tx, [account_code(r.agent) for r in rows])
    taken = set(
        tx.conn.execute(
            select(CommissionFileRow.agent, CommissionFileRow.month).where(
                tuple_(CommissionFileRow.agent, CommissionFileRow.month).in_(
                    [(r.agent, r.month) for r in rows]
                )
            )
        ).all()
    )
    for r in rows:
        if r.month > current:
            errors.append(
                RowError(
                    r.line, "month_in_future", f"{r.month} is after the business month {current}."
                )
            )
        elif account_code(r.agent) not in known:
            errors.append(RowError(r.line, "wallet_not_found", f"Agent {r.agent} has no wallet."))
        elif (r.agent, r.month) in taken:
            errors.append(
                RowError(
                    r.line,
                    "commission_already_credited",
                    f"Agent {r.agent}'s {r.month} commission is in an earlier file.",
                )
            )
    return errors


def _invalid(errors: list[RowError]) -> YirongError:
    return YirongError(
        "commission_file_invalid",
        errors=[e.as_dict() for e in sorted(errors, key=lambda e: e.line)],
    )
