"""Persistence for the ledger's hot path, on the driver connection of the current
transaction (SQLAlchemy's per-statement overhead costs a third of the throughput here;
see BENCHMARKS.md).

Each backend does the same four things: read account metadata (immutable, cached per
process), read named entries, take a :class:`Snapshot` with the balance rows locked in
one global order (account, shard) so that writers never deadlock, and write the
decided entries, postings and balance deltas. On PostgreSQL the snapshot is one
pipelined round trip and the write is one statement; SQLite is in-process, so plain
statements under ``BEGIN IMMEDIATE`` are already cheap.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

import psycopg.errors

from yirong.errors import YirongError
from yirong.infra.db import Dialect, Retryable, Tx
from yirong.ledger.model import (
    MAX_BALANCE,
    Account,
    AccountKind,
    AccountState,
    Balance,
    BalanceKey,
    Delta,
    NewEntryRow,
    Phase,
    Posting,
    Side,
    StoredEntry,
)
from yirong.ledger.rules import GuardedPlan, Snapshot

_ENTRY_COLUMNS = (
    "e.id, e.idempotency_key, e.fingerprint, e.book, e.code, e.phase, e.business_date, "
    "e.pending_id, e.reverses_id, e.expires_on, e.rejection, "
    "p.leg, p.account_id, p.shard, p.side, p.amount"
)
_ACCOUNT_COLUMNS = (
    "id, code, book, currency, kind, shards, "
    "debits_must_not_exceed_credits, credits_must_not_exceed_debits"
)


class LedgerStore(Protocol):
    # Whether apply() can check preconditions while it writes (worth planning for).
    guarded: bool

    def accounts(self, ids: Iterable[int]) -> dict[int, Account]: ...

    def account_ids(self, codes: Iterable[str]) -> dict[str, int]: ...

    def entries(self, ids: Iterable[int]) -> dict[int, StoredEntry]: ...

    def snapshot(
        self,
        balance_keys: Iterable[BalanceKey],
        request_keys: Sequence[str],
        pending_ids: Sequence[int],
        reversal_ids: Sequence[int],
        accounts: Mapping[int, Account],
        targets: Mapping[int, StoredEntry],
    ) -> Snapshot: ...

    def write(
        self, rows: Sequence[NewEntryRow], deltas: Mapping[BalanceKey, Delta], business_date: date
    ) -> dict[str, int]: ...

    def record_refusal(self, row: NewEntryRow) -> None: ...

    def apply(self, plan: GuardedPlan, *, final: bool) -> dict[str, tuple[int, date]] | None: ...


def store_for(tx: Tx) -> LedgerStore:
    if tx.dialect is Dialect.POSTGRESQL:
        return PostgresStore(tx)
    return SqliteStore(tx)


# ---------------------------------------------------------------- shared decoding


class _CachedAccounts:
    """Account metadata never changes once written, so each process keeps what it read."""

    def __init__(self) -> None:
        self.by_id: dict[int, Account] = {}
        self.id_by_code: dict[str, int] = {}

    def add(self, account: Account) -> None:
        self.by_id[account.id] = account
        self.id_by_code[account.code] = account.id


def _cache(tx: Tx) -> _CachedAccounts:
    return tx.db.cache("ledger.accounts", _CachedAccounts)


def _account(row: Sequence[Any]) -> Account:
    return Account(
        id=row[0],
        code=row[1],
        book=row[2],
        currency=row[3],
        kind=AccountKind(row[4]),
        shards=row[5],
        debits_must_not_exceed_credits=bool(row[6]),
        credits_must_not_exceed_debits=bool(row[7]),
    )


def _balance(row: Sequence[Any]) -> tuple[BalanceKey, Balance]:
    return (row[0], row[1]), Balance(AccountState(row[2]), row[3], row[4], row[5], row[6])


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _entries(rows: Iterable[Sequence[Any]]) -> dict[int, StoredEntry]:
    """Group joined entry/posting rows into entries with their postings."""
    heads: dict[int, Sequence[Any]] = {}
    postings: dict[int, list[Posting]] = {}
    for row in rows:
        heads.setdefault(row[0], row)
        found = postings.setdefault(row[0], [])
        if row[11] is not None:
            found.append(Posting(row[11], row[12], row[13], Side(row[14]), row[15]))
    return {
        entry_id: StoredEntry(
            id=head[0],
            key=head[1],
            fingerprint=bytes(head[2]),
            book=head[3],
            code=head[4],
            phase=Phase(head[5]),
            business_date=_as_date(head[6]),
            pending_id=head[7],
            reverses_id=head[8],
            expires_on=_as_date(head[9]) if head[9] else None,
            rejection=head[10],
            postings=tuple(sorted(postings[entry_id], key=lambda p: p.leg)),
        )
        for entry_id, head in heads.items()
    }


def _business_date(value: Any) -> date:
    if value is None:
        raise YirongError("books_not_open")
    return _as_date(value)


def _json(values: Iterable[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _entries_json(rows: Iterable[NewEntryRow]) -> str:
    return _json(
        (
            r.key,
            r.fingerprint.hex(),
            r.book,
            r.code,
            r.phase.value,
            r.pending_id,
            r.reverses_id,
            r.expires_on.isoformat() if r.expires_on else None,
            r.debit_block_exempt,
            r.rejection,
            r.memo,
        )
        for r in rows
    )


def _postings_json(rows: Iterable[NewEntryRow]) -> str:
    return _json(
        (r.key, p.leg, p.account_id, p.shard, p.side.value, p.amount)
        for r in rows
        for p in r.postings
    )


def _snapshot(
    store: LedgerStore,
    rows: Iterable[Sequence[Any]],
    accounts: Mapping[int, Account],
    targets: Mapping[int, StoredEntry],
) -> Snapshot:
    """Read a snapshot query's tagged rows: ``b`` a locked balance row, ``d`` the
    business date, ``k`` an entry already holding a requested key, ``r`` a hold's
    resolution, ``v`` an entry already reversed."""
    balances: dict[BalanceKey, Balance] = {}
    business_date: date | None = None
    existing_ids: list[int] = []
    resolutions: dict[int, Phase] = {}
    reversed_ids: set[int] = set()
    for row in rows:
        tag = row[0]
        if tag == "b":
            key, balance = _balance(row[1:])
            balances[key] = balance
        elif tag == "d":
            business_date = _as_date(row[3])
        elif tag == "k":
            existing_ids.append(row[1])
        elif tag == "r":
            resolutions[row[1]] = Phase(row[3])
        else:
            reversed_ids.add(row[1])
    # A retry is the rare case: only then read the earlier entries in full.
    existing = store.entries(existing_ids) if existing_ids else {}
    return Snapshot(
        business_date=_business_date(business_date),
        accounts=accounts,
        balances=balances,
        existing={e.key: e for e in existing.values()},
        targets=targets,
        resolutions=resolutions,
        reversed_ids=frozenset(reversed_ids),
    )


def _sorted_keys(keys: Iterable[BalanceKey]) -> list[BalanceKey]:
    # One global lock order for every writer: no two transactions can wait on each other.
    return sorted(set(keys))


# ---------------------------------------------------------------- PostgreSQL


@functools.cache
def _single_entry_apply_sql(rows: int, legs: int) -> str:
    """The guarded apply for one entry touching ``rows`` balance rows with ``legs``
    postings, with scalar parameters: a transfer's usual shape, and on two cores
    JSON decoding alone costs a fifth of the transfer (BENCHMARKS.md).

    Order of work, each step reading the one before: lock the rows (sorted, so in
    the global order), test every precondition on them, insert the entry (a key
    already taken inserts nothing), and only if it was inserted update the balances
    and add the postings."""
    keys = ", ".join(f"(%(a{i})s::bigint, %(s{i})s::smallint)" for i in range(rows))
    guards = "\n".join(
        f"""      WHEN account_id = %(a{i})s AND shard = %(s{i})s THEN
        (state = 'active' OR (%(fz{i})s AND state = 'debit_blocked'))
        AND (%(ma{i})s::bigint IS NULL
             OR credits_posted - debits_posted - debits_pending >= %(ma{i})s::bigint)
        AND (%(mr{i})s::bigint IS NULL
             OR debits_posted - credits_posted - credits_pending >= %(mr{i})s::bigint)
        AND debits_pending::numeric + debits_posted + %(dd{i})s::bigint <= {MAX_BALANCE}
        AND credits_pending::numeric + credits_posted + %(cd{i})s::bigint <= {MAX_BALANCE}"""
        for i in range(rows)
    )
    updates = ",\n".join(
        f"""u{i} AS (
  UPDATE ledger_balances b SET
    debits_pending = b.debits_pending + %(dp{i})s::bigint,
    debits_posted = b.debits_posted + %(dpo{i})s::bigint,
    credits_pending = b.credits_pending + %(cp{i})s::bigint,
    credits_posted = b.credits_posted + %(cpo{i})s::bigint
  FROM e WHERE b.account_id = %(a{i})s AND b.shard = %(s{i})s
  RETURNING 1
)"""
        for i in range(rows)
    )
    postings = ", ".join(
        f"({n}, %(pa{n})s::bigint, %(ps{n})s::smallint, %(pd{n})s, %(pm{n})s::bigint)"
        for n in range(legs)
    )
    counted = " + ".join(f"(SELECT count(*) FROM u{i})" for i in range(rows))
    return f"""
