"""An account's statement: its latest movements with a running balance; and a page of
its movements, filtered, for a reader who looks for some of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select, text, tuple_

from yirong.errors import YirongError
from yirong.infra.db import Tx, read_alone, read_only
from yirong.infra.direct import send
from yirong.ledger.model import Account, AccountKind, AccountState, Phase, Side
from yirong.ledger.service import AccountBalance, account_by_code, account_by_id
from yirong.ledger.tables import LedgerEntry, LedgerPosting


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    business_date: date
    code: str
    phase: Phase
    side: Side
    amount: int
    balance_after: int | None  # posted balance after this line (None for a hold)
    memo: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    balance: AccountBalance
    lines: list[StatementLine]  # oldest first
    total_lines: int


# The balance and the page in one statement (one snapshot, one round trip), the arms
# told apart by ``part``. The page is taken from the account's postings through their
# index first (newest first, ``limit`` of them), and only those are joined to their
# entries: joined first, the planner could scan every entry of the book for a page.
_HEAD_AND_PAGE = (
    "SELECT 'b' AS part, NULL AS id, NULL AS business_date, MIN(state) AS code, "
    "NULL AS phase, NULL AS side, NULL AS amount, NULL AS memo, NULL AS leg, "
    "CAST(SUM(debits_pending) AS BIGINT) AS dp, CAST(SUM(debits_posted) AS BIGINT) AS dpo, "
    "CAST(SUM(credits_pending) AS BIGINT) AS cp, CAST(SUM(credits_posted) AS BIGINT) AS cpo "
    "FROM ledger_balances WHERE account_id = :account "
    "UNION ALL "
    "SELECT 'l', e.id, e.business_date, e.code, e.phase, page.side, page.amount, e.memo, "
    "page.leg, NULL, NULL, NULL, NULL FROM ("
    "  SELECT p.entry_id, p.side, p.amount, p.leg FROM ledger_postings p "
    "  WHERE p.account_id = :account AND p.entry_id < :bound "
    "  ORDER BY p.entry_id DESC, p.leg DESC LIMIT :limit) page "
    "JOIN ledger_entries e ON e.id = page.entry_id"
)
_PAGE = text(_HEAD_AND_PAGE)
# An older page also needs what posted since it (to walk the balance back to it): a
# third arm, which the newest page (the usual one) does without.
_OLDER_PAGE = text(
    _HEAD_AND_PAGE + " UNION ALL "
    "SELECT 'a', NULL, NULL, NULL, NULL, p.side, CAST(SUM(p.amount) AS BIGINT), NULL, NULL, "
    "NULL, NULL, NULL, NULL "
    "FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
    "WHERE p.account_id = :account AND p.entry_id >= :bound AND e.phase = 'posted' "
    "GROUP BY p.side"
)


@read_only
def statement(tx: Tx, account: str, *, limit: int = 50, before: int | None = None) -> Statement:
    """``account`` is an account code (``wallet:agent:A001``) or a numeric id. The
    latest ``limit`` lines, or the ``limit`` lines before entry ``before`` (the next
    page back in time), with how many lines the account has in all."""
    found = _account(tx, account)
    bal, lines = _page(tx, found, limit, before)
    total = tx.conn.execute(
        text("SELECT COUNT(*) FROM ledger_postings WHERE account_id = :account"),
        {"account": found.id},
    ).scalar_one()
    return Statement(bal, lines, int(total))


@read_alone
def statement_lines(
    tx: Tx, account: str, *, limit: int = 50, before: int | None = None
) -> list[StatementLine]:
    """:func:`statement`'s lines alone (no count): one statement, one round trip."""
    return _page(tx, _account(tx, account), limit, before)[1]


def _account(tx: Tx, account: str) -> Account:
    return account_by_id(tx, int(account)) if account.isdigit() else account_by_code(tx, account)


def _page(
    tx: Tx, found: Account, limit: int, before: int | None
) -> tuple[AccountBalance, list[StatementLine]]:
    bound = before if before is not None else 2**62
    rows = send(
        tx,
        _PAGE if before is None else _OLDER_PAGE,
        {"account": found.id, "limit": limit, "bound": bound},
    ).all()
    head = next(r for r in rows if r.part == "b")
    if head.code is None:
        raise YirongError("account_not_found", account=found.code)
    bal = AccountBalance(
        found, AccountState(head.code), int(head.dp), int(head.dpo), int(head.cp), int(head.cpo)
    )
    # Walk back from the balance just before ``before`` so the newest line ends on it.
    running = bal.balance - sum(
        _signed(found, Side(r.side), int(r.amount)) for r in rows if r.part == "a"
    )
    page = sorted((r for r in rows if r.part == "l"), key=lambda r: (r.id, r.leg), reverse=True)
    lines: list[StatementLine] = []
    for r in page:
        phase, side = Phase(r.phase), Side(r.side)
        after = running if phase is Phase.POSTED else None
        if phase is Phase.POSTED:
            running -= _signed(found, side, r.amount)
        day = r.business_date
        lines.append(
            StatementLine(
                r.id,
                day if isinstance(day, date) else date.fromisoformat(day),
                r.code,
                phase,
                side,
                r.amount,
                after,
                r.memo,
            )
        )
    lines.reverse()
    return bal, lines


