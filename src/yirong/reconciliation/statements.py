"""Importing a bank statement file: all of it, once, and resumable.

The file is parsed and proved first (its lines lead from its opening to its closing
balance, it is CNY, of an account we hold, and no line contradicts one the bank gave
before): anything wrong refuses the whole file and nothing is written. Then the raw
file is stored with its hash and its lines are taken in chunks, each chunk one
transaction holding the lines and everything their matching posted. A crash leaves
whole chunks; the same command again resumes after the last one, so that the result
is exactly that of one uninterrupted import. A file of one chunk (a day's, as a rule)
is one transaction from its record to its result. The same file again adds nothing; a line
seen before (in another file) is a duplicate and adds nothing either."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from operator import attrgetter
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, insert, select, text, tuple_, update

from yirong.bankfiles.model import BankLine as ParsedLine
from yirong.bankfiles.model import BankStatement
from yirong.bankfiles.parse import parse_statements
from yirong.books.service import BankAccountView, bank_accounts_numbered, business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Database, Dialect, Retryable, Tx, insert_new, per_dialect, read_only
from yirong.infra.direct import send
from yirong.reconciliation.matching import Taken, match_lines_in
from yirong.reconciliation.rules import rules_in
from yirong.reconciliation.tables import BankLine, Statement, StatementFile

CHUNK = 2_000
_CHECK_BATCH = 5_000
_FEW_KEYS = 64  # lines looked up by their index one by one (a day's upload, as a rule)


@dataclass(frozen=True, slots=True)
class ImportResult:
    status: str  # created | exists (this very file was imported before)
    file_id: int
    format: str
    statements: int
    lines: int  # lines in the file
    new: int  # lines the bank had not given before
    duplicates: int  # lines given before (in another file, or twice in this one)
    matched: int  # new lines whose money was posted where it belongs
    partial: int  # new lines paying part of an order, waiting for the rest
    exceptions: int  # new lines listed for an operator
    received_on: date


Progress = Callable[[int, int], None]  # (lines done, lines in all)


def import_statement_file(
    db: Database,
    content: bytes,
    *,
    filename: str,
    fmt: str = "auto",
    actor: str = "operator",
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> ImportResult:
    """Import a statement file (see the module's docstring)."""
    parsed = parse_statements(content, filename=filename, fmt=fmt)
    digest = hashlib.sha256(content).hexdigest()
    total = sum(len(stmt.lines) for stmt in parsed)
    if total <= chunk:
        # A file of one chunk (a day's, most often) in one transaction.
        result = db.run(lambda tx: _whole(tx, parsed, digest, content, filename, actor))
        if progress is not None:
            progress(total, total)
        return result
    file_id, done, _ = db.run(
        lambda tx: _begin(tx, parsed, digest, content, filename, actor),
    )
    if not done:
        # The lines leave memory as they are taken: a million of them are most of what
        # an import holds, and the books it posts to take their place.
        heads = [replace(stmt, lines=()) for stmt in parsed]
        waiting: list[list[ParsedLine | None]] = [list(stmt.lines) for stmt in parsed]
        del parsed
        total = sum(map(len, waiting))
        if progress is not None:
            progress(0, total)
        taken = 0
        for part in _chunks(heads, waiting, chunk):
            db.run(lambda tx, part=part: _take(tx, file_id, part))  # type: ignore[misc]
            taken += len(part)
            if progress is not None:
                progress(taken, total)
    return db.run(lambda tx: _finish(tx, file_id))


def _whole(
    tx: Tx,
    parsed: Sequence[BankStatement],
    digest: str,
    content: bytes,
    filename: str,
    actor: str,
) -> ImportResult:
    """A file of one chunk in the caller's transaction. What the steps of a chunked
    import read again in each of their transactions (the accounts, the statements'
    ids, which lines are stored) is read once here: a day's file is a money request
    of the API, on its hot path."""
    stored: set[tuple[int, str]] = set()
    file_id, done, fresh = _begin(tx, parsed, digest, content, filename, actor, stored=stored)
    if fresh is None:  # begun before: imported, or a crashed chunked import to resume
        if not done:
            _take(tx, file_id, _all_lines(parsed))
        return _finish(tx, file_id)
    accounts, statement_ids = fresh
    _store_and_match(
        tx, file_id, statement_ids, {a.number: a for a in accounts}, _all_lines(parsed), stored
    )
    return _finish(tx, file_id)


def _all_lines(parsed: Sequence[BankStatement]) -> list[tuple[int, BankStatement, ParsedLine]]:
    return [(n, stmt, line) for n, stmt in enumerate(parsed) for line in stmt.lines]


def _chunks(
    heads: Sequence[BankStatement], waiting: list[list[ParsedLine | None]], size: int
) -> Iterator[list[tuple[int, BankStatement, ParsedLine]]]:
    """The file's lines in order, ``size`` at a time, each with its statement (a chunk
    may span two), each line let go by ``waiting`` as it joins a chunk."""
    part: list[tuple[int, BankStatement, ParsedLine]] = []
    for n, (stmt, lines) in enumerate(zip(heads, waiting, strict=True)):
        for i, line in enumerate(lines):
            assert line is not None
            part.append((n, stmt, line))
            lines[i] = None
            if len(part) == size:
                yield part
                part = []
    if part:
        yield part


# ---------------------------------------------------------------- steps


def _accounts_for(tx: Tx, parsed: Sequence[BankStatement]) -> list[BankAccountView]:
    held = bank_accounts_numbered(tx, (stmt.account_number for stmt in parsed))
    found = []
    for stmt in parsed:
        account = held.get(stmt.account_number)
        if account is None:
            raise YirongError(
                "statement_account_unknown",
                account=stmt.account_number,
                held=sorted(held),
            )
        found.append(account)
    return found


def _begin(
    tx: Tx,
    parsed: Sequence[BankStatement],
    digest: str,
    content: bytes,
    filename: str,
    actor: str,
    *,
    stored: set[tuple[int, str]] | None = None,
) -> tuple[int, bool, tuple[list[BankAccountView], list[int]] | None]:
    """The file's record (new, or the one a crashed import left). A new one stands
    only if nothing in the file contradicts what the bank said before (``stored``: see
    :func:`_check_conflicts`); a refusal rolls it back. Returns (file id, done, and for
    a new record its accounts and its statements' ids)."""
    file_id = send(
        tx,
        _take_file(tx),
        {
            "sha256": digest,
            "filename": filename[:255],
            "format": parsed[0].format if parsed else "",
            "size": len(content),
            "content": content,
            "state": "importing",
            "statements": len(parsed),
            "lines": sum(len(s.lines) for s in parsed),
            "received_on": business_date_of(tx),
            "received_by": actor[:80],
        },
    ).scalar()
    if file_id is None:  # this very file was received before (or is being, and waited for)
        existing = send(tx, _FILE_BY_HASH, {"sha256": digest}).one_or_none()
        if existing is None:  # taken and let go (its import rolled back) in between
            raise Retryable
        return existing.id, existing.state == "imported", None
    # A refusal from here on rolls the file's record back with the rest.
    accounts = _accounts_for(tx, parsed)
    _check_conflicts(tx, parsed, accounts, stored=stored)
    return file_id, False, (accounts, _record(tx, file_id, parsed, accounts))


@per_dialect
def _take_file(tx: Tx) -> Any:
    """The insert that takes a file's digest (nothing if it is taken: an identical
    upload at the same moment waits for the first, then finds it), built once."""
    return (
        insert_new(tx, StatementFile)
        .on_conflict_do_nothing(index_elements=[StatementFile.sha256])
        .returning(StatementFile.id)
    )


_FILE_BY_HASH = select(StatementFile.id, StatementFile.state).where(
    StatementFile.sha256 == bindparam("sha256")
)


def _record(
    tx: Tx, file_id: int, parsed: Sequence[BankStatement], accounts: Sequence[BankAccountView]
) -> list[int]:
    """The file's statements' records: their ids."""
    if not parsed:
        return []
    statement_ids = tx.conn.scalars(
        insert(Statement).returning(Statement.id, sort_by_parameter_order=True),
        [
            {
                "file_id": file_id,
                "bank_account_id": account.id,
                "bank_statement_id": stmt.statement_id[:80],
                "from_date": stmt.from_date,
                "to_date": stmt.to_date,
                "opening_balance": stmt.opening_balance,
                "closing_balance": stmt.closing_balance,
                "credits": stmt.credits,
                "debits": stmt.debits,
                "lines": len(stmt.lines),
            }
            for stmt, account in zip(parsed, accounts, strict=True)
        ],
    ).all()
    return list(statement_ids)


def _check_conflicts(
    tx: Tx,
    parsed: Sequence[BankStatement],
    accounts: Sequence[BankAccountView],
    *,
    stored: set[tuple[int, str]] | None = None,
) -> None:
    """A line the bank gave before (same account, same identity) must say the same:
    amount, direction and booking date. One that does not refuses the file. Each
    account's lines are sorted by identity (a list of references: a million-line file
    costs 8 MB here, not a dictionary), so that a repeat sits next to its first; the
    stored lines are read _CHECK_BATCH identities at a time."""
    by_account: dict[int, list[ParsedLine]] = {}
    for stmt, account in zip(parsed, accounts, strict=True):
        by_account.setdefault(account.id, []).extend(stmt.lines)
    for account in accounts:
        lines = by_account.pop(account.id, None)
        if lines is None:
            continue
        lines.sort(key=attrgetter("identity"))
        unique: list[ParsedLine] = []
        for line in lines:
            if unique and unique[-1].identity == line.identity:
                if _facts(unique[-1]) != _facts(line):
                    raise _conflict(account, line.identity, _facts(unique[-1]), _facts(line))
                continue
            unique.append(line)
        del lines
        for start in range(0, len(unique), _CHECK_BATCH):
            part = unique[start : start + _CHECK_BATCH]
            index = {line.identity: line for line in part}
            for identity, amount, direction, booked in _given_before(tx, account.id, list(index)):
                if stored is not None:
                    stored.add((account.id, identity))
                line = index[identity]
                if (amount, direction, booked) != _facts(line):
                    raise _conflict(account, identity, (amount, direction, booked), _facts(line))


def _facts(line: ParsedLine) -> tuple[int, str, date]:
    return line.amount, line.direction.value, line.booking_date


def _given_before(
    tx: Tx, account_id: int, identities: Sequence[str]
) -> list[tuple[str, int, str, date]]:
    """The account's stored lines among ``identities``, with what they said."""
    if tx.dialect is Dialect.POSTGRESQL and len(identities) > _FEW_KEYS:
        found = send(
            tx, _GIVEN_BEFORE_MANY, {"account": account_id, "identities": json.dumps(identities)}
        )
    else:
        found = tx.conn.execute(
            _GIVEN_BEFORE_FEW, {"account": account_id, "identities": list(identities)}
        )
    return [(r[0], r[1], r[2], r[3]) for r in found]


# Built once: a day's upload asks it for its line or two.
_GIVEN_BEFORE_FEW = select(
    BankLine.identity, BankLine.amount, BankLine.direction, BankLine.booking_date
).where(
    BankLine.bank_account_id == bindparam("account"),
    BankLine.identity.in_(bindparam("identities", expanding=True)),
)
_GIVEN_BEFORE_MANY = text(
    "SELECT b.identity, b.amount, b.direction, b.booking_date"
    " FROM bank_lines b JOIN json_array_elements_text(CAST(:identities AS json)) x(identity)"
    " ON b.bank_account_id = :account AND b.identity = x.identity"
)


def _conflict(
    account: BankAccountView,
    identity: str,
    before: tuple[int, str, date],
    now: tuple[int, str, date],
) -> YirongError:
    return YirongError(
        "statement_line_conflict",
        account=account.number,
        line=identity,
        before={"amount": before[0], "direction": before[1], "booking_date": before[2]},
        now={"amount": now[0], "direction": now[1], "booking_date": now[2]},
    )


def _take(tx: Tx, file_id: int, part: list[tuple[int, BankStatement, ParsedLine]]) -> None:
    """One chunk: its new lines stored and matched, in one transaction. Lines already
    stored (by an earlier run of this import, or from another file) are skipped."""
    accounts = bank_accounts_numbered(tx, {s.account_number for _, s, _ in part})
    statement_ids = list(
        tx.conn.scalars(
            select(Statement.id).where(Statement.file_id == file_id).order_by(Statement.id)
        )
    )
    wanted = sorted({(accounts[s.account_number].id, line.identity) for _, s, line in part})
    _store_and_match(tx, file_id, statement_ids, accounts, part, _stored(tx, wanted))


def _store_and_match(
    tx: Tx,
    file_id: int,
    statement_ids: Sequence[int],
    accounts: dict[str, BankAccountView],
    part: list[tuple[int, BankStatement, ParsedLine]],
    known: set[tuple[int, str]],
) -> None:
    """The lines of ``part`` not ``known`` (stored before) stored and matched."""
    rows = []
    fresh: list[tuple[BankAccountView, ParsedLine]] = []
    for n, stmt, line in part:
        account = accounts[stmt.account_number]
        if (account.id, line.identity) in known:
            continue
        known.add((account.id, line.identity))  # twice in this file: the second is a duplicate
        fresh.append((account, line))
        rows.append(_row(file_id, statement_ids[n], account, line))
    if not rows:
        return
    ids = _insert_lines(tx, rows)
    taken = [
        Taken(line_id, account, line) for line_id, (account, line) in zip(ids, fresh, strict=True)
    ]
    match_lines_in(tx, taken, rules_in(tx))


def _stored(tx: Tx, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (account, identity) of ``keys`` are stored already. On PostgreSQL the keys
    travel as one JSON parameter (thousands of bound parameters cost more to send than
    the query costs to run; a few keys are looked up by the index, which a join to the
    JSON's rows, planned on a guess of their number, may pass by)."""
    if tx.dialect is Dialect.POSTGRESQL and len(keys) > _FEW_KEYS:
        found = tx.conn.execute(
            text(
                "SELECT b.bank_account_id, b.identity FROM bank_lines b"
                " JOIN json_array_elements(CAST(:keys AS json)) x"
                " ON b.bank_account_id = (x->>0)::int AND b.identity = x->>1"
            ),
            {"keys": json.dumps(keys)},
        )
    else:
        found = tx.conn.execute(
            select(BankLine.bank_account_id, BankLine.identity).where(
                tuple_(BankLine.bank_account_id, BankLine.identity).in_(list(keys))
            )
        )
    return {(account_id, identity) for account_id, identity in found}


_COLUMNS = (
    ("bank_account_id", "int"),
    ("identity", "text"),
    ("file_id", "bigint"),
    ("statement_id", "bigint"),
    ("booking_date", "date"),
    ("value_date", "date"),
    ("direction", "text"),
    ("amount", "bigint"),
    ("counterparty_name", "text"),
    ("counterparty_account", "text"),
    ("counterparty_bank", "text"),
    ("memo", "text"),
    ("bank_serial", "text"),
    ("end_to_end_ref", "text"),
    ("virtual_account", "text"),
    ("balance_after", "bigint"),
    ("booked_at", "text"),
    ("reversal", "boolean"),
    ("status", "text"),
    ("suspense_moves", "int"),
)
_INSERT_PG = text(
    f"INSERT INTO bank_lines ({', '.join(c for c, _ in _COLUMNS)}) SELECT "
    + ", ".join(f"(x->>'{c}')::{t}" for c, t in _COLUMNS)
    + " FROM json_array_elements(CAST(:rows AS json)) x RETURNING bank_account_id, identity, id"
)


def _insert_lines(tx: Tx, rows: list[dict[str, object]]) -> list[int]:
    """Store the chunk's new lines; their ids, in the order given."""
    if tx.dialect is Dialect.POSTGRESQL:
        found = {
            (account_id, identity): line_id
            for account_id, identity, line_id in send(
                tx, _INSERT_PG, {"rows": json.dumps(rows, default=str)}
            )
        }
        return [found[(int(str(r["bank_account_id"])), str(r["identity"]))] for r in rows]
    return list(
        tx.conn.scalars(insert(BankLine).returning(BankLine.id, sort_by_parameter_order=True), rows)
    )


def _row(
    file_id: int, statement_id: int, account: BankAccountView, line: ParsedLine
) -> dict[str, object]:
    return {
        "bank_account_id": account.id,
        "identity": line.identity[:80],
        "file_id": file_id,
        "statement_id": statement_id,
        "booking_date": line.booking_date,
        "value_date": line.value_date,
        "direction": line.direction.value,
        "amount": line.amount,
        "counterparty_name": line.counterparty_name[:200],
        "counterparty_account": line.counterparty_account[:40],
        "counterparty_bank": line.counterparty_bank[:100],
        "memo": line.memo[:500],
        "bank_serial": line.bank_serial[:80],
        "end_to_end_ref": line.end_to_end_ref[:80],
        "virtual_account": line.virtual_account[:40],
        "balance_after": line.balance_after,
        "booked_at": line.booked_at.isoformat() if line.booked_at else None,
        "reversal": line.reversal,
        "status": "new",
        "suspense_moves": 0,
    }


def _finish(tx: Tx, file_id: int) -> ImportResult:
    """The file imported, with what its import did; or, if another import finished it
    first, what that one did (the UPDATE waits for it and then finds nothing to do)."""
    done = send(tx, _FINISH, {"file": file_id}).one_or_none()
    if done is not None:
        return _result(done, "created")
    found = tx.conn.execute(select(*_RESULT).where(StatementFile.id == file_id)).one()
    return _result(found, "exists")


def _counted(status: str) -> Any:
    return func.count().filter(BankLine.status == status)


# The file's new lines counted by what became of them, in the statement that finishes it.
_COUNTS = (
    select(
        bindparam("file", type_=BigInteger).label("file_id"),  # one row, even for no lines
        func.count().label("new"),
        _counted("matched").label("matched"),
        _counted("partial").label("partial"),
        _counted("exception").label("exception"),
    )
    .where(BankLine.file_id == bindparam("file"))
    .subquery("counts")
)
_RESULT = (
    StatementFile.id,
    StatementFile.format,
    StatementFile.statements,
    StatementFile.lines,
    StatementFile.new_lines,
    StatementFile.duplicate_lines,
    StatementFile.matched_lines,
    StatementFile.partial_lines,
    StatementFile.exception_lines,
    StatementFile.received_on,
)
_FINISH = (
    update(StatementFile)
    .where(StatementFile.id == _COUNTS.c.file_id, StatementFile.state != "imported")
    .values(
        state="imported",
        new_lines=_COUNTS.c.new,
        duplicate_lines=StatementFile.lines - _COUNTS.c.new,
        matched_lines=_COUNTS.c.matched,
        partial_lines=_COUNTS.c.partial,
        exception_lines=_COUNTS.c.exception,
    )
    .returning(*_RESULT)
)


def _result(record: Any, status: str) -> ImportResult:
    """``record``: a file's row (an entity, or a row of its result's columns)."""
    return ImportResult(
        status,
        record.id,
        record.format,
        record.statements,
        record.lines,
        record.new_lines or 0,
        record.duplicate_lines or 0,
        record.matched_lines or 0,
        record.partial_lines or 0,
        record.exception_lines or 0,
        record.received_on,
    )


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class StatementFileView:
    id: int
    filename: str
    format: str
    sha256: str
    size: int
    state: str
    statements: int
    lines: int
    received_on: date
    received_by: str
    result: ImportResult | None


@read_only
def statement_files(tx: Tx, *, after: int = 0, limit: int = 50) -> list[StatementFileView]:
    rows = tx.session.scalars(
        select(StatementFile)
        .where(StatementFile.id > after)
        .order_by(StatementFile.id)
        .limit(limit)
    )
    return [_file_view(r) for r in rows]


def _file_view(r: StatementFile) -> StatementFileView:
    return StatementFileView(
        r.id,
        r.filename,
        r.format,
        r.sha256,
        r.size,
        r.state,
        r.statements,
        r.lines,
        r.received_on,
        r.received_by,
        _result(r, "exists") if r.state == "imported" else None,
    )


@read_only
def statement_file(tx: Tx, file_id: int) -> tuple[StatementFileView, bytes]:
    """A file as it was received (its bytes, which still hash to its SHA-256)."""
    found = tx.session.get(StatementFile, file_id)
    if found is None:
        raise YirongError("statement_file_not_found", file=file_id)
    return _file_view(found), found.content
