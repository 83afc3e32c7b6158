"""``yirong bench recon-day``: the day's reconciliation over the end-of-day bench's
book (``loanbook``: a million live drawdowns on three funders), against a plain SQL
comparison of the same rows in the same run, on PostgreSQL and SQLite.

What is timed, each in a fresh process (so its peak memory is its own):

* **ours**: the day's funder files made (every funder's loan book, repayments and
  payouts, written and kept, ``make_files``) and the day before reconciled against
  the bank (``run_day_in``); then every lender's own loan book of the day, as it sends
  it back (ours with two rows changed), proved and compared with ours line by line,
  its differences kept (``compare_funder_file``);
* the **floor**: the same lenders' files loaded into a bare table (``COPY`` on
  PostgreSQL, ``executemany`` on SQLite) and compared with the live drawdowns in one
  SQL statement (a full join on the order, each amount and the status compared, the
  interest worked out by the same expression the books use), the differences counted.

Between runs, untimed, the day's files and checks are removed, so that every run
makes them again."""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import text

from yirong.bench import loanbook
from yirong.bench.process import figures_table, in_fresh_process, peak_rss_mb
from yirong.bench.workspace import bench_database, drop_schema
from yirong.books.service import current_business_date
from yirong.infra.db import Database, Dialect, Tx
from yirong.loans.book import charged_interest_sql
from yirong.reconciliation.daily import run_day_in
from yirong.reconciliation.funder_files import compare_funder_file, funder_file, make_files
from yirong.reconciliation.funder_layout import ok_marker

SCHEMA = "yirong_bench_recon_day"
LENDERS = ("F01", "F02", "F03")
CHANGED = 2  # rows each lender's file differs from ours by


def prepare(url: str, loans: int, schema: str) -> tuple[Database, float]:
    started = time.perf_counter()
    db = bench_database(url, schema=schema)
    loanbook.build(db, loans, 1)
    return db, time.perf_counter() - started


def _make(url: str) -> tuple[float, float, int]:
    db = Database(url)
    started = time.perf_counter()
    today = current_business_date(db)

    made = make_files(db, today)
    db.run(lambda tx: run_day_in(tx, today - timedelta(days=1), actor="bench"))
    rows = sum(f.rows for f in made if f.kind == "LOANS")
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed, peak_rss_mb(), rows


def _compare(paths: dict[str, str]) -> Any:
    def work(url: str) -> tuple[float, float, int]:
        db = Database(url)
        today = current_business_date(db)
        started = time.perf_counter()
        differences = 0
        for code, path in paths.items():
            content = Path(path).read_bytes()
            ok = Path(path + ".ok").read_bytes()  # the funder's marker, sent beside it
            check = compare_funder_file(db, code, today, "LOANS", content, ok, actor="bench")
            differences += len(check.differences)
        elapsed = time.perf_counter() - started
        db.dispose()
        return elapsed, peak_rss_mb(), differences

    return work


def their_files(db: Database, work: Path) -> dict[str, str]:
    """Each lender's own file of the day: ours, with one loan's interest a fen more
    and another loan missing (two differences each), its control record recounted."""
    today = current_business_date(db)
    paths = {}
    for code in LENDERS:
        ours = funder_file(db, code, today, "LOANS").content.decode()
        control, header, *rows = ours.rstrip("\n").split("\n")
        if len(rows) >= CHANGED:
            cells = rows[0].split("|")
            cells[3] = str(int(cells[3]) + 1)
            rows = ["|".join(cells), *rows[1:-1]]
        totals = [0, 0, 0]
        for row in rows:
            cells = row.split("|")
            for n, i in enumerate((2, 3, 4)):
                totals[n] += int(cells[i])
        head = "|".join([*control.split("|")[:4], str(len(rows)), *map(str, totals)])
        path = work / f"{code}.txt"
        content = ("\n".join([head, header, *rows]) + "\n").encode()
        path.write_bytes(content)
        Path(f"{path}.ok").write_bytes(ok_marker(content))
        paths[code] = str(path)
    return paths


