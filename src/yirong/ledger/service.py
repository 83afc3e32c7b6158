"""The ledger's operations, each within the caller's transaction (a ``Tx``): the
capabilities above (wallets, loans, ...) compose them into their own use cases, which
are the transaction boundaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Subquery,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute

from yirong.errors import YirongError
from yirong.infra.db import Tx
from yirong.ledger import rules
from yirong.ledger.model import (
    CNY,
    Account,
    AccountKind,
    AccountState,
    ExpirePending,
    NewEntry,
    Phase,
    PostPending,
    Request,
    Reverse,
    Side,
    StoredEntry,
    VoidPending,
)
from yirong.ledger.rules import CREATED, EXISTS, Decision
from yirong.ledger.store import store_for
from yirong.ledger.tables import (
    LedgerAccount,
    LedgerBalance,
    LedgerBook,
    LedgerEntry,
    LedgerPosting,
    LedgerStateChange,
)


@dataclass(frozen=True, slots=True)
class PostResult:
    key: str
    status: str  # "created", "exists", or the refusal code
    entry_id: int | None = None
    phase: Phase | None = None
    business_date: date | None = None
    detail: str | None = None
    # Frozen (debit-blocked) accounts this new entry credited: their owners may have
    # more to do in the same transaction (an overdue wallet repays its debt first).
    # Always empty on the one-statement path, which runs only for active accounts.
    credited_frozen: frozenset[int] = frozenset()

    @property
    def ok(self) -> bool:
        return self.status in (CREATED, EXISTS)

    @property
    def created(self) -> bool:
        return self.status == CREATED


# ---------------------------------------------------------------- posting


def post(tx: Tx, request: Request, *, final: bool = False) -> PostResult:
    """Post one request. A retry with the same key returns the first result
    (``exists``) and moves nothing; any refusal raises, and a refusal that depends on
    the books is recorded so that the same key keeps getting it.

    ``final=True`` says this post is the use case's last act, so that on PostgreSQL
    it may run as the whole transaction in one round trip."""
    rules.validate(request)
    [result] = _post(tx, [request], atomic=True, final=final)
    return result


def post_batch(
    tx: Tx, requests: Sequence[Request], *, atomic: bool = False, final: bool = False
) -> list[PostResult]:
    """Post many requests in this transaction, in order.

    ``atomic=False`` (TigerBeetle's default): each request stands alone; refusals are
    returned and recorded. ``atomic=True`` (a linked chain): the first refusal raises
    and nothing of the batch is written or recorded."""
    if atomic:
        for request in requests:
            rules.validate(request)
        return _post(tx, list(requests), atomic=True, final=final)
    results: dict[int, PostResult] = {}
    valid: list[tuple[int, Request]] = []
    for n, request in enumerate(requests):
        try:
            rules.validate(request)
        except YirongError as exc:
            results[n] = PostResult(request.key, exc.code)
        else:
            valid.append((n, request))
    posted = _post(tx, [r for _, r in valid], atomic=False, final=final)
    for (n, _), result in zip(valid, posted, strict=True):
        results[n] = result
    return [results[n] for n in range(len(requests))]


def _post(tx: Tx, requests: list[Request], *, atomic: bool, final: bool) -> list[PostResult]:
    if not requests:
        return []
    store = store_for(tx)
    accounts = store.accounts(
        leg.account_id for r in requests if isinstance(r, NewEntry) for leg in r.legs
    )
    # The common case first: new entries whose outcome depends only on preconditions
    # the database can check while it writes (one statement on PostgreSQL).
    plan = rules.guarded_plan(requests, accounts) if store.guarded else None
    if plan is not None:
        applied = store.apply(plan, final=final)
        if applied is not None:
            return [
                PostResult(r.key, CREATED, applied[r.key][0], r.phase, applied[r.key][1])
                for r in plan.requests
            ]
    pending_ids = [
        r.pending_id for r in requests if isinstance(r, PostPending | VoidPending | ExpirePending)
    ]
    reversal_ids = [r.entry_id for r in requests if isinstance(r, Reverse)]
    targets = store.entries([*pending_ids, *reversal_ids])
    accounts.update(store.accounts(p.account_id for t in targets.values() for p in t.postings))
    balance_keys = set().union(*(rules.balance_keys(r, accounts, targets) for r in requests))
    snap = store.snapshot(
        balance_keys, [r.key for r in requests], pending_ids, reversal_ids, accounts, targets
    )
    decided = rules.decide(requests, snap)
    refused = [(n, d) for n, d in enumerate(decided.decisions) if not d.ok]
    if atomic and refused:
        if len(requests) == 1:
            raise _refusal(refused[0][1])
        first = refused[0][1]
        raise YirongError(
            first.status,
            key=first.request.key,
            refusals=[{"index": n, "key": d.request.key, "code": d.status} for n, d in refused],
        )
    ids = store.write(decided.rows, decided.deltas, snap.business_date)
    frozen = {k[0] for k, b in snap.balances.items() if b.state is AccountState.DEBIT_BLOCKED}
    return [_result(d, ids, snap.business_date, frozen) for d in decided.decisions]


def _result(
    decision: Decision, ids: dict[str, int], business_date: date, frozen: set[int]
) -> PostResult:
    key = decision.request.key
    if decision.existing is not None:
        e = decision.existing
        return PostResult(
            key, decision.status, e.id, e.phase, e.business_date, decision.detail or e.rejection
        )
    if decision.status == EXISTS:  # the same key earlier in this batch
        return PostResult(key, EXISTS, ids.get(key), decision.request.phase, business_date)
    credited_frozen = frozenset(
        p.account_id
        for p in (decision.row.postings if decision.row and decision.status == CREATED else ())
        if p.side is Side.CREDIT and p.account_id in frozen
    )
    return PostResult(
        key,
        decision.status,
        ids.get(key),
        decision.row.phase if decision.row else None,
        business_date,
        decision.detail,
        credited_frozen,
    )


def _refusal(decision: Decision) -> YirongError:
    key = decision.request.key
    if decision.status == "id_already_failed":
        return YirongError(
            "id_already_failed",
            f"This idempotency key was already used by a request that failed with "
            f"{decision.detail}; use a new key.",
            key=key,
            original=decision.detail,
        )
    error = YirongError(decision.status, key=key)
    row = decision.row
    if row is not None and row.phase is Phase.REJECTED:
        error.after_rollback = lambda tx: store_for(tx).record_refusal(row)
    return error


# ---------------------------------------------------------------- books and accounts


def open_book(tx: Tx, code: str, name: str, *, kind: str = "platform", currency: str = CNY) -> None:
    """Create a book once; opening it again with the same attributes does nothing."""
    existing = tx.session.get(LedgerBook, code)
    if existing is None:
        tx.session.add(LedgerBook(code=code, name=name, kind=kind, currency=currency))
        tx.session.flush()


def open_account(
    tx: Tx,
    code: str,
    *,
    book: str,
    kind: AccountKind,
    name: str,
    opened_on: date,
    owner_type: str | None = None,
    owner_ref: str | None = None,
    shards: int = 1,
    debits_must_not_exceed_credits: bool = False,
    credits_must_not_exceed_debits: bool = False,
) -> Account:
    """Open an account (and its balance rows); opening the same account again returns
    it, opening the code with other attributes is refused."""
    session = tx.session
    found = session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).one_or_none()
    wanted = dict(
        book=book,
        kind=kind.value,
        shards=shards,
        owner_type=owner_type,
        owner_ref=owner_ref,
        debits_must_not_exceed_credits=debits_must_not_exceed_credits,
        credits_must_not_exceed_debits=credits_must_not_exceed_debits,
    )
    if found is not None:
        if any(getattr(found, k) != v for k, v in wanted.items()):
            raise YirongError("account_exists_with_different_attributes", account=code)
        return _account(found)
    ledger_book = session.get(LedgerBook, book)
    if ledger_book is None:
        raise YirongError("book_not_found", book=book)
    if shards > 1 and (debits_must_not_exceed_credits or credits_must_not_exceed_debits):
        raise YirongError("hot_account_cannot_have_limits", account=code)
    account = LedgerAccount(
        code=code, currency=ledger_book.currency, name=name, opened_on=opened_on, **wanted
    )
    session.add(account)
    session.flush()
    session.add_all(
        LedgerBalance(
            account_id=account.id,
            shard=shard,
            state=AccountState.ACTIVE.value,
            debits_pending=0,
            debits_posted=0,
            credits_pending=0,
            credits_posted=0,
            debits_must_not_exceed_credits=debits_must_not_exceed_credits,
            credits_must_not_exceed_debits=credits_must_not_exceed_debits,
        )
        for shard in range(shards)
    )
    session.flush()
    return _account(account)


def entry(tx: Tx, entry_id: int) -> StoredEntry | None:
    """An entry with its postings (entries never change, so any read is final)."""
    return store_for(tx).entries([entry_id]).get(entry_id)


def account_ids(tx: Tx, codes: Sequence[str]) -> dict[str, int]:
    """The id of each of ``codes`` that names an account (one query for those this
    process has not seen yet)."""
    return store_for(tx).account_ids(codes)


def posted_entry_ids(tx: Tx, keys: Sequence[str]) -> dict[str, int]:
    """The posted entry each idempotency key of ``keys`` made, by key (a key that made
    none is left out)."""
    rows = tx.session.execute(
        select(LedgerEntry.idempotency_key, LedgerEntry.id).where(
            LedgerEntry.idempotency_key.in_(keys), LedgerEntry.phase == Phase.POSTED.value
        )
    )
    return {key: entry_id for key, entry_id in rows}


def moved_by_month(
    tx: Tx, account: Account, codes: Sequence[str], since: date
) -> dict[tuple[date, str], int]:
    """What posted entries of ``codes`` moved on ``account`` from ``since`` on, by
    month (its first day) and code: the postings' amounts (a reversal's too, as the
    opposite side's), credits positive and debits negative."""
    rows = tx.session.execute(
        select(
            LedgerEntry.business_date, LedgerEntry.code, LedgerPosting.side, LedgerPosting.amount
        )
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .where(
            LedgerPosting.account_id == account.id,
            LedgerEntry.code.in_(codes),
            LedgerEntry.phase == Phase.POSTED.value,
            LedgerEntry.business_date >= since,
        )
    )
    moved: dict[tuple[date, str], int] = {}
    for day, code, side, amount in rows:
        key = (day.replace(day=1), code)
        moved[key] = moved.get(key, 0) + (amount if side == Side.CREDIT.value else -amount)
    return moved


def balance_rows() -> Subquery:
    """The balances as rows for a caller's own query to join (one per account and
    shard: sum over an account's rows for its balance; ``state`` is its state)."""
    b = LedgerBalance
    return select(
        b.account_id,
        b.state,
        b.debits_pending,
        b.debits_posted,
        b.credits_pending,
        b.credits_posted,
    ).subquery("balances")


def account_state(account_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ScalarSelect[Any]:
    """The state of the account ``account_id`` names (its shards share it), as a
    value for a caller's own query: read as :func:`balances_of` reads it."""
    return (
        select(func.min(LedgerBalance.state))
        .where(LedgerBalance.account_id == account_id)
        .scalar_subquery()
    )


def entry_rows() -> Subquery:
    """The entries' headers as rows for a caller's own query to join (``pending_id``:
    the pending entry a posting or voiding entry resolved)."""
    e = LedgerEntry
    return select(e.id, e.pending_id, e.business_date, e.phase).subquery("entries")


def account_by_code(tx: Tx, code: str) -> Account:
    ids = store_for(tx).account_ids([code])
    if code not in ids:
        raise YirongError("account_not_found", account=code)
    return store_for(tx).accounts([ids[code]])[ids[code]]


def accounts_by_code(tx: Tx, codes: Sequence[str]) -> dict[str, Account]:
    """Many accounts at once: one query for those this process has not seen yet."""
    store = store_for(tx)
    ids = store.account_ids(codes)
    missing = [code for code in codes if code not in ids]
    if missing:
        raise YirongError("account_not_found", account=missing[0])
    found = store.accounts(ids.values())
    return {code: found[ids[code]] for code in codes}


def account_by_id(tx: Tx, account_id: int) -> Account:
    found = store_for(tx).accounts([account_id])
    if account_id not in found:
        raise YirongError("account_not_found", account=account_id)
    return found[account_id]


def _account(row: LedgerAccount) -> Account:
    return Account(
        id=row.id,
        code=row.code,
        book=row.book,
        currency=row.currency,
        kind=AccountKind(row.kind),
        shards=row.shards,
        debits_must_not_exceed_credits=row.debits_must_not_exceed_credits,
        credits_must_not_exceed_debits=row.credits_must_not_exceed_debits,
    )


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """An account's balance summed over its shards, seen from its normal side."""

    account: Account
    state: AccountState
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @property
    def balance(self) -> int:
        """Posted balance on the account's normal side (credit for liabilities)."""
        if self.account.kind in (AccountKind.ASSET, AccountKind.EXPENSE):
            return self.debits_posted - self.credits_posted
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What may still be debited: the balance less money held for withdrawals."""
        if self.account.kind in (AccountKind.ASSET, AccountKind.EXPENSE):
            return self.debits_posted - self.credits_posted - self.credits_pending
        return self.credits_posted - self.debits_posted - self.debits_pending


def balance_of(tx: Tx, account: Account) -> AccountBalance:
    b = LedgerBalance
    row = tx.conn.execute(
        select(
            func.min(b.state),
            func.max(b.state),
            func.sum(b.debits_pending),
            func.sum(b.debits_posted),
            func.sum(b.credits_pending),
            func.sum(b.credits_posted),
        ).where(b.account_id == account.id)
    ).one()
    if row[0] is None:
        raise YirongError("account_not_found", account=account.code)
    return AccountBalance(
        account, AccountState(row[0]), int(row[2]), int(row[3]), int(row[4]), int(row[5])
    )


def balances_of(tx: Tx, accounts: Sequence[Account]) -> dict[int, AccountBalance]:
    """:func:`balance_of` for many accounts in one query, by account id."""
    if not accounts:
        return {}
    rows = tx.conn.execute(_BALANCES_OF, {"ids": [a.id for a in accounts]}).all()
    by_id = {a.id: a for a in accounts}
    return {
        r[0]: AccountBalance(
            by_id[r[0]], AccountState(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])
        )
        for r in rows
    }


# Built once: funding a statement's lines asks it for their wallets.
_BALANCES_OF = (
    select(
        LedgerBalance.account_id,
        func.min(LedgerBalance.state),
        func.sum(LedgerBalance.debits_pending),
        func.sum(LedgerBalance.debits_posted),
        func.sum(LedgerBalance.credits_pending),
        func.sum(LedgerBalance.credits_posted),
    )
    .where(LedgerBalance.account_id.in_(bindparam("ids", expanding=True)))
    .group_by(LedgerBalance.account_id)
)


def set_state(
    tx: Tx, account: Account, state: AccountState, *, reason: str, business_date: date
) -> AccountState:
    """Change an account's state on every shard, with the reason on record. Returns
    the previous state. Closing needs a zero balance and no holds."""
    rows = tx.conn.execute(
        select(LedgerBalance).where(LedgerBalance.account_id == account.id).with_for_update()
    ).all()
    if not rows:
        raise YirongError("account_not_found", account=account.code)
    previous = AccountState(rows[0].state)
    if previous is state:
        return previous
    if previous is AccountState.CLOSED:
        raise YirongError("account_closed", account=account.code)
    if state is AccountState.CLOSED and any(
        r.debits_pending or r.credits_pending or r.debits_posted != r.credits_posted for r in rows
    ):
        raise YirongError("account_not_empty", account=account.code)
    tx.conn.execute(
        update(LedgerBalance)
        .where(LedgerBalance.account_id == account.id)
        .values(state=state.value)
    )
    tx.conn.execute(
        insert(LedgerStateChange).values(
            account_id=account.id,
            from_state=previous.value,
            to_state=state.value,
            reason=reason,
            business_date=business_date,
        )
    )
    return previous


def set_states(
    tx: Tx,
    accounts: Sequence[Account],
    state: AccountState,
    *,
    only_from: AccountState,
    reason: str,
    business_date: date,
) -> list[Account]:
    """:func:`set_state` for many accounts at once (the end of day freezing the day's
    overdue wallets): those in ``only_from`` move to ``state`` on every shard, each
    change on record with the same reason; the others stay as they are. Returns the
    accounts moved. Not for closing, which checks each balance."""
    if state is AccountState.CLOSED or only_from is AccountState.CLOSED:
        raise ValueError("set_state closes (or reopens) one account at a time")
    if not accounts:
        return []
    by_id = {a.id: a for a in accounts}
    rows = tx.conn.execute(
        select(LedgerBalance.account_id, LedgerBalance.state)
        .where(LedgerBalance.account_id.in_(sorted(by_id)))
        .order_by(LedgerBalance.account_id, LedgerBalance.shard)
        .with_for_update()
    ).all()
    states = {account_id: found for account_id, found in rows}  # shards agree
    missing = [a for a in accounts if a.id not in states]
    if missing:
        raise YirongError("account_not_found", account=missing[0].code)
    moved = [a for a in accounts if states[a.id] == only_from.value and only_from is not state]
    if moved:
        tx.conn.execute(
            update(LedgerBalance)
            .where(LedgerBalance.account_id.in_([a.id for a in moved]))
            .values(state=state.value)
        )
        tx.conn.execute(
            insert(LedgerStateChange),
            [
                {
                    "account_id": a.id,
                    "from_state": only_from.value,
                    "to_state": state.value,
                    "reason": reason,
                    "business_date": business_date,
                }
                for a in moved
            ],
        )
    return moved


def resolution_of(tx: Tx, pending_id: int) -> Phase | None:
    """How a hold was resolved (posted, voided or expired), or None while it is open."""
    found = tx.conn.scalar(
        select(LedgerEntry.phase)
        .where(
            LedgerEntry.pending_id == pending_id,
            LedgerEntry.phase.in_((Phase.POSTED.value, Phase.VOIDED.value, Phase.EXPIRED.value)),
        )
        .limit(1)
    )
    return None if found is None else Phase(found)


def expired_holds(tx: Tx, business_date: date, *, limit: int = 10_000) -> list[int]:
    """Holds whose last valid day is before ``business_date`` and still unresolved."""
    e, resolution = LedgerEntry, LedgerEntry.__table__.alias("resolution")
    query = (
        select(e.id)
        .where(e.phase == Phase.PENDING.value, e.expires_on < business_date)
        .where(~select(resolution.c.id).where(resolution.c.pending_id == e.id).exists())
        .order_by(e.id)
        .limit(limit)
    )
    return list(tx.conn.scalars(query))


def expire_holds(tx: Tx, business_date: date) -> int:
    """Release every hold past its last valid day (run by the end of day)."""
    released = 0
    while ids := expired_holds(tx, business_date):
        results = post_batch(tx, [ExpirePending(f"expire:{i}", "ledger.expire", i) for i in ids])
        released += sum(r.created for r in results)
        if not any(r.created for r in results):
            break
    return released
