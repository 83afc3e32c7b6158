"""Retention: sign-in counters go once quiet past the throttling window, nonces once
their window is over, answered requests once a month old; requests still in flight
stay whatever their age (a repeat must see them). Each record's age is set here; what
goes is worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from yirong.access.tables import LoginCounter, RequestNonce
from yirong.api.retention import prune
from yirong.api.tables import ApiRequest
from yirong.cli import app
from yirong.infra.db import Database

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_old_failures_and_old_answers_go_in_flight_requests_stay(db: Database) -> None:
    failures = [NOW - timedelta(minutes=m) for m in (1, 14, 16, 60 * 24)]  # 2 in the window
    nonces = [NOW + timedelta(minutes=4), NOW - timedelta(seconds=1), NOW - timedelta(days=3)]
    requests = [
        ("done", NOW - timedelta(days=1)),
        ("done", NOW - timedelta(days=29, hours=23)),
        ("done", NOW - timedelta(days=31)),  # goes
        ("done", NOW - timedelta(days=400)),  # goes
        ("in_flight", NOW - timedelta(days=400)),  # stays: in flight
    ]

    def seed(tx):  # type: ignore[no-untyped-def]
        tx.conn.execute(
            insert(LoginCounter),
            [
                {"key": f"user:u{n}", "attempts": 3, "last_attempt_at": at}
                for n, at in enumerate(failures)
            ],
        )
        tx.conn.execute(
            insert(RequestNonce),
            [
                {"credential": "api_key:1", "nonce": f"n{n}", "expires_at": at}
                for n, at in enumerate(nonces)
            ],
        )
        tx.conn.execute(
            insert(ApiRequest),
            [
                {"caller": "agent:A1", "key": f"k{n}", "fingerprint": "f", "state": state,
                 "started_at": at}
                for n, (state, at) in enumerate(requests)
            ],
        )  # fmt: skip

    db.run(seed)
    assert prune(db, NOW) == {"login_counters": 2, "request_nonces": 2, "answered_requests": 2}
    assert prune(db, NOW) == {"login_counters": 0, "request_nonces": 0, "answered_requests": 0}

    def left(tx):  # type: ignore[no-untyped-def]
        return (
            sorted(tx.conn.scalars(select(LoginCounter.key))),
            sorted(tx.conn.scalars(select(RequestNonce.nonce))),
            sorted(tx.conn.scalars(select(ApiRequest.key))),
            tx.conn.scalar(select(func.count()).select_from(ApiRequest)),
        )

    assert db.run(left) == (["user:u0", "user:u1"], ["n0"], ["k0", "k1", "k4"], 3)


def test_prune_from_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--database", url, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--database", url, "prune", "--json"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == (
        '{"login_counters": 0, "request_nonces": 0, "answered_requests": 0}'
    )
