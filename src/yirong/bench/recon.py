"""``yirong bench recon``: importing and matching a statement of a million lines
against a million live orders, against a floor measured in the same run, on
PostgreSQL and SQLite. Medians of several runs; peak memory of the importing process.

The book: ``loanbook``'s agents, lines and loans (lines/4 agents), and beside them
``runs`` × ``lines`` live orders (status ``sent``, to be funded today), four per agent
a run. Each run imports a statement of its own (Yirong's CSV layout, ``lines`` credit
lines, each from its funder's settlement account quoting one order for its exact
amount, in shuffled order) and must fund every one of that run's orders: the loans
credited, the wallets credited, the funders told, all in the books; so every run
starts from the same state but for the earlier runs' rows in the tables.

The floor, before each run, in the same database: what a DBA would write to match
the same lines to the same orders without moving money: the lines loaded into a bare
table (COPY on PostgreSQL), then ``INSERT INTO bench_matches SELECT ... FROM
bench_lines JOIN drawdowns ON order_ref = reference AND amount = amount``, committed.
The import does that and more: it proves and stores every line, and posts each
match (the funding, the loan to the wallet, the funder's memo book, the loan's clock
and the funder's event): see BENCHMARKS.md for where the time goes."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import text

from yirong.bench import loanbook
from yirong.bench.history import move_sequences
from yirong.bench.process import figures_table, in_fresh_process, peak_rss_mb
from yirong.bench.sql import padded, series
from yirong.bench.workspace import bench_database, drop_schema
from yirong.books.service import add_bank_account
from yirong.infra.db import Database, Dialect, Tx
from yirong.ledger.verify import verify
from yirong.reconciliation.statements import import_statement_file

SCHEMA = "yirong_bench_recon"
RESERVE = "755915678910802"
DAY = loanbook.BUSINESS_DATE
CHUNK = 5_000
HEADER = (
    "booking_date,value_date,direction,amount_fen,counterparty_name,counterparty_account,"
    "counterparty_bank,memo,bank_serial,end_to_end_ref,virtual_account,balance_after_fen\n"
)


def prepare(url: str, lines: int, runs: int, schema: str) -> tuple[Database, int, float]:
    """The loan book, the reserve account, and ``runs`` × ``lines`` live orders;
    verified. Returns the database, the first order's id, and how long it took."""
    started = time.perf_counter()
    db = bench_database(url, schema=schema)
    loanbook.build(db, lines, 1)
    add_bank_account(db, RESERVE, "招商银行", "Yirong reserve")
    first = db.run(lambda tx: _orders(tx, lines, runs))
    report = verify(db)
    if not report.ok:
        raise RuntimeError(f"the benchmark's book does not verify: {report.checks}")
    return db, first, time.perf_counter() - started


def _orders(tx: Tx, lines: int, runs: int) -> int:
    """Order ``j`` (of run ``j / lines``) is on agent ``j % agents``'s line."""
    d = tx.dialect
    agents = loanbook.agents_for(lines)
    first = int(tx.conn.execute(text("SELECT MAX(id) FROM drawdowns")).scalar_one()) + 1
    ref = f"'YR{DAY:%Y%m%d}' || {padded(d, f'{first} + s.i', 10)}"
    tx.conn.execute(
        text(f"""
INSERT INTO drawdowns (id, order_ref, request_key, line_id, agent_id, funder_id, product_id,
  amount, fee, term_days, annual_rate_ppm, penalty_rate_ppm, day_basis, grace_days,
  allocation_order, status, requested_on, fund_by, principal, since_day,
  normal_fen_days, penalty_fen_days, overdue_day, interest_paid, penalty_paid,
  principal_paid, accrual_open)
SELECT {first} + s.i, {ref}, 'recon:' || s.i, l.id, l.agent_id, l.funder_id, l.product_id,
  100000 + (s.i % 50) * 10000, 0, 30, l.annual_rate_ppm,
  (2 * CAST(l.annual_rate_ppm AS BIGINT) * p.penalty_multiplier_ppm + 1000000) / 2000000,
  p.day_basis, p.grace_days, p.allocation_order, 'requested', :day, :day,
  0, 0, 0, 0, 0, 0, 0, 0, false
FROM {series(d, lines * runs)}
JOIN credit_lines l ON l.id = s.i % {agents} + 1
JOIN funder_products p ON p.id = l.product_id"""),
        {"day": DAY},
    )
    move_sequences(tx, ("drawdowns",))
    tx.conn.execute(text("ANALYZE" if d is Dialect.POSTGRESQL else "ANALYZE drawdowns"))
    return first


