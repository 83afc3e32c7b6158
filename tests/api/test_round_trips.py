"""Round trips to the database and transactions per request, for each kind of request
the API benchmark's mix sends (``yirong bench api``): what a request costs is mostly
its round trips (BENCHMARKS.md), so they are counted here and cannot creep back.

Every statement the server sends is counted at the driver (psycopg's cursor; SQLite's
trace callback), BEGIN and COMMIT included; a transaction is a COMMIT, or a statement
sent outside BEGIN ... COMMIT (it commits alone). Caches are warm: each kind is
measured the second time it is asked, as a busy server answers it."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import event

from tests.api.client import Api
from tests.databases import fresh_database
from yirong.access.service import audit_log
from yirong.bench.api import bank_line, build_market
from yirong.infra.db import Database

# The most each kind may send, written by hand from the run that set them: (round
# trips, transactions). Reads are one statement, alone; a money request is its use
# case's transaction, which also takes the Idempotency-Key, then one that stores the
# answer with its audit record (on PostgreSQL one statement; SQLite's statements are
# calls into the process, not trips over a socket, so it keeps the plain form).
BUDGET: dict[str, dict[str, tuple[int, int]]] = {
    "postgresql": {
        "balance": (1, 1),
        "statement": (1, 1),
        "drawdown": (10, 2),
        "notice": (7, 3),  # the signed request's nonce: one statement of its own
        "funding": (17, 2),
        "repayment": (12, 2),
    },
    "sqlite": {
        "balance": (1, 1),
        "statement": (1, 1),
        "drawdown": (13, 2),
        "notice": (9, 3),
        "funding": (36, 2),
        "repayment": (25, 2),
    },
}


@dataclass
class Trips:
    statements: list[str] = field(default_factory=list)

    def counts(self) -> tuple[int, int]:
        """(round trips, transactions)."""
        transactions, open_ = 0, False
        for sql in self.statements:
            word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            if word == "BEGIN":
                open_ = True
            elif word in ("COMMIT", "ROLLBACK"):
                transactions += word == "COMMIT"
                open_ = False
            elif not open_:
                transactions += 1
        return len(self.statements), transactions


@pytest.fixture(params=["postgresql", "sqlite"])
def market(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, str]]:
    db = fresh_database(request.param, tmp_path)
    yield db, request.param
    db.dispose()


def _counting(db: Database, trips: Trips, monkeypatch: pytest.MonkeyPatch) -> None:
    if db.dialect == "postgresql":
        execute, many = psycopg.Cursor.execute, psycopg.Cursor.executemany

        def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            trips.statements.append(str(query))
            return execute(self, query, *args, **kwargs)

        def counted_many(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            trips.statements.append(str(query))
            return many(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        monkeypatch.setattr(psycopg.Cursor, "executemany", counted_many)
        return

    @event.listens_for(db.engine, "connect")
    def _trace(connection: sqlite3.Connection, _record: object) -> None:
        connection.set_trace_callback(trips.statements.append)

    db.engine.dispose()  # the pool's connections open again, traced


def test_each_request_kind_stays_within_its_round_trips(
    market: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, backend = market
    held = build_market(db, 2)
    code = sorted(held)[0]
    api = Api(db)
    agent = api.sign_in("agent", code)
    funder = api.funder_system(held[code][0])
    ops = api.sign_in("operator", "trips")
    wallet = f"/api/v1/wallets/agent:{code}"
    trips = Trips()
    _counting(db, trips, monkeypatch)

    seen: dict[str, tuple[int, int]] = {}

    def measure(kind: str, send: Callable[[], httpx.Response]) -> httpx.Response:
        trips.statements.clear()
        answer = send()
        assert answer.status_code in (200, 201), answer.text
        seen[kind] = trips.counts()
        return answer

    for n in range(2):  # the second round is the one kept
        measure("balance", lambda: agent.get(wallet))
        measure("statement", lambda: agent.get(f"{wallet}/statement?limit=20"))
        order = measure(
            "drawdown",
            lambda: agent.post(
                f"/api/v1/agents/{code}/drawdowns", {"amount": 10_000, "term_days": 30}, key="auto"
            ),
        ).json()["order_ref"]
        measure(
            "notice",
            lambda: funder.post(
                "/api/v1/fundings",
                {"order_ref": order, "amount": 10_000, "bank_ref": f"BANK-T{n}"},  # noqa: B023
                key="auto",
            ),
        )
        funded = measure(
            "funding",
            lambda: ops.post(
                "/api/v1/bank-statements",
                key="auto",
                params={"filename": f"trips-{n}.csv"},  # noqa: B023
                content=bank_line(order, 10_000, f"BANK-T{n}"),  # noqa: B023
                headers={"Content-Type": "text/csv"},
            ),
        )
        assert funded.json()["matched"] == 1
        measure(
            "repayment",
            lambda: agent.post(f"/api/v1/agents/{code}/repayments", {"amount": 5_000}, key="auto"),
        )

    # What the money requests' answers were stored with: their audit records (written
    # in the same statement on PostgreSQL), the person's, two of each kind.
    audited = Counter(
        (r.action, r.status, r.username)
        for r in audit_log(db, actor=f"agent:{code}", limit=100)
        if r.action.startswith("POST")
    )
    assert audited == {
        ("POST /api/v1/agents/{code}/drawdowns", 201, agent.extra["username"]): 2,
        ("POST /api/v1/agents/{code}/repayments", 201, agent.extra["username"]): 2,
    }
    uploads = [
        r for r in audit_log(db, actor="operator:trips", limit=100) if r.action.startswith("POST")
    ]
    assert [(r.action, r.status) for r in uploads] == [("POST /api/v1/bank-statements", 201)] * 2

    over = {
        kind: (seen[kind], most)
        for kind, most in BUDGET[backend].items()
        if seen[kind][0] > most[0] or seen[kind][1] > most[1]
    }
    assert not over, f"(round trips, transactions) over budget: {over}"
