"""Wallet use cases, one transaction each: open, credit what the bank shows arrived,
withdraw (a hold the bank's statement settles), pay the carrier, move money between
wallets, freeze and unfreeze.

Every money-moving call takes the client's idempotency key: repeating it returns the
first result and moves nothing. A wallet is addressed by its handle,
``agent:<code>`` or ``funder:<code>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, update

from yirong.books.service import CARRIER, RESERVE, business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_alone, read_only, transactional
from yirong.infra.direct import send
from yirong.ledger import service as ledger
from yirong.ledger.model import (
    PLATFORM_BOOK,
    Account,
    AccountKind,
    AccountState,
    Leg,
    NewEntry,
    Side,
)
from yirong.ledger.service import PostResult
from yirong.money import check_amount
from yirong.payments import service as payments
from yirong.payments.service import Payee, PaymentView
from yirong.payments.tables import Payment
from yirong.wallets.pay_in import pay_in_code
from yirong.wallets.tables import Wallet, WalletFreeze

OWNER_TYPES = ("agent", "funder")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


CARRIER_PREPAYMENT = "wallet.carrier_prepayment"  # the entry that pays the carrier for stock


class FreezeReason(StrEnum):
    OVERDUE = "overdue"  # contractual: a loan is past due (set and lifted by the loans)
    FUNDER_REQUEST = "funder_request"  # contractual: the funder asked, an operator applied it
    LEGAL_ORDER = "legal_order"  # a court's or authority's order, carried out
    RISK = "risk"  # the operator's risk control


@dataclass(frozen=True, slots=True)
class WalletView:
    handle: str
    name: str
    account_code: str
    state: AccountState
    balance: int
    available: int
    held: int
    freezes: tuple[str, ...]
    opened_on: date
    pay_in_code: str  # quoted as YT<code> on a transfer, or the virtual account's suffix


@dataclass(frozen=True, slots=True)
class Movement:
    """The result of a money-moving call: the entry, and whether this call created it."""

    entry_id: int
    status: str  # created | exists
    business_date: date

    @classmethod
    def of(cls, result: PostResult) -> Movement:
        assert result.entry_id is not None and result.business_date is not None
        return cls(result.entry_id, result.status, result.business_date)


# ---------------------------------------------------------------- handles


def parse_handle(handle: str) -> tuple[str, str]:
    """``agent:A001`` -> (``agent``, ``A001``); a bare code means an agent."""
    owner_type, _, code = handle.rpartition(":")
    owner_type = owner_type or "agent"
    if owner_type not in OWNER_TYPES or not _CODE.match(code):
        raise YirongError("wallet_owner_invalid", handle=handle)
    return owner_type, code


def account_code(handle: str) -> str:
    owner_type, code = parse_handle(handle)
    return f"wallet:{owner_type}:{code}"


def wallet_account(tx: Tx, handle: str) -> Account:
    """The wallet's ledger account (immutable once opened, so cached by handle)."""
    known: dict[str, Account] = tx.db.cache("wallets.accounts", dict)
    found = known.get(handle)
    if found is not None:
        return found
    try:
        found = ledger.account_by_code(tx, account_code(handle))
    except YirongError as exc:
        if exc.code == "account_not_found":
            raise YirongError("wallet_not_found", wallet=handle) from exc
        raise
    known[handle] = found
    return found


def wallet_accounts(tx: Tx, handles: Sequence[str]) -> dict[str, Account]:
    """:func:`wallet_account` for many wallets: one query for those not seen yet."""
    known: dict[str, Account] = tx.db.cache("wallets.accounts", dict)
    missing = sorted({h for h in handles if h not in known})
    if missing:
        try:
            found = ledger.accounts_by_code(tx, [account_code(h) for h in missing])
        except YirongError as exc:
            if exc.code == "account_not_found":
                raise YirongError("wallet_not_found", wallet=str(exc.details["account"])) from exc
            raise
        for handle in missing:
            known[handle] = found[account_code(handle)]
    return {h: known[h] for h in handles}