def statement(
    db: Database, first: int, lines: int, run: int
) -> tuple[bytes, list[tuple[str, int]]]:
    """Run ``run``'s statement: one line per order of the run, shuffled; and the
    (reference, amount) pairs the floor matches."""
    rows: list[tuple[str, int, str]] = db.run(
        lambda tx: [
            (r[0], r[1], r[2])
            for r in tx.conn.execute(
                text(
                    "SELECT d.order_ref, d.amount, f.settlement_bank_account FROM drawdowns d"
                    " JOIN funders f ON f.id = d.funder_id WHERE d.id >= :lo AND d.id < :hi"
                ),
                {"lo": first + run * lines, "hi": first + (run + 1) * lines},
            )
        ],
        readonly=True,
    )
    random.Random(run).shuffle(rows)
    day = DAY.isoformat()
    body = "".join(
        f"{day},{day},C,{amount},,{account},,放款 {ref},B{run}-{n},,,\n"
        for n, (ref, amount, account) in enumerate(rows)
    )
    total = sum(amount for _, amount, _ in rows)
    head = (
        f"# account: {RESERVE}\n# account_name: Yirong reserve\n# currency: CNY\n"
        f"# statement_id: bench-{run}\n# from: {day}\n# to: {day}\n"
        f"# opening_balance_fen: 0\n# closing_balance_fen: {total}\n"
    )
    return (head + HEADER + body).encode(), [(ref, amount) for ref, amount, _ in rows]


def floor_seconds(db: Database, pairs: list[tuple[str, int]]) -> float:
    """The same lines loaded into a bare table and joined to the orders, the matches
    written and committed; the tables dropped afterwards, untimed."""
    setup = (
        "CREATE TABLE bench_lines (reference VARCHAR(32), amount BIGINT)",
        "CREATE TABLE bench_matches (drawdown_id BIGINT, reference VARCHAR(32))",
    )
    for sql in setup:
        db.run(lambda tx, sql=sql: tx.conn.execute(text(sql)))  # type: ignore[misc]

    def load_and_join(tx: Tx) -> None:
        if tx.dialect is Dialect.POSTGRESQL:
            with tx.raw.cursor() as cur, cur.copy("COPY bench_lines FROM STDIN") as copy:
                for pair in pairs:
                    copy.write_row(pair)
        else:
            tx.raw.executemany("INSERT INTO bench_lines VALUES (?, ?)", pairs)
        tx.conn.execute(
            text(
                "INSERT INTO bench_matches SELECT d.id, l.reference FROM bench_lines l"
                " JOIN drawdowns d ON d.order_ref = l.reference AND d.amount = l.amount"
            )
        )

    started = time.perf_counter()
    db.run(load_and_join)
    elapsed = time.perf_counter() - started
    matched = db.run(
        lambda tx: tx.conn.execute(text("SELECT COUNT(*) FROM bench_matches")).scalar_one()
    )
    for table in ("bench_matches", "bench_lines"):
        db.run(lambda tx, table=table: tx.conn.execute(text(f"DROP TABLE {table}")))  # type: ignore[misc]
    if matched != len(pairs):
        raise RuntimeError(f"the floor matched {matched} of {len(pairs)} lines")
    return elapsed


def _statement_and_floor(path: str, first: int, lines: int, run: int) -> Any:
    def work(url: str) -> float:
        db = Database(url)
        content, pairs = statement(db, first, lines, run)
        Path(path).write_bytes(content)
        del content
        elapsed = floor_seconds(db, pairs)
        db.dispose()
        return elapsed

    return work


