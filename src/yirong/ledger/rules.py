"""What the ledger does with a request: pure decisions over values already loaded.

:func:`validate` refuses requests that are wrong whatever the books hold (nothing is
recorded). :func:`decide` takes requests in order against balances read under lock and
says, for each, whether it is created, a retry of an existing entry (``exists``), or
refused with a code that is then recorded so that a retry gets the same answer
(TigerBeetle's rule: a retry never changes the outcome).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from yirong.errors import YirongError
from yirong.ledger.model import (
    MAX_BALANCE,
    Account,
    AccountState,
    Balance,
    BalanceKey,
    Delta,
    ExpirePending,
    NewEntry,
    NewEntryRow,
    Phase,
    Posting,
    PostPending,
    Request,
    Reverse,
    Side,
    StoredEntry,
    VoidPending,
    fingerprint,
)
from yirong.money import check_amount

CREATED = "created"
EXISTS = "exists"
MAX_KEY_LENGTH = 128


# ---------------------------------------------------------------- validation


def validate(request: Request) -> None:
    """Refuse what no state of the books could make right."""
    check_key(request.key)
    match request:
        case NewEntry():
            if len(request.legs) < 2:
                raise YirongError("entry_needs_two_postings")
            for leg in request.legs:
                check_amount(leg.amount)
            debits = sum(leg.amount for leg in request.legs if leg.side is Side.DEBIT)
            credits = sum(leg.amount for leg in request.legs if leg.side is Side.CREDIT)
            if debits != credits:
                raise YirongError("entry_not_balanced", debits=debits, credits=credits)
            debited = {leg.account_id for leg in request.legs if leg.side is Side.DEBIT}
            credited = {leg.account_id for leg in request.legs if leg.side is Side.CREDIT}
            if debited & credited:
                raise YirongError("accounts_must_be_different", accounts=sorted(debited & credited))
            if request.pending and len(request.legs) != 2:
                raise YirongError("pending_entry_needs_two_postings")
        case PostPending() if request.amount is not None:
            check_amount(request.amount)
        case _:
            pass


def check_key(key: str) -> None:
    if not (0 < len(key) <= MAX_KEY_LENGTH) or not key.isprintable() or " " in key:
        raise YirongError("idempotency_key_invalid", key=key[:MAX_KEY_LENGTH])


# ---------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything :func:`decide` may read, loaded in one transaction, balances under lock."""

    business_date: date
    accounts: Mapping[int, Account]
    balances: Mapping[BalanceKey, Balance]
    existing: Mapping[str, StoredEntry]  # entries already holding a requested key
    targets: Mapping[int, StoredEntry]  # holds and entries that requests name
    resolutions: Mapping[int, Phase]  # pending id -> how it was resolved
    reversed_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    request: Request
    status: str  # CREATED, EXISTS, or a refusal code
    row: NewEntryRow | None = None  # what to write: the entry, or the recorded refusal
    existing: StoredEntry | None = None
    detail: str | None = None  # for id_already_failed: the original refusal
    deltas: dict[BalanceKey, Delta] | None = None  # what a created entry changes

    @property
    def ok(self) -> bool:
        return self.status in (CREATED, EXISTS)


@dataclass(slots=True)
class Plan:
    decisions: list[Decision] = field(default_factory=list)
    deltas: dict[BalanceKey, Delta] = field(default_factory=dict)

    @property
    def rows(self) -> list[NewEntryRow]:
        return [d.row for d in self.decisions if d.row is not None]


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def decide(requests: Iterable[Request], snap: Snapshot) -> Plan:
    """Decide each request in order; later requests see the effect of earlier ones."""
    plan = Plan()
    balances = dict(snap.balances)
    resolved = dict(snap.resolutions)
    reversed_ids = set(snap.reversed_ids)
    in_batch: dict[str, Decision] = {}
    for request in requests:
        earlier = snap.existing.get(request.key)
        if earlier is not None:
            decision = _compare(request, earlier)
        elif request.key in in_batch:
            decision = _compare_in_batch(request, in_batch[request.key])
        else:
            decision = _decide_new(request, snap, balances, resolved, reversed_ids)
            if decision.status == CREATED:
                assert decision.deltas is not None
                for posting_key, delta in decision.deltas.items():
                    balances[posting_key] = balances[posting_key].plus(delta)
                    plan.deltas.setdefault(posting_key, Delta()).add(delta)
                _remember(decision, resolved, reversed_ids)
            in_batch[request.key] = decision
        plan.decisions.append(decision)
    return plan


