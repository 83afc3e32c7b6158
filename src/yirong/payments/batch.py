"""The bank batch file (代付批量文件): the payments instructed and not yet sent leave
for the bank together, in the layout ``docs/payment-batch.md`` documents, under our
batch reference. Each payment goes in one batch only; a batch is kept as sent, so
that it can be given to the bank again. The money moves only when the statement
shows each payment's debit (``reconciliation``), never because a batch was sent.

Layout: UTF-8 CSV (RFC 4180 quoting), ``\\n`` line ends. The first line is the control
record ``H,<batch reference>,<YYYYMMDD>,<payments>,<total fen>,<account paid from>``,
the second the column names, then one payment a line."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from yirong.books.service import bank_accounts_in, business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.payments.tables import Payment, PaymentBatch

PREFIX = "YB"
COLUMNS = (
    "payment_ref",
    "payee_name",
    "payee_account",
    "payee_bank",
    "amount_fen",
    "purpose",
)
PURPOSE = {
    "withdrawal": "提现 withdrawal",
    "payout": "代付 payout",
    "return": "退款 return",
    "supplier": "受托支付 order payout",  # to an order's supplier, from escrow
}


@dataclass(frozen=True, slots=True)
class BatchView:
    reference: str
    day: date
    bank_account: str  # the ledger code of the bank account it pays from
    payments: int
    total: int
    sha256: str
    name: str  # the file's name


def _view(b: PaymentBatch) -> BatchView:
    return BatchView(
        b.reference,
        b.day,
        b.bank_account,
        b.payments,
        b.total,
        b.sha256,
        f"{b.reference}.csv",
    )


def make_batches_in(tx: Tx, day: date) -> list[BatchView]:
    """One batch per bank account for every payment instructed by ``day`` and not yet
    in a batch (none when there is nothing to send). Refused for a day after the
    books' date: a batch cannot hold what is not instructed yet."""
    today = business_date_of(tx)
    if day > today:
        raise YirongError("payment_batch_future", day=day, business_date=today)
    numbers = {a.ledger_account: a.number for a in bank_accounts_in(tx)}
    made = []
    for code in sorted(numbers):
        waiting = list(
            tx.session.scalars(
                select(Payment)
                .where(
                    Payment.bank_account == code,
                    Payment.status == "instructed",
                    Payment.batch_ref.is_(None),
                    Payment.instructed_on <= day,
                )
                .order_by(Payment.id)
                .with_for_update()
            )
        )
        if waiting:
            made.append(_batch(tx, day, code, numbers[code], waiting))
    return made


make_batches = transactional(make_batches_in)


def _batch(tx: Tx, day: date, code: str, number: str, waiting: list[Payment]) -> BatchView:
    already = tx.conn.scalar(
        select(func.count()).select_from(PaymentBatch).where(PaymentBatch.day == day)
    )
    reference = f"{PREFIX}{day:%Y%m%d}{int(already or 0) + 1:03d}"
    total = sum(p.amount for p in waiting)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["H", reference, f"{day:%Y%m%d}", len(waiting), total, number])
    writer.writerow(COLUMNS)
    for p in waiting:
        writer.writerow(
            [
                p.reference,
                p.payee_name or "",
                p.payee_account or "",
                p.payee_bank or "",
                p.amount,
                PURPOSE[p.kind],
            ]
        )
        p.batch_ref = reference
    content = out.getvalue().encode()
    batch = PaymentBatch(
        reference=reference,
        day=day,
        bank_account=code,
        payments=len(waiting),
        total=total,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    tx.session.add(batch)
    tx.session.flush()
    return _view(batch)


@read_only
def batches(tx: Tx, *, day: date | None = None) -> list[BatchView]:
    query = select(PaymentBatch).order_by(PaymentBatch.id)
    if day is not None:
        query = query.where(PaymentBatch.day == day)
    return [_view(b) for b in tx.session.scalars(query)]


@read_only
def batch_content(tx: Tx, reference: str) -> bytes:
    found = tx.session.scalars(
        select(PaymentBatch).where(PaymentBatch.reference == reference)
    ).one_or_none()
    if found is None:
        raise YirongError("payment_batch_not_found", batch=reference)
    return found.content


@dataclass(frozen=True, slots=True)
class BatchLine:
    payment_ref: str
    payee_name: str
    payee_account: str
    payee_bank: str
    amount: int
    purpose: str


def read_batch(content: bytes) -> tuple[str, list[BatchLine]]:
    """A batch file as the bank reads it: its reference and its payments (the demo's
    bank executes them from here). Its control record must agree with its lines."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
    if len(rows) < 2 or rows[0][0] != "H" or tuple(rows[1]) != COLUMNS:
        raise YirongError("payment_batch_malformed", reason="no control record and columns")
    lines = [BatchLine(r[0], r[1], r[2], r[3], int(r[4]), r[5]) for r in rows[2:] if any(r)]
    if int(rows[0][3]) != len(lines) or int(rows[0][4]) != sum(x.amount for x in lines):
        raise YirongError("payment_batch_malformed", reason="the control record disagrees")
    return rows[0][1], lines
