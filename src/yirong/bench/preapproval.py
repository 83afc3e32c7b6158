"""``yirong bench preapproval``: features and pre-approval for many agents, against
the floor of one plain SQL aggregate over the same wallet history, on PostgreSQL and
SQLite. Medians of several runs; peak memory of the process that runs them.

The headline is a month's first run: every agent's features computed from the year
of history, then three funders' offers. A rerun in the same month (features already
there: the daily case) is reported beside it."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import text

from yirong.bench import history
from yirong.bench.process import figures_table, in_fresh_process, peak_rss_mb
from yirong.bench.workspace import bench_database
from yirong.books.service import current_business_date
from yirong.credit.preapproval import run_preapproval
from yirong.demo.funders import FUNDERS
from yirong.features.service import MONTHS, month_start
from yirong.funders.service import add_product, register_funder
from yirong.infra.db import Database, Dialect, Tx
from yirong.ledger.verify import verify
from yirong.pricing.schedule import add_months

SCHEMA = "yirong_bench_preapproval"


def prepare(url: str | None, agents: int) -> Database:
    db = bench_database(url, schema=SCHEMA)
    history.build(db, agents)
    for funder, products in FUNDERS:
        register_funder(db, funder)
        for product in products:
            add_product(db, funder.code, product)
    report = verify(db)
    if not report.ok:
        raise RuntimeError(f"the benchmark's history does not verify: {report.checks}")
    return db


def floor_seconds(db: Database) -> float:
    today = current_business_date(db)
    as_of = month_start(today)
    params = {"start": add_months(as_of, -MONTHS), "as_of": as_of}
    started = time.perf_counter()
    db.run(lambda tx: tx.conn.execute(text(history.floor_sql()), params).all(), readonly=True)
    return time.perf_counter() - started


def _measured(url: str) -> tuple[float, int, float]:
    db = Database(url)
    started = time.perf_counter()
    report = run_preapproval(db)
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed, report.offers_created, peak_rss_mb()


def preapproval_run(db: Database) -> tuple[float, int, float]:
    """One run in a fresh process (so its peak memory is the run's own)."""
    return in_fresh_process(db, _measured)


def _reset(db: Database, *, features: bool) -> None:
    """Undo a run's effect on the next one: live offers withdrawn (so every agent
    gets offers again) and, for a month-start run, this month's features removed
    (so they are computed again from the year of history)."""

    def reset(tx: Tx) -> None:
        tx.conn.execute(text("UPDATE offers SET status = 'withdrawn' WHERE status = 'live'"))
        if features:
            tx.conn.execute(text("DELETE FROM agent_features"))

    db.run(reset)
    if db.dialect is Dialect.POSTGRESQL:
        # What autovacuum would do between two days' runs: the deleted rows' space back
        # and their statistics gone, so no run pays for the previous one's leftovers.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE agent_features, offers"))


def bench_backend(
    name: str, url: str | None, agents: int, runs: int, progress: Progress
) -> dict[str, Any]:
    task = progress.add_task(f"{name}: building {agents:,} agents' history", total=3 * runs + 1)
    db = prepare(url, agents)
    progress.advance(task)
    floors, seconds, reruns, offers, peaks = [], [], [], [], []
    for run in range(runs):
        progress.update(task, description=f"{name}: floor, run {run + 1}/{runs}")
        floors.append(floor_seconds(db))
        progress.advance(task)
        progress.update(task, description=f"{name}: month's first run {run + 1}/{runs}")
        _reset(db, features=True)
        elapsed, created, peak = preapproval_run(db)
        seconds.append(elapsed)
        offers.append(created)
        peaks.append(peak)
        progress.advance(task)
        progress.update(task, description=f"{name}: same-month rerun {run + 1}/{runs}")
        _reset(db, features=False)
        elapsed, created, peak = preapproval_run(db)
        reruns.append(elapsed)
        peaks.append(peak)
        progress.advance(task)
    verified = verify(db).ok
    db.dispose()
    median_s, median_floor = statistics.median(seconds), statistics.median(floors)
    median_rerun = statistics.median(reruns)
    return {
        "agents": agents,
        "seconds": round(median_s, 2),
        "floor_seconds": round(median_floor, 2),
        "ratio": round(median_s / median_floor, 2),
        "offers": int(statistics.median(offers)),
        "peak_rss_mb": round(max(peaks), 1),
        "rerun_seconds": round(median_rerun, 2),
        "rerun_ratio": round(median_rerun / median_floor, 2),
        "runs": [round(s, 2) for s in seconds],
        "rerun_runs": [round(s, 2) for s in reruns],
        "floor_runs": [round(s, 2) for s in floors],
        "verify_ok": verified,
    }


def bench_preapproval(pg_url: str, *, agents: int, runs: int, console: Console) -> dict[str, Any]:
    sqlite_path = Path(tempfile.mkdtemp(prefix="yirong-bench-")) / "preapproval.db"
    with Progress(console=console, transient=True) as progress:
        result = {
            "postgresql": bench_backend("PostgreSQL", pg_url, agents, runs, progress),
            "sqlite": bench_backend("SQLite", f"sqlite:///{sqlite_path}", agents, runs, progress),
        }
    table = figures_table(
        f"Features and pre-approval for {agents:,} agents, 3 scorecard funders (medians of {runs})",
        (
            "database",
            "month's first run s",
            "floor s",
            "ratio",
            "same-month rerun s",
            "ratio",
            "offers",
            "peak RSS MB",
        ),
    )
    for name, r in result.items():
        table.add_row(
            name,
            f"{r['seconds']:.2f}",
            f"{r['floor_seconds']:.2f}",
            f"{r['ratio']:.2f}",
            f"{r['rerun_seconds']:.2f}",
            f"{r['rerun_ratio']:.2f}",
            f"{r['offers']:,}",
            f"{r['peak_rss_mb']:.0f}",
        )
    console.print(table)
    print(json.dumps(result))
    return result