def _decide_new(
    request: Request,
    snap: Snapshot,
    balances: Mapping[BalanceKey, Balance],
    resolved: Mapping[int, Phase],
    reversed_ids: set[int],
) -> Decision:
    digest = fingerprint(request)
    try:
        row = _row_for(request, digest, snap, resolved, reversed_ids)
        _check_states(request, row, balances)
        deltas = _deltas(row, snap)
        _check_limits(deltas, snap, balances)
    except _Refused as refusal:
        return Decision(request, refusal.code, _rejection_row(request, digest, snap, refusal.code))
    return Decision(request, CREATED, row, deltas=deltas)


def _row_for(
    request: Request,
    digest: bytes,
    snap: Snapshot,
    resolved: Mapping[int, Phase],
    reversed_ids: set[int],
) -> NewEntryRow:
    """The entry a request would write, or a refusal that depends on what exists."""
    match request:
        case NewEntry():
            accounts = [_account(snap, leg.account_id) for leg in request.legs]
            book, currency = accounts[0].book, accounts[0].currency
            if any(a.book != book for a in accounts):
                raise _Refused("book_mismatch")
            if any(a.currency != currency for a in accounts):
                raise _Refused("currency_mismatch")
            if request.expires_on is not None and request.expires_on < snap.business_date:
                raise _Refused("expiry_before_business_date")
            postings = tuple(
                Posting(n, leg.account_id, acc.shard_for(request.key), leg.side, leg.amount)
                for n, (leg, acc) in enumerate(zip(request.legs, accounts, strict=True))
            )
            return _row(
                request,
                digest,
                book,
                postings,
                expires_on=request.expires_on,
                exempt=request.debit_block_exempt,
            )
        case PostPending() | VoidPending() | ExpirePending():
            hold = _live_hold(request, snap, resolved)
            if isinstance(request, PostPending):
                held = hold.amount
                amount = held if request.amount is None else request.amount
                if amount > held:
                    raise _Refused("exceeds_pending_amount")
                postings = tuple(
                    Posting(p.leg, p.account_id, p.shard, p.side, amount) for p in hold.postings
                )
            else:
                postings = ()
            return _row(request, digest, hold.book, postings, pending_id=hold.id)
        case Reverse():
            original = snap.targets.get(request.entry_id)
            if original is None or original.phase not in (Phase.POSTED, Phase.PENDING):
                raise _Refused("entry_not_found")
            if original.phase is Phase.PENDING:
                raise _Refused("cannot_reverse_pending")
            if original.id in reversed_ids:
                raise _Refused("entry_already_reversed")
            postings = tuple(
                Posting(p.leg, p.account_id, p.shard, _other(p.side), p.amount)
                for p in original.postings
            )
            return _row(
                request,
                digest,
                original.book,
                postings,
                reverses_id=original.id,
                exempt=request.debit_block_exempt,
            )


def _live_hold(
    request: PostPending | VoidPending | ExpirePending,
    snap: Snapshot,
    resolved: Mapping[int, Phase],
) -> StoredEntry:
    hold = snap.targets.get(request.pending_id)
    if hold is None or hold.phase is not Phase.PENDING:
        raise _Refused("pending_entry_not_found")
    earlier = resolved.get(hold.id)
    if earlier is Phase.POSTED:
        raise _Refused("pending_entry_already_posted")
    if earlier is Phase.VOIDED:
        raise _Refused("pending_entry_already_voided")
    past_expiry = hold.expires_on is not None and snap.business_date > hold.expires_on
    if earlier is Phase.EXPIRED or (past_expiry and not isinstance(request, ExpirePending)):
        raise _Refused("pending_entry_expired")
    if isinstance(request, ExpirePending) and not past_expiry:
        raise _Refused("pending_entry_not_expired")
    return hold


