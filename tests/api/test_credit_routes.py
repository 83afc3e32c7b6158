"""The credit marketplace through HTTP: opting in, pre-approval, candidates, offers,
applications and their decisions, lines; who may see what; refusals; pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.client import Api, Caller, problem_code
from tests.credit.market import TEXT, Market, build_market
from tests.databases import BACKENDS
from yirong.credit.consents import APPLICATION_FIELDS
from yirong.credit.tables import DataShare
from yirong.credit.tokens import funder_token
from yirong.infra.outbox import OutboxMessage

V1 = "/api/v1"


@pytest.fixture(params=BACKENDS)
def market(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Market]:
    # Three agents with November's commissions; the first has opted in to pre-approval.
    built = build_market(request.param, tmp_path, agents=3, opted_in=1)
    yield built
    built.db.dispose()


def firm(market: Market, n: int) -> dict[str, str]:
    d = market.details(n)
    return {
        "name": d.name,
        "uscc": d.uscc,
        "legal_rep_name": d.legal_rep_name,
        "legal_rep_id": d.legal_rep_id,
        "mobile": d.mobile,
        "bank_card": d.bank_card,
    }


def application_body(market: Market, n: int, offer_id: int, **extra: Any) -> dict[str, Any]:
    consent = {
        "fields": list(APPLICATION_FIELDS),
        "valid_until": "2026-12-31",
        "text_version": TEXT,
    }
    return {"offer_id": offer_id, "firm": firm(market, n), "consent": consent, **extra}


def outbox(market: Market) -> list[tuple[str, str, int, dict[str, Any]]]:
    rows = market.db.run(
        lambda tx: tx.session.execute(
            select(
                OutboxMessage.recipient,
                OutboxMessage.topic,
                OutboxMessage.subject_id,
                OutboxMessage.payload,
            ).order_by(OutboxMessage.id)
        ).all()
    )
    return [(r, t, s, json.loads(p)) for r, t, s, p in rows]


def shares(market: Market) -> int:
    return market.db.run(lambda tx: tx.conn.scalar(select(func.count()).select_from(DataShare)))


def walk(caller: Caller, url: str, **query: str) -> list[dict[str, Any]]:
    """Every item of a list, one per page, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(20):
        answer = caller.get(
            url, params={**query, "limit": 1, **({"cursor": cursor} if cursor else {})}
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["items"]) <= 1
        items += page["items"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")


def test_from_opt_in_to_a_line_through_http(market: Market) -> None:
    api = Api(market.db)
    a0, a1 = market.code(0), market.code(1)
    agent0, agent1 = api.sign_in("agent", a0), api.sign_in("agent", a1)
    t1, t2 = api.funder_system("T1"), api.funder_system("T2")
    ops = api.sign_in("operator", "ops")

    # The consent text, then the second agent opts in through the API.
    text = agent1.get(f"{V1}/consent-text").json()
    assert text["text_version"] == TEXT and "uscc" in text["application_fields"]
    opted = agent1.post(f"{V1}/agents/{a1}/preapproval-consent", {"text_version": TEXT})
    assert opted.status_code == 200, opted.text
    assert opted.json()["purpose"] == "preapproval" and opted.json()["funder_code"] is None
    again = agent1.post(f"{V1}/agents/{a1}/preapproval-consent", {"text_version": TEXT})
    assert again.json()["id"] == opted.json()["id"]  # agreeing again changes nothing

    run = ops.post(f"{V1}/preapproval/runs")
    assert run.status_code == 201, run.text
    assert run.json()["offers_created"] == 4  # two agents, two funders
    assert run.json()["funders"]["T1"]["created"] == 2

    # T1 sees two pseudonymous candidates: its own tokens, features, no identity.
    before = shares(market)
    seen = t1.get(f"{V1}/funders/T1/candidates")
    assert seen.status_code == 200, seen.text
    tokens = {c["token"] for c in seen.json()["items"]}
    assert tokens == {funder_token("T1", a0), funder_token("T1", a1)}
    assert all(c["features"]["income_3m"] > 0 for c in seen.json()["items"])
    for n in (0, 1):
        for value in (market.code(n), *firm(market, n).values()):
            assert value not in seen.text
    assert shares(market) == before + 2  # the look is logged under each consent
    assert problem_code(t2.get(f"{V1}/funders/T1/candidates")) == "funder_not_found"
    assert t2.get(f"{V1}/funders/T1/candidates").status_code == 404
    assert problem_code(agent0.get(f"{V1}/funders/T1/candidates")) == "access_denied"
    # No identity before an application's consent.
    refused = t1.get(f"{V1}/agents/{a0}")
    assert refused.status_code == 403 and problem_code(refused) == "access_denied"

    # Offers side by side, cheapest first; another agent may not look.
    offers = agent0.get(f"{V1}/agents/{a0}/offers").json()["items"]
    assert [o["funder_code"] for o in offers] == ["T1", "T2"]
    assert Decimal(offers[0]["apr"]) < Decimal(offers[1]["apr"]) and offers[0]["sample_cost"] > 0
    assert problem_code(agent1.get(f"{V1}/agents/{a0}/offers")) == "agent_not_found"
    assert ops.get(f"{V1}/agents/{a0}/offers").json()["items"] == offers

    # Another agent may not apply in its name; the agent applies to T1.
    url = f"{V1}/agents/{a0}/applications"
    in_its_name = agent1.post(url, application_body(market, 0, offers[0]["id"]))
    assert (in_its_name.status_code, problem_code(in_its_name)) == (404, "agent_not_found")
    applied = agent0.post(url, application_body(market, 0, offers[0]["id"]))
    assert applied.status_code == 201, applied.text
    app = applied.json()
    assert (app["status"], app["funder_code"], app["agent_code"]) == ("submitted", "T1", a0)
    submitted = [m for m in outbox(market) if m[1] == "application.submitted"]
    assert submitted == [
        (
            "funder:T1",
            "application.submitted",
            app["id"],
            {
                "application_id": app["id"],
                "offer_id": offers[0]["id"],
                "agent_token": funder_token("T1", a0),
                "submitted_on": "2026-01-05",
            },
        )
    ]
    # Applying again while engaged is refused.
    twice = agent0.post(url, application_body(market, 0, offers[1]["id"]))
    assert problem_code(twice) == "credit_already_engaged"

    # The engaged agent is no longer shown around.
    left = t1.get(f"{V1}/funders/T1/candidates").json()["items"]
    assert [c["token"] for c in left] == [funder_token("T1", a1)]

    # Scoping: the other funder and the other agent see nothing of the application.
    one = f"{V1}/applications/{app['id']}"
    assert problem_code(t2.get(one)) == "application_not_found"
    assert problem_code(agent1.get(one)) == "application_not_found"
    assert t2.get(f"{one}/applicant").status_code == 404
    assert problem_code(t2.get(f"{one}/applicant")) == "application_not_found"
    assert problem_code(t2.get(f"{V1}/agents/{a0}")) == "access_denied"
    assert t2.get(f"{V1}/applications").json()["items"] == []
    assert agent1.get(f"{V1}/applications").json()["items"] == []
    assert [a["id"] for a in t1.get(f"{V1}/applications").json()["items"]] == [app["id"]]
    assert agent0.get(one).json() == app and t1.get(one).json() == app

    # T1 sees the applicant in full under the consent, every look logged.
    before = shares(market)
    applicant = t1.get(f"{one}/applicant")
    assert applicant.status_code == 200, applicant.text
    assert applicant.json()["masked"] is False
    assert applicant.json() == ops.get(f"{V1}/agents/{a0}").json()  # the record, in full
    assert applicant.json()["uscc"] == firm(market, 0)["uscc"]
    profile = t1.get(f"{V1}/agents/{a0}")
    assert profile.status_code == 200 and profile.json()["uscc"] == firm(market, 0)["uscc"]
    assert shares(market) == before + 2

    # Another funder's approval is a clean refusal; T1 approves once.
    terms = {"credit_limit": 500_000, "annual_rate": "0.12"}
    foreign = t2.post(f"{one}/approve", terms)
    assert foreign.status_code == 404 and problem_code(foreign) == "application_not_found"
    assert problem_code(agent0.post(f"{one}/approve", terms)) == "access_denied"
    approved = t1.post(f"{one}/approve", {**terms, "valid_days": 180})
    assert approved.status_code == 201, approved.text
    line = approved.json()
    assert (line["credit_limit"], line["annual_rate"], line["status"]) == (
        500_000,
        "0.12",
        "active",
    )
    assert line["valid_until"] == "2026-07-04"
    # Its id does not count the platform's lines, and a row number finds nothing.
    assert re.fullmatch(r"cl_[0-9]{14}", line["id"]), line["id"]
    assert problem_code(t1.get(f"{V1}/lines/1")) == "request_invalid"
    assert problem_code(t1.get(f"{V1}/lines/cl_00000000000001")) == "line_not_found"
    assert problem_code(t1.post(f"{one}/approve", terms)) == "application_already_decided"
    decided = [m for m in outbox(market) if m[1] == "application.decided"]
    assert [(m[0], m[3]["status"], m[3]["line_id"]) for m in decided] == [
        ("funder:T1", "approved", line["id"])
    ]
    assert agent0.get(one).json()["status"] == "approved"

    # The line: the agent and T1 see it; T2 and the other agent do not.
    assert agent0.get(f"{V1}/lines").json()["items"] == [line]
    assert t1.get(f"{V1}/lines?status=active").json()["items"] == [line]
    assert t1.get(f"{V1}/lines?status=closed").json()["items"] == []
    assert t2.get(f"{V1}/lines").json()["items"] == []
    assert agent1.get(f"{V1}/lines").json()["items"] == []
    assert problem_code(agent1.get(f"{V1}/lines/{line['id']}")) == "line_not_found"
    assert problem_code(t2.get(f"{V1}/lines/{line['id']}")) == "line_not_found"
    assert t1.get(f"{V1}/lines/{line['id']}").json() == line
    assert ops.get(f"{V1}/applications?status=approved").json()["items"][0]["line_id"] == line["id"]
    assert ops.get(f"{V1}/applications?status=submitted").json()["items"] == []

    # Closing: not by another funder nor the agent; by the line's funder.
    close = f"{V1}/lines/{line['id']}/close"
    assert problem_code(t2.post(close, {"reason": "no"})) == "line_not_found"
    assert problem_code(agent0.post(close, {"reason": "no"})) == "access_denied"
    closed = t1.post(close, {"reason": "agent moves on"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert problem_code(ops.post(close, {"reason": "again"})) == "line_not_active"


def test_refusals_and_withdrawals(market: Market) -> None:
    api = Api(market.db)
    a0, a1 = market.code(0), market.code(1)
    agent0 = api.sign_in("agent", a0)
    t1, t2 = api.funder_system("T1"), api.funder_system("T2")
    ops = api.sign_in("operator", "ops")
    assert problem_code(agent0.post(f"{V1}/preapproval/runs")) == "access_denied"
    assert ops.post(f"{V1}/preapproval/runs").status_code == 201
    # Operators may not consent for an agent; an old consent text is refused.
    assert ops.post(
        f"{V1}/agents/{a1}/preapproval-consent", {"text_version": TEXT}
    ).status_code == (403)
    stale = agent0.post(f"{V1}/agents/{a0}/preapproval-consent", {"text_version": "2020-01"})
    assert problem_code(stale) == "consent_invalid"

    offer = agent0.get(f"{V1}/agents/{a0}/offers").json()["items"][0]
    url = f"{V1}/agents/{a0}/applications"
    invalid = [
        application_body(market, 0, offer["id"], note="hi"),  # unknown field
        {**application_body(market, 0, offer["id"]), "offer_id": str(offer["id"])},
        {**application_body(market, 0, offer["id"]), "firm": {**firm(market, 0), "x": 1}},
    ]
    for body in invalid:
        answer = agent0.post(url, body)
        assert answer.status_code == 422 and problem_code(answer) == "request_invalid", body
        # The input is not echoed back: it may be personal data.
        assert firm(market, 0)["uscc"] not in answer.text
    no_consent = {k: v for k, v in application_body(market, 0, offer["id"]).items()}
    del no_consent["consent"]
    assert problem_code(agent0.post(url, no_consent)) == "consent_required"
    wrong = {**application_body(market, 0, offer["id"]), "firm": firm(market, 1)}
    assert problem_code(agent0.post(url, wrong)) == "firm_details_mismatch"
    assert problem_code(agent0.post(url, application_body(market, 0, 999_999))) == (
        "offer_not_found"
    )
    assert agent0.get(f"{V1}/applications").json()["items"] == []  # nothing was applied
    assert [m for m in outbox(market) if m[1].startswith("application.")] == []

    app = agent0.post(url, application_body(market, 0, offer["id"])).json()
    one = f"{V1}/applications/{app['id']}"
    for body in (
        {"credit_limit": "500000", "annual_rate": "0.12"},  # fen are integers
        {"credit_limit": 500_000, "annual_rate": "0.12", "extra": 1},
        {"credit_limit": 500_000, "annual_rate": "1.5"},
        {"credit_limit": 500_000.5, "annual_rate": "0.12"},
    ):
        answer = t1.post(f"{one}/approve", body)
        assert problem_code(answer) == "request_invalid", body
    outside = t1.post(f"{one}/approve", {"credit_limit": 500_000, "annual_rate": "0.25"})
    assert problem_code(outside) == "line_terms_invalid"
    assert problem_code(t1.post(f"{one}/reject", {"reason_code": "moon"})) == (
        "rejection_reason_invalid"
    )
    assert problem_code(t2.post(f"{one}/reject", {"reason_code": "policy"})) == (
        "application_not_found"
    )
    assert problem_code(t1.get(f"{V1}/applications?status=pending")) == "request_invalid"
    assert problem_code(t1.get(f"{V1}/applications/999999")) == "application_not_found"

    # The agent withdraws its consent to T1: T1 no longer sees it.
    assert t1.get(f"{V1}/agents/{a0}").status_code == 200
    consents = agent0.get(f"{V1}/agents/{a0}/consents").json()["items"]
    to_t1 = next(c for c in consents if c["funder_code"] == "T1")
    gone = agent0.post(f"{V1}/agents/{a0}/consents/{to_t1['id']}/withdraw")
    assert gone.status_code == 200 and gone.json()["withdrawn_on"] == "2026-01-05"
    assert problem_code(t1.get(f"{V1}/agents/{a0}")) == "access_denied"
    assert problem_code(t1.get(f"{one}/applicant")) == "consent_withdrawn"
    assert problem_code(ops.post(f"{V1}/agents/{a0}/consents/{to_t1['id']}/withdraw")) == (
        "access_denied"
    )

    # Only the agent itself withdraws its application; T1 is told.
    agent1 = api.sign_in("agent", a1)
    assert problem_code(agent1.post(f"{one}/withdraw")) == "application_not_found"
    withdrawn = agent0.post(f"{one}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert problem_code(t1.post(f"{one}/reject", {"reason_code": "policy"})) == (
        "application_already_decided"
    )
    assert [m[1] for m in outbox(market) if m[0] == "funder:T1"][-1] == "application.withdrawn"


def test_lists_walk_page_by_page(market: Market) -> None:
    api = Api(market.db)
    a0, a1 = market.code(0), market.code(1)
    agent0, agent1 = api.sign_in("agent", a0), api.sign_in("agent", a1)
    t1, t2 = api.funder_system("T1"), api.funder_system("T2")
    ops = api.sign_in("operator", "ops")
    agent1.post(f"{V1}/agents/{a1}/preapproval-consent", {"text_version": TEXT})
    ops.post(f"{V1}/preapproval/runs")

    ranked = agent0.get(f"{V1}/agents/{a0}/offers").json()["items"]
    assert len(ranked) == 2
    assert walk(agent0, f"{V1}/agents/{a0}/offers") == ranked  # cheapest first, kept
    candidates = t2.get(f"{V1}/funders/T2/candidates").json()["items"]
    assert len(candidates) == 2
    assert walk(t2, f"{V1}/funders/T2/candidates") == candidates

    # Agent 0 applies to T1, agent 1 to T2; T2 rejects.
    apps = []
    for n, (caller, funder) in enumerate(((agent0, "T1"), (agent1, "T2"))):
        code = market.code(n)
        offer = next(
            o
            for o in caller.get(f"{V1}/agents/{code}/offers").json()["items"]
            if o["funder_code"] == funder
        )
        answer = caller.post(
            f"{V1}/agents/{code}/applications", application_body(market, n, offer["id"])
        )
        assert answer.status_code == 201, answer.text
        apps.append(answer.json())
    rejected = t2.post(f"{V1}/applications/{apps[1]['id']}/reject", {"reason_code": "policy"})
    assert rejected.json()["status"] == "rejected"
    decided = [m for m in outbox(market) if m[1] == "application.decided"]
    assert [(m[0], m[3]["status"], m[3]["reason_code"]) for m in decided] == [
        ("funder:T2", "rejected", "policy")
    ]

    walked = walk(ops, f"{V1}/applications")
    assert [a["id"] for a in walked] == [apps[0]["id"], apps[1]["id"]]
    assert [a["id"] for a in walk(ops, f"{V1}/applications", status="rejected")] == [apps[1]["id"]]
    assert walk(t2, f"{V1}/applications") == [rejected.json()]
    consents = walk(agent1, f"{V1}/agents/{a1}/consents")
    assert [c["purpose"] for c in consents] == ["preapproval", "credit_application"]
    assert walk(ops, f"{V1}/agents/{a1}/consents") == consents

    t1.post(
        f"{V1}/applications/{apps[0]['id']}/approve",
        {"credit_limit": 400_000, "annual_rate": "0.1"},
    )
    agent1_offers = agent1.get(f"{V1}/agents/{a1}/offers").json()["items"]
    t1_offer = next(o for o in agent1_offers if o["funder_code"] == "T1")
    again = agent1.post(
        f"{V1}/agents/{a1}/applications", application_body(market, 1, t1_offer["id"])
    )
    assert again.status_code == 201, again.text
    t1.post(
        f"{V1}/applications/{again.json()['id']}/approve",
        {"credit_limit": 300_000, "annual_rate": "0.1"},
    )
    lines = walk(ops, f"{V1}/lines")
    assert [(line["agent_code"], line["credit_limit"]) for line in lines] == [
        (a0, 400_000),
        (a1, 300_000),
    ]
    assert walk(t1, f"{V1}/lines") == lines
    assert walk(agent1, f"{V1}/lines") == lines[1:]
    bad = ops.get(f"{V1}/lines", params={"cursor": "abc"})
    assert problem_code(bad) == "request_invalid"