def _wallet_row(tx: Tx, handle: str, *, lock: bool = False) -> Wallet:
    """The wallet's row; ``lock`` serialises freezes, unfreezes and closing of one
    wallet, so that two of them never decide its state from the same stale view."""
    owner_type, code = parse_handle(handle)
    query = select(Wallet).where(Wallet.owner_type == owner_type, Wallet.owner_code == code)
    found = tx.session.scalars(query.with_for_update() if lock else query).one_or_none()
    if found is None:
        raise YirongError("wallet_not_found", wallet=handle)
    return found


# ---------------------------------------------------------------- use cases


@transactional
def open_wallet(tx: Tx, handle: str, name: str) -> WalletView:
    """Open a wallet; opening an open wallet again returns it unchanged."""
    open_wallet_in(tx, handle, name, business_date_of(tx))
    return _view(tx, handle)


@transactional
def open_wallets(tx: Tx, owners: Sequence[tuple[str, str]]) -> int:
    """Open many wallets (handle, name) in one transaction; returns how many were new."""
    today = business_date_of(tx)
    return sum(open_wallet_in(tx, handle, name, today) for handle, name in owners)


def open_wallet_in(tx: Tx, handle: str, name: str, today: date) -> bool:
    """Open the wallet within the caller's transaction; False if it was open already."""
    owner_type, code = parse_handle(handle)
    found = tx.session.scalars(
        select(Wallet.id).where(Wallet.owner_type == owner_type, Wallet.owner_code == code)
    ).one_or_none()
    if found is not None:
        return False
    account = ledger.open_account(
        tx,
        account_code(handle),
        book=PLATFORM_BOOK,
        kind=AccountKind.LIABILITY,
        name=f"Wallet of {name}"[:200],
        opened_on=today,
        owner_type=owner_type,
        owner_ref=code,
        debits_must_not_exceed_credits=True,  # a wallet never goes below zero
    )
    tx.session.add(
        Wallet(
            owner_type=owner_type,
            owner_code=code,
            name=name,
            account_id=account.id,
            opened_on=today,
        )
    )
    tx.session.flush()
    return True


def credit_from_bank_in(
    tx: Tx,
    handle: str,
    amount: int,
    key: str,
    *,
    bank_account: str = RESERVE,
    memo: str | None = None,
) -> Movement:
    """The bank's statement shows money that arrived in a reserve account for this
    wallet (a top-up the reconciliation matched to it): credit it. Only a matched bank
    line calls this; nobody's notice does. A frozen wallet takes it too (credits are
    always allowed), and one frozen for an overdue loan repays with it at once."""
    amount = check_amount(amount)
    wallet = wallet_account(tx, handle)
    reserve = ledger.account_by_code(tx, bank_account)
    posted = ledger.post(
        tx,
        NewEntry(
            key,
            "wallet.top_up",
            (Leg(reserve.id, Side.DEBIT, amount), Leg(wallet.id, Side.CREDIT, amount)),
            memo=memo,
        ),
    )
    repay_overdue_from(tx, [posted])
    return Movement.of(posted)


# Tests and the benchmarks stand in for the bank with this; the edges (API, CLI, demo)
# never call it: their top-ups are notices, and money comes from a bank statement.
credit_from_bank = transactional(credit_from_bank_in)


def request_withdrawal_in(
    tx: Tx,
    handle: str,
    amount: int,
    key: str,
    *,
    kind: str = "withdrawal",
    payee: Payee | None = None,
) -> Movement:
    """Hold the amount and instruct the bank to pay it out (代付). The hold's entry id
    is the withdrawal's id; it is settled only when the bank's statement shows the
    debit, and released when the bank returns or refuses the payment."""
    amount = check_amount(amount)
    _, posted = payments.instruct_in(
        tx, kind=kind, source=wallet_account(tx, handle), amount=amount, key=key, payee=payee
    )
    return Movement.of(posted)


request_withdrawal = transactional(request_withdrawal_in)


@transactional
def fail_withdrawal(tx: Tx, withdrawal_id: int, *, reason: str) -> PaymentView:
    """The bank refused the payout before paying it (its answer to our payment file):
    the hold is released and the money stays in the wallet. A payment the bank has
    debited is settled, and can only come back by a return line on its statement."""
    try:
        payment = payments.payment_row(tx, hold_id=withdrawal_id)
    except YirongError as exc:
        raise YirongError("withdrawal_not_found", withdrawal=withdrawal_id) from exc
    if payment.kind not in ("withdrawal", "payout"):
        raise YirongError("withdrawal_not_found", withdrawal=withdrawal_id)
    if payment.status == "failed":
        return payments.view(payment)
    payments.void_in(tx, payment, status="failed", note=reason)
    return payments.view(payment)


