"""The loan routes over HTTP, on both databases: a loan's life (drawn, funded by the
bank's statement after the funder's notice, credited, previewed, repaid, reversed by
an operator), idempotency of the money-moving routes, who may see and do what, money
quoting a closed order (an exception, returned), and a
borrower in default: its standing, the funder's freeze request and the operator's
decision (audited)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.client import Api, Caller, problem_code, upload_statement
from tests.bank import Bank, funder_account
from tests.credit.market import Market
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line, market_with_lines
from yirong.api.idempotency import SERVICE_KEY_ROOM, fitted
from yirong.api.pages import cursor_of
from yirong.infra.db import Database
from yirong.infra.outbox import OutboxMessage
from yirong.wallets import service as wallets

V1 = "/api/v1"
DAILY = 120  # 360,000 fen at 12% on a 360-day basis: exactly 120 fen a day


def outbox(db: Database, topic: str) -> list[tuple[str, int, dict[str, Any]]]:
    rows = db.run(
        lambda tx: tx.session.execute(
            select(OutboxMessage.recipient, OutboxMessage.subject_id, OutboxMessage.payload)
            .where(OutboxMessage.topic == topic)
            .order_by(OutboxMessage.id)
        ).all()
    )
    return [(recipient, subject, json.loads(payload)) for recipient, subject, payload in rows]


def draw(agent: Caller, code: str, amount: int, days: int, key: str = "auto") -> dict[str, Any]:
    answer = agent.post(
        f"{V1}/agents/{code}/drawdowns", {"amount": amount, "term_days": days}, key=key
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def fund(
    funder: Caller, ops: Caller, db: Database, order: dict[str, Any], bank_ref: str
) -> dict[str, Any]:
    """The funder's system says it paid (a notice: nothing moves), then the operator
    imports the bank's statement that shows the money quoting the order."""
    said = funder.post(
        f"{V1}/fundings",
        {"order_ref": order["order_ref"], "amount": order["amount"], "bank_ref": bank_ref},
        key="auto",
    )
    assert said.status_code == 201, said.text
    assert (said.json()["status"], said.json()["moved_money"]) == ("open", False)
    bank = Bank(db)
    code = funder.handle.split(":")[1]
    bank.credit(
        order["amount"], memo=f"放款 {order['order_ref']}", account=funder_account(db, code)
    )
    imported = upload_statement(ops, bank.statement_bytes(), f"{bank_ref}.csv")
    assert imported.status_code == 201, imported.text
    body: dict[str, Any] = imported.json()
    return body


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_loan_through_http_draw_fund_preview_repay_and_reverse(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    api = Api(db)
    agent, t1, ops = (
        api.sign_in("agent", code),
        api.funder_system("T1"),
        api.sign_in("operator", "ops"),
    )
    url = f"{V1}/agents/{code}/drawdowns"
    # The schedule first: 360,000 fen for 30 days at 12% on a 360-day basis is 30
    # days of 120 fen, due on 2026-02-04, and asking for it asks for nothing.
    shown = agent.get(
        f"{V1}/agents/{code}/drawdowns/preview", params={"amount": 360_000, "term_days": 30}
    )
    assert shown.status_code == 200, shown.text
    assert {k: shown.json()[k] for k in ("interest", "to_repay", "received")} == {
        "interest": 30 * DAILY,
        "to_repay": 360_000 + 30 * DAILY,
        "received": 360_000 - shown.json()["fee"],
    }
    assert [(i["due_date"], i["total"]) for i in shown.json()["instalments"]] == [
        ("2026-02-04", 360_000 + 30 * DAILY)
    ]
    too_long = agent.get(
        f"{V1}/agents/{code}/drawdowns/preview", params={"amount": 360_000, "term_days": 400}
    )
    assert problem_code(too_long) == "term_invalid"

    order = draw(agent, code, 360_000, 30, key="draw-1")
    assert (order["status"], order["amount"], order["funder_code"]) == ("requested", 360_000, "T1")

    # Idempotency: the same key and body replays the first answer; nothing new.
    again = agent.post(url, {"amount": 360_000, "term_days": 30}, key="draw-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == order
    reused = agent.post(url, {"amount": 360_001, "term_days": 30}, key="draw-1")
    assert reused.status_code == 422 and problem_code(reused) == "idempotency_key_reused"
    missing = agent.post(url, {"amount": 360_000, "term_days": 30})
    assert missing.status_code == 428 and problem_code(missing) == "idempotency_key_required"
    listed = agent.get(f"{V1}/drawdowns").json()
    assert [d["id"] for d in listed["items"]] == [order["id"]]
    assert listed["next_cursor"] is None

    # The funder's system says it paid: nothing moves until the bank's statement shows
    # the money; then the order is matched and the wallet credited.
    before = wallets.wallet(db, f"agent:{code}").balance
    said = t1.post(
        f"{V1}/fundings",
        {"order_ref": order["order_ref"], "amount": 360_000, "bank_ref": "NO-SUCH-LINE"},
        key="said-1",
    )
    assert said.status_code == 201 and said.json()["moved_money"] is False
    assert wallets.wallet(db, f"agent:{code}").balance == before
    assert agent.get(f"{V1}/drawdowns/{order['id']}").json()["status"] == "requested"
    imported = fund(t1, ops, db, order, "BANK-1")
    assert (imported["new"], imported["matched"], imported["exceptions"]) == (1, 1, 0)
    assert [n["status"] for n in t1.get(f"{V1}/notices").json()["items"]] == [
        "matched",
        "matched",
    ]
    assert wallets.wallet(db, f"agent:{code}").balance == before + 360_000 - order["fee"]
    loan = agent.get(f"{V1}/drawdowns/{order['id']}").json()
    assert (loan["status"], loan["principal"], loan["credited_on"]) == (
        "credited",
        360_000,
        "2026-01-05",
    )
    assert t1.get(f"{V1}/drawdowns/{order['id']}").json() == loan
    assert t1.get(f"{V1}/drawdowns", params={"status": "credited"}).json()["items"] == [loan]
    assert t1.get(f"{V1}/drawdowns", params={"status": "requested"}).json()["items"] == []

    close_days_until(market, date(2026, 1, 10))  # five days of interest
    preview = agent.get(f"{V1}/agents/{code}/repayments/preview", params={"amount": 1_000})
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert (shown["amount"], shown["owed"]) == (1_000, 360_000 + 5 * DAILY)
    assert shown["allocation_order"] == ["penalty", "interest", "principal"]
    [part] = shown["parts"]
    assert (part["penalty"], part["interest"], part["principal"]) == (0, 5 * DAILY, 400)
    assert part["owed_after"] == 360_000 + 5 * DAILY - 1_000
    everything = ops.get(f"{V1}/agents/{code}/repayments/preview").json()
    assert everything["amount"] == everything["owed"] == 360_600
    too_much = agent.get(f"{V1}/agents/{code}/repayments/preview", params={"amount": 360_601})
    assert problem_code(too_much) == "exceeds_owed"
    assert agent.get(f"{V1}/agents/{code}/repayments/preview").json() == everything  # moved nothing

    paid = agent.post(f"{V1}/agents/{code}/repayments", {"amount": 1_000}, key="repay-1")
    assert paid.status_code == 201, paid.text
    repayment = paid.json()
    # The repayment paid exactly what the preview said.
    assert {k: repayment[k] for k in ("amount", "penalty", "interest", "principal")} == {
        k: shown[k] for k in ("amount", "penalty", "interest", "principal")
    }
    both = agent.post(f"{V1}/agents/{code}/repayments", {"amount": 1_000, "all": True}, key="x")
    assert problem_code(both) == "request_invalid"
    owed_after = agent.get(f"{V1}/agents/{code}/repayments/preview").json()["owed"]
    assert owed_after == 360_600 - 1_000

    # An operator reverses it: the loan owes as before; asked again, nothing moves.
    reversal = f"{V1}/repayments/{repayment['id']}/reverse"
    refused = agent.post(reversal, {"reason": "mine"}, key="auto")
    assert refused.status_code == 403 and problem_code(refused) == "access_denied"
    back = ops.post(reversal, {"reason": "paid from the wrong wallet"}, key="rev-1")
    assert back.status_code == 200, back.text
    assert back.json()["outcome"] == "created"
    assert agent.get(f"{V1}/agents/{code}/repayments/preview").json()["owed"] == 360_600
    replayed = ops.post(reversal, {"reason": "paid from the wrong wallet"}, key="rev-1")
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert ops.post(reversal, {"reason": "again"}, key="rev-2").json()["outcome"] == "exists"
    [listed_repayment] = agent.get(f"{V1}/repayments").json()["items"]
    assert listed_repayment["id"] == repayment["id"]
    assert listed_repayment["reversed_on"] == "2026-01-10"
    assert listed_repayment["reversal_reason"] == "paid from the wrong wallet"

    # Everything owed, then nothing is.
    whole = agent.post(f"{V1}/agents/{code}/repayments", {"all": True}, key="repay-all")
    assert whole.status_code == 201 and whole.json()["amount"] == 360_600
    assert agent.get(f"{V1}/drawdowns/{order['id']}").json()["status"] == "repaid"
    nothing = agent.get(f"{V1}/agents/{code}/repayments/preview")
    assert nothing.status_code == 409 and problem_code(nothing) == "nothing_owed"
    assert [t for t, *_ in outbox(db, "repayment.received")] == ["funder:T1"] * 2
    verified = ops.get(f"{V1}/ledger/verify").json()
    assert verified["ok"] is True, verified


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_caller_sees_and_does_only_its_own(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db, mine, theirs = market.db, market.code(0), market.code(1)
    api = Api(db)
    agent, other = api.sign_in("agent", mine), api.sign_in("agent", theirs)
    t1, t2 = api.funder_system("T1"), api.funder_system("T2")
    ops = api.sign_in("operator", "ops")
    order = draw(agent, mine, 100_000, 30)
    draw(other, theirs, 200_000, 30)
    one = f"{V1}/drawdowns/{order['id']}"

    def denied(response: Any) -> None:  # what the caller's role may not do at all
        assert response.status_code == 403, response.text
        assert problem_code(response) == "access_denied"

    def hidden(response: Any, code: str) -> None:  # another party's: as if missing
        assert (response.status_code, problem_code(response)) == (404, code), response.text

    # Another agent, or a funder the order was not made to, learns nothing: the order,
    # the agent and the funder answer as missing ones do.
    missing = f"{V1}/drawdowns/999999"
    hidden(other.get(one), "drawdown_not_found")
    hidden(other.get(missing), "drawdown_not_found")
    hidden(t2.get(one), "drawdown_not_found")
    hidden(other.post(f"{one}/cancel"), "drawdown_not_found")
    hidden(t2.post(f"{one}/reject", {"reason": "no"}), "drawdown_not_found")
    hidden(t2.post(f"{missing}/reject", {"reason": "no"}), "drawdown_not_found")
    denied(agent.post(f"{one}/reject", {"reason": "no"}))
    hidden(
        other.post(f"{V1}/agents/{mine}/drawdowns", {"amount": 1, "term_days": 30}, key="auto"),
        "agent_not_found",
    )
    hidden(other.get(f"{V1}/agents/{mine}/repayments/preview"), "agent_not_found")
    hidden(
        other.post(f"{V1}/agents/{mine}/repayments", {"all": True}, key="auto"), "agent_not_found"
    )
    hidden(other.get(f"{V1}/agents/{mine}/standing"), "agent_not_found")
    hidden(t2.get(f"{V1}/agents/{mine}/standing"), "agent_not_found")  # T2 lends nothing to it
    hidden(t2.get(f"{V1}/funders/T1/portfolio"), "funder_not_found")
    hidden(t2.get(f"{V1}/funders/T1/statements/2026-01"), "funder_not_found")
    hidden(t2.get(f"{V1}/funders/T1/past-due"), "funder_not_found")
    denied(agent.get(f"{V1}/funders/T1/portfolio"))
    denied(t1.post(f"{V1}/repayments/1/reverse", {"reason": "x"}, key="auto"))
    denied(
        t2.post(
            f"{V1}/fundings",
            {
                "order_ref": order["order_ref"],
                "amount": 100_000,
                "bank_ref": "B",
                "funder_code": "T1",
            },
            key="auto",
        )
    )
    anonymous = api.anonymous().get(f"{V1}/drawdowns")
    assert anonymous.status_code == 401 and problem_code(anonymous) == "unauthenticated"
    # Lists are narrowed to the caller; operators see all; the status filter holds.
    assert [d["agent_code"] for d in agent.get(f"{V1}/drawdowns").json()["items"]] == [mine]
    assert [d["agent_code"] for d in other.get(f"{V1}/drawdowns").json()["items"]] == [theirs]
    assert len(t1.get(f"{V1}/drawdowns").json()["items"]) == 2
    assert t2.get(f"{V1}/drawdowns").json()["items"] == []
    page = ops.get(f"{V1}/drawdowns", params={"limit": 1}).json()
    assert [d["agent_code"] for d in page["items"]] == [mine] and page["next_cursor"]
    rest = ops.get(f"{V1}/drawdowns", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [d["agent_code"] for d in rest["items"]] == [theirs] and rest["next_cursor"] is None
    assert t1.get(f"{V1}/agents/{mine}/standing").status_code == 200  # T1 lends to it
    assert t1.get(f"{V1}/funders/T1/portfolio").json()["funder_code"] == "T1"

    # The funder rejects the order; the agent cancels its next one.
    rejected = t1.post(f"{one}/reject", {"reason": "limit review"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert problem_code(agent.post(f"{one}/cancel")) == "drawdown_not_pending"
    second = draw(agent, mine, 50_000, 30)
    cancelled = agent.post(f"{V1}/drawdowns/{second['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert problem_code(agent.get(f"{V1}/drawdowns/999999")) == "drawdown_not_found"
    assert [d["status"] for d in ops.get(f"{V1}/drawdowns?status=cancelled").json()["items"]] == [
        "cancelled"
    ]

    # Money quoting a closed order is held in suspense; an operator returns it.
    late = fund(t1, ops, db, order, "BANK-LATE")
    assert (late["matched"], late["exceptions"]) == (0, 1)
    [held] = ops.get(f"{V1}/recon/exceptions").json()["items"]
    assert (held["kind"], held["amount"], held["line"]["in_suspense"]) == ("late", 100_000, True)
    denied(agent.get(f"{V1}/recon/exceptions"))
    denied(t1.get(f"{V1}/recon/exceptions"))
    returned = ops.post(f"{V1}/recon/exceptions/{held['id']}/return", key="ret-1")
    assert returned.status_code == 200, returned.text
    assert returned.json()["exception"]["resolution"] == "returned"
    assert ops.get(f"{V1}/recon/exceptions").json()["items"] == []
    # An operator passes on a funder's notice naming the funder, and must name it.
    unnamed = ops.post(
        f"{V1}/fundings", {"order_ref": "YR0", "amount": 5, "bank_ref": "B-OPS"}, key="auto"
    )
    assert unnamed.status_code == 422 and problem_code(unnamed) == "request_invalid"
    named = ops.post(
        f"{V1}/fundings",
        {"order_ref": order["order_ref"], "amount": 5, "bank_ref": "B-OPS", "funder_code": "T2"},
        key="auto",
    )
    assert named.status_code == 404 and problem_code(named) == "drawdown_not_found"
    # A funder sees its own notices only.
    assert {n["party"] for n in t1.get(f"{V1}/notices").json()["items"]} == {"funder:T1"}
    assert t2.get(f"{V1}/notices").json()["items"] == []


def lent_and_spent(market: Market, agent: Caller, funder: Caller, ops: Caller) -> dict[str, Any]:
    """A 7-day loan (due 2026-01-12), the wallet then emptied at the carrier."""
    code = market.code(0)
    order = draw(agent, code, 360_000, 7)
    fund(funder, ops, market.db, order, "BANK-1")
    handle = f"agent:{code}"
    wallets.pay_carrier(market.db, handle, wallets.wallet(market.db, handle).balance, "spend")
    return order


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_borrower_in_default_its_standing_and_a_funders_freeze_request(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    api = Api(db)
    agent, t1, t2 = api.sign_in("agent", code), api.funder_system("T1"), api.funder_system("T2")
    ops = api.sign_in("operator", "ops")
    order = lent_and_spent(market, agent, t1, ops)
    ask = {"agent": code, "note": "seven days unpaid"}
    early = t1.post(f"{V1}/freeze-requests", ask)
    assert early.status_code == 409 and problem_code(early) == "borrower_not_in_default"
    current = agent.get(f"{V1}/agents/{code}/standing").json()
    assert (current["bucket"], current["frozen"], current["freezes"]) == ("M0", False, [])
    assert outbox(db, "loan.overdue") == []

    close_days_until(market, date(2026, 1, 14))  # overdue from the 13th: 2 days past due
    standing = agent.get(f"{V1}/agents/{code}/standing").json()
    assert (standing["days_past_due"], standing["bucket"], standing["frozen"]) == (2, "M1", True)
    assert [(f["reason"], f["since"]) for f in standing["freezes"]] == [("overdue", "2026-01-12")]
    assert standing["freezes"][0]["note"] == "overdue from 2026-01-13"
    [loan] = standing["loans"]
    assert (loan["status"], loan["owed"]["principal"]) == ("overdue", 360_000)
    assert (
        standing["owed"]
        == loan["owed"]["principal"] + loan["owed"]["interest"] + loan["owed"]["penalty"]
    )
    seen_by_funder = t1.get(f"{V1}/agents/{code}/standing").json()
    assert seen_by_funder["freezes"] == [{"reason": "overdue", "since": "2026-01-12", "note": None}]
    # The funder was told once, on the day its loan fell overdue (no personal data).
    assert outbox(db, "loan.overdue") == [
        (
            "funder:T1",
            order["id"],
            {
                "order_ref": order["order_ref"],
                "due_date": "2026-01-12",
                "overdue_from": "2026-01-13",
                "principal": 360_000,
            },
        )
    ]
    [past_due] = t1.get(f"{V1}/funders/T1/past-due").json()["items"]
    assert (past_due["order_ref"], past_due["days_past_due"]) == (order["order_ref"], 2)
    # Its cursor is the (due date, drawdown) the previous page ended on.
    at = date(2026, 1, 12).toordinal() * 10**12 + order["id"]
    for cursor, expected in ((at - 1, [order["id"]]), (at, []), (at + 10**12 - 1, [])):
        page = t1.get(f"{V1}/funders/T1/past-due", params={"cursor": cursor_of(cursor)}).json()
        assert [p["drawdown_id"] for p in page["items"]] == expected
    assert problem_code(t1.get(f"{V1}/funders/T1/past-due?cursor=7")) == "request_invalid"
    not_ours = t1.get(f"{V1}/funders/T1/past-due", params={"cursor": cursor_of(7)})
    assert problem_code(not_ours) == "cursor_invalid"
    book = {b["bucket"]: b for b in ops.get(f"{V1}/funders/T1/portfolio").json()["buckets"]}
    assert (book["M1"]["loans"], book["M1"]["principal"], book["M0"]["loans"]) == (1, 360_000, 0)
    blocked = agent.post(
        f"{V1}/agents/{code}/drawdowns", {"amount": 1_000, "term_days": 7}, key="auto"
    )
    assert blocked.status_code == 409 and problem_code(blocked) == "loan_overdue"

    # T1 asks for a contractual freeze; T2 lends nothing to the agent and may not.
    not_theirs = t2.post(f"{V1}/freeze-requests", ask)
    assert problem_code(not_theirs) == "borrower_not_in_default"
    assert agent.post(f"{V1}/freeze-requests", ask).status_code == 403
    asked = t1.post(f"{V1}/freeze-requests", ask)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["status"], request["funder_code"], request["outcome"]) == (
        "requested",
        "T1",
        "created",
    )
    assert t1.post(f"{V1}/freeze-requests", ask).json()["id"] == request["id"]  # still open
    assert [r["id"] for r in t1.get(f"{V1}/freeze-requests").json()["items"]] == [request["id"]]
    assert t2.get(f"{V1}/freeze-requests").json()["items"] == []
    assert t1.post(f"{V1}/freeze-requests/{request['id']}/apply").status_code == 403

    applied = ops.post(f"{V1}/freeze-requests/{request['id']}/apply", {"note": "contract 7.2"})
    assert applied.status_code == 200, applied.text
    decided = applied.json()
    assert (decided["status"], decided["decided_by"], decided["decision_note"]) == (
        "applied",
        "operator:ops",
        "contract 7.2",
    )
    assert wallets.wallet(db, f"agent:{code}").freezes == ("funder_request", "overdue")
    reasons = [f["reason"] for f in agent.get(f"{V1}/agents/{code}/standing").json()["freezes"]]
    assert reasons == ["overdue", "funder_request"]
    for verb, body in (("apply", None), ("decline", {"note": "no"})):
        twice = ops.post(f"{V1}/freeze-requests/{request['id']}/{verb}", body)
        assert twice.status_code == 409 and problem_code(twice) == "freeze_request_decided"
    unknown = ops.post(f"{V1}/freeze-requests/999999/decline", {"note": "no"})
    assert unknown.status_code == 404 and problem_code(unknown) == "freeze_request_not_found"
    listed = ops.get(f"{V1}/freeze-requests", params={"status": "applied"}).json()["items"]
    assert [r["id"] for r in listed] == [request["id"]]
    # The operator's decision is in the audit log.
    audit = ops.get(f"{V1}/audit", params={"actor": "operator:ops"}).json()["items"]
    assert {
        (a["action"], a["target"], a["status"])
        for a in audit
        if a["action"] == "POST /api/v1/freeze-requests/{request_id}/apply"
    } == {
        (
            "POST /api/v1/freeze-requests/{request_id}/apply",
            f"/api/v1/freeze-requests/{request['id']}/apply",
            200,
        ),
        (
            "POST /api/v1/freeze-requests/{request_id}/apply",
            f"/api/v1/freeze-requests/{request['id']}/apply",
            409,
        ),
    }


def test_a_long_service_key_fits_its_column_by_its_digest() -> None:
    short = "agent:A000001:k1"
    assert fitted(short) == short
    long = "agent:" + "A" * 64 + ":" + "k" * 64
    first, second = fitted(long), fitted(long + "x")
    assert len(first) <= SERVICE_KEY_ROOM and first == fitted(long) and first != second
    # The longest a service makes of it still fits its 128-character columns.
    assert len(f"repay:{'A' * 64}:{first}:share") <= 128