WITH locked AS (
  SELECT account_id, shard, state, debits_pending, debits_posted, credits_pending, credits_posted
  FROM ledger_balances WHERE (account_id, shard) IN ({keys})
  ORDER BY account_id, shard FOR UPDATE
), day AS (
  SELECT business_date FROM business_calendar WHERE id = 1
), ok AS (
  SELECT count(*) = {rows} AND bool_and(CASE
{guards}
      END) AS ok
  FROM locked
), e AS (
  INSERT INTO ledger_entries (idempotency_key, fingerprint, book, code, phase, business_date,
    expires_on, debit_block_exempt, memo)
  SELECT %(k)s, %(f)s, %(b)s, %(c)s, %(ph)s, day.business_date, %(x)s::date, %(ex)s, %(m)s
  FROM day, ok
  WHERE ok.ok AND (%(x)s::date IS NULL OR %(x)s::date >= day.business_date)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id, business_date
), {updates}, p AS (
  INSERT INTO ledger_postings (entry_id, leg, account_id, shard, side, amount)
  SELECT e.id, v.leg, v.account_id, v.shard, v.side, v.amount
  FROM e, (VALUES {postings}) AS v(leg, account_id, shard, side, amount)
)
SELECT id, business_date, {counted} FROM e
"""


class PostgresStore:
    # Batches travel as one JSON parameter per table (json.dumps is C-fast; psycopg's
    # array adaptation costs more than the rest of a transfer). The snapshot is one
    # statement: the locked balance rows, the business date, and which requested keys,
    # holds and reversals already exist, told apart by the first column.
    _SNAPSHOT = """