@transactional
def pay_carrier(tx: Tx, handle: str, amount: int, key: str) -> Movement:
    """Pre-pay the carrier (预存款) from the wallet, for goods the agent will resell."""
    amount = check_amount(amount)
    wallet = wallet_account(tx, handle)
    carrier = ledger.account_by_code(tx, CARRIER)
    return Movement.of(
        ledger.post(
            tx,
            NewEntry(
                key,
                CARRIER_PREPAYMENT,
                (Leg(wallet.id, Side.DEBIT, amount), Leg(carrier.id, Side.CREDIT, amount)),
            ),
            final=True,
        )
    )


@transactional
def transfer(tx: Tx, source: str, target: str, amount: int, key: str) -> Movement:
    """Move money from one wallet to another (a funder's payment account to an
    agent's wallet, for instance)."""
    amount = check_amount(amount)
    debit = wallet_account(tx, source)
    credit = wallet_account(tx, target)
    posted = ledger.post(
        tx,
        NewEntry(
            key,
            "wallet.transfer",
            (Leg(debit.id, Side.DEBIT, amount), Leg(credit.id, Side.CREDIT, amount)),
        ),
        final=True,
    )
    repay_overdue_from(tx, [posted])
    return Movement.of(posted)


def freeze_in(
    tx: Tx, handle: str, reason: FreezeReason | str, *, note: str, actor: str
) -> WalletView:
    """Freeze the wallet for a reason: credits still land, debits other than
    repayment are refused. Freezing again for the same reason changes nothing."""
    freeze_all_in(tx, [handle], _reason(reason), note=note, actor=actor)
    return _view(tx, handle)


def freeze_all_in(
    tx: Tx, handles: Sequence[str], reason: FreezeReason, *, note: str, actor: str
) -> dict[str, Account]:
    """Freeze each wallet for ``reason`` in a handful of statements for all of them
    (the end of day freezes every wallet whose loan fell overdue that day): a wallet
    already frozen for it gets no second freeze, and only an active account becomes
    debit-blocked (its state change on record). Returns each handle's ledger account."""
    if not handles:
        return {}
    wallet_ids = _locked_wallets(tx, handles)
    already = set(
        tx.conn.execute(
            select(WalletFreeze.wallet_id).where(
                WalletFreeze.wallet_id.in_(wallet_ids.values()),
                WalletFreeze.reason == reason.value,
                WalletFreeze.lifted_on.is_(None),
            )
        ).scalars()
    )
    today = business_date_of(tx)
    new = [
        {
            "wallet_id": wallet_id,
            "reason": reason.value,
            "note": note,
            "frozen_by": actor,
            "frozen_on": today,
        }
        for wallet_id in wallet_ids.values()
        if wallet_id not in already
    ]
    if new:
        tx.conn.execute(insert(WalletFreeze), new)
    by_code = ledger.accounts_by_code(tx, [account_code(h) for h in handles])
    accounts = {h: by_code[account_code(h)] for h in handles}
    ledger.set_states(
        tx,
        list(accounts.values()),
        AccountState.DEBIT_BLOCKED,
        only_from=AccountState.ACTIVE,
        reason=f"freeze:{reason.value}: {note}",
        business_date=today,
    )
    if reason is FreezeReason.LEGAL_ORDER:
        _cancel_unsent_withdrawals(tx, [a.code for a in accounts.values()], note)
    return accounts


def _cancel_unsent_withdrawals(tx: Tx, codes: list[str], note: str) -> None:
    """A legal order stops the money leaving: withdrawals not yet sent to the bank are
    cancelled (their holds released, the money stays frozen in the wallet). One already
    in a batch file is the bank's now: its answer, on the statement, settles it."""
    waiting = tx.session.scalars(
        select(Payment)
        .where(
            Payment.source.in_(codes),
            Payment.kind == "withdrawal",
            Payment.status == "instructed",
            Payment.batch_ref.is_(None),
        )
        .order_by(Payment.id)
        .with_for_update()
    )
    for payment in waiting:
        payments.void_in(tx, payment, status="failed", note=f"cancelled: legal order: {note}")


