"""The demo's bank (银行): the platform's reserve account (备付金账户) at 招商银行, as
the bank sees it. It knows nothing of orders, wallets or loans: it sees money.

* Transfers come in (a funder paying an order, an agent topping up, the carrier paying
  a commission file): each is a credit line with whatever the payer wrote on it.
* Our outbound payments (withdrawals, funder payouts, returns) reach it in the
  platform's batch files (``payments.batch``, made at each end of day) and are
  executed the next business day: most are debited quoting their ``YP`` reference; a
  few withdrawals are refused before paying (the bank says so, and an operator records
  it); now and then one is debited and comes back the day after, a credit quoting the
  same reference (退汇); once, one is held for review for days before it is paid.
* At the end of each business day on which the account moved, it writes that day's
  statement in one of the layouts ``bankfiles`` offers (:func:`layout_for`), which
  the platform imports (``reconciliation.statements``) before its end of day. Once, the
  day's export spans yesterday too: yesterday's lines come again and must add nothing.

It keeps the account's running balance: after the last statement, the books' reserve
account must show exactly that."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from functools import partial

from yirong.bankfiles import (
    BankLine,
    BankStatement,
    Direction,
    write_camt053,
    write_cmb,
    write_csv,
    write_icbc,
    write_mt940,
)
from yirong.books.service import add_bank_account
from yirong.infra.db import Database
from yirong.payments.batch import batch_content, batches, read_batch
from yirong.payments.service import PaymentView, open_payments
from yirong.reconciliation.statements import ImportResult, import_statement_file

RESERVE_NUMBER = "571907615510802"  # 招商银行: 15 digits, 571 for its Hangzhou branch
RESERVE_BANK = "招商银行杭州分行"
RESERVE_NAME = "易融支付有限公司备付金"
IMPORTED_BY = "operator:ops-li"  # who imports the bank's file each evening

REFUSED_SHARE = 0.06  # of withdrawals: refused before paying (户名不符, 账户冻结...)
RETURNED_SHARE = 0.03  # of withdrawals: paid, then returned by the payee's bank
REFUSALS = ("收款账户户名不符 account name mismatch", "收款账户已冻结 payee account frozen")
OPENS_AT = 8 * 3600 + 30 * 60  # seconds into the day of its first line
SPACING = 9  # seconds between two lines of a day (the time is printed)


@dataclass(frozen=True, slots=True)
class Party:
    """The other side of a line, as the bank prints it."""

    name: str
    account: str
    bank: str


@dataclass(frozen=True, slots=True)
class Layout:
    """A statement layout the bank can export: how it is written and what it prints."""

    name: str
    suffix: str
    write: Callable[[BankStatement], bytes]
    sub_accounts: bool  # prints the virtual account (子账号) a credit went to


LAYOUTS: tuple[Layout, ...] = (
    Layout("csv", "csv", write_csv, True),
    Layout("cmb", "csv", write_cmb, True),  # 招商银行's export, GBK CSV
    Layout("camt053", "xml", write_camt053, True),
    Layout("mt940", "sta", write_mt940, False),
    Layout("cmb-xlsx", "xlsx", partial(write_cmb, xlsx=True), True),
    Layout("icbc", "xlsx", write_icbc, False),  # historydetail: serials
    Layout("icbc-detail", "csv", partial(write_icbc, xlsx=False, with_serial=False), False),
)


def layout_for(statement_number: int) -> Layout:
    """The one place the day's layout is chosen: the bank's exports in turn, so that
    every reader the platform has is fed a real day of the demo."""
    return LAYOUTS[statement_number % len(LAYOUTS)]


@dataclass
class Morning:
    """What the bank did with the platform's payment file this morning."""

    returned: int = 0  # yesterday's debits sent back today
    refused: list[PaymentView] = field(default_factory=list)  # for an operator to record


@dataclass
class _Day:
    on: date
    opening: int
    lines: list[BankLine] = field(default_factory=list)
    layout: Layout | None = None


