"""``yirong bench recon`` runs end to end (tiny) on both databases and reports its
figures as one JSON line: every line matched, every order funded, the books verified."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from tests.databases import postgres_url
from yirong.cli import app


def test_the_recon_benchmark_funds_every_order_and_reports_its_figures() -> None:
    result = CliRunner().invoke(
        app,
        [
            "--database",
            postgres_url(),
            "bench",
            "recon",
            "--lines",
            "400",
            "--runs",
            "2",
            # Its own schema: a name the test suite cleans up if this process dies first.
            "--pg-schema",
            f"yirong_test_reconbench_{os.getpid()}",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert set(figures) == {"postgresql", "sqlite"}
    for r in figures.values():
        assert (r["lines"], r["matched"], r["all_funded"], r["verify_ok"]) == (400, 400, True, True)
        assert len(r["runs"]) == len(r["floor_runs"]) == 2
        assert r["floor_seconds"] > 0 and r["seconds"] > 0
        assert r["ratio"] == pytest.approx(r["seconds"] / r["floor_seconds"], rel=0.01)
        assert 0 < r["peak_rss_mb"] < 1024