def _check_states(
    request: Request, row: NewEntryRow, balances: Mapping[BalanceKey, Balance]
) -> None:
    """Frozen wallets take credits and refuse debits other than repayment; blocked and
    closed accounts move nothing; releasing a hold is always allowed."""
    if isinstance(request, VoidPending | ExpirePending):
        return
    resolving = isinstance(request, PostPending)
    for posting in row.postings:
        state = balances[posting.key].state
        if state is AccountState.CLOSED:
            raise _Refused("account_closed")
        if state is AccountState.BLOCKED:
            raise _Refused("account_blocked")
        if (
            state is AccountState.DEBIT_BLOCKED
            and posting.side is Side.DEBIT
            and not row.debit_block_exempt
            and not resolving  # a hold placed before the freeze may still settle
        ):
            raise _Refused("account_frozen")


def _check_limits(
    deltas: Mapping[BalanceKey, Delta], snap: Snapshot, balances: Mapping[BalanceKey, Balance]
) -> None:
    for key, delta in deltas.items():
        after = balances[key].plus(delta)
        if (
            max(
                after.debits_pending + after.debits_posted,
                after.credits_pending + after.credits_posted,
            )
            > MAX_BALANCE
        ):
            raise _Refused("overflows_balance")
        account = snap.accounts[key[0]]
        debit_rises = delta.debits_pending > 0 or delta.debits_posted > 0
        credit_rises = delta.credits_pending > 0 or delta.credits_posted > 0
        if (
            account.debits_must_not_exceed_credits
            and debit_rises
            and after.debits_pending + after.debits_posted > after.credits_posted
        ):
            raise _Refused("exceeds_credits")
        if (
            account.credits_must_not_exceed_debits
            and credit_rises
            and after.credits_pending + after.credits_posted > after.debits_posted
        ):
            raise _Refused("exceeds_debits")


def _deltas(row: NewEntryRow, snap: Snapshot) -> dict[BalanceKey, Delta]:
    """How a decided entry changes each balance row it touches."""
    deltas: dict[BalanceKey, Delta] = {}
    if row.pending_id is not None:  # a resolution first releases the whole hold
        for p in snap.targets[row.pending_id].postings:
            release = (
                Delta(debits_pending=-p.amount)
                if p.side is Side.DEBIT
                else Delta(credits_pending=-p.amount)
            )
            deltas.setdefault(p.key, Delta()).add(release)
    for key, change in _entry_deltas(row).items():
        deltas.setdefault(key, Delta()).add(change)
    return deltas


def _remember(decision: Decision, resolved: dict[int, Phase], reversed_ids: set[int]) -> None:
    row = decision.row
    assert row is not None
    if row.pending_id is not None:
        resolved[row.pending_id] = row.phase
    if row.reverses_id is not None:
        reversed_ids.add(row.reverses_id)


# ---------------------------------------------------------------- idempotency


def _compare(request: Request, earlier: StoredEntry) -> Decision:
    """A key seen before: the same request is ``exists``; anything else is refused,
    naming the first field that differs, in TigerBeetle's order."""
    digest = fingerprint(request)
    if earlier.phase is Phase.REJECTED:
        if digest == earlier.fingerprint:
            return Decision(
                request, "id_already_failed", existing=earlier, detail=earlier.rejection
            )
        return Decision(request, "exists_with_different_request", existing=earlier)
    if digest == earlier.fingerprint:
        return Decision(request, EXISTS, existing=earlier)
    return Decision(request, _first_difference(request, earlier), existing=earlier)


def _first_difference(request: Request, earlier: StoredEntry) -> str:
    if request.phase is not earlier.phase:
        return "exists_with_different_phase"
    pending_id = getattr(request, "pending_id", None)
    if pending_id != earlier.pending_id:
        return "exists_with_different_pending_id"
    if isinstance(request, NewEntry):
        if request.expires_on != earlier.expires_on:
            return "exists_with_different_expiry"
        asked = sorted((leg.account_id, leg.side.value) for leg in request.legs)
        stored = sorted((p.account_id, p.side.value) for p in earlier.postings)
        if asked != stored:
            return "exists_with_different_accounts"
        asked_amounts = sorted((leg.account_id, leg.side.value, leg.amount) for leg in request.legs)
        stored_amounts = sorted((p.account_id, p.side.value, p.amount) for p in earlier.postings)
        if asked_amounts != stored_amounts:
            return "exists_with_different_amount"
    if (
        isinstance(request, PostPending)
        and request.amount is not None
        and request.amount != earlier.amount
    ):
        return "exists_with_different_amount"
    if request.code != earlier.code:
        return "exists_with_different_code"
    return "exists_with_different_request"