WITH locked AS (
  -- One index lookup per wanted row, in the order given (sorted: the global lock
  -- order). LATERAL ... LIMIT 1 keeps the planner from hashing the whole table.
  SELECT y.* FROM json_array_elements(%(b)s::json) x,
  LATERAL (
    SELECT b.account_id, b.shard, b.state, b.debits_pending, b.debits_posted,
           b.credits_pending, b.credits_posted
    FROM ledger_balances b
    WHERE b.account_id = (x->>0)::bigint AND b.shard = (x->>1)::smallint
    LIMIT 1 FOR UPDATE
  ) y
)
SELECT 'b', account_id, shard, state, debits_pending, debits_posted, credits_pending,
       credits_posted FROM locked
UNION ALL
SELECT 'd', NULL, NULL, business_date::text, NULL, NULL, NULL, NULL
FROM business_calendar WHERE id = 1
UNION ALL
-- "= ANY(ARRAY(...))", not "IN (SELECT ...)": the planner guesses a JSON array holds
-- 100 rows and would hash them against a scan of every entry; an array is looked up
-- by the index, whatever its size.
SELECT 'k', id, NULL, NULL, NULL, NULL, NULL, NULL FROM ledger_entries
WHERE idempotency_key = ANY(ARRAY(SELECT json_array_elements_text(%(k)s::json)))
UNION ALL
SELECT 'r', pending_id, NULL, phase, NULL, NULL, NULL, NULL FROM ledger_entries
WHERE pending_id = ANY(ARRAY(SELECT json_array_elements_text(%(p)s::json)::bigint))
UNION ALL
SELECT 'v', reverses_id, NULL, NULL, NULL, NULL, NULL, NULL FROM ledger_entries
WHERE reverses_id = ANY(ARRAY(SELECT json_array_elements_text(%(v)s::json)::bigint))
"""
    _WRITE = """