def frozen_by_order_in(tx: Tx, handle: str) -> bool:
    """Whether a legal order freezes the wallet (no new loans while it does)."""
    return bool(tx.session.scalar(freezes_on(handle, FreezeReason.LEGAL_ORDER)))


def freezes_on(handle: str, reason: FreezeReason) -> Select[int]:
    """How many active freezes for ``reason`` the wallet has (0 or 1), as a query, for
    a caller that asks it together with others, in one statement."""
    owner_type, code = parse_handle(handle)
    return _freezes(owner_type, code, reason)


def agent_freezes(reason: FreezeReason) -> Select[int]:
    """:func:`freezes_on` for the agent whose code is bound as ``agent_code``: for a
    statement built once and run many times."""
    return _freezes("agent", bindparam("agent_code"), reason)


def _freezes(owner_type: str, code: object, reason: FreezeReason) -> Select[int]:
    return (
        select(func.count())
        .select_from(WalletFreeze)
        .join(Wallet, Wallet.id == WalletFreeze.wallet_id)
        .where(
            Wallet.owner_type == owner_type,
            Wallet.owner_code == code,
            WalletFreeze.reason == reason.value,
            WalletFreeze.lifted_on.is_(None),
        )
    )


def _locked_wallets(tx: Tx, handles: Sequence[str]) -> dict[str, int]:
    """Each handle's wallet id, the rows locked (in id order, as any two callers take
    them) so that no freeze or unfreeze decides from a stale view meanwhile."""
    by_type: dict[str, dict[str, str]] = {}
    for handle in handles:
        owner_type, code = parse_handle(handle)
        by_type.setdefault(owner_type, {})[code] = handle
    found: dict[str, int] = {}
    for owner_type, codes in by_type.items():
        rows = tx.conn.execute(
            select(Wallet.id, Wallet.owner_code)
            .where(Wallet.owner_type == owner_type, Wallet.owner_code.in_(list(codes)))
            .order_by(Wallet.id)
            .with_for_update()
        ).all()
        found.update({codes[code]: wallet_id for wallet_id, code in rows})
    missing = [h for h in handles if h not in found]
    if missing:
        raise YirongError("wallet_not_found", wallet=missing[0])
    return {h: found[h] for h in handles}


def frozen_for(tx: Tx, handle: str, reason: FreezeReason) -> bool:
    """Whether the wallet has an active freeze for ``reason``."""
    return _active_freeze(tx, _wallet_row(tx, handle).id, reason) is not None


def unfreeze_in(
    tx: Tx, handle: str, reason: FreezeReason | str, *, note: str, actor: str
) -> WalletView:
    """Lift one reason's freeze; the wallet is free again when no reason is left."""
    reason = _reason(reason)
    wallet = _wallet_row(tx, handle, lock=True)
    today = business_date_of(tx)
    active = _active_freeze(tx, wallet.id, reason)
    if active is None:
        raise YirongError("wallet_not_frozen", wallet=handle, reason=reason.value)
    tx.session.execute(
        update(WalletFreeze)
        .where(WalletFreeze.id == active.id)
        .values(lifted_on=today, lifted_by=actor, lift_note=note)
    )
    tx.session.expire_all()
    if not _active_reasons(tx, wallet.id):
        ledger.set_state(
            tx,
            wallet_account(tx, handle),
            AccountState.ACTIVE,
            reason=f"unfreeze:{reason.value}: {note}",
            business_date=today,
        )
    return _view(tx, handle)


freeze = transactional(freeze_in)
unfreeze = transactional(unfreeze_in)


@transactional
def lift_freeze(
    tx: Tx, handle: str, reason: FreezeReason | str, *, note: str, actor: str
) -> WalletView:
    """An operator lifts one reason's freeze, saying why. Not an overdue loan's: that
    one lifts when the loan is repaid (the loans call ``unfreeze_in``), never by hand."""
    reason = _reason(reason)
    if reason is FreezeReason.OVERDUE:
        raise YirongError("freeze_not_liftable", wallet=handle, reason=reason.value)
    if not note.strip():
        raise YirongError("reason_required")
    return unfreeze_in(tx, handle, reason, note=note, actor=actor)