def _signed(account: Account, side: Side, amount: int) -> int:
    """The posting's effect on the balance as seen from the account's normal side."""
    debit_normal = account.kind in (AccountKind.ASSET, AccountKind.EXPENSE)
    return amount if (side is Side.DEBIT) == debit_normal else -amount


@dataclass(frozen=True, slots=True)
class MovementFilter:
    """Which of an account's lines to show: empty fields leave lines in."""

    codes: tuple[str, ...] = ()  # entry codes
    side: Side | None = None
    since: date | None = None  # business dates, both ends included
    until: date | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """A line's place: its entry, and its leg within the entry (an entry may post
    more than once to one account, so the entry alone could split a page)."""

    entry_id: int
    leg: int

    def __str__(self) -> str:
        return f"{self.entry_id}-{self.leg}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor a page link carries; None for none or one that is not a cursor
        (the first page is shown, never an error: it is only a link's position)."""
        entry, _, leg = (text or "").partition("-")
        return cls(int(entry), int(leg)) if entry.isdigit() and leg.isdigit() else None


@dataclass(frozen=True, slots=True)
class MovementPage:
    lines: list[StatementLine]  # newest first
    total: int  # lines the filter lets through, on every page
    older: Cursor | None  # ask ``before`` it for the next page back in time
    newer: Cursor | None  # ask ``after`` it for the page before this one


def movements(
    tx: Tx,
    account: Account,
    shown: MovementFilter,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: int = 25,
) -> MovementPage:
    """One page of the account's lines that ``shown`` lets through, newest first,
    each with the posted balance after it. The balance runs over every line of the
    account (a window sum in SQL), so it stays right whatever the filter hides."""
    p, e = LedgerPosting, LedgerEntry
    up = Side.DEBIT if account.kind in (AccountKind.ASSET, AccountKind.EXPENSE) else Side.CREDIT
    signed = case((p.side == up.value, p.amount), else_=-p.amount)
    moved = case((e.phase == Phase.POSTED.value, signed), else_=0)
    lines = (
        select(
            e.id.label("entry_id"),
            p.leg.label("leg"),
            e.business_date.label("business_date"),
            e.code.label("code"),
            e.phase.label("phase"),
            p.side.label("side"),
            p.amount.label("amount"),
            e.memo.label("memo"),
            func.sum(moved).over(order_by=(e.id, p.leg), rows=(None, 0)).label("running"),
        )
        .join(e, e.id == p.entry_id)
        .where(p.account_id == account.id)
        .subquery("lines")
    )
    c = lines.c
    kept = [
        condition
        for condition in (
            c.code.in_(shown.codes) if shown.codes else None,
            c.side == shown.side.value if shown.side else None,
            c.business_date >= shown.since if shown.since else None,
            c.business_date <= shown.until if shown.until else None,
        )
        if condition is not None
    ]
    total = tx.conn.scalar(select(func.count()).select_from(lines).where(*kept))
    place = tuple_(c.entry_id, c.leg)
    query = select(lines).where(*kept)
    if after is not None:  # the page before this one: the oldest lines above ``after``
        query = query.where(place > tuple_(after.entry_id, after.leg))
        rows = tx.conn.execute(query.order_by(c.entry_id, c.leg).limit(limit + 1)).all()
        more_newer, rows = len(rows) > limit, rows[:limit][::-1]
        more_older = True
    else:
        if before is not None:
            query = query.where(place < tuple_(before.entry_id, before.leg))
        rows = tx.conn.execute(
            query.order_by(c.entry_id.desc(), c.leg.desc()).limit(limit + 1)
        ).all()
        more_older, rows = len(rows) > limit, rows[:limit]
        more_newer = before is not None
    found = [
        StatementLine(
            r.entry_id,
            r.business_date
            if isinstance(r.business_date, date)
            else date.fromisoformat(r.business_date),
            r.code,
            Phase(r.phase),
            Side(r.side),
            int(r.amount),
            int(r.running) if r.phase == Phase.POSTED.value else None,
            r.memo,
        )
        for r in rows
    ]
    ends = [Cursor(r.entry_id, r.leg) for r in rows]
    return MovementPage(
        found,
        int(total or 0),
        ends[-1] if ends and more_older else None,
        ends[0] if ends and more_newer else None,
    )
