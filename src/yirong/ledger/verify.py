"""``yirong ledger verify``: prove the books from first principles.

Every check is one set-based query over the whole ledger, on either database:
entries balance, each book's debits equal its credits, every cached balance equals
the sum of its postings, limits hold, holds resolve within their amount, shards of
an account agree on its state, and nothing references what does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text

from yirong.infra.db import Tx, read_only

MAX_PROBLEMS_SHOWN = 50

_CHECKS: tuple[tuple[str, str, str], ...] = (
    (
        "entries balance",
        "every entry's debits equal its credits, in one book",
        """
        SELECT e.id, e.phase,
               SUM(CASE WHEN p.side = 'D' THEN p.amount ELSE 0 END) AS debits,
               SUM(CASE WHEN p.side = 'C' THEN p.amount ELSE 0 END) AS credits,
               COUNT(*) AS legs,
               SUM(CASE WHEN a.book = e.book THEN 0 ELSE 1 END) AS foreign_legs
        FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id
        LEFT JOIN ledger_accounts a ON a.id = p.account_id
        GROUP BY e.id, e.phase
        HAVING SUM(CASE WHEN p.side = 'D' THEN p.amount ELSE -p.amount END) <> 0
            OR COUNT(*) < 2
            OR e.phase NOT IN ('posted', 'pending')
            OR SUM(CASE WHEN a.book = e.book THEN 0 ELSE 1 END) > 0
        """,
    ),
    (
        "entries are whole",
        "posted and pending entries have postings; refusals and releases have none",
        """
        SELECT e.id, e.phase, e.rejection
        FROM ledger_entries e
        WHERE e.phase IN ('posted', 'pending')
          AND NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.entry_id = e.id)
        """,
    ),
    (
        "balances replay",
        "every cached balance row equals the sum of its postings",
        """
        WITH replay AS (
          SELECT p.account_id, p.shard,
            SUM(CASE WHEN p.side = 'D' AND e.phase = 'pending' AND r.id IS NULL
                     THEN p.amount ELSE 0 END) AS debits_pending,
            SUM(CASE WHEN p.side = 'D' AND e.phase = 'posted' THEN p.amount ELSE 0 END)
              AS debits_posted,
            SUM(CASE WHEN p.side = 'C' AND e.phase = 'pending' AND r.id IS NULL
                     THEN p.amount ELSE 0 END) AS credits_pending,
            SUM(CASE WHEN p.side = 'C' AND e.phase = 'posted' THEN p.amount ELSE 0 END)
              AS credits_posted
          FROM ledger_postings p
          JOIN ledger_entries e ON e.id = p.entry_id
          LEFT JOIN ledger_entries r ON r.pending_id = e.id AND e.phase = 'pending'
          GROUP BY p.account_id, p.shard
        )
        SELECT b.account_id, b.shard,
               b.debits_pending, COALESCE(x.debits_pending, 0),
               b.debits_posted, COALESCE(x.debits_posted, 0),
               b.credits_pending, COALESCE(x.credits_pending, 0),
               b.credits_posted, COALESCE(x.credits_posted, 0)
        FROM ledger_balances b
        LEFT JOIN replay x ON x.account_id = b.account_id AND x.shard = b.shard
        WHERE b.debits_pending <> COALESCE(x.debits_pending, 0)
           OR b.debits_posted <> COALESCE(x.debits_posted, 0)
           OR b.credits_pending <> COALESCE(x.credits_pending, 0)
           OR b.credits_posted <> COALESCE(x.credits_posted, 0)
        """,
    ),
    (
        "postings reference balance rows",
        "every posting lands on an existing account and shard",
        """
        SELECT p.entry_id, p.leg, p.account_id, p.shard
        FROM ledger_postings p
        LEFT JOIN ledger_balances b ON b.account_id = p.account_id AND b.shard = p.shard
        WHERE b.account_id IS NULL
        """,
    ),
    (
        "postings belong to entries",
        "every posting is part of an entry",
        """
        SELECT p.entry_id, p.leg FROM ledger_postings p
        LEFT JOIN ledger_entries e ON e.id = p.entry_id
        WHERE e.id IS NULL
        """,
    ),
    (
        "books balance",
        "in each book, total debits equal total credits, posted and pending",
        """
        SELECT a.book,
               SUM(b.debits_posted), SUM(b.credits_posted),
               SUM(b.debits_pending), SUM(b.credits_pending)
        FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id
        GROUP BY a.book
        HAVING SUM(b.debits_posted) <> SUM(b.credits_posted)
            OR SUM(b.debits_pending) <> SUM(b.credits_pending)
        """,
    ),
    (
        "limits hold",
        "no account is over its limit (a wallet never below zero)",
        """
        SELECT b.account_id, b.shard, b.debits_pending + b.debits_posted, b.credits_posted
        FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id
        WHERE (a.debits_must_not_exceed_credits
               AND b.debits_pending + b.debits_posted > b.credits_posted)
           OR (a.credits_must_not_exceed_debits
               AND b.credits_pending + b.credits_posted > b.debits_posted)
           OR a.debits_must_not_exceed_credits <> b.debits_must_not_exceed_credits
           OR a.credits_must_not_exceed_debits <> b.credits_must_not_exceed_debits
        """,
    ),
    (
        "holds resolve within their amount",
        "a post, void or expiry names a hold, and posts no more than it held",
        """
        SELECT r.id, r.phase, r.pending_id, h.phase,
               (SELECT SUM(amount) FROM ledger_postings WHERE entry_id = r.id),
               (SELECT SUM(amount) FROM ledger_postings WHERE entry_id = h.id)
        FROM ledger_entries r LEFT JOIN ledger_entries h ON h.id = r.pending_id
        WHERE r.pending_id IS NOT NULL
          AND (h.id IS NULL OR h.phase <> 'pending'
               OR (SELECT SUM(amount) FROM ledger_postings WHERE entry_id = r.id)
                > (SELECT SUM(amount) FROM ledger_postings WHERE entry_id = h.id))
        """,
    ),
    (
        "reversals mirror posted entries",
        "a reversal names a posted entry and undoes exactly its postings",
        """
        SELECT r.id, r.reverses_id
        FROM ledger_entries r JOIN ledger_postings rp ON rp.entry_id = r.id
        LEFT JOIN ledger_entries o ON o.id = r.reverses_id AND o.phase = 'posted'
        LEFT JOIN ledger_postings op ON op.entry_id = o.id AND op.leg = rp.leg
             AND op.account_id = rp.account_id AND op.shard = rp.shard
             AND op.amount = rp.amount AND op.side <> rp.side
        WHERE r.reverses_id IS NOT NULL AND op.entry_id IS NULL
        """,
    ),
    (
        "shards agree on state",
        "every shard of a hot account is in the same state",
        """
        SELECT account_id, MIN(state), MAX(state) FROM ledger_balances
        GROUP BY account_id HAVING MIN(state) <> MAX(state)
        """,
    ),
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    description: str
    problems: list[str] = field(default_factory=list)
    count: int = 0

    @property
    def ok(self) -> bool:
        return self.count == 0


@dataclass(frozen=True, slots=True)
class VerifyReport:
    checks: list[CheckResult]
    entries: int
    postings: int
    accounts: int

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> int:
        return sum(c.count for c in self.checks)


def verify_in(tx: Tx) -> VerifyReport:
    results = []
    for name, description, sql in _CHECKS:
        rows = tx.conn.execute(text(sql)).all()
        shown = [", ".join(str(v) for v in row) for row in rows[:MAX_PROBLEMS_SHOWN]]
        results.append(CheckResult(name, description, shown, len(rows)))
    counts = tx.conn.execute(
        text(
            "SELECT (SELECT COUNT(*) FROM ledger_entries), (SELECT COUNT(*) FROM ledger_postings), "
            "(SELECT COUNT(*) FROM ledger_accounts)"
        )
    ).one()
    return VerifyReport(results, int(counts[0]), int(counts[1]), int(counts[2]))


verify = read_only(verify_in)
