"""``yirong bench``: benchmarks (separate from tests; they print their figures)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import typer

from yirong.api.server import default_workers
from yirong.bench import api as api_bench
from yirong.bench import eod as eod_bench
from yirong.bench import pages as pages_bench
from yirong.bench import recon as recon_bench
from yirong.bench import recon_day as recon_day_bench
from yirong.bench.ledger import bench_ledger
from yirong.bench.loanbook import MOST_DAYS
from yirong.bench.preapproval import bench_preapproval
from yirong.cli_support import console
from yirong.config import settings
from yirong.infra.db import normalize_url

app = typer.Typer(
    help="Benchmarks: figures as ratios to a baseline measured in the same run.",
    no_args_is_help=True,
)


@app.command()
def ledger(
    ctx: typer.Context,
    seconds: float = typer.Option(15.0, min=1, help="Length of each timed run."),
    runs: int = typer.Option(3, min=1, help="Runs per workload (the median is reported)."),
    workers: int = typer.Option(8, min=1, help="Concurrent workers (and pgbench clients)."),
) -> None:
    """pgbench tpcb-like (B), then the ledger's single, batched and reserve-touching
    transfers on PostgreSQL, then single and batched on SQLite; verify after."""
    url = ctx.find_root().obj.get("url") or settings().database_url
    if normalize_url(url).get_backend_name() != "postgresql":
        console.print(
            "[red]The ledger benchmark needs PostgreSQL: pass --database "
            "postgresql+psycopg://... or set YIRONG_DATABASE_URL.[/]"
        )
        raise typer.Exit(2)
    result = bench_ledger(url, seconds=seconds, runs=runs, workers=workers, console=console)
    if not result["verify_ok"]:
        raise typer.Exit(1)


@app.command()
def preapproval(
    ctx: typer.Context,
    agents: int = typer.Option(100_000, min=10, help="How many agents (12 months of history)."),
    runs: int = typer.Option(3, min=1, help="Runs per database (the median is reported)."),
) -> None:
    """Features and pre-approval for many agents and 3 scorecard funders, on PostgreSQL
    and SQLite, against one plain aggregate over the same history."""
    url = _postgres_url(ctx)
    result = bench_preapproval(url, agents=agents, runs=runs, console=console)
    if not all(r["verify_ok"] for r in result.values()):
        raise typer.Exit(1)


@app.command()
def eod(
    ctx: typer.Context,
    loans: int = typer.Option(1_000_000, min=1_000, help="How many live drawdowns."),
    runs: int = typer.Option(
        3, min=1, max=MOST_DAYS, help="Days closed per database (the median is reported)."
    ),
    pg_schema: str = typer.Option(
        eod_bench.SCHEMA, help="The PostgreSQL schema it builds in (dropped before and after)."
    ),
) -> None:
    """The end of day over many live drawdowns (some falling overdue each day, some
    overdue, some wallets frozen) on PostgreSQL and SQLite, against one set-based
    UPDATE over the same rows."""
    url = _postgres_url(ctx)
    result = eod_bench.bench_eod(url, loans=loans, runs=runs, console=console, schema=pg_schema)
    if not all(r["verify_ok"] for r in result.values()):
        raise typer.Exit(1)


@app.command()
def pages(
    ctx: typer.Context,
    loans: int = typer.Option(1_000_000, min=1_000, help="How many live drawdowns."),
    runs: int = typer.Option(5, min=1, help="Times each page is asked for (the median)."),
    audit_records: int = typer.Option(
        pages_bench.AUDIT_RECORDS, min=1, help="Audit records written first (a year's)."
    ),
    pg_schema: str = typer.Option(
        "yirong_bench_pages", help="The PostgreSQL schema it builds in (dropped before)."
    ),
) -> None:
    """Every console page of the three roles on the end-of-day bench's book and a
    year of audit records, each page's median against the same app's /healthz, on
    PostgreSQL and SQLite."""
    url = _postgres_url(ctx)
    pages_bench.bench_pages(
        url,
        loans=loans,
        runs=runs,
        console=console,
        schema=pg_schema,
        audit_records=audit_records,
    )


@app.command("recon-day")
def recon_day(
    ctx: typer.Context,
    loans: int = typer.Option(1_000_000, min=100, help="Live drawdowns in the book."),
    runs: int = typer.Option(3, min=1, max=9, help="Runs per database (the median is reported)."),
    sqlite: bool = typer.Option(True, "--sqlite/--no-sqlite", help="Also on SQLite."),
    pg_schema: str = typer.Option(
        recon_day_bench.SCHEMA,
        help="The PostgreSQL schema it builds in (dropped before and after).",
    ),
) -> None:
    """The day's reconciliation over the end-of-day book: every funder's files made,
    the day before reconciled with the bank, each lender's own loan book compared line
    by line; against the same rows compared in plain SQL."""
    url = _postgres_url(ctx)
    result = recon_day_bench.bench_recon_day(
        url, loans=loans, runs=runs, console=console, schema=pg_schema, sqlite=sqlite
    )
    if not all(r["differences"] == r["floor_differences"] for r in result.values()):
        raise typer.Exit(1)


@app.command()
def recon(
    ctx: typer.Context,
    lines: int = typer.Option(1_000_000, min=100, help="Statement lines (and live orders)."),
    runs: int = typer.Option(3, min=1, max=9, help="Runs per database (the median is reported)."),
    sqlite: bool = typer.Option(True, "--sqlite/--no-sqlite", help="Also on SQLite."),
    pg_schema: str = typer.Option(
        recon_bench.SCHEMA, help="The PostgreSQL schema it builds in (dropped before and after)."
    ),
) -> None:
    """Import and match a statement of many lines, each funding a live order, on
    PostgreSQL and SQLite, against the same lines loaded and joined to the orders in
    plain SQL."""
    url = _postgres_url(ctx)
    result = recon_bench.bench_recon(
        url, lines=lines, runs=runs, console=console, schema=pg_schema, sqlite=sqlite
    )
    if not all(r["verify_ok"] and r["all_funded"] for r in result.values()):
        raise typer.Exit(1)


@app.command()
def api(
    ctx: typer.Context,
    seconds: float = typer.Option(30.0, min=1, help="Length of each timed run."),
    runs: int = typer.Option(3, min=1, help="Runs of each load (the median is reported)."),
    clients: int = typer.Option(32, min=1, max=1024, help="Concurrent clients."),
    agents: int = typer.Option(300, min=1, help="Agents with a credit line in the market."),
    workers: int | None = typer.Option(
        None,
        min=1,
        max=32,
        help="Server processes (yirong serve) [default: one, then one per core, each "
        "on a market of its own].",
    ),
    warmup: float = typer.Option(5.0, min=0, help="Seconds of untimed load first."),
    generators: int = typer.Option(1, min=1, max=16, help="Load generator processes."),
    sqlite: bool = typer.Option(
        False, "--sqlite", help="Serve a new SQLite file instead of PostgreSQL."
    ),
    pg_schema: str = typer.Option(
        api_bench.SCHEMA, help="The PostgreSQL schema it builds in (dropped before and after)."
    ),
) -> None:
    """A mixed load (balances, statements, drawdowns, fundings, repayments) on yirong
    serve from a load generator on 127.0.0.1, against the same server's GET /healthz
    as the framework's ceiling; the ledger verified afterwards. The last line is its
    JSON: one worker's figures, and all cores' under "all_cores"."""
    counts = [workers] if workers else sorted({1, default_workers()})
    results = []
    for count in counts:
        directory = tempfile.mkdtemp(prefix="yirong-bench-api-")
        url = f"sqlite:///{Path(directory) / 'api.db'}" if sqlite else _postgres_url(ctx)
        try:
            settings_ = api_bench.Settings(
                seconds=seconds,
                runs=runs,
                clients=min(clients, agents),
                agents=agents,
                workers=count,
                warmup=warmup,
                generators=generators,
            )
            results.append(api_bench.bench_api(url, settings_, console=console, schema=pg_schema))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    result = {**results[0], **({"all_cores": results[-1]} if len(results) > 1 else {})}
    print(json.dumps(result))
    if any(not r["verify_ok"] or r["errors"] for r in results):
        raise typer.Exit(1)


def _postgres_url(ctx: typer.Context) -> str:
    url: str = ctx.find_root().obj.get("url") or settings().database_url
    if normalize_url(url).get_backend_name() != "postgresql":
        console.print(
            "[red]Benchmarks need PostgreSQL: pass --database "
            "postgresql+psycopg://... or set YIRONG_DATABASE_URL.[/]"
        )
        raise typer.Exit(2)
    return url
