"""GET /api/v1/events (a funder polls its own; operators watch all), one event, and
an operator's redelivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from tests.api.client import Api, problem_code
from tests.conftest import FIRST_DAY
from tests.credit.market import lender
from yirong.api.pages import cursor_of
from yirong.events.delivery import event_id
from yirong.funders.public import set_events_endpoint
from yirong.funders.service import register_funder
from yirong.infra.db import Database, Tx
from yirong.infra.outbox import OutboxMessage, tell

# (recipient, type) of the events told, in order: outbox ids 1 ... 6.
TOLD = [
    ("funder:F1", "drawdown.ordered"),
    ("funder:F2", "drawdown.ordered"),
    ("funder:F1", "repayment.received"),
    ("funder:F1", "drawdown.ordered"),
    ("funder:F2", "repayment.received"),
    ("funder:F1", "drawdown.ordered"),
]


def setup(db: Database) -> Api:
    for code in ("F1", "F2"):
        register_funder(db, lender(code, "0.12", "2")[0])

    def work(tx: Tx) -> None:
        for n, (recipient, topic) in enumerate(TOLD):
            tell(tx, recipient, topic, 100 + n, FIRST_DAY, amount=1_000 * (n + 1))

    db.run(work)
    return Api(db)


# The public id of each outbox id (a keyed permutation, tested in tests/infra).
E = {n: event_id(n) for n in range(1, 100)}


def ids(answer: dict) -> list[str]:  # type: ignore[type-arg]
    return [e["id"] for e in answer["items"]]


def test_a_funder_reads_only_its_own_events(db: Database) -> None:
    api = setup(db)
    f1, f2 = api.funder_system("F1"), api.funder_system("F2")

    answer = f1.get("/api/v1/events")

    assert answer.status_code == 200, answer.text
    assert ids(answer.json()) == [E[1], E[3], E[4], E[6]]
    assert answer.json()["next_cursor"] is None
    first = answer.json()["items"][0]
    assert first == {
        "id": E[1],
        "type": "drawdown.ordered",
        "business_date": "2026-01-05",
        "subject_id": 100,
        "data": {"amount": 1000},
        "recipient": "funder:F1",
        "attempts": 0,
        "delivered_at": None,
        "next_attempt_at": None,
        "last_error": None,
    }
    assert ids(f2.get("/api/v1/events").json()) == [E[2], E[5]]
    assert ids(f1.get("/api/v1/events", params={"type": "repayment.received"}).json()) == [E[3]]
    assert f1.get(f"/api/v1/events/{E[3]}").json()["data"] == {"amount": 3000}
    # The ids on the wire do not count: neither a bare number nor a neighbour is found.
    assert problem_code(f1.get("/api/v1/events/3")) == "request_invalid"
    assert int(E[3].removeprefix("evt_")) not in range(100)
    # Another funder's event answers as a missing one; asking for its list is refused.
    assert problem_code(f1.get(f"/api/v1/events/{E[2]}")) == "event_not_found"
    refused = f1.get("/api/v1/events", params={"recipient": "funder:F2"})
    assert refused.status_code == 403 and problem_code(refused) == "access_denied"
    own = f1.get("/api/v1/events", params={"recipient": "funder:F1"})
    assert ids(own.json()) == [E[1], E[3], E[4], E[6]]
    missing = f1.get(f"/api/v1/events/{E[99]}")
    assert missing.status_code == 404 and problem_code(missing) == "event_not_found"
    assert problem_code(f1.get("/api/v1/events/nine")) == "request_invalid"
    # Redelivery is an operator's.
    assert problem_code(f1.post(f"/api/v1/events/{E[1]}/redeliver")) == "access_denied"
    assert problem_code(api.anonymous().get("/api/v1/events")) == "unauthenticated"


def test_a_funder_polls_page_by_page(db: Database) -> None:
    api = setup(db)
    f1 = api.funder_system("F1")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = f1.get("/api/v1/events", params=params).json()
        seen += ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2 and seen == [E[1], E[3], E[4], E[6]]
    # What comes later is found from the last cursor: the poll's resume point.
    later = f1.get("/api/v1/events", params={"cursor": cursor_of(6)}).json()
    assert later == {"items": [], "next_cursor": None}

    def more(tx: Tx) -> None:
        tell(tx, "funder:F1", "drawdown.ordered", 200, FIRST_DAY, amount=1)

    db.run(more)
    assert ids(f1.get("/api/v1/events", params={"cursor": cursor_of(6)}).json()) == [E[7]]


def test_operators_see_all_and_redeliver(db: Database) -> None:
    api = setup(db)
    ops = api.sign_in("operator", "ops")

    every = ops.get("/api/v1/events", params={"limit": 4}).json()
    assert ids(every) == [E[1], E[2], E[3], E[4]] and every["next_cursor"] == cursor_of(4)
    rest = ops.get("/api/v1/events", params={"cursor": every["next_cursor"]}).json()
    assert ids(rest) == [E[5], E[6]] and rest["next_cursor"] is None
    f2 = ops.get("/api/v1/events", params={"recipient": "funder:F2"}).json()
    assert ids(f2) == [E[2], E[5]]
    assert ops.get(f"/api/v1/events/{E[2]}").json()["recipient"] == "funder:F2"

    # F1 has no endpoint yet: nothing to push to.
    refused = ops.post(f"/api/v1/events/{E[4]}/redeliver")
    assert refused.status_code == 409 and problem_code(refused) == "events_endpoint_missing"
    set_events_endpoint(db, "F1", "https://f1.example/events")
    stuck = datetime(2030, 1, 1, tzinfo=UTC)

    def wedge(tx: Tx) -> None:
        tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == "funder:F1")
            .values(attempts=5, next_attempt_at=stuck, last_error="HTTP 500")
        )
        tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == 1)
            .values(delivered_at=datetime(2026, 1, 5, 10, tzinfo=UTC), next_attempt_at=None)
        )

    db.run(wedge)
    before = datetime.now(UTC)

    answer = ops.post(f"/api/v1/events/{E[4]}/redeliver")

    assert answer.status_code == 200, answer.text
    due = datetime.fromisoformat(answer.json()["next_attempt_at"])
    assert before - timedelta(seconds=1) <= due <= datetime.now(UTC) + timedelta(seconds=1)
    assert answer.json()["attempts"] == 5 and answer.json()["last_error"] == "HTTP 500"
    after = {e["id"]: e for e in ops.get("/api/v1/events").json()["items"]}
    # It and the funder's earlier undelivered event are due now; later ones unchanged.
    assert after[E[3]]["next_attempt_at"] == answer.json()["next_attempt_at"]
    assert datetime.fromisoformat(after[E[6]]["next_attempt_at"]) == stuck
    assert after[E[1]]["next_attempt_at"] is None
    assert after[E[2]]["next_attempt_at"] is None  # another funder's
    delivered = ops.post(f"/api/v1/events/{E[1]}/redeliver")
    assert delivered.status_code == 409 and problem_code(delivered) == "event_already_delivered"
    assert problem_code(ops.post(f"/api/v1/events/{E[99]}/redeliver")) == "event_not_found"
    # Filters for watching deliveries.
    pending = ops.get("/api/v1/events", params={"delivered": "false", "recipient": "funder:F1"})
    assert ids(pending.json()) == [E[3], E[4], E[6]]
    done = ops.get("/api/v1/events", params={"delivered": "true"})
    assert ids(done.json()) == [E[1]]