WITH e AS (
  INSERT INTO ledger_entries (idempotency_key, fingerprint, book, code, phase, business_date,
    pending_id, reverses_id, expires_on, debit_block_exempt, rejection, memo)
  SELECT x->>0, decode(x->>1, 'hex'), x->>2, x->>3, x->>4, %(bd)s::date, (x->>5)::bigint,
         (x->>6)::bigint, (x->>7)::date, (x->>8)::boolean, x->>9, x->>10
  FROM json_array_elements(%(e)s::json) x
  RETURNING id, idempotency_key
), p AS (
  INSERT INTO ledger_postings (entry_id, leg, account_id, shard, side, amount)
  SELECT e.id, (x->>1)::int, (x->>2)::bigint, (x->>3)::smallint, x->>4, (x->>5)::bigint
  FROM json_array_elements(%(p)s::json) x JOIN e ON e.idempotency_key = x->>0
), u AS (
  UPDATE ledger_balances b SET
    debits_pending = b.debits_pending + d.dp, debits_posted = b.debits_posted + d.dpo,
    credits_pending = b.credits_pending + d.cp, credits_posted = b.credits_posted + d.cpo
  FROM (SELECT (x->>0)::bigint AS account_id, (x->>1)::smallint AS shard,
               (x->>2)::bigint AS dp, (x->>3)::bigint AS dpo,
               (x->>4)::bigint AS cp, (x->>5)::bigint AS cpo
        FROM json_array_elements(%(d)s::json) x) d
  WHERE b.account_id = d.account_id AND b.shard = d.shard
    -- drives an index scan; without it a generic plan may scan the whole table
    AND b.account_id = ANY(ARRAY(
      SELECT (x->>0)::bigint FROM json_array_elements(%(d)s::json) x))
  RETURNING 1
)
SELECT id, idempotency_key, (SELECT count(*) FROM u) FROM e
"""
    _REFUSAL = """
INSERT INTO ledger_entries (idempotency_key, fingerprint, book, code, phase, business_date,
  debit_block_exempt, rejection, memo)
SELECT %s, %s, %s, %s, 'rejected', business_date, false, %s, %s FROM business_calendar
ON CONFLICT (idempotency_key) DO NOTHING
"""
    # Check, then apply: lock the rows in order, test every precondition on what is
    # locked, and only if all hold (and no key exists, and no hold expires before the
    # business date) write the entries, postings and balances. Otherwise it writes
    # nothing and returns no row, and the full path decides.
    _APPLY = f"""
