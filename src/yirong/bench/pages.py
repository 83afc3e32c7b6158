"""``yirong bench pages``: every page of the console, each role's, on the end-of-day
bench's book (a million live loans, ``loanbook``), after one day closed, with a year
of audit records (a million). Each page is
asked for through the whole app in this process (middleware, session, audit,
templates), a few times after one warm-up; the median of each is set against the
median of the same app's trivial ``/healthz`` measured in the same run. Reported: every
page's median, and the slowest page's, alone and as a multiple of ``/healthz``."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select, text

from yirong.access.service import create_user
from yirong.agents.tables import Agent
from yirong.api.app import create_app
from yirong.bench import eod as eod_bench
from yirong.bench.process import figures_table
from yirong.bench.sql import series
from yirong.bench.workspace import drop_schema
from yirong.eod.service import run_eod
from yirong.infra.db import Database, Dialect

PASSWORD = "bench-pages-password"
FUNDER = "F01"
PAGES = {
    "agent": (
        "/agent",
        "/agent/movements",
        "/agent/offers",
        "/agent/credit",
        "/agent/borrow",
        "/agent/repay",
        "/agent/withdraw",
    ),
    "funder": (
        "/funder",
        "/funder/products",
        "/funder/candidates",
        "/funder/applications?status=all",
        "/funder/portfolio",
        "/funder/loans",
        "/funder/loans?page=100",
        "/funder/watch",
        "/funder/freeze-requests",
        "/funder/statements",
        "/funder/files",
        "/funder/keys",
    ),
    "operator": (
        "/operator",
        "/operator/exceptions?status=all",
        "/operator/agents",
        "/operator/agents?q=shop 12345",
        "/operator/freezes",
        "/operator/funders",
        "/operator/policy",
        "/operator/audit",
        "/operator/audit?changes=1",
        "/operator/audit?actor=operator:ops7",
        "/operator/audit?since=2025-11-03&until=2025-11-03",
        "/operator/audit?before=500000",
    ),
}
AUDIT_RECORDS = 1_000_000  # a year of an operations team's pages and changes
YEAR_START = "2025-01-05 00:00:00"


def audit_year(db: Database, records: int = AUDIT_RECORDS) -> None:
    """A year of audit records, set-based: twenty operators, one record in five a
    change, about one every half minute."""
    d = db.dialect
    at = (
        f"TIMESTAMPTZ '{YEAR_START}+00' + s.i * INTERVAL '31 seconds'"
        if d is Dialect.POSTGRESQL
        else f"datetime('{YEAR_START}', '+' || (s.i * 31) || ' seconds')"
    )
    db.run(
        lambda tx: tx.conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, target, status, request_id, "
                f"credential) SELECT {at}, 'operator:ops' || (s.i % 20), "
                "CASE WHEN s.i % 5 = 0 THEN 'POST /operator/exceptions/{exception_id}/{action}' "
                "ELSE 'GET /operator/exceptions' END, '/operator/exceptions', 200, "
                f"'bench' || s.i, '' FROM {series(d, records)}"
            )
        )
    )


def _signed_in(app: Any, username: str) -> TestClient:
    client = TestClient(app)
    page = client.get("/").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        "/signin",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"{username} could not sign in: {answer.status_code}")
    return client


def _median_ms(client: TestClient, path: str, runs: int) -> float:
    answer = client.get(path)  # warm-up (and the page must answer)
    if answer.status_code != 200:
        raise RuntimeError(f"{path} answered {answer.status_code}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench_backend(
    url: str, loans: int, runs: int, schema: str, audit_records: int
) -> dict[str, Any]:
    db, setup = eod_bench.prepare(url, loans, 1, schema)
    run_eod(db)  # a day closed: its snapshot, reconciliation, files
    audit_year(db, audit_records)
    agent = str(
        db.run(lambda tx: tx.session.scalar(select(Agent.code).order_by(Agent.id).limit(1)))
    )
    for username, role, subject in (
        ("bench-agent", "agent", agent),
        ("bench-funder", "funder", FUNDER),
        ("bench-operator", "operator", "bench"),
    ):
        create_user(db, username, PASSWORD, role, subject)
    if db.dialect.value == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # as autovacuum leaves a settled book
    app = create_app(db)
    baseline = _median_ms(TestClient(app), "/healthz", runs * 4)
    medians: dict[str, float] = {}
    for role, paths in PAGES.items():
        client = _signed_in(app, f"bench-{role}")
        for path in paths:
            medians[path] = _median_ms(client, path, runs)
    db.dispose()
    slowest = max(medians, key=lambda p: medians[p])
    return {
        "loans": loans,
        "audit_records": audit_records,
        "healthz_ms": round(baseline, 2),
        "pages_ms": {p: round(ms, 1) for p, ms in medians.items()},
        "slowest_page": slowest,
        "slowest_ms": round(medians[slowest], 1),
        "slowest_ratio": round(medians[slowest] / baseline, 1),
        "setup_seconds": round(setup, 1),
    }


def bench_pages(
    url: str,
    *,
    loans: int,
    runs: int,
    console: Console,
    schema: str,
    audit_records: int = AUDIT_RECORDS,
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, target in (
            ("PostgreSQL", url),
            ("SQLite", f"sqlite+pysqlite:///{Path(scratch) / 'pages.db'}"),
        ):
            console.print(f"{name}: building {loans:,} loans and closing a day…")
            try:
                results[name] = bench_backend(target, loans, runs, schema, audit_records)
            finally:
                if name == "PostgreSQL":
                    drop_schema(url, schema)
    table = figures_table(
        f"Console pages on {loans:,} loans (medians of {runs} runs, ms)",
        ("Page", *results),
    )
    for path in results["PostgreSQL"]["pages_ms"]:
        table.add_row(path, *(f"{r['pages_ms'][path]:.1f}" for r in results.values()))
    table.add_row("/healthz (baseline)", *(f"{r['healthz_ms']:.2f}" for r in results.values()))
    console.print(table)
    for name, r in results.items():
        console.print(
            f"{name}: slowest page {r['slowest_page']} {r['slowest_ms']} ms, "
            f"{r['slowest_ratio']}× /healthz"
        )
    print(json.dumps(results))  # the last line: the figures, for BENCHMARKS.md and tests
    return results
