"""The operations desk's morning (差错处理): the bank's refusals recorded, then the
exception queue worked, oldest first, as the reconciliation's service functions allow:

* money that fits nothing (unknown, late, paid twice, short, over, for a wallet that
  cannot take it) goes back to its sender (but the two newest: still looked into);
* a proposal (a line that a top-up notice explains) is confirmed as proposed;
* a line the bank printed without its virtual account, naming it in the memo, is
  matched by hand to the wallet the console finds for it;
* what needs a second operator (at least the policy's threshold) is approved by one;
* a notice the bank never confirmed is dismissed, with a reason, after a few days;
* a payment the bank has not debited waits: the bank's line resolves it by itself;
* a day the reconciliation found unclean only because the bank paid late is signed
  off, saying so, once the payment has left (one still in suspense waits for its
  exception: the end of day finds it clean once that is resolved).

So the reader finds the queue at the end as an operator does: those two, and what the
last statement and end of day opened."""

from __future__ import annotations

import re
from collections import Counter

from yirong.demo.bank import Morning, SimulatedBank
from yirong.demo.customers import Customers
from yirong.infra.db import Database
from yirong.payments.service import open_payments
from yirong.reconciliation import exceptions as queue
from yirong.reconciliation.daily_model import TIMING, ItemKind
from yirong.reconciliation.exceptions import ActionResult, ExceptionView
from yirong.reconciliation.kept_days import acknowledge_day, unclean_days
from yirong.reconciliation.model import ExceptionKind
from yirong.wallets.service import fail_withdrawal

MAKER = "ops-li"
CHECKER = "ops-wang"  # the second operator (maker-checker)
LEFT_OPEN = 2  # the newest money to send back, still being looked into
DISMISS_AFTER_DAYS = 3
RETURNED = {
    ExceptionKind.UNKNOWN,
    ExceptionKind.LATE,
    ExceptionKind.DUPLICATE,
    ExceptionKind.SHORT,
    ExceptionKind.OVER,
    ExceptionKind.ACCOUNT_CLOSED,
}
_SUB_ACCOUNT = re.compile(r"入账子账号 (\d+)")


def record_refusals(
    db: Database, bank: SimulatedBank, morning: Morning, counts: Counter[str]
) -> None:
    """The bank refused these before paying: the holds are released."""
    for payment in morning.refused:
        fail_withdrawal(db, payment.withdrawal_id, reason=bank.refusal_reason(payment))
        counts["withdrawals_refused_by_bank"] += 1
    counts["payments_returned_by_bank"] += morning.returned


def work_the_queue(db: Database, customers: Customers, counts: Counter[str]) -> None:
    waiting = _open_exceptions(db)
    to_return = [e for e in waiting if _returned(e) and _named_wallet(customers, e) is None]
    looked_into = {e.id for e in to_return[-LEFT_OPEN:]}
    for e in waiting:
        if e.id in looked_into:
            continue
        if e.awaiting_approval is not None:
            _approved(db, ActionResult("awaiting_approval", e, e.awaiting_approval))
        elif e.kind == ExceptionKind.PROPOSED:
            _approved(db, queue.match_by_hand(db, e.id, None, actor=MAKER))
            counts["recon_proposals_confirmed"] += 1
        elif e.kind == ExceptionKind.NOTICE_UNFUNDED:
            if e.age_days >= DISMISS_AFTER_DAYS:
                reason = "资金方确认未付款 the funder says the transfer was never sent"
                queue.dismiss(db, e.id, reason, actor=MAKER)
                counts["recon_notices_dismissed"] += 1
        elif _returned(e):
            handle = _named_wallet(customers, e)
            if handle is not None:
                matched = queue.match_by_hand(db, e.id, f"wallet:{handle}", actor=MAKER)
                _approved(db, matched)
                counts["recon_matched_by_hand"] += 1
            else:
                _approved(db, queue.return_to_sender(db, e.id, actor=MAKER))
                counts["recon_returned_to_sender"] += 1


def review_days(db: Database, counts: Counter[str]) -> None:
    """Sign off the days unclean only for payments the bank has paid since."""
    still_open = {p.reference for p in open_payments(db)}
    for kept in unclean_days(db):
        waiting = [i for i in kept.figures.items if i.kind not in TIMING]
        if waiting and all(
            i.kind is ItemKind.MISSING_AT_BANK and i.ref not in still_open for i in waiting
        ):
            note = "银行延迟付款,现已付出 the bank paid late; the payment has left since"
            acknowledge_day(db, kept.figures.day, note, actor=f"operator:{MAKER}")
            counts["recon_days_signed_off"] += 1


def _returned(e: ExceptionView) -> bool:
    """Money in that fits nothing: its sender gets it back (or, named in the memo, the
    wallet it was for)."""
    return e.line is not None and e.direction == "C" and e.kind in RETURNED


def _open_exceptions(db: Database) -> list[ExceptionView]:
    found: list[ExceptionView] = []
    while True:
        page = queue.list_exceptions(db, after=found[-1].id if found else 0, limit=100)
        found.extend(page)
        if len(page) < 100:
            return found


def _named_wallet(customers: Customers, e: ExceptionView) -> str | None:
    assert e.line is not None
    if e.kind != ExceptionKind.UNKNOWN:
        return None
    named = _SUB_ACCOUNT.search(e.line.memo)
    return customers.wallet_of_virtual_account(named.group(1)) if named else None


def _approved(db: Database, result: ActionResult) -> None:
    """A second operator approves what waits for one."""
    if result.status == "awaiting_approval":
        assert result.approval_id is not None
        queue.approve(db, result.approval_id, actor=CHECKER)