def _compare_in_batch(request: Request, first: Decision) -> Decision:
    """The same key twice in one batch: the second is a retry of the first."""
    same = fingerprint(request) == fingerprint(first.request)
    if not same:
        return Decision(request, "exists_with_different_request")
    if first.status == CREATED:
        return Decision(request, EXISTS)
    if first.ok:
        return Decision(request, first.status, existing=first.existing)
    return Decision(request, "id_already_failed", detail=first.status)


# ---------------------------------------------------------------- helpers


def _account(snap: Snapshot, account_id: int) -> Account:
    account = snap.accounts.get(account_id)
    if account is None:
        raise _Refused("account_not_found")
    return account


def _other(side: Side) -> Side:
    return Side.CREDIT if side is Side.DEBIT else Side.DEBIT


def _row(
    request: Request,
    digest: bytes,
    book: str | None,
    postings: tuple[Posting, ...],
    *,
    pending_id: int | None = None,
    reverses_id: int | None = None,
    expires_on: date | None = None,
    exempt: bool = False,
) -> NewEntryRow:
    return NewEntryRow(
        key=request.key,
        fingerprint=digest,
        book=book,
        code=request.code,
        phase=request.phase,
        pending_id=pending_id,
        reverses_id=reverses_id,
        expires_on=expires_on,
        debit_block_exempt=exempt,
        memo=request.memo,
        rejection=None,
        postings=postings,
    )


def _rejection_row(request: Request, digest: bytes, snap: Snapshot, code: str) -> NewEntryRow:
    book = None
    if isinstance(request, NewEntry):
        known = [
            snap.accounts[leg.account_id] for leg in request.legs if leg.account_id in snap.accounts
        ]
        book = known[0].book if known else None
    return NewEntryRow(
        key=request.key,
        fingerprint=digest,
        book=book,
        code=request.code,
        phase=Phase.REJECTED,
        pending_id=None,
        reverses_id=None,
        expires_on=None,
        debit_block_exempt=False,
        memo=request.memo,
        rejection=code,
        postings=(),
    )


def balance_keys(
    request: Request, snap_accounts: Mapping[int, Account], targets: Mapping[int, StoredEntry]
) -> set[BalanceKey]:
    """The balance rows a request may touch, to lock before deciding."""
    match request:
        case NewEntry():
            return {
                (leg.account_id, snap_accounts[leg.account_id].shard_for(request.key))
                for leg in request.legs
                if leg.account_id in snap_accounts
            }
        case PostPending() | VoidPending() | ExpirePending():
            hold = targets.get(request.pending_id)
            return {p.key for p in hold.postings} if hold else set()
        case Reverse():
            original = targets.get(request.entry_id)
            return {p.key for p in original.postings} if original else set()


# ---------------------------------------------------------------- plans with preconditions


@dataclass(frozen=True, slots=True)
class Precondition:
    """What must hold of one balance row, at the moment it is locked, for a plan to be
    exactly what :func:`decide` would have decided."""

    key: BalanceKey
    delta: Delta
    states: frozenset[AccountState]
    # debits_must_not_exceed_credits: credits_posted - debits_posted - debits_pending >= this
    min_available: int | None = None
    # credits_must_not_exceed_debits: debits_posted - credits_posted - credits_pending >= this
    min_room: int | None = None

    def holds(self, balance: Balance) -> bool:
        b, d = balance, self.delta
        return (
            b.state in self.states
            and (
                self.min_available is None
                or b.credits_posted - b.debits_posted - b.debits_pending >= self.min_available
            )
            and (
                self.min_room is None
                or b.debits_posted - b.credits_posted - b.credits_pending >= self.min_room
            )
            and b.debits_pending + b.debits_posted + d.debits_pending + d.debits_posted
            <= MAX_BALANCE
            and b.credits_pending + b.credits_posted + d.credits_pending + d.credits_posted
            <= MAX_BALANCE
        )