def _import(path: str) -> Any:
    def work(url: str) -> tuple[float, dict[str, Any], float]:
        db = Database(url)
        content = Path(path).read_bytes()
        started = time.perf_counter()
        result = import_statement_file(db, content, filename=Path(path).name, chunk=CHUNK)
        elapsed = time.perf_counter() - started
        db.dispose()
        return elapsed, {"lines": result.lines, "matched": result.matched}, peak_rss_mb()

    return work


def bench_backend(
    name: str, url: str, lines: int, runs: int, schema: str, progress: Progress, work: Path
) -> dict[str, Any]:
    task = progress.add_task(f"{name}: building {lines * runs:,} orders", total=2 * runs + 1)
    db, first, setup = prepare(url, lines, runs, schema)
    progress.advance(task)
    floors, seconds, peaks, matched = [], [], [], []
    for run in range(runs):
        path = work / f"statement-{name}-{run}.csv"
        progress.update(task, description=f"{name}: floor, run {run + 1}/{runs}")
        # The statement is written and the floor measured in a child of its own, and
        # the import in another: this process holds neither (a forked child's resident
        # memory would count what its parent held).
        floors.append(in_fresh_process(db, _statement_and_floor(str(path), first, lines, run)))
        progress.advance(task)
        progress.update(task, description=f"{name}: import, run {run + 1}/{runs}")
        elapsed, result, peak = in_fresh_process(db, _import(str(path)))
        seconds.append(elapsed)
        peaks.append(peak)
        matched.append(result["matched"])
        progress.advance(task)
    funded = db.run(
        lambda tx: tx.conn.execute(
            text("SELECT COUNT(*) FROM drawdowns WHERE id >= :lo AND status = 'credited'"),
            {"lo": first},
        ).scalar_one(),
        readonly=True,
    )
    verified = verify(db).ok
    db.dispose()
    median_s, median_floor = statistics.median(seconds), statistics.median(floors)
    return {
        "lines": lines,
        "seconds": round(median_s, 6),
        "floor_seconds": round(median_floor, 6),
        "ratio": round(median_s / median_floor, 2),
        "peak_rss_mb": round(max(peaks), 1),
        "us_per_line": round(median_s / lines * 1e6, 1),
        "matched": min(matched),
        "all_funded": funded == lines * runs and min(matched) == lines,
        "verify_ok": verified,
        "runs": [round(s, 4) for s in seconds],
        "floor_runs": [round(s, 4) for s in floors],
        "setup_seconds": round(setup, 1),
    }


def bench_recon(
    pg_url: str,
    *,
    lines: int,
    runs: int,
    console: Console,
    schema: str = SCHEMA,
    sqlite: bool = True,
) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="yirong-bench-recon-"))
    try:
        with Progress(console=console, transient=True) as progress:
            result = {
                "postgresql": bench_backend(
                    "PostgreSQL", pg_url, lines, runs, schema, progress, directory
                )
            }
            if sqlite:
                result["sqlite"] = bench_backend(
                    "SQLite",
                    f"sqlite:///{directory / 'recon.db'}",
                    lines,
                    runs,
                    schema,
                    progress,
                    directory,
                )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        drop_schema(pg_url, schema)
    table = figures_table(
        f"Import and match {lines:,} statement lines (medians of {runs})",
        ("database", "import s", "floor s", "ratio", "µs a line", "peak RSS MB", "verified"),
    )
    for name, r in result.items():
        table.add_row(
            name,
            f"{r['seconds']:.2f}",
            f"{r['floor_seconds']:.2f}",
            f"{r['ratio']:.2f}",
            f"{r['us_per_line']:.0f}",
            f"{r['peak_rss_mb']:.0f}",
            "yes" if r["verify_ok"] and r["all_funded"] else "NO",
        )
    console.print(table)
    print(json.dumps(result))
    return result