WITH d AS (
  SELECT (x->>0)::bigint AS account_id, (x->>1)::smallint AS shard,
         (x->>2)::bigint AS dp, (x->>3)::bigint AS dpo, (x->>4)::bigint AS cp,
         (x->>5)::bigint AS cpo, string_to_array(x->>6, ',') AS allowed,
         (x->>7)::bigint AS min_available, (x->>8)::bigint AS min_room
  FROM json_array_elements(%(d)s::json) x
), locked AS (
  SELECT d.*, y.* FROM d, LATERAL (
    SELECT b.state, b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted
    FROM ledger_balances b
    WHERE b.account_id = d.account_id AND b.shard = d.shard
    LIMIT 1 FOR UPDATE
  ) y
), day AS (
  SELECT business_date FROM business_calendar WHERE id = 1
), ok AS (
  SELECT (SELECT count(*) FROM locked) = (SELECT count(*) FROM d)
     AND EXISTS (SELECT 1 FROM day)
     AND NOT EXISTS (
       SELECT 1 FROM locked WHERE NOT (
         state = ANY(allowed)
         AND (min_available IS NULL
              OR credits_posted - debits_posted - debits_pending >= min_available)
         AND (min_room IS NULL
              OR debits_posted - credits_posted - credits_pending >= min_room)
         AND debits_pending::numeric + debits_posted + dp + dpo <= {MAX_BALANCE}
         AND credits_pending::numeric + credits_posted + cp + cpo <= {MAX_BALANCE}))
     AND NOT EXISTS (
       SELECT 1 FROM ledger_entries WHERE idempotency_key = ANY(ARRAY(
         SELECT x->>0 FROM json_array_elements(%(e)s::json) x)))  -- the index (see _SNAPSHOT)
     AND NOT EXISTS (
       SELECT 1 FROM json_array_elements(%(e)s::json) x, day
       WHERE (x->>7)::date < day.business_date) AS ok
), u AS (
  UPDATE ledger_balances b SET
    debits_pending = b.debits_pending + d.dp, debits_posted = b.debits_posted + d.dpo,
    credits_pending = b.credits_pending + d.cp, credits_posted = b.credits_posted + d.cpo
  FROM d, ok
  WHERE ok.ok AND b.account_id = d.account_id AND b.shard = d.shard
    AND b.account_id = ANY(ARRAY(SELECT account_id FROM d))
  RETURNING 1
), e AS (
  INSERT INTO ledger_entries (idempotency_key, fingerprint, book, code, phase, business_date,
    pending_id, reverses_id, expires_on, debit_block_exempt, rejection, memo)
  SELECT x->>0, decode(x->>1, 'hex'), x->>2, x->>3, x->>4, day.business_date, NULL, NULL,
         (x->>7)::date, (x->>8)::boolean, NULL, x->>10
  FROM json_array_elements(%(e)s::json) x, day, ok WHERE ok.ok
  RETURNING id, idempotency_key, business_date
), p AS (
  INSERT INTO ledger_postings (entry_id, leg, account_id, shard, side, amount)
  SELECT e.id, (x->>1)::int, (x->>2)::bigint, (x->>3)::smallint, x->>4, (x->>5)::bigint
  FROM json_array_elements(%(p)s::json) x JOIN e ON e.idempotency_key = x->>0
)
SELECT id, idempotency_key, business_date, (SELECT count(*) FROM u) FROM e
"""

    guarded = True

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.conn: psycopg.Connection[Any] = tx.raw

    def accounts(self, ids: Iterable[int]) -> dict[int, Account]:
        cache = _cache(self.tx)
        wanted = set(ids)
        missing = [i for i in wanted if i not in cache.by_id]
        if missing:
            rows = self.conn.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY(%s)", (missing,)
            ).fetchall()
            for row in rows:
                cache.add(_account(row))
        return {i: cache.by_id[i] for i in wanted if i in cache.by_id}

    def account_ids(self, codes: Iterable[str]) -> dict[str, int]:
        cache = _cache(self.tx)
        wanted = set(codes)
        missing = [c for c in wanted if c not in cache.id_by_code]
        if missing:
            rows = self.conn.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE code = ANY(%s)", (missing,)
            ).fetchall()
            for row in rows:
                cache.add(_account(row))
        return {c: cache.id_by_code[c] for c in wanted if c in cache.id_by_code}

    def entries(self, ids: Iterable[int]) -> dict[int, StoredEntry]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM ledger_entries e "
            "LEFT JOIN ledger_postings p ON p.entry_id = e.id WHERE e.id = ANY(%s)",
            (wanted,),
        ).fetchall()
        return _entries(rows)

    def snapshot(
        self,
        balance_keys: Iterable[BalanceKey],
        request_keys: Sequence[str],
        pending_ids: Sequence[int],
        reversal_ids: Sequence[int],
        accounts: Mapping[int, Account],
        targets: Mapping[int, StoredEntry],
    ) -> Snapshot:
        self.tx.begin()
        rows = self.conn.execute(
            self._SNAPSHOT,
            {
                "b": _json(_sorted_keys(balance_keys)),
                "k": _json(request_keys),
                "p": _json(pending_ids),
                "v": _json(reversal_ids),
            },
        ).fetchall()
        return _snapshot(self, rows, accounts, targets)

    def write(
        self, rows: Sequence[NewEntryRow], deltas: Mapping[BalanceKey, Delta], business_date: date
    ) -> dict[str, int]:
        if not rows:
            return {}
        changed = [(key, d) for key, d in sorted(deltas.items()) if not d.is_zero()]
        params = {
            "bd": business_date,
            "e": _entries_json(rows),
            "p": _postings_json(rows),
            "d": _json(
                (k[0], k[1], d.debits_pending, d.debits_posted, d.credits_pending, d.credits_posted)
                for k, d in changed
            ),
        }
        self.tx.begin()
        try:
            result = self.conn.execute(self._WRITE, params).fetchall()
        except psycopg.errors.UniqueViolation as exc:
            # Another transaction took the same idempotency key (or resolved the same
            # hold, or reversed the same entry) after our snapshot: run the use case
            # again and the snapshot will show it.
            raise Retryable(str(exc)) from exc
        if result and result[0][2] != len(changed):
            raise AssertionError("a locked balance row was not updated")
        return {key: entry_id for entry_id, key, _ in result}

    def record_refusal(self, row: NewEntryRow) -> None:
        self.tx.begin()
        self.conn.execute(
            self._REFUSAL, (row.key, row.fingerprint, row.book, row.code, row.rejection, row.memo)
        )

    def apply(self, plan: GuardedPlan, *, final: bool) -> dict[str, tuple[int, date]] | None:
        if len(plan.rows) == 1:
            sql, params = self._single_entry(plan)
        else:
            sql, params = self._APPLY, self._batch_params(plan)
        # As the use case's final statement on a fresh transaction, the statement is
        # the transaction: no BEGIN, no COMMIT, one round trip.
        alone = final and self.tx.idle
        if not alone:
            self.tx.begin()
        try:
            result = self.conn.execute(sql, params).fetchall()
        except psycopg.errors.UniqueViolation as exc:
            raise Retryable(str(exc)) from exc
        if not result:
            return None
        if result[0][-1] != len(plan.preconditions):
            raise AssertionError("a locked balance row was not updated")
        if alone:
            self.tx.committed_by_final_statement()
        return (
            {plan.rows[0].key: (result[0][0], _as_date(result[0][1]))}
            if len(plan.rows) == 1
            else {key: (entry_id, _as_date(day)) for entry_id, key, day, _ in result}
        )

    @staticmethod
    def _single_entry(plan: GuardedPlan) -> tuple[str, dict[str, Any]]:
        row = plan.rows[0]
        params: dict[str, Any] = {
            "k": row.key,
            "f": row.fingerprint,
            "b": row.book,
            "c": row.code,
            "ph": row.phase.value,
            "x": row.expires_on,
            "ex": row.debit_block_exempt,
            "m": row.memo,
        }
        for i, c in enumerate(plan.preconditions):
            d = c.delta
            params.update(
                {
                    f"a{i}": c.key[0],
                    f"s{i}": c.key[1],
                    f"fz{i}": AccountState.DEBIT_BLOCKED in c.states,
                    f"ma{i}": c.min_available,
                    f"mr{i}": c.min_room,
                    f"dd{i}": d.debits_pending + d.debits_posted,
                    f"cd{i}": d.credits_pending + d.credits_posted,
                    f"dp{i}": d.debits_pending,
                    f"dpo{i}": d.debits_posted,
                    f"cp{i}": d.credits_pending,
                    f"cpo{i}": d.credits_posted,
                }
            )
        for p in row.postings:
            params.update(
                {
                    f"pa{p.leg}": p.account_id,
                    f"ps{p.leg}": p.shard,
                    f"pd{p.leg}": p.side.value,
                    f"pm{p.leg}": p.amount,
                }
            )
        return _single_entry_apply_sql(len(plan.preconditions), len(row.postings)), params

    @staticmethod
    def _batch_params(plan: GuardedPlan) -> dict[str, Any]:
        return {
            "e": _entries_json(plan.rows),
            "p": _postings_json(plan.rows),
            "d": _json(
                (
                    c.key[0],
                    c.key[1],
                    c.delta.debits_pending,
                    c.delta.debits_posted,
                    c.delta.credits_pending,
                    c.delta.credits_posted,
                    ",".join(sorted(s.value for s in c.states)),
                    c.min_available,
                    c.min_room,
                )
                for c in plan.preconditions
            ),
        }


# ---------------------------------------------------------------- SQLite


@functools.cache
def _sqlite_snapshot_sql(balances: int, keys: int, holds: int, reversals: int) -> str:
    """The snapshot with plain parameters, for a given number of each."""

    def marks(n: int) -> str:
        return ", ".join("?" * n)

    parts = [
        "SELECT 'd', NULL, NULL, business_date, NULL, NULL, NULL, NULL "
        "FROM business_calendar WHERE id = 1"
    ]
    # One primary-key lookup per balance row (SQLite scans for a row-value IN list).
    parts[:0] = [
        "SELECT 'b', account_id, shard, state, debits_pending, debits_posted, credits_pending, "
        "credits_posted FROM ledger_balances WHERE account_id = ? AND shard = ?"
    ] * balances
    if keys:
        parts.append(
            "SELECT 'k', id, NULL, NULL, NULL, NULL, NULL, NULL FROM ledger_entries "
            f"WHERE idempotency_key IN ({marks(keys)})"
        )
    if holds:
        parts.append(
            "SELECT 'r', pending_id, NULL, phase, NULL, NULL, NULL, NULL "
            f"FROM ledger_entries WHERE pending_id IN ({marks(holds)})"
        )
    if reversals:
        parts.append(
            "SELECT 'v', reverses_id, NULL, NULL, NULL, NULL, NULL, NULL "
            f"FROM ledger_entries WHERE reverses_id IN ({marks(reversals)})"
        )
    return "\nUNION ALL\n".join(parts)


class SqliteStore:
    # SQLite has no array parameters: a JSON array and json_each() play their part,
    # so each statement's text stays the same whatever the batch size.
    _SNAPSHOT = """
