"""A bank for tests: it keeps the reserve account's running balance and writes its
statement in Yirong's CSV layout, which the platform imports as it would the real
bank's. Money reaches the books in tests the way it does in production: on a line of
a statement, matched by the reconciliation."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from yirong.bankfiles.model import BankLine, BankStatement, Direction
from yirong.bankfiles.write import write_csv
from yirong.books.service import add_bank_account, bank_accounts, current_business_date
from yirong.books.tables import BankAccount
from yirong.infra.db import Database
from yirong.reconciliation.statements import ImportResult, import_statement_file
from yirong.reconciliation.tables import Statement

RESERVE_NUMBER = "755915678910802"
_SERIALS = itertools.count(1)  # the bank's serial numbers, never given twice
RESERVE_BANK = "招商银行深圳分行"
RESERVE_NAME = "易融支付有限公司备付金"


def open_reserve(db: Database, number: str = RESERVE_NUMBER) -> None:
    """The platform's reserve account at the bank (once)."""
    if not any(a.number == number for a in bank_accounts(db)):
        add_bank_account(db, number, RESERVE_BANK, RESERVE_NAME)


@dataclass
class Bank:
    """The bank of one reserve account: lines are collected, then written out as one
    statement and imported."""

    db: Database
    number: str = RESERVE_NUMBER
    lines: list[BankLine] = field(default_factory=list)
    statements: int = 0
    # The bank's own running balance, when it keeps one (a bank outside the platform);
    # otherwise the last statement the platform received says where it stands.
    running: int | None = None
    register: bool = True  # record the account in the platform's books directly

    def __post_init__(self) -> None:
        if self.register:
            open_reserve(self.db, self.number)

    def _serial(self) -> str:
        return f"TB{self.number[-4:]}{next(_SERIALS):08d}"

    def credit(
        self,
        amount: int,
        *,
        memo: str = "",
        name: str = "",
        account: str = "",
        bank: str = "",
        e2e: str = "",
        virtual_account: str = "",
        on: date | None = None,
        serial: str = "",
    ) -> BankLine:
        return self._line(
            Direction.CREDIT, amount, memo, name, account, bank, e2e, virtual_account, on, serial
        )

    def debit(
        self,
        amount: int,
        *,
        memo: str = "",
        name: str = "",
        account: str = "",
        bank: str = "",
        e2e: str = "",
        on: date | None = None,
        serial: str = "",
    ) -> BankLine:
        return self._line(Direction.DEBIT, amount, memo, name, account, bank, e2e, "", on, serial)

    def _line(
        self,
        direction: Direction,
        amount: int,
        memo: str,
        name: str,
        account: str,
        bank: str,
        e2e: str,
        virtual_account: str,
        on: date | None,
        serial: str = "",
    ) -> BankLine:
        serial = serial or self._serial()
        day = on or current_business_date(self.db)
        line = BankLine(
            booking_date=day,
            value_date=day,
            direction=direction,
            amount=amount,
            identity=f"s:{serial}",
            counterparty_name=name,
            counterparty_account=account,
            counterparty_bank=bank,
            memo=memo,
            bank_serial=serial,
            end_to_end_ref=e2e,
            virtual_account=virtual_account,
        )
        self.lines.append(line)
        return line

    def opening_balance(self) -> int:
        if self.running is not None:
            return self.running

        def last(tx: object) -> int:
            found = tx.conn.scalar(  # type: ignore[attr-defined]
                select(Statement.closing_balance)
                .join(BankAccount, BankAccount.id == Statement.bank_account_id)
                .where(BankAccount.number == self.number)
                .order_by(Statement.id.desc())
                .limit(1)
            )
            return int(found or 0)

        return self.db.run(last)  # type: ignore[arg-type]

    def statement_bytes(self) -> bytes:
        """Today's statement, written as the bank would (and the lines forgotten)."""
        opening = self.opening_balance()
        signed = sum(line.signed for line in self.lines)
        days = [line.booking_date for line in self.lines] or [current_business_date(self.db)]
        self.statements += 1
        stmt = BankStatement(
            format="csv",
            account_number=self.number,
            account_name=RESERVE_NAME,
            currency="CNY",
            statement_id=f"{self.number}-{self.statements}",
            from_date=min(days),
            to_date=max(days),
            opening_balance=opening,
            closing_balance=opening + signed,
            lines=tuple(self.lines),
        )
        self.lines = []
        if self.running is not None:
            self.running = stmt.closing_balance
        return write_csv(stmt)

    def close_day(self) -> ImportResult:
        """Write today's statement and import it."""
        content = self.statement_bytes()
        return import_statement_file(
            self.db, content, filename=f"stmt-{self.statements}.csv", actor="operator:test"
        )


# ---------------------------------------------------------------- shortcuts for tests


def funder_account(db: Database, funder_code: str) -> str:
    from yirong.funders.tables import Funder

    return str(
        db.run(
            lambda tx: tx.conn.scalar(
                select(Funder.settlement_bank_account).where(Funder.code == funder_code)
            )
        )
    )


def fund(db: Database, funder_code: str, order_ref: str, amount: int) -> str:
    """The funder's transfer quoting the order appears on today's statement: returns
    how the line ended, ``matched`` or the exception's type (or ``partial``)."""
    bank = Bank(db)
    line = bank.credit(
        amount,
        memo=f"放款 {order_ref}",
        name=f"{funder_code} 小额贷款有限公司",
        account=funder_account(db, funder_code),
        bank="杭州银行",
    )
    bank.close_day()
    return line_outcome(db, line.bank_serial)


def line_outcome(db: Database, serial: str) -> str:
    from yirong.reconciliation.tables import BankLine as Row
    from yirong.reconciliation.tables import ReconException

    def read(tx: object) -> str:
        row = tx.session.scalars(select(Row).where(Row.bank_serial == serial)).one()  # type: ignore[attr-defined]
        if row.status != "exception":
            return str(row.status)
        kind = tx.conn.scalar(  # type: ignore[attr-defined]
            select(ReconException.kind)
            .where(ReconException.line_id == row.id)
            .order_by(ReconException.id.desc())
            .limit(1)
        )
        return str(kind)

    return db.run(read)  # type: ignore[arg-type]


def pay_out(db: Database, withdrawal_id: int) -> str:
    """The bank paid our payment (a withdrawal or payout) out: its debit line quoting
    the payment's reference is on today's statement. Returns how the line ended."""
    from yirong.payments.tables import Payment

    reference, amount, account = db.run(
        lambda tx: tx.conn.execute(
            select(Payment.reference, Payment.amount, Payment.payee_account).where(
                Payment.hold_entry_id == withdrawal_id
            )
        ).one()
    )
    bank = Bank(db)
    line = bank.debit(amount, memo=f"代付 {reference}", account=account or "")
    bank.close_day()
    return line_outcome(db, line.bank_serial)


def credit_commissions(db: Database, content: bytes, filename: str) -> None:
    """Record a commission file and credit it as if the carrier's payment had been
    matched (for tests about what commissions feed, not about the bank)."""
    from yirong.wallets.commissions import apply_commission_file, import_commissions

    recorded = import_commissions(db, content, filename)
    apply_commission_file(db, recorded.file_id)