@transactional
def close_wallet(tx: Tx, handle: str, *, note: str) -> WalletView:
    """Close an empty wallet for good."""
    wallet = _wallet_row(tx, handle, lock=True)
    if _active_reasons(tx, wallet.id):
        raise YirongError("account_frozen", wallet=handle)
    ledger.set_state(
        tx,
        wallet_account(tx, handle),
        AccountState.CLOSED,
        reason=f"close: {note}",
        business_date=business_date_of(tx),
    )
    return _view(tx, handle)


@read_alone
def wallet(tx: Tx, handle: str) -> WalletView:
    return _view(tx, handle)


@dataclass(frozen=True, slots=True)
class WalletCounts:
    open: int
    frozen: int  # with at least one active freeze


@read_only
def wallet_counts(tx: Tx) -> WalletCounts:
    """How many wallets there are, and how many are frozen: two counts in SQL."""
    frozen = select(func.count(func.distinct(WalletFreeze.wallet_id))).where(
        WalletFreeze.lifted_on.is_(None)
    )
    return WalletCounts(
        int(tx.conn.scalar(select(func.count()).select_from(Wallet)) or 0),
        int(tx.conn.scalar(frozen) or 0),
    )


@dataclass(frozen=True, slots=True)
class ActiveFreeze:
    """A wallet's active freeze, as the operators see it (the note included)."""

    id: int
    handle: str
    reason: str
    since: date
    note: str
    frozen_by: str


