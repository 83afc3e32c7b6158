"""The ledger's vocabulary as immutable values: accounts, balances, postings and the
requests that move money. Pure: no I/O, no clock. The database layer only persists
what :mod:`yirong.ledger.rules` decides over these values."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

PLATFORM_BOOK = "platform"
CNY = "CNY"
MAX_BALANCE = 2**63 - 1  # a signed 64-bit column


class Side(StrEnum):
    DEBIT = "D"
    CREDIT = "C"


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"
    MEMO = "memo"


class AccountState(StrEnum):
    ACTIVE = "active"
    DEBIT_BLOCKED = "debit_blocked"  # frozen: credits only (repayment debits excepted)
    BLOCKED = "blocked"  # nothing in, nothing out
    CLOSED = "closed"  # final; only voids of old holds still pass


class Phase(StrEnum):
    """What an entry is. Entries are never edited: a hold is resolved by a new entry
    (``posted`` or ``voided`` or ``expired``) that names it in ``pending_id``."""

    POSTED = "posted"
    PENDING = "pending"
    VOIDED = "voided"
    EXPIRED = "expired"
    REJECTED = "rejected"  # a failed request, kept so that a retry gets the same answer


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    code: str
    book: str
    currency: str
    kind: AccountKind
    shards: int = 1
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False

    def shard_for(self, key: str) -> int:
        """The shard of a hot account a request lands on: stable for a key, spread
        evenly over keys, so that retries hit the same row and traffic does not."""
        if self.shards == 1:
            return 0
        return zlib.crc32(key.encode()) % self.shards


@dataclass(frozen=True, slots=True)
class Balance:
    """One balance row: a whole account, or one shard of a hot account."""

    state: AccountState = AccountState.ACTIVE
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def plus(self, delta: Delta) -> Balance:
        return Balance(
            self.state,
            self.debits_pending + delta.debits_pending,
            self.debits_posted + delta.debits_posted,
            self.credits_pending + delta.credits_pending,
            self.credits_posted + delta.credits_posted,
        )


@dataclass(slots=True)
class Delta:
    """What one decision adds to a balance row (negative pending amounts release holds)."""

    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def add(self, other: Delta) -> None:
        self.debits_pending += other.debits_pending
        self.debits_posted += other.debits_posted
        self.credits_pending += other.credits_pending
        self.credits_posted += other.credits_posted

    def is_zero(self) -> bool:
        return not (
            self.debits_pending or self.debits_posted or self.credits_pending or self.credits_posted
        )


BalanceKey = tuple[int, int]  # (account_id, shard)


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a requested entry: an account, debit or credit, and an amount."""

    account_id: int
    side: Side
    amount: int


@dataclass(frozen=True, slots=True)
class Posting:
    leg: int
    account_id: int
    shard: int
    side: Side
    amount: int

    @property
    def key(self) -> BalanceKey:
        return (self.account_id, self.shard)


# ---------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class NewEntry:
    """Post (or hold, when ``pending``) a balanced set of legs."""

    key: str
    code: str
    legs: tuple[Leg, ...]
    pending: bool = False
    expires_on: date | None = None  # a hold's last valid business date
    # Repayment is the one debit a frozen (debit-blocked) wallet still allows.
    debit_block_exempt: bool = False
    memo: str | None = None

    @property
    def phase(self) -> Phase:
        return Phase.PENDING if self.pending else Phase.POSTED

    @property
    def amount(self) -> int:
        return sum(leg.amount for leg in self.legs if leg.side is Side.DEBIT)


@dataclass(frozen=True, slots=True)
class PostPending:
    """Post a hold, in whole (``amount=None``) or in part (the rest is released)."""

    key: str
    code: str
    pending_id: int
    amount: int | None = None
    memo: str | None = None

    phase = Phase.POSTED


@dataclass(frozen=True, slots=True)
class VoidPending:
    key: str
    code: str
    pending_id: int
    memo: str | None = None

    phase = Phase.VOIDED


@dataclass(frozen=True, slots=True)
class ExpirePending:
    """Issued by the end of day for holds past their last valid date."""

    key: str
    code: str
    pending_id: int
    memo: str | None = None

    phase = Phase.EXPIRED


@dataclass(frozen=True, slots=True)
class Reverse:
    """Undo a posted entry with its mirror image; the original stays as it was."""

    key: str
    code: str
    entry_id: int
    memo: str | None = None
    debit_block_exempt: bool = False

    phase = Phase.POSTED


Request = NewEntry | PostPending | VoidPending | ExpirePending | Reverse


def fingerprint(request: Request) -> bytes:
    """A digest of everything that defines a request, to tell a true retry (same key,
    same request) from a reused key (same key, other request)."""
    match request:
        case NewEntry():
            legs = ";".join(f"{leg.account_id}{leg.side}{leg.amount}" for leg in request.legs)
            body = (
                f"new|{request.code}|{request.pending}|{request.expires_on}|"
                f"{request.debit_block_exempt}|{legs}|{request.memo}"
            )
        case PostPending():
            body = f"post|{request.code}|{request.pending_id}|{request.amount}|{request.memo}"
        case VoidPending() | ExpirePending():
            body = f"{request.phase}|{request.code}|{request.pending_id}|{request.memo}"
        case Reverse():
            body = (
                f"reverse|{request.code}|{request.entry_id}|{request.debit_block_exempt}|"
                f"{request.memo}"
            )
    return hashlib.blake2b(body.encode(), digest_size=16).digest()


# ---------------------------------------------------------------- stored facts


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as it is on disk, with its postings (none for rejections and voids)."""

    id: int
    key: str
    fingerprint: bytes
    book: str | None
    code: str
    phase: Phase
    business_date: date
    pending_id: int | None = None
    reverses_id: int | None = None
    expires_on: date | None = None
    rejection: str | None = None
    postings: tuple[Posting, ...] = field(default=())

    @property
    def amount(self) -> int:
        return sum(p.amount for p in self.postings if p.side is Side.DEBIT)


@dataclass(frozen=True, slots=True)
class NewEntryRow:
    """An entry the rules decided to write, with its postings."""

    key: str
    fingerprint: bytes
    book: str | None  # unknown only for a refusal that named no known account
    code: str
    phase: Phase
    pending_id: int | None
    reverses_id: int | None
    expires_on: date | None
    debit_block_exempt: bool
    memo: str | None
    rejection: str | None
    postings: tuple[Posting, ...]
