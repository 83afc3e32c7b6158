"""``yirong bench api`` at a tiny size (a few clients, a second a run), on both
databases, from the command line: a real ``yirong serve`` child on 127.0.0.1 takes
the load, and the last line is the JSON the benchmark reports, which must hold up."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from tests.databases import postgres_url
from yirong.cli import app

CLIENTS = 3


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_api_benchmark_reports_a_clean_mixed_load(backend: str) -> None:
    where = (
        ["--sqlite"]
        # Its own schema: a name the test suite cleans up if this process dies first.
        if backend == "sqlite"
        else ["--pg-schema", f"yirong_test_apibench_{os.getpid()}"]
    )
    result = CliRunner().invoke(
        app,
        [
            "--database",
            postgres_url(),
            "bench",
            "api",
            *where,
            "--seconds",
            "1.5",
            "--runs",
            "1",
            "--clients",
            str(CLIENTS),
            "--agents",
            "5",
            "--warmup",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    r = json.loads(result.output.strip().splitlines()[-1])
    assert r["database"] == backend
    assert r["errors"] == 0 and r["refused"] == {}
    assert r["verify_ok"] is True and r["ledger_ok"] and r["records_ok"]
    assert r["rps"] > 0 and r["ceiling_rps"] > 0
    assert r["ratio"] == pytest.approx(r["rps"] / r["ceiling_rps"], abs=1e-3)
    assert 0 < r["p50_ms"] <= r["p99_ms"]
    assert 0 < r["ceiling_p50_ms"] <= r["ceiling_p99_ms"]
    # Every kind of request of the mix was sent and answered, the money ones too.
    assert set(r["by_kind"]) == {
        "balance",
        "statement",
        "drawdown",
        "notice",
        "funding",
        "repayment",
    }
    assert all(k["count"] > 0 for k in r["by_kind"].values())
    # The server's records are what its clients were told: each drawdown funded.
    records = r["records"]
    assert records["drawdowns"] == r["by_kind"]["drawdown"]["count"] > 0
    assert records["unfunded"] == 0
    assert records["repayments"] == r["by_kind"]["repayment"]["count"]
    assert r["entries_verified"] > 0
    assert r["loadgen_limit_rps"] > r["ceiling_rps"]
    assert (r["clients"], r["agents"], r["runs"]) == (CLIENTS, 5, 1)
    # Then the same on every core (``yirong serve``'s default), on a market of its own.
    assert r["workers"] == 1
    cores = os.cpu_count() or 1
    if cores > 1:
        whole = r["all_cores"]
        assert whole["workers"] == cores
        assert whole["errors"] == 0 and whole["refused"] == {} and whole["verify_ok"] is True
        assert whole["records"]["unfunded"] == 0
        assert whole["records"]["drawdowns"] == whole["by_kind"]["drawdown"]["count"] > 0
    else:
        assert "all_cores" not in r