def floor_seconds(db: Database, paths: dict[str, str]) -> tuple[float, int]:
    """The lenders' rows loaded into a bare table and compared with the live loans in
    one statement; the differences counted. The table is dropped afterwards, untimed."""
    rows: list[tuple[str, str, int, int, int, str]] = []
    for code, path in paths.items():
        for line in Path(path).read_text().split("\n")[2:]:
            if line:
                c = line.split("|")
                rows.append((code, c[0], int(c[2]), int(c[3]), int(c[4]), c[5]))
    db.run(
        lambda tx: tx.conn.execute(
            text(
                "CREATE TABLE bench_their_loans (funder VARCHAR(32), order_ref VARCHAR(32),"
                " principal BIGINT, interest BIGINT, penalty BIGINT, status VARCHAR(16))"
            )
        )
    )
    next_ord = current_business_date(db).toordinal() + 1
    live = "d.status IN ('credited', 'overdue')"
    compare_sql = f"""
SELECT COUNT(*) FROM bench_their_loans t
FULL OUTER JOIN drawdowns d ON d.order_ref = t.order_ref
WHERE (t.order_ref IS NOT NULL AND (d.id IS NULL OR NOT {live}))
  OR ({live} AND (t.order_ref IS NULL OR t.principal <> d.principal
    OR t.interest <> {charged_interest_sql()} - d.interest_paid OR t.status <> d.status))
"""

    def load_and_compare(tx: Tx) -> int:
        if tx.dialect is Dialect.POSTGRESQL:
            with tx.raw.cursor() as cur, cur.copy("COPY bench_their_loans FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            tx.raw.executemany("INSERT INTO bench_their_loans VALUES (?, ?, ?, ?, ?, ?)", rows)
        return int(tx.conn.execute(text(compare_sql), {"next_ord": next_ord}).scalar_one())

    started = time.perf_counter()
    differing = db.run(load_and_compare)
    elapsed = time.perf_counter() - started
    db.run(lambda tx: tx.conn.execute(text("DROP TABLE bench_their_loans")))
    return elapsed, differing


def _forget_the_day(db: Database) -> None:
    for table in ("funder_file_differences", "funder_file_checks", "funder_files"):
        db.run(lambda tx, table=table: tx.conn.execute(text(f"DELETE FROM {table}")))  # type: ignore[misc]


def bench_backend(
    name: str, url: str, loans: int, runs: int, schema: str, progress: Progress, work: Path
) -> dict[str, Any]:
    task = progress.add_task(f"{name}: building {loans:,} drawdowns", total=2 * runs + 1)
    db, setup = prepare(url, loans, schema)
    progress.advance(task)
    seconds, floors, peaks, found, floor_found, rows = [], [], [], [], [], []
    for run in range(runs):
        progress.update(task, description=f"{name}: reconcile, run {run + 1}/{runs}")
        _forget_the_day(db)
        made, made_peak, loans_listed = in_fresh_process(db, _make)
        paths = their_files(db, work)
        compared, compared_peak, differences = in_fresh_process(db, _compare(paths))
        seconds.append(made + compared)
        peaks.append(max(made_peak, compared_peak))
        found.append(differences)
        rows.append(loans_listed)
        progress.advance(task)
        progress.update(task, description=f"{name}: floor, run {run + 1}/{runs}")
        elapsed, differing = floor_seconds(db, paths)
        floors.append(elapsed)
        floor_found.append(differing)
        progress.advance(task)
    db.dispose()
    median_s, median_floor = statistics.median(seconds), statistics.median(floors)
    return {
        "loans": loans,
        "rows_compared": min(rows),
        "seconds": round(median_s, 4),
        "floor_seconds": round(median_floor, 4),
        "ratio": round(median_s / median_floor, 2),
        "peak_rss_mb": round(max(peaks), 1),
        "differences": min(found),
        "floor_differences": min(floor_found),
        "runs": [round(s, 4) for s in seconds],
        "floor_runs": [round(s, 4) for s in floors],
        "setup_seconds": round(setup, 1),
    }


def bench_recon_day(
    pg_url: str,
    *,
    loans: int,
    runs: int,
    console: Console,
    schema: str = SCHEMA,
    sqlite: bool = True,
) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="yirong-bench-"))
    result: dict[str, Any] = {}
    try:
        with Progress(console=console, transient=True) as progress:
            result["postgresql"] = bench_backend(
                "PostgreSQL", pg_url, loans, runs, schema, progress, directory
            )
            if sqlite:
                result["sqlite"] = bench_backend(
                    "SQLite",
                    f"sqlite:///{directory / 'recon-day.db'}",
                    loans,
                    runs,
                    schema,
                    progress,
                    directory,
                )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        drop_schema(pg_url, schema)
    table = figures_table(
        f"The day's reconciliation over {loans:,} loans, median of {runs} runs",
        ("database", "ours s", "floor s", "ratio", "rows", "differences", "peak RSS MB"),
    )
    for name, r in result.items():
        table.add_row(
            name,
            f"{r['seconds']:.2f}",
            f"{r['floor_seconds']:.2f}",
            f"{r['ratio']:.2f}",
            f"{r['rows_compared']:,}",
            f"{r['differences']} (floor {r['floor_differences']})",
            f"{r['peak_rss_mb']:.0f}",
        )
    console.print(table)
    print(json.dumps(result))
    return result
