"""``yirong bench eod``: the end of day over a million live drawdowns, against the
floor of one set-based UPDATE over the same rows, on PostgreSQL and SQLite. Medians
of several runs; peak memory of the process that runs the end of day.

Each run closes the next business day of the same book (``loanbook``): every day
0.3% of the loans fall overdue (their wallets frozen and swept), the rest accrue and
are counted in the snapshot. Before each day's end of day, in the same database, the
floor: ``UPDATE drawdowns`` touching every live loan once, committed, then undone
(and, on PostgreSQL, the table compacted, so that the end of day reads the same
pages the first run did)."""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import text

from yirong.bench import loanbook
from yirong.bench.process import figures_table, in_fresh_process, peak_rss_mb
from yirong.bench.workspace import bench_database, drop_schema
from yirong.eod.service import run_eod, steps
from yirong.infra.db import Database, Dialect
from yirong.ledger.verify import verify

SCHEMA = "yirong_bench_eod"
LIVE = "status IN ('credited', 'overdue')"
FLOOR_SQL = f"UPDATE drawdowns SET normal_fen_days = normal_fen_days + principal WHERE {LIVE}"
UNDO_SQL = f"UPDATE drawdowns SET normal_fen_days = normal_fen_days - principal WHERE {LIVE}"


def prepare(url: str, loans: int, days: int, schema: str) -> tuple[Database, float]:
    """The book, verified; and how long building it took."""
    started = time.perf_counter()
    db = bench_database(url, schema=schema)
    loanbook.build(db, loans, days)
    report = verify(db)
    if not report.ok:
        raise RuntimeError(f"the benchmark's loan book does not verify: {report.checks}")
    return db, time.perf_counter() - started


def floor_seconds(db: Database) -> float:
    """One set-based UPDATE of every live loan, committed (durable, as the end of
    day's transactions are); then undone, untimed."""
    started = time.perf_counter()
    db.run(lambda tx: tx.conn.execute(text(FLOOR_SQL)))
    elapsed = time.perf_counter() - started
    db.run(lambda tx: tx.conn.execute(text(UNDO_SQL)))
    if db.dialect is Dialect.POSTGRESQL:
        # The two updates left two dead versions of every row: compact the table (as
        # it was built) so that every run's end of day reads the same pages.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM FULL ANALYZE drawdowns"))
    return elapsed


def _measured(url: str) -> tuple[float, dict[str, float], dict[str, int], float]:
    db = Database(url)
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    report = run_eod(db, progress=lambda name, _n, _all: marks.append((name, time.perf_counter())))
    elapsed = time.perf_counter() - started
    db.dispose()
    step_seconds = {name: end - begin for (name, begin), (_, end) in pairwise(marks)}
    return elapsed, step_seconds, report.done["overdue"], peak_rss_mb()


def eod_run(db: Database) -> tuple[float, dict[str, float], dict[str, int], float]:
    """One end of day in a fresh process (so its peak memory is the run's own)."""
    return in_fresh_process(db, _measured)


def bench_backend(
    name: str, url: str, loans: int, runs: int, schema: str, progress: Progress
) -> dict[str, Any]:
    task = progress.add_task(f"{name}: building {loans:,} drawdowns", total=2 * runs + 1)
    db, setup = prepare(url, loans, runs, schema)
    progress.advance(task)
    floors, seconds, peaks = [], [], []
    step_runs: dict[str, list[float]] = {step: [] for step, _ in steps()}
    overdue = []
    for run in range(runs):
        progress.update(task, description=f"{name}: floor, run {run + 1}/{runs}")
        floors.append(floor_seconds(db))
        progress.advance(task)
        progress.update(task, description=f"{name}: end of day, run {run + 1}/{runs}")
        elapsed, step_seconds, fell, peak = eod_run(db)
        seconds.append(elapsed)
        peaks.append(peak)
        overdue.append(fell)
        for step, spent in step_seconds.items():
            step_runs[step].append(spent)
        progress.advance(task)
    verified = verify(db).ok
    db.dispose()
    median_s, median_floor = statistics.median(seconds), statistics.median(floors)
    return {
        "loans": loans,
        "agents": loanbook.agents_for(loans),
        # Four places: a small book's floor takes milliseconds, which two would round to 0.
        "eod_seconds": round(median_s, 4),
        "floor_seconds": round(median_floor, 4),
        "ratio": round(median_s / median_floor, 2),
        "peak_rss_mb": round(max(peaks), 1),
        "verify_ok": verified,
        "eod_runs": [round(s, 4) for s in seconds],
        "floor_runs": [round(s, 4) for s in floors],
        "step_seconds": {k: round(statistics.median(v), 2) for k, v in step_runs.items()},
        "overdue_per_day": overdue,
        "setup_seconds": round(setup, 1),
    }


def bench_eod(
    pg_url: str, *, loans: int, runs: int, console: Console, schema: str = SCHEMA
) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="yirong-bench-"))
    try:
        with Progress(console=console, transient=True) as progress:
            result = {
                "postgresql": bench_backend("PostgreSQL", pg_url, loans, runs, schema, progress),
                "sqlite": bench_backend(
                    "SQLite", f"sqlite:///{directory / 'eod.db'}", loans, runs, schema, progress
                ),
            }
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        drop_schema(pg_url, schema)
    _print_table(console, result, loans, runs)
    print(json.dumps(result))
    return result


def _print_table(console: Console, result: dict[str, Any], loans: int, runs: int) -> None:
    table = figures_table(
        f"End of day over {loans:,} live drawdowns, one day a run (medians of {runs})",
        (
            "database",
            "EOD s",
            "floor s",
            "ratio",
            "accrue s",
            "overdue s",
            "late/swept",
            "RSS MB",
        ),
    )
    for name, r in result.items():
        fell = statistics.median(day["loans"] for day in r["overdue_per_day"])
        swept = statistics.median(day["swept"] for day in r["overdue_per_day"])
        table.add_row(
            name,
            f"{r['eod_seconds']:.2f}",
            f"{r['floor_seconds']:.2f}",
            f"{r['ratio']:.2f}",
            f"{r['step_seconds']['accrue_and_snapshot']:.2f}",
            f"{r['step_seconds']['overdue']:.2f}",
            f"{fell:,.0f} / {swept:,.0f}",
            f"{r['peak_rss_mb']:.0f}",
        )
    console.print(table)
