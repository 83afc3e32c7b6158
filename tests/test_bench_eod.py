"""``yirong bench eod`` at a small size, on both databases, from the command line:
the last line is the JSON the benchmark reports, and it holds up."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from tests.databases import postgres_url
from yirong.cli import app

LOANS = 2_000


def test_the_end_of_day_benchmark_reports_both_databases() -> None:
    # Its own schema: a name the test suite cleans up if this process dies first.
    schema = f"yirong_test_eodbench_{os.getpid()}"
    result = CliRunner().invoke(
        app,
        [
            "--database",
            postgres_url(),
            "bench",
            "eod",
            "--loans",
            str(LOANS),
            "--runs",
            "2",
            "--pg-schema",
            schema,
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert set(report) == {"postgresql", "sqlite"}
    for r in report.values():
        assert r["verify_ok"] is True
        assert (r["loans"], r["agents"]) == (LOANS, LOANS // 4)
        assert r["eod_seconds"] > 0 and r["floor_seconds"] > 0 and r["ratio"] > 0
        assert 0 < r["peak_rss_mb"] < 1024
        assert len(r["eod_runs"]) == len(r["floor_runs"]) == 2
        # Each day closed had loans falling overdue, and some wallets swept.
        assert all(day["loans"] > 0 and day["swept"] > 0 for day in r["overdue_per_day"])
    # The same book and the same days on both databases: the same loans fell overdue.
    assert report["postgresql"]["overdue_per_day"] == report["sqlite"]["overdue_per_day"]
