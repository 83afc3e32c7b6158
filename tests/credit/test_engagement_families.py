"""One funder at a time, in each product family: an agent may hold a line (revolving
or term) from one funder and an order facility from another, each granted through
the same marketplace; a second application in the same family is refused, as ever;
withdrawing, rejecting or closing frees only its own family; pre-approval and the
funders' candidates leave an agent out only of the family it is engaged in."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from tests.credit.market import (
    Market,
    build_market,
    card,
    consent,
    order_lender,
    product,
    scorecard_funder,
)
from yirong.credit.applications import (
    apply_for_credit,
    approve_application,
    current_credit,
    reject_application,
    withdraw_application,
)
from yirong.credit.deciders import Proposal, Pseudonymous
from yirong.credit.disclosure import candidates
from yirong.credit.offers import OfferView, compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.credit.queries import agents_to_apply
from yirong.credit.tokens import funder_token
from yirong.errors import YirongError
from yirong.funders.service import FunderInput, ProductInput, add_product, register_funder
from yirong.funders.tables import Funder, FunderProduct
from yirong.infra.db import Database
from yirong.loans.drawdowns import active_facility, active_line, request_drawdown
from yirong.loans.lines import close_line

OPTED_IN = 4  # the market's agents 0 to 3


def order_product() -> ProductInput:
    return order_lender("O")[1]


def line_product() -> ProductInput:
    return product()


def funder(code: str, offered: str) -> FunderInput:
    """A scorecard funder whose card offers ``offered`` to every agent."""
    return scorecard_funder(code, card("0.10", "2", offered))


@pytest.fixture
def families(market: Market) -> Market:
    """The credit market's line funders T1 and T2, and two order financiers O1 and O2;
    pre-approval has run: every opted-in agent holds an offer of each."""
    for code in ("O1", "O2"):
        register_funder(market.db, funder(code, "ORDER"))
        add_product(market.db, code, order_product())
    run_preapproval(market.db)
    return market


def offers(market: Market, n: int) -> dict[str, OfferView]:
    return {o.funder_code: o for o in compare_offers(market.db, market.code(n))}


def refused(code: str, call) -> YirongError:  # type: ignore[no-untyped-def]
    with pytest.raises(YirongError) as caught:
        call()
    assert caught.value.code == code
    return caught.value


def apply(market: Market, n: int, funder_code: str) -> int:
    offer = offers(market, n)[funder_code]
    return apply_for_credit(market.db, market.code(n), offer.id, market.details(n), consent()).id


def approve(market: Market, application: int, funder_code: str) -> str:
    line = approve_application(
        market.db,
        application,
        funder_code=funder_code,
        credit_limit=1_000_000,
        annual_rate=Decimal("0.10"),
    )
    return line.id


def active_lines(db: Database, agent: str) -> tuple[int | None, int | None]:
    """The ids of the agent's active line and of its active order facility."""
    from yirong.agents.service import agent_row

    def read(tx):  # type: ignore[no-untyped-def]
        agent_id = agent_row(tx, agent).id
        line, facility = active_line(tx, agent_id), active_facility(tx, agent_id)
        return (line and line.id, facility and facility.id)

    return db.run(read, readonly=True)


def test_a_line_from_one_funder_and_an_order_facility_from_another(families: Market) -> None:
    m, agent = families, families.code(0)
    line = approve(m, apply(m, 0, "T1"), "T1")
    # Engaged with T1 in the line family: O1's order product is still open to it.
    application = apply(m, 0, "O1")
    order_app, no_facility = current_credit(m.db, agent, family="order")
    assert order_app is not None and order_app.id == application and no_facility is None
    facility = approve(m, application, "O1")

    line_app, line_view = current_credit(m.db, agent)  # the line family, by default
    assert line_app is not None and line_app.funder_code == "T1"
    assert line_view is not None and line_view.id == line
    order_app, facility_view = current_credit(m.db, agent, family="order")
    assert order_app is not None and order_app.funder_code == "O1"
    assert facility_view is not None and facility_view.id == facility
    assert facility_view.product_code == "ORDER" and facility_view.status == "active"
    # Two active credit lines: the loans tell the line from the order facility.
    line_id, facility_id = active_lines(m.db, agent)
    assert (line_id, facility_id) != (None, None) and line_id != facility_id
    from yirong.credit.tables import CREDIT_LINE

    assert (CREDIT_LINE.of(line_id or 0), CREDIT_LINE.of(facility_id or 0)) == (line, facility)

    # A second funder in either family is refused, as it always was.
    error = refused("credit_already_engaged", lambda: apply(m, 0, "T2"))
    assert error.details["family"] == "line" and error.details["line"] == line
    error = refused("credit_already_engaged", lambda: apply(m, 0, "O2"))
    assert error.details["family"] == "order" and error.details["line"] == facility

    # Closing the order facility (it carries nothing) frees the order family only.
    assert close_line(m.db, facility, reason="moving to O2").status == "closed"
    assert active_lines(m.db, agent) == (line_id, None)
    assert current_credit(m.db, agent, family="order") == (None, None)
    refused("credit_already_engaged", lambda: apply(m, 0, "T2"))
    assert apply(m, 0, "O2") > 0


