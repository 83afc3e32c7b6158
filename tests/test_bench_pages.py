"""``yirong bench pages`` at a small size, on both databases, from the command line:
every page of the three roles answers on the bench's book, and the last line is the
JSON the benchmark reports."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from tests.databases import postgres_url
from yirong.bench.pages import PAGES
from yirong.cli import app


def test_the_pages_benchmark_times_every_page_on_both_databases() -> None:
    schema = f"yirong_test_pagesbench_{os.getpid()}"
    result = CliRunner().invoke(
        app,
        [
            "--database",
            postgres_url(),
            "bench",
            "pages",
            "--loans",
            "2000",
            "--runs",
            "1",
            "--audit-records",
            "10000",
            "--pg-schema",
            schema,
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert set(report) == {"PostgreSQL", "SQLite"}
    every = [path for paths in PAGES.values() for path in paths]
    for r in report.values():
        assert list(r["pages_ms"]) == every and all(ms > 0 for ms in r["pages_ms"].values())
        assert r["slowest_ms"] == max(r["pages_ms"].values())
        assert r["slowest_ratio"] > 1  # a page does more than /healthz
        assert r["audit_records"] == 10_000