@read_only
def active_freezes(
    tx: Tx, *, reason: str | None = None, after: int = 0, limit: int = 50
) -> list[ActiveFreeze]:
    """Active freezes in id order after ``after`` (one reason's, when given)."""
    query = (
        select(WalletFreeze, Wallet.owner_type, Wallet.owner_code)
        .join(Wallet, Wallet.id == WalletFreeze.wallet_id)
        .where(WalletFreeze.lifted_on.is_(None), WalletFreeze.id > after)
        .order_by(WalletFreeze.id)
        .limit(limit)
    )
    if reason is not None:
        query = query.where(WalletFreeze.reason == _reason(reason).value)
    return [
        ActiveFreeze(f.id, f"{kind}:{code}", f.reason, f.frozen_on, f.note, f.frozen_by)
        for f, kind, code in tx.session.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class FreezeView:
    """One active reason the wallet is frozen, and since when: what its owner is shown
    (the operator's note is not: it may name a court's file or a risk signal)."""

    reason: str
    since: date


@read_only
def freezes_of(tx: Tx, handle: str) -> tuple[FreezeView, ...]:
    """The wallet's active freezes, oldest first."""
    rows = tx.session.execute(
        select(WalletFreeze.reason, WalletFreeze.frozen_on)
        .where(WalletFreeze.wallet_id == _wallet_row(tx, handle).id)
        .where(WalletFreeze.lifted_on.is_(None))
        .order_by(WalletFreeze.frozen_on, WalletFreeze.id)
    )
    return tuple(FreezeView(reason, since) for reason, since in rows)


def handles_of(tx: Tx, wallet_ids: Sequence[int]) -> dict[int, str]:
    """The handle of each wallet id that exists (a pay-in code names a wallet by id)."""
    if not wallet_ids:
        return {}
    rows = tx.conn.execute(
        select(Wallet.id, Wallet.owner_type, Wallet.owner_code).where(
            Wallet.id.in_(sorted(set(wallet_ids)))
        )
    )
    return {wallet_id: f"{owner_type}:{code}" for wallet_id, owner_type, code in rows}


# ---------------------------------------------------------------- helpers


# What repays an agent's overdue debt from its wallet, within the caller's transaction
# (``loans.repayments.sweep_in``): loans are built on wallets, so they hand it down
# when the application starts (``yirong.wiring``) instead of wallets importing them.
OverdueSweeper = Callable[[Tx, str], object]
_sweepers: list[OverdueSweeper] = []


def on_overdue_credit(sweeper: OverdueSweeper) -> None:
    """Have ``sweeper`` called for each agent whose wallet, frozen for an overdue loan,
    was credited (once: registering it again changes nothing)."""
    if sweeper not in _sweepers:
        _sweepers.append(sweeper)


def repay_overdue_from(tx: Tx, credits: Sequence[PostResult]) -> None:
    """Money credited to a wallet frozen for an overdue loan repays the overdue debt
    first, in the same transaction as the credit. The ledger says which frozen
    accounts each new entry credited (none on its one-statement path, which it takes
    only for active accounts), so ordinary credits cost nothing here. With nothing
    registered to sweep, such a credit is refused (rolled back): never left unswept."""
    frozen = set().union(*(r.credited_frozen for r in credits))
    if not frozen:
        return
    overdue = tx.session.scalars(
        select(Wallet.owner_code)
        .join(WalletFreeze, WalletFreeze.wallet_id == Wallet.id)
        .where(
            Wallet.owner_type == "agent",
            Wallet.account_id.in_(frozen),
            WalletFreeze.reason == FreezeReason.OVERDUE.value,
            WalletFreeze.lifted_on.is_(None),
        )
    ).all()
    if overdue and not _sweepers:
        raise RuntimeError("no overdue sweeper is registered: call yirong.wiring.wire() first")
    for code in sorted(set(overdue)):
        for sweep in _sweepers:
            sweep(tx, code)


def _view(tx: Tx, handle: str) -> WalletView:
    """The wallet, its balance (summed over its shards) and its active freezes, in one
    query: the view every balance read and every freeze answers with."""
    owner_type, code = parse_handle(handle)
    row = send(tx, _view_query(), {"owner_type": owner_type, "code": code}).one_or_none()
    if row is None:
        raise YirongError("wallet_not_found", wallet=handle)
    (
        wallet_id,
        name,
        opened_on,
        state,
        debits_pending,
        debits_posted,
        credits_pending,
        credits_posted,
        reasons,
    ) = row
    bal = ledger.AccountBalance(
        wallet_account(tx, handle),
        AccountState(state),
        int(debits_pending),
        int(debits_posted),
        int(credits_pending),
        int(credits_posted),
    )
    return WalletView(
        handle=f"{owner_type}:{code}",
        name=name,
        account_code=bal.account.code,
        state=bal.state,
        balance=bal.balance,
        available=bal.available,
        held=bal.debits_pending,
        freezes=tuple(sorted(reasons.split(","))) if reasons else (),
        opened_on=opened_on,
        pay_in_code=pay_in_code(wallet_id),
    )


@cache
def _view_query() -> Select[tuple[Any, ...]]:
    """The statement of :func:`_view`, built once: building it cost more than running
    it on every balance read (a built statement also keeps its cache key)."""
    balances = ledger.balance_rows()
    b = balances.c
    active = (
        select(func.aggregate_strings(WalletFreeze.reason, ","))
        .where(WalletFreeze.wallet_id == Wallet.id, WalletFreeze.lifted_on.is_(None))
        .scalar_subquery()
    )
    return (
        select(
            Wallet.id,
            Wallet.name,
            Wallet.opened_on,
            func.min(b.state),
            func.sum(b.debits_pending),
            func.sum(b.debits_posted),
            func.sum(b.credits_pending),
            func.sum(b.credits_posted),
            active,
        )
        .join(balances, b.account_id == Wallet.account_id)
        .where(Wallet.owner_type == bindparam("owner_type"), Wallet.owner_code == bindparam("code"))
        .group_by(Wallet.id, Wallet.name, Wallet.opened_on)
    )


def _active_freeze(tx: Tx, wallet_id: int, reason: FreezeReason) -> WalletFreeze | None:
    return tx.session.scalars(
        select(WalletFreeze).where(
            WalletFreeze.wallet_id == wallet_id,
            WalletFreeze.reason == reason.value,
            WalletFreeze.lifted_on.is_(None),
        )
    ).one_or_none()


def _active_reasons(tx: Tx, wallet_id: int) -> set[str]:
    return set(
        tx.session.scalars(
            select(WalletFreeze.reason).where(
                WalletFreeze.wallet_id == wallet_id, WalletFreeze.lifted_on.is_(None)
            )
        )
    )


def _reason(reason: FreezeReason | str) -> FreezeReason:
    try:
        return FreezeReason(reason)
    except ValueError as exc:
        raise YirongError(
            "wallet_freeze_reason_invalid",
            reason=str(reason),
            allowed=[r.value for r in FreezeReason],
        ) from exc