@dataclass(frozen=True, slots=True)
class GuardedPlan:
    """New entries with their postings and balance deltas, to be applied only if every
    key is unused, every hold's expiry is on or after the business date, and every
    precondition holds: then the outcome is the one :func:`decide` would give."""

    requests: tuple[NewEntry, ...]
    rows: tuple[NewEntryRow, ...]
    deltas: dict[BalanceKey, Delta]
    preconditions: tuple[Precondition, ...]  # sorted by key: the global lock order


_ACTIVE_ONLY = frozenset({AccountState.ACTIVE})


def guarded_plan(
    requests: Sequence[Request], accounts: Mapping[int, Account]
) -> GuardedPlan | None:
    """The plan for a batch of new entries, when one can be made without reading the
    books; ``None`` sends the batch down the full path (snapshot, then decide)."""
    if not requests or len({r.key for r in requests}) != len(requests):
        return None
    entries: list[NewEntry] = []
    rows: list[NewEntryRow] = []
    deltas: dict[BalanceKey, Delta] = {}
    states: dict[BalanceKey, frozenset[AccountState]] = {}
    draws: dict[BalanceKey, tuple[int, int | None]] = {}  # running draw, peak at a debit
    rooms: dict[BalanceKey, tuple[int, int | None]] = {}
    for request in requests:
        if not isinstance(request, NewEntry):
            return None
        legs = [accounts.get(leg.account_id) for leg in request.legs]
        known = [a for a in legs if a is not None]
        if len(known) != len(legs):
            return None
        if len({(a.book, a.currency) for a in known}) != 1:
            return None
        postings = tuple(
            Posting(n, leg.account_id, acc.shard_for(request.key), leg.side, leg.amount)
            for n, (leg, acc) in enumerate(zip(request.legs, known, strict=True))
        )
        row = _row(
            request,
            fingerprint(request),
            known[0].book,
            postings,
            expires_on=request.expires_on,
            exempt=request.debit_block_exempt,
        )
        for p in postings:
            # Only while every account is active: a credit to a frozen wallet is
            # followed by the overdue sweep in the same transaction, and a repayment
            # from one by its loan bookkeeping, so neither may commit on its own.
            states[p.key] = _ACTIVE_ONLY
        for key, delta in _entry_deltas(row).items():
            deltas.setdefault(key, Delta()).add(delta)
            account = accounts[key[0]]
            if account.debits_must_not_exceed_credits:
                draws[key] = _advance(
                    draws.get(key, (0, None)),
                    delta.debits_pending + delta.debits_posted - delta.credits_posted,
                    delta.debits_pending > 0 or delta.debits_posted > 0,
                )
            if account.credits_must_not_exceed_debits:
                rooms[key] = _advance(
                    rooms.get(key, (0, None)),
                    delta.credits_pending + delta.credits_posted - delta.debits_posted,
                    delta.credits_pending > 0 or delta.credits_posted > 0,
                )
        entries.append(request)
        rows.append(row)
    preconditions = tuple(
        Precondition(
            key,
            deltas[key],
            states[key],
            draws.get(key, (0, None))[1],
            rooms.get(key, (0, None))[1],
        )
        for key in sorted(states)
    )
    return GuardedPlan(tuple(entries), tuple(rows), deltas, preconditions)


def _advance(running: tuple[int, int | None], change: int, checked: bool) -> tuple[int, int | None]:
    """Track a row's running draw and its peak at the requests where decide() checks
    the limit (those that raise the limited side)."""
    total = running[0] + change
    peak = running[1]
    if checked:
        peak = total if peak is None else max(peak, total)
    return total, peak


def _entry_deltas(row: NewEntryRow) -> dict[BalanceKey, Delta]:
    deltas: dict[BalanceKey, Delta] = {}
    pending = row.phase is Phase.PENDING
    for p in row.postings:
        if p.side is Side.DEBIT:
            change = Delta(debits_pending=p.amount) if pending else Delta(debits_posted=p.amount)
        else:
            change = Delta(credits_pending=p.amount) if pending else Delta(credits_posted=p.amount)
        deltas.setdefault(p.key, Delta()).add(change)
    return deltas
