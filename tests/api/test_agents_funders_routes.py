"""Agents and funders through HTTP: onboarding and who may see an agent; funders'
public facts and products; a funder's events endpoint and its secret."""

from __future__ import annotations

from dataclasses import asdict, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from tests.api.client import Api, Caller, problem_code
from tests.credit.market import lender
from yirong.agents.service import AgentInput, onboard_agent
from yirong.demo.identities import firm
from yirong.funders.service import add_product, register_funder
from yirong.funders.tables import Funder
from yirong.infra.db import Database

V1 = "/api/v1"


def body(data: AgentInput, **changes: Any) -> dict[str, Any]:
    values = asdict(replace(data, **changes))
    values["carrier_since"] = str(values["carrier_since"]) if values["carrier_since"] else None
    return values


def register(db: Database, *codes: str) -> None:
    for code in codes:
        funder, product = lender(code, "0.12", "2")
        register_funder(db, funder)
        add_product(db, code, product)


def walk(caller: Caller, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(20):
        answer = caller.get(url, params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["items"]) <= 1
        items += answer.json()["items"]
        cursor = answer.json().get("next_cursor")
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")


def test_onboarding_and_who_sees_an_agent(db: Database) -> None:
    register(db, "T1")
    api = Api(db)
    ops = api.sign_in("operator", "ops")
    firms = [firm(n) for n in range(3)]

    created = ops.post(f"{V1}/agents", body(firms[0]))
    assert created.status_code == 201, created.text
    record = created.json()
    assert (record["code"], record["uscc"], record["masked"]) == (
        firms[0].code,
        firms[0].uscc,
        False,
    )
    assert record["onboarded_on"] == "2026-01-05" and record["mobile"].startswith("+86")

    # Refusals: the service's stable codes for bad identifiers, the schema's for the rest.
    for change, code in (
        ({"uscc": firms[1].uscc[:-1] + ("1" if firms[1].uscc[-1] != "1" else "2")}, "uscc_invalid"),
        ({"legal_rep_id": "110101199001011234"}, "resident_id_invalid"),
        ({"mobile": "12345"}, "mobile_invalid"),
        ({"bank_card": "6222000000000001"}, "bank_card_invalid"),
        ({"wallet_class": 7}, "wallet_class_invalid"),
        ({"code": firms[0].code}, "agent_code_taken"),
    ):
        refused = ops.post(f"{V1}/agents", body(firms[1], **change))
        assert problem_code(refused) == code, change
    assert problem_code(ops.post(f"{V1}/agents", body(firms[1], uscc=firms[0].uscc))) == (
        "agent_uscc_taken"
    )
    for bad in (
        {**body(firms[1]), "nickname": "x"},
        {**body(firms[1]), "wallet_class": "2"},
        {k: v for k, v in body(firms[1]).items() if k != "uscc"},
    ):
        refused = ops.post(f"{V1}/agents", bad)
        assert refused.status_code == 422 and problem_code(refused) == "request_invalid"
    assert ops.get(f"{V1}/agents/{firms[1].code}").status_code == 404  # nothing was onboarded

    agent = api.sign_in("agent", firms[0].code)
    assert problem_code(agent.post(f"{V1}/agents", body(firms[1]))) == "access_denied"
    for n in (1, 2):
        assert ops.post(f"{V1}/agents", body(firms[n])).status_code == 201

    # The agent sees itself in full, not another; operators everyone.
    assert agent.get(f"{V1}/agents/{firms[0].code}").json() == record
    # Another agent answers as a missing one does: nobody learns who exists.
    other, missing = agent.get(f"{V1}/agents/{firms[1].code}"), agent.get(f"{V1}/agents/A999999")
    assert (other.status_code, problem_code(other)) == (404, "agent_not_found")
    assert (missing.status_code, problem_code(missing)) == (404, "agent_not_found")
    assert firms[1].uscc not in other.text
    assert ops.get(f"{V1}/agents/{firms[1].code}").json()["uscc"] == firms[1].uscc
    assert problem_code(ops.get(f"{V1}/agents/A999999")) == "agent_not_found"
    # A funder without the agent's consent sees nothing, and cannot tell who exists.
    t1 = api.funder_system("T1")
    for code in (firms[0].code, "A999999"):
        answer = t1.get(f"{V1}/agents/{code}")
        assert answer.status_code == 403 and problem_code(answer) == "access_denied"
        assert firms[0].uscc not in answer.text
    assert problem_code(t1.get(f"{V1}/agents")) == "access_denied"
    assert problem_code(agent.get(f"{V1}/agents")) == "access_denied"

    # The list, a page at a time, personal data masked.
    listed = walk(ops, f"{V1}/agents")
    assert [a["code"] for a in listed] == [f.code for f in firms]
    assert all(a["masked"] for a in listed)
    assert all(f.uscc not in str(listed) and f.legal_rep_id not in str(listed) for f in firms)


def test_funders_public_facts_and_products(db: Database) -> None:
    register(db, "T1", "T2", "T3")
    onboard_agent(db, firm(1))
    api = Api(db)
    agent = api.sign_in("agent", firm(1).code)
    listed = walk(agent, f"{V1}/funders")
    assert [f["code"] for f in listed] == ["T1", "T2", "T3"]
    assert set(listed[0]) == {"code", "name", "licence", "contact", "opened_on"}
    assert listed[0]["contact"] == "T1 desk, 0571-0000"
    everything = agent.get(f"{V1}/funders").text
    for secret in ("6222000000001", "endpoint", "events", "scorecard", "tiers", "revenue"):
        assert secret not in everything

    products = agent.get(f"{V1}/funders/T2/products")
    assert products.status_code == 200, products.text
    [line] = products.json()["items"]
    assert (line["code"], line["kind"], line["min_rate"], line["max_rate"]) == (
        "LINE",
        "revolving",
        "0.08",
        "0.18",
    )
    assert (line["min_limit"], line["max_limit"], line["day_basis"]) == (100_000, 50_000_000, 360)
    assert Decimal("0.18") < Decimal(line["worst_apr"]) < Decimal("0.24")
    assert products.json()["next_cursor"] is None
    assert problem_code(agent.get(f"{V1}/funders/T9/products")) == "funder_not_found"
    assert api.anonymous().get(f"{V1}/funders").status_code == 401


def test_events_endpoint(db: Database) -> None:
    register(db, "T1", "T2")
    api = Api(db)
    t1, t2 = api.funder_system("T1"), api.funder_system("T2")
    url = f"{V1}/funders/T1/events-endpoint"

    def stored() -> tuple[str | None, str | None]:
        row = db.run(
            lambda tx: tx.session.execute(
                select(Funder.events_url, Funder.events_secret).where(Funder.code == "T1")
            ).one()
        )
        return row[0], row[1]

    first = t1.put(url, {"url": "https://t1.example.com/yirong/events"})
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["funder_code"] == "T1" and answer["events_url"].startswith("https://t1.")
    assert len(answer["events_secret"]) >= 40
    assert stored() == (answer["events_url"], answer["events_secret"])

    # Another funder, an agent: refused, nothing changed.
    assert problem_code(t2.put(url, {"url": "https://evil.example.com/"})) == "funder_not_found"
    onboard_agent(db, firm(1))
    agent = api.sign_in("agent", firm(1).code)
    assert problem_code(agent.put(url, {"url": "https://evil.example.com/"})) == "access_denied"
    for bad in (
        "ftp://t1.example.com/",
        "https://",
        "t1.example.com/events",
        "http://a b/",
        "https://0x7f000001/events",  # odd numeric hosts, whatever they point at
        "https://2130706433/events",
    ):
        refused = t1.put(url, {"url": bad})
        assert refused.status_code == 422 and problem_code(refused) == "events_url_invalid", bad
    for invalid in ({"url": "https://t1.example.com/", "secret": "mine"}, {}, {"url": 5}):
        assert problem_code(t1.put(url, invalid)) == "request_invalid"
    assert stored() == (answer["events_url"], answer["events_secret"])

    # An operator may set it too; every call makes a new secret.
    ops = api.sign_in("operator", "ops")
    second = ops.put(url, {"url": "https://t1-backup.example.com:8443/events"})
    assert second.status_code == 200, second.text
    assert second.json()["events_secret"] != answer["events_secret"]
    assert stored() == ("https://t1-backup.example.com:8443/events", second.json()["events_secret"])
    assert problem_code(ops.put(f"{V1}/funders/T9/events-endpoint", {"url": "https://x.cn/"})) == (
        "funder_not_found"
    )