def test_withdrawing_or_rejecting_frees_only_its_own_family(families: Market) -> None:
    m, agent = families, families.code(1)
    to_t1, to_o1 = apply(m, 1, "T1"), apply(m, 1, "O1")
    # The agent withdraws its order application: its line application stands.
    assert withdraw_application(m.db, agent, to_o1).status == "withdrawn"
    assert current_credit(m.db, agent, family="order") == (None, None)
    line_app, _ = current_credit(m.db, agent)
    assert line_app is not None and line_app.id == to_t1
    refused("credit_already_engaged", lambda: apply(m, 1, "T2"))
    to_o2 = apply(m, 1, "O2")
    # T1 rejects: the line family is free again, the order application goes on.
    reject_application(m.db, to_t1, funder_code="T1", reason_code="policy")
    assert current_credit(m.db, agent) == (None, None)
    order_app, _ = current_credit(m.db, agent, family="order")
    assert order_app is not None and order_app.id == to_o2
    to_t2 = apply(m, 1, "T2")
    # And O2 rejects: only the order family is freed.
    reject_application(m.db, to_o2, funder_code="O2", reason_code="other")
    assert current_credit(m.db, agent, family="order") == (None, None)
    line_app, _ = current_credit(m.db, agent)
    assert line_app is not None and line_app.id == to_t2


def test_an_order_facility_alone_lends_no_drawdown(families: Market) -> None:
    """The agent's line is its line family's: an order facility is not one to draw on
    (its advances go through order financing)."""
    m = families
    approve(m, apply(m, 2, "O1"), "O1")
    assert active_lines(m.db, m.code(2))[0] is None
    refused("line_not_active", lambda: request_drawdown(m.db, m.code(2), 100_000, 30, "dd-1"))


class ProposesEveryProduct:
    """A funder's own system (the Python path of pre-approval): every agent it is
    shown gets an offer of each of its products."""

    def __init__(self) -> None:
        self.shown: set[str] = set()

    def propose(
        self, funder: Funder, products: Sequence[FunderProduct], agents: Sequence[Pseudonymous]
    ) -> list[Proposal]:
        self.shown |= {a.token for a in agents}
        return [
            Proposal(a.token, p.code, 500_000, Decimal("0.10"), 60)
            for a in agents
            for p in products
        ]


def test_preapproval_leaves_an_agent_out_only_of_its_engaged_family(families: Market) -> None:
    m = families
    approve(m, apply(m, 0, "T1"), "T1")  # agent 0: a line
    apply(m, 1, "T1")  # agent 1: an application for one
    apply(m, 1, "O1")  # ... and for an order facility
    # B1 lends in both families, through its own system.
    register_funder(m.db, funder("B1", "LINE"))
    add_product(m.db, "B1", line_product())
    add_product(m.db, "B1", order_product())
    both = ProposesEveryProduct()

    report = run_preapproval(m.db, deciders={"B1": both})

    # The scorecards, in SQL: a line funder scores the agents free in the line family,
    # an order financier those free in the order family.
    assert (report.funders["T2"].agents, report.funders["O2"].agents) == (
        OPTED_IN - 2,
        OPTED_IN - 1,
    )
    # The Python path: agent 1, engaged in both families, is not shown to B1; agent 0
    # is, for the order family only: its line proposal is refused.
    tokens = {funder_token("B1", m.code(n)): n for n in range(OPTED_IN)}
    assert sorted(tokens[t] for t in both.shown) == [0, 2, 3]
    b1 = report.funders["B1"]
    assert (b1.agents, b1.proposed, b1.created) == (3, 6, 5)
    assert b1.refused == {"credit_already_engaged": 1}
    b1_offers = {o.product_code for o in compare_offers(m.db, m.code(0)) if o.funder_code == "B1"}
    assert b1_offers == {"ORDER"}
    assert {o.product_code for o in compare_offers(m.db, m.code(2)) if o.funder_code == "B1"} == {
        "LINE",
        "ORDER",
    }


def test_candidates_and_who_may_apply_follow_the_family(families: Market) -> None:
    m = families
    approve(m, apply(m, 0, "T1"), "T1")  # agent 0: a line, and live order offers

    def shown(funder_code: str) -> list[int]:
        found, _more = candidates(m.db, funder_code)
        tokens = {funder_token(funder_code, m.code(n)): n for n in range(OPTED_IN)}
        return sorted(tokens[c.token] for _, c in found)

    assert shown("T2") == [1, 2, 3]
    assert shown("O2") == [0, 1, 2, 3]
    assert m.code(0) in agents_to_apply(m.db, limit=10)  # O1's and O2's offers
    approve(m, apply(m, 0, "O1"), "O1")
    assert shown("O2") == [1, 2, 3]
    assert m.code(0) not in agents_to_apply(m.db, limit=10)


def test_the_slot_of_each_family_holds_against_a_race(tmp_path: Path) -> None:
    """The engagement's key is (agent, family): the database itself refuses a second
    slot in a family, and takes one in the other."""
    from datetime import date

    from sqlalchemy.exc import IntegrityError

    from yirong.credit.tables import AgentEngagement

    m = build_market("sqlite", tmp_path, agents=1, opted_in=1)

    def take(family: str) -> None:
        def write(tx):  # type: ignore[no-untyped-def]
            tx.session.add(
                AgentEngagement(
                    agent_id=1,
                    family=family,
                    funder_id=1,
                    application_id=1,
                    line_id=None,
                    since=date(2026, 1, 5),
                )
            )
            tx.session.flush()

        m.db.run(write)

    take("line")
    take("order")
    with pytest.raises(IntegrityError):
        take("line")
    m.db.dispose()
