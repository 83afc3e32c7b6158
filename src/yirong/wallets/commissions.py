"""Crediting a commission file: validated as a whole, applied once, all or nothing.

Each row becomes one entry keyed ``commission:<month>:<agent>`` (reserve debit,
wallet credit), so the same commission can never be paid twice, whichever file
carries it; the file's SHA-256 makes sending the same file again a harmless repeat.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from yirong.books.service import RESERVE, business_date_of
from yirong.errors import CATALOGUE, YirongError
from yirong.infra.db import Tx, transactional
from yirong.ledger import service as ledger
from yirong.ledger.model import Leg, NewEntry, Side
from yirong.ledger.rules import EXISTS
from yirong.ledger.store import store_for
from yirong.wallets import commission_file
from yirong.wallets.commission_file import CommissionRow, RowError
from yirong.wallets.service import account_code, repay_overdue_from
from yirong.wallets.tables import CommissionFile

CODE = "wallet.commission"


@dataclass(frozen=True, slots=True)
class CommissionImport:
    status: str  # created | exists (this very file was applied before)
    file_id: int
    rows: int
    total_fen: int
    business_date: date


def entry_key(row: CommissionRow) -> str:
    return f"commission:{row.month}:{row.agent}"


@transactional
def import_commissions(tx: Tx, content: bytes, filename: str) -> CommissionImport:
    rows = commission_file.parse(content)
    digest = hashlib.sha256(content).hexdigest()
    applied = _applied(tx, digest)
    if applied is not None:
        return applied
    today = business_date_of(tx)
    errors = _check_against_books(tx, rows, today)
    if errors:
        raise _invalid(errors)
    reserve = ledger.account_by_code(tx, RESERVE)
    ids = store_for(tx).account_ids(account_code(r.agent) for r in rows)
    requests = [
        # No memo naming the file: the same commission sent again in another file
        # must be recognised as the same request (and so never paid twice).
        NewEntry(
            entry_key(r),
            CODE,
            (
                Leg(reserve.id, Side.DEBIT, r.amount),
                Leg(ids[account_code(r.agent)], Side.CREDIT, r.amount),
            ),
        )
        for r in rows
    ]
    try:
        results = ledger.post_batch(tx, requests, atomic=True)
    except YirongError as exc:
        refusals = exc.details.get("refusals") or [{"index": 0, "code": exc.code}]
        raise _invalid(
            [RowError(rows[r["index"]].line, r["code"], _row_message(r["code"])) for r in refusals]
        ) from exc
    repeated = [r for r, res in zip(rows, results, strict=True) if res.status == EXISTS]
    if repeated:
        # Either this same file is being applied by someone else right now (then
        # report their result), or these commissions came in an earlier file.
        applied = _applied(tx, digest)
        if applied is not None:
            return applied
        raise _invalid(
            [
                RowError(
                    r.line,
                    "commission_already_credited",
                    f"Agent {r.agent}'s {r.month} commission was credited by an earlier file.",
                )
                for r in repeated
            ]
        )
    record = CommissionFile(
        sha256=digest,
        filename=filename[:255],
        rows=len(rows),
        total_fen=sum(r.amount for r in rows),
        business_date=today,
    )
    tx.session.add(record)
    tx.session.flush()
    repay_overdue_from(tx, results)
    return CommissionImport("created", record.id, record.rows, record.total_fen, today)


def _applied(tx: Tx, digest: str) -> CommissionImport | None:
    found = tx.session.scalars(
        select(CommissionFile).where(CommissionFile.sha256 == digest)
    ).one_or_none()
    if found is None:
        return None
    return CommissionImport(EXISTS, found.id, found.rows, found.total_fen, found.business_date)


def _check_against_books(tx: Tx, rows: list[CommissionRow], today: date) -> list[RowError]:
    errors = []
    current = commission_file.month_of(today)
    known = store_for(tx).account_ids(account_code(r.agent) for r in rows)
    for r in rows:
        if r.month > current:
            errors.append(
                RowError(
                    r.line, "month_in_future", f"{r.month} is after the business month {current}."
                )
            )
        elif account_code(r.agent) not in known:
            errors.append(RowError(r.line, "wallet_not_found", f"Agent {r.agent} has no wallet."))
    return errors


def _row_message(code: str) -> str:
    spec = CATALOGUE.get(code)
    return spec.message if spec else code


def _invalid(errors: list[RowError]) -> YirongError:
    return YirongError(
        "commission_file_invalid",
        errors=[e.as_dict() for e in sorted(errors, key=lambda e: e.line)],
    )
