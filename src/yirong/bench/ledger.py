"""``yirong bench ledger``: the ledger's throughput against pgbench on the same server.

Each figure is the median of several timed runs, and every ledger figure is reported
as a ratio to pgbench's ``tpcb-like`` measured in the same run (B), because the
machine is shared and absolute numbers drift. Every transfer goes through the real
use cases (the wallet service or the ledger's batch posting), durably committed."""

from __future__ import annotations

import json
import multiprocessing as mp
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from yirong.bench.pgbench import pgbench_tps
from yirong.bench.workspace import bench_database
from yirong.books.service import RESERVE, open_books
from yirong.infra.db import Database, Tx
from yirong.ledger.model import Leg, NewEntry, Side
from yirong.ledger.service import account_by_code, account_ids, post_batch
from yirong.ledger.verify import verify
from yirong.wallets import service as wallets
from yirong.wallets.service import account_code

START = date(2026, 1, 5)
WALLETS = 10_000
OPENING_BALANCE = 10**12  # fen: enough that no random transfer ever runs dry
BATCH = 100


@dataclass
class Phase:
    name: str
    label: str
    workers: int
    runs: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else 0.0


# ---------------------------------------------------------------- setup


def prepare(url: str | None, workers: int) -> Database:
    """A fresh, migrated database with WALLETS funded wallets."""
    db = bench_database(url, pool_size=max(2, workers))
    open_books(db, START)
    handles = [f"B{n:06d}" for n in range(WALLETS)]
    for start in range(0, WALLETS, 1000):
        wallets.open_wallets(db, [(h, h) for h in handles[start : start + 1000]])

    def fund(tx: Tx, chunk: list[str]) -> None:
        reserve = account_by_code(tx, RESERVE)
        ids = account_ids(tx, [account_code(h) for h in chunk])
        post_batch(
            tx,
            [
                NewEntry(
                    f"open:{h}",
                    "bench.opening_balance",
                    (
                        Leg(reserve.id, Side.DEBIT, OPENING_BALANCE),
                        Leg(ids[account_code(h)], Side.CREDIT, OPENING_BALANCE),
                    ),
                )
                for h in chunk
            ],
            atomic=True,
        )

    for start in range(0, WALLETS, 1000):
        chunk = handles[start : start + 1000]
        db.run(lambda tx: fund(tx, chunk))  # noqa: B023 - run at once, in this iteration
    return db


# ---------------------------------------------------------------- workers