class SimulatedBank:
    """The reserve account at the bank (registered with the platform on creation)."""

    def __init__(self, db: Database, rnd: random.Random) -> None:
        self.db, self.rnd = db, rnd
        self.number = add_bank_account(db, RESERVE_NUMBER, RESERVE_BANK, RESERVE_NAME).number
        self.balance = 0  # fen, as of the last line
        self.statements = 0
        self._day: _Day | None = None
        self._yesterday: _Day | None = None
        self._answered: set[str] = set()  # references of payments the bank has acted on
        self._files: set[str] = set()  # batch files read
        self._waiting: list[str] = []  # payments read from the files, not yet answered
        self._to_return: list[PaymentView] = []  # debited today, coming back tomorrow
        self._review: dict[str, date] = {}  # reference -> paid on that date
        self._review_next = 0  # days the next withdrawal waits in review
        self._overlap_next = False

    # ------------------------------------------------------------ money in

    def pay_in(
        self,
        on: date,
        amount: int,
        payer: Party,
        *,
        memo: str = "",
        reference: str = "",
        virtual_account: str = "",
    ) -> None:
        """A transfer into the account (or into one of its virtual accounts)."""
        self._line(on, Direction.CREDIT, amount, payer, memo, reference, virtual_account)

    def virtual_account(self, pay_in_code: str) -> str:
        """The account's virtual account (虚拟账号) ending in ``pay_in_code``."""
        return self.number + pay_in_code

    # ------------------------------------------------------------ money out

    def review_next_withdrawal(self, days: int) -> None:
        """The next withdrawal on the payment file waits ``days`` in the bank's review."""
        self._review_next = days

    def overlap_next_statement(self) -> None:
        """The next statement is exported over two days: yesterday's lines again."""
        self._overlap_next = True

    def run_payment_file(self, on: date) -> Morning:
        """Execute the platform's payments instructed before ``on`` (and send back
        those the payee's bank returned since yesterday)."""
        morning = Morning()
        for payment in self._to_return:
            self._line(
                on,
                Direction.CREDIT,
                payment.amount,
                _payee(payment),
                f"退汇 {payment.reference} 收款行退回 returned by the payee's bank",
                payment.reference,
            )
            morning.returned += 1
        self._to_return = []
        for payment in self._received(on):
            if payment.reference in self._answered:
                continue
            if payment.reference in self._review:
                if self._review[payment.reference] > on:
                    continue
                del self._review[payment.reference]
            elif payment.kind == "withdrawal" and self._review_next:
                self._review[payment.reference] = on + timedelta(days=self._review_next)
                self._review_next = 0
                continue
            self._answered.add(payment.reference)
            roll = self.rnd.random() if payment.kind == "withdrawal" else 1.0
            if roll < REFUSED_SHARE:
                morning.refused.append(payment)
                continue
            self._line(
                on,
                Direction.DEBIT,
                payment.amount,
                _payee(payment),
                f"代付 {payment.reference}",
                payment.reference,
            )
            if roll < REFUSED_SHARE + RETURNED_SHARE:
                self._to_return.append(payment)
        return morning

    def _received(self, on: date) -> list[PaymentView]:
        """The payments in the batch files the platform sent before ``on`` (the bank
        reads its files, not the platform's books), with those still in review."""
        sent = [b for b in batches(self.db) if b.day < on and b.reference not in self._files]
        listed = [
            line.payment_ref
            for b in sent
            for line in read_batch(batch_content(self.db, b.reference))[1]
        ]
        self._files.update(b.reference for b in sent)
        self._waiting += [ref for ref in listed if ref not in self._waiting]
        still_open = {p.reference: p for p in open_payments(self.db)}
        # A payment an operator failed in the meantime is no longer the bank's to pay.
        self._waiting = [ref for ref in self._waiting if ref in still_open]
        return [still_open[ref] for ref in self._waiting]

    @staticmethod
    def refusal_reason(payment: PaymentView) -> str:
        return REFUSALS[payment.id % len(REFUSALS)]

    # ------------------------------------------------------------ the statement

    def close_day(self, on: date) -> ImportResult | None:
        """Write the day's statement and have the platform import it; a day on which
        the account did not move has none (the exports print no empty day)."""
        day = self._day
        if day is None or day.on != on or not day.lines:
            return None
        day.layout = self._layout_today()
        spans = [day]
        if self._overlap_next and self._yesterday is not None:
            spans = [self._yesterday, day]
            self._overlap_next = False
        lines = tuple(line for d in spans for line in _printable(d.lines, day.layout))
        self.statements += 1
        stmt = BankStatement(
            format=day.layout.name,
            account_number=self.number,
            account_name=RESERVE_NAME,
            currency="CNY",
            statement_id=f"{on:%Y%m%d}/{self.statements}",
            from_date=spans[0].on,
            to_date=on,
            opening_balance=spans[0].opening,
            closing_balance=self.balance,
            lines=lines,
        )
        content = day.layout.write(stmt)
        self._yesterday, self._day = day, None
        return import_statement_file(
            self.db,
            content,
            filename=f"reserve-{on:%Y%m%d}-{day.layout.name}.{day.layout.suffix}",
            actor=IMPORTED_BY,
        )

    def _layout_today(self) -> Layout:
        # An export over two days is yesterday's layout again: a layout without serials
        # knows a line by what it prints, and another layout prints it otherwise.
        if self._overlap_next and self._yesterday is not None:
            assert self._yesterday.layout is not None
            return self._yesterday.layout
        return layout_for(self.statements)

    # ------------------------------------------------------------ lines

    def _line(
        self,
        on: date,
        direction: Direction,
        amount: int,
        party: Party,
        memo: str,
        reference: str,
        virtual_account: str = "",
    ) -> None:
        if self._day is None or self._day.on != on:
            assert self._day is None, "a day's lines are printed before the next day's"
            self._day = _Day(on, self.balance)
        n = len(self._day.lines) + 1
        serial = f"CM{on:%y%m%d}{n:06d}"
        line = BankLine(
            booking_date=on,
            value_date=on,
            direction=direction,
            amount=amount,
            identity=f"s:{serial}",
            counterparty_name=party.name,
            counterparty_account=party.account,
            counterparty_bank=party.bank,
            memo=memo,
            bank_serial=serial,
            end_to_end_ref=reference,
            virtual_account=virtual_account,
            booked_at=_clock(n),
        )
        self._day.lines.append(line)
        self.balance += line.signed


def _payee(payment: PaymentView) -> Party:
    return Party(payment.payee_name or "", payment.payee_account or "", payment.payee_bank or "")


def _clock(n: int) -> time:
    """The time the bank prints on the day's ``n``-th line."""
    seconds = min(OPENS_AT + SPACING * (n - 1), 24 * 3600 - 1)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def _printable(lines: list[BankLine], layout: Layout) -> list[BankLine]:
    """The lines as ``layout`` prints them: one without a sub-account column names the
    virtual account a credit went to in the memo, where only a person reads it."""
    if layout.sub_accounts:
        return lines
    return [
        replace(line, memo=f"入账子账号 {line.virtual_account}", virtual_account="")
        if line.virtual_account
        else line
        for line in lines
    ]