SELECT 'b', b.account_id, b.shard, b.state, b.debits_pending, b.debits_posted,
       b.credits_pending, b.credits_posted
FROM json_each(:b) AS j JOIN ledger_balances AS b
  ON b.account_id = json_extract(j.value, '$[0]') AND b.shard = json_extract(j.value, '$[1]')
UNION ALL
SELECT 'd', NULL, NULL, business_date, NULL, NULL, NULL, NULL
FROM business_calendar WHERE id = 1
UNION ALL
SELECT 'k', id, NULL, NULL, NULL, NULL, NULL, NULL FROM ledger_entries
WHERE idempotency_key IN (SELECT value FROM json_each(:k))
UNION ALL
SELECT 'r', pending_id, NULL, phase, NULL, NULL, NULL, NULL FROM ledger_entries
WHERE pending_id IN (SELECT value FROM json_each(:p))
UNION ALL
SELECT 'v', reverses_id, NULL, NULL, NULL, NULL, NULL, NULL FROM ledger_entries
WHERE reverses_id IN (SELECT value FROM json_each(:v))
"""
    _INSERT_ENTRY = (
        "INSERT INTO ledger_entries (idempotency_key, fingerprint, book, code, phase, "
        "business_date, pending_id, reverses_id, expires_on, debit_block_exempt, rejection, memo) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _INSERT_POSTING = (
        "INSERT INTO ledger_postings (entry_id, leg, account_id, shard, side, amount) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    _UPDATE_BALANCE = (
        "UPDATE ledger_balances SET debits_pending = debits_pending + ?, "
        "debits_posted = debits_posted + ?, credits_pending = credits_pending + ?, "
        "credits_posted = credits_posted + ? WHERE account_id = ? AND shard = ?"
    )

    # In-process, the full path costs no more round trips than a guarded one.
    guarded = False

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.conn = tx.raw

    def accounts(self, ids: Iterable[int]) -> dict[int, Account]:
        cache = _cache(self.tx)
        wanted = set(ids)
        missing = [i for i in wanted if i not in cache.by_id]
        if missing:
            for row in self.conn.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (_json(missing),),
            ):
                cache.add(_account(row))
        return {i: cache.by_id[i] for i in wanted if i in cache.by_id}

    def account_ids(self, codes: Iterable[str]) -> dict[str, int]:
        cache = _cache(self.tx)
        wanted = set(codes)
        missing = [c for c in wanted if c not in cache.id_by_code]
        if missing:
            for row in self.conn.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts "
                "WHERE code IN (SELECT value FROM json_each(?))",
                (_json(missing),),
            ):
                cache.add(_account(row))
        return {c: cache.id_by_code[c] for c in wanted if c in cache.id_by_code}

    def entries(self, ids: Iterable[int]) -> dict[int, StoredEntry]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM ledger_entries e "
            "LEFT JOIN ledger_postings p ON p.entry_id = e.id "
            "WHERE e.id IN (SELECT value FROM json_each(?))",
            (_json(wanted),),
        ).fetchall()
        return _entries(rows)

    def snapshot(
        self,
        balance_keys: Iterable[BalanceKey],
        request_keys: Sequence[str],
        pending_ids: Sequence[int],
        reversal_ids: Sequence[int],
        accounts: Mapping[int, Account],
        targets: Mapping[int, StoredEntry],
    ) -> Snapshot:
        # BEGIN IMMEDIATE already holds the database's write lock: nothing to lock here.
        keys = _sorted_keys(balance_keys)
        if 2 * len(keys) + len(request_keys) + len(pending_ids) + len(reversal_ids) <= 32:
            # Plain parameters for the usual small request: no JSON to build or parse.
            sql = _sqlite_snapshot_sql(
                len(keys), len(request_keys), len(pending_ids), len(reversal_ids)
            )
            params: Sequence[Any] | dict[str, str] = [
                *(v for k in keys for v in k),
                *request_keys,
                *pending_ids,
                *reversal_ids,
            ]
        else:
            sql, params = (
                self._SNAPSHOT,
                {
                    "b": _json(keys),
                    "k": _json(request_keys),
                    "p": _json(pending_ids),
                    "v": _json(reversal_ids),
                },
            )
        return _snapshot(self, self.conn.execute(sql, params).fetchall(), accounts, targets)

    def write(
        self, rows: Sequence[NewEntryRow], deltas: Mapping[BalanceKey, Delta], business_date: date
    ) -> dict[str, int]:
        cur = self.conn.cursor()
        day = business_date.isoformat()
        ids: dict[str, int] = {}
        postings: list[tuple[int, int, int, int, str, int]] = []
        for r in rows:
            cur.execute(
                self._INSERT_ENTRY,
                (
                    r.key,
                    r.fingerprint,
                    r.book,
                    r.code,
                    r.phase.value,
                    day,
                    r.pending_id,
                    r.reverses_id,
                    r.expires_on.isoformat() if r.expires_on else None,
                    int(r.debit_block_exempt),
                    r.rejection,
                    r.memo,
                ),
            )
            entry_id = cur.lastrowid
            assert entry_id is not None
            ids[r.key] = entry_id
            postings.extend(
                (entry_id, p.leg, p.account_id, p.shard, p.side.value, p.amount) for p in r.postings
            )
        cur.executemany(self._INSERT_POSTING, postings)
        cur.executemany(
            self._UPDATE_BALANCE,
            [
                (d.debits_pending, d.debits_posted, d.credits_pending, d.credits_posted, k[0], k[1])
                for k, d in sorted(deltas.items())
                if not d.is_zero()
            ],
        )
        return ids

    def record_refusal(self, row: NewEntryRow) -> None:
        self.conn.execute(
            "INSERT INTO ledger_entries (idempotency_key, fingerprint, book, code, phase, "
            "business_date, debit_block_exempt, rejection, memo) "
            # "WHERE true" lets SQLite's parser tell ON CONFLICT from a join's ON.
            "SELECT ?, ?, ?, ?, 'rejected', business_date, 0, ?, ? FROM business_calendar "
            "WHERE true ON CONFLICT (idempotency_key) DO NOTHING",
            (row.key, row.fingerprint, row.book, row.code, row.rejection, row.memo),
        )

    def apply(self, plan: GuardedPlan, *, final: bool) -> dict[str, tuple[int, date]] | None:
        return None