def _worker(kind: str, url: str, seconds: float, seed: int, ready: Any, go: Any, out: Any) -> None:
    db = Database(url)
    rnd = random.Random(seed)
    # A long-running service has every active wallet's (immutable) account metadata
    # cached; warm it here so the timed runs measure that steady state.
    codes = [account_code(f"B{n:06d}") for n in range(WALLETS)]
    ids = list(db.run(lambda tx: account_ids(tx, codes)).values())
    step = _step(kind, db, rnd, ids, seed)
    step(0)  # warm caches and connections before the clock starts
    ready.set()
    go.wait()
    done, latencies, n = 0, [], 1
    deadline = time.perf_counter() + seconds
    while (now := time.perf_counter()) < deadline:
        done += step(n)
        latencies.append((time.perf_counter() - now) * 1000)
        n += 1
    out.put((done, latencies[:: max(1, len(latencies) // 2000)]))
    db.dispose()


def _step(
    kind: str, db: Database, rnd: random.Random, ids: list[int], seed: int
) -> Callable[[int], int]:
    tag = f"{kind}:{seed}:{time.time_ns()}"

    def pair() -> tuple[str, str]:
        a, b = rnd.sample(range(WALLETS), 2)
        return f"B{a:06d}", f"B{b:06d}"

    if kind == "single":

        def single(n: int) -> int:
            a, b = pair()
            wallets.transfer(db, a, b, rnd.randint(1, 10_000), f"{tag}:{n}")
            return 1

        return single
    if kind == "reserve":

        def reserve(n: int) -> int:
            wallets.credit_from_bank(
                db, f"B{rnd.randrange(WALLETS):06d}", rnd.randint(1, 10_000), f"{tag}:{n}"
            )
            return 1

        return reserve

    def batch(n: int) -> int:
        requests = []
        for i in range(BATCH):
            a, b = rnd.sample(ids, 2)
            amount = rnd.randint(1, 10_000)
            requests.append(
                NewEntry(
                    f"{tag}:{n}:{i}",
                    "bench.transfer",
                    (Leg(a, Side.DEBIT, amount), Leg(b, Side.CREDIT, amount)),
                )
            )
        results = db.run(lambda tx: post_batch(tx, requests))
        return sum(r.created for r in results)

    return batch


def run_phase(db: Database, phase: Phase, seconds: float) -> None:
    ctx = mp.get_context("fork")
    url = db.url.render_as_string(hide_password=False)
    db.dispose()  # children must not share the parent's connections
    go = ctx.Event()
    out = ctx.Queue()
    readies = [ctx.Event() for _ in range(phase.workers)]
    procs = [
        ctx.Process(target=_worker, args=(phase.name, url, seconds, 1000 + i, readies[i], go, out))
        for i in range(phase.workers)
    ]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(120)
    start = time.perf_counter()
    go.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    phase.runs.append(done / max(elapsed, seconds))
    phase.latencies_ms.extend(x for r in results for x in r[1])


# ---------------------------------------------------------------- the benchmark


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_ledger(
    pg_url: str, *, seconds: float, runs: int, workers: int, console: Console
) -> dict[str, Any]:
    b_runs: list[float] = []
    pg_phases = [
        Phase("single", "durable single transfers", workers),
        Phase("batch", f"batched transfers ({BATCH} per transaction)", workers),
        Phase("reserve", "transfers that all touch the reserve account", workers),
    ]
    sqlite_phases = [
        Phase("single", "SQLite single transfers (one writer)", 1),
        Phase("batch", f"SQLite batched transfers ({BATCH} per transaction)", 1),
    ]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(
            "setting up", total=runs * (1 + len(pg_phases) + len(sqlite_phases)) + 2
        )
        pg_db = prepare(pg_url, workers)
        progress.advance(task)
        sqlite_dir = Path(tempfile.mkdtemp(prefix="yirong-bench-"))
        sqlite_db = prepare(f"sqlite:///{sqlite_dir / 'bench.db'}", 1)
        progress.advance(task)
        for run in range(runs):
            progress.update(task, description=f"run {run + 1}/{runs}: pgbench")
            b_runs.append(pgbench_tps(pg_url, seconds=seconds, clients=workers))
            progress.advance(task)
            for phase in pg_phases:
                progress.update(task, description=f"run {run + 1}/{runs}: {phase.label}")
                run_phase(pg_db, phase, seconds)
                progress.advance(task)
            for phase in sqlite_phases:
                progress.update(task, description=f"run {run + 1}/{runs}: {phase.label}")
                run_phase(sqlite_db, phase, seconds)
                progress.advance(task)
        progress.update(task, description="verifying both ledgers")
        pg_report = verify(pg_db)
        sqlite_report = verify(sqlite_db)
    b = statistics.median(b_runs)
    single = pg_phases[0]
    result = {
        "pgbench_tps": round(b, 1),
        "single_tps": round(pg_phases[0].median, 1),
        "batch_tps": round(pg_phases[1].median, 1),
        "reserve_tps": round(pg_phases[2].median, 1),
        "sqlite_single_tps": round(sqlite_phases[0].median, 1),
        "sqlite_batch_tps": round(sqlite_phases[1].median, 1),
        "single_ratio": round(pg_phases[0].median / b, 3),
        "batch_ratio": round(pg_phases[1].median / b, 3),
        "reserve_ratio": round(pg_phases[2].median / b, 3),
        "sqlite_single_ratio": round(sqlite_phases[0].median / b, 3),
        "sqlite_batch_ratio": round(sqlite_phases[1].median / b, 3),
        "single_p50_ms": round(_percentile(single.latencies_ms, 0.5), 2),
        "single_p99_ms": round(_percentile(single.latencies_ms, 0.99), 2),
        "runs": runs,
        "seconds": seconds,
        "workers": workers,
        "verify_ok": pg_report.ok and sqlite_report.ok,
        "entries_verified": pg_report.entries + sqlite_report.entries,
    }
    _print_table(console, b, b_runs, pg_phases, sqlite_phases, result)
    print(json.dumps(result))
    return result


def _print_table(
    console: Console,
    b: float,
    b_runs: list[float],
    pg_phases: list[Phase],
    sqlite_phases: list[Phase],
    result: dict[str, Any],
) -> None:
    table = Table(title=f"Ledger throughput (median of {len(b_runs)} runs)")
    for column in ("workload", "workers", "tx/s (median)", "runs", "× B", "target"):
        table.add_column(column, justify="left" if column == "workload" else "right")
    table.add_row(
        "pgbench tpcb-like (B)",
        str(pg_phases[0].workers),
        f"{b:,.0f}",
        " ".join(f"{r:,.0f}" for r in b_runs),
        "1.00",
        "",
    )
    targets = ["≥ 0.5", "≥ 2.0", "≥ 0.4", "≥ 0.4", ""]
    for phase, target in zip([*pg_phases, *sqlite_phases], targets, strict=True):
        table.add_row(
            phase.label,
            str(phase.workers),
            f"{phase.median:,.0f}",
            " ".join(f"{r:,.0f}" for r in phase.runs),
            f"{phase.median / b:.2f}",
            target,
        )
    console.print(table)
    console.print(
        f"single transfer latency p50 {result['single_p50_ms']} ms, "
        f"p99 {result['single_p99_ms']} ms; ledger verify after the runs: "
        f"{'clean' if result['verify_ok'] else 'PROBLEMS'}"
    )
