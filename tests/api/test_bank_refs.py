"""A funder's bank reference names one transfer (issue 13, point 5), on both databases:
quoted on a second funding notice by the same funder it is refused (bank_ref_used),
also when two arrive at once; another funder's same reference is its own business, and
no refusal tells one funder anything of another's notices."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from threading import Barrier

import pytest
from httpx import Response
from sqlalchemy.exc import IntegrityError

from tests.api.client import Api, Caller, problem_code
from tests.credit.market import Market, build_market, consent
from tests.databases import BACKENDS
from yirong.credit.applications import apply_for_credit
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.errors import YirongError
from yirong.loans.drawdowns import request_drawdown
from yirong.reconciliation.notices import record_notice
from yirong.reconciliation.tables import Notice

V1 = "/api/v1"
DAY = date(2026, 1, 5)


@pytest.fixture(params=BACKENDS)
def market(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Market]:
    """Agent 0 borrows from T1, agent 1 from T2."""
    made = build_market(request.param, tmp_path, agents=2, opted_in=2)
    db = made.db
    run_preapproval(db)
    for n, funder in ((0, "T1"), (1, "T2")):
        offer = next(o for o in compare_offers(db, made.code(n)) if o.funder_code == funder)
        apply_for_credit(db, made.code(n), offer.id, made.details(n), consent())
    assert decide_by_scorecards(db).approved == 2
    yield made
    db.dispose()


def order(market: Market, n: int, key: str) -> str:
    return request_drawdown(market.db, market.code(n), 100_000, 30, key).order_ref


def say(system: Caller, order_ref: str, bank_ref: str, key: str = "auto") -> Response:
    return system.post(
        f"{V1}/fundings", {"order_ref": order_ref, "amount": 100_000, "bank_ref": bank_ref}, key=key
    )


def test_a_bank_reference_is_one_transfer_per_funder_and_tells_nothing_of_others(
    market: Market,
) -> None:
    api = Api(market.db)
    t1, t2, ops = api.funder_system("T1"), api.funder_system("T2"), api.sign_in("operator", "o")
    a1, a2 = order(market, 0, "a1"), order(market, 0, "a2")
    b1, b2 = order(market, 1, "b1"), order(market, 1, "b2")
    first = say(t1, a1, "REF-1", key="t1-first")
    assert first.status_code == 201
    t1_notice = first.json()["id"]
    # The same notice again (its key) is the same notice; another with the same
    # reference is refused, and says which of T1's own notices has it.
    again = say(t1, a1, "REF-1", key="t1-first")
    assert again.json()["id"] == t1_notice
    used = say(t1, a2, "REF-1")
    assert used.status_code == 409 and problem_code(used) == "bank_ref_used"
    assert (used.json()["bank_ref"], used.json()["notice"]) == ("REF-1", t1_notice)
    # An operator recording T1's word is held to the same.
    by_ops = ops.post(
        f"{V1}/fundings",
        {"order_ref": a2, "amount": 100_000, "bank_ref": "REF-1", "funder_code": "T1"},
        key="auto",
    )
    assert problem_code(by_ops) == "bank_ref_used"
    # T2's "REF-1" is T2's own transfer: accepted; its second use refused, naming only
    # T2's own notice, nothing of T1's (its notice, order or code).
    theirs = say(t2, b1, "REF-1")
    assert theirs.status_code == 201
    t2_notice = theirs.json()["id"]
    refused = say(t2, b2, "REF-1")
    assert problem_code(refused) == "bank_ref_used"
    body = refused.json()
    assert body["notice"] == t2_notice != t1_notice
    assert a1 not in refused.text and "T1" not in refused.text
    # A reference T2 never used, quoted on T1's order: refused as a missing order would
    # be, telling nothing.
    foreign = say(t2, a2, "REF-9")
    assert (foreign.status_code, problem_code(foreign)) == (404, "drawdown_not_found")
    assert "REF-1" not in foreign.text
    # Other references are fine.
    assert say(t1, a2, "REF-2").status_code == 201


def test_two_notices_with_one_reference_at_once_one_is_refused(market: Market) -> None:
    db = market.db
    orders = [order(market, 0, f"c{n}") for n in range(2)]
    start = Barrier(2)

    def notice(n: int) -> str:
        start.wait()
        try:
            record_notice(
                db,
                kind="funding",
                recorded_by="funder:T1",
                key=f"race-{n}",
                target=orders[n],
                amount=100_000,
                their_ref="REF-RACE",
                funder="T1",
            )
        except YirongError as refused:
            return refused.code
        return "created"

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(notice, range(2))) == ["bank_ref_used", "created"]


def test_the_database_itself_holds_the_rule(market: Market) -> None:
    def two(tx):  # type: ignore[no-untyped-def]
        for n in range(2):
            tx.session.add(
                Notice(
                    kind="funding",
                    party="funder:T1",
                    recorded_by="funder:T1",
                    request_key=f"direct-{n}",
                    target=f"YR-{n}",
                    amount=1,
                    their_ref="REF-DIRECT",
                    value_date=DAY,
                    said_on=DAY,
                    status="open",
                )
            )
        tx.session.flush()

    with pytest.raises(IntegrityError):
        market.db.run(two)
    # Top-ups without a reference (or any other kind) are not held to it.
    blank = [("top_up", ""), ("top_up", ""), ("funding", ""), ("funding", "")]

    def many(tx):  # type: ignore[no-untyped-def]
        for n, (kind, ref) in enumerate(blank):
            tx.session.add(
                Notice(
                    kind=kind,
                    party="funder:T1",
                    recorded_by="operator:o",
                    request_key=f"blank-{n}",
                    target="funder:T1",
                    amount=1,
                    their_ref=ref,
                    value_date=DAY,
                    said_on=DAY,
                    status="open",
                )
            )

    market.db.run(many)
