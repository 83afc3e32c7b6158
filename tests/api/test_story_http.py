"""The seed's story (DESIGN.md's nine flows) played again, on both databases, with
everything after the bootstrap going through HTTP: an operator builds the market,
agents borrow and repay, one falls overdue and is frozen and swept, a funder's system
follows its book, its events and its statement, and the books reconcile.

Only the bootstrap is done outside HTTP: a fresh migrated database, the books opened
on 2025-12-01, and the first operator's sign-in (someone must hold the first key)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.client import Api, Caller, problem_code, upload_statement
from tests.bank import RESERVE_NUMBER, Bank
from tests.credit.market import card
from tests.databases import BACKENDS, fresh_database
from yirong.agents.service import AgentInput
from yirong.books.service import open_books
from yirong.demo.identities import firm

V1 = "/api/v1"
OPENED = date(2025, 12, 1)
MARKET_DAY = date(2026, 1, 5)  # December closed: features as of a full month
COMMISSIONS = (1_000_000, 1_100_000, 1_200_000, 1_300_000)  # November's, agent by agent
LIMIT_ROUNDING = 10_000  # a scorecard's limit is a whole hundred yuan
SHARE = Decimal("0.2")  # T1's and T2's revenue share
# T1 lends at 12% (two months of income), T2 at 15% (one month): both on 360 days.
LENDERS = {"T1": ("0.12", 2), "T2": ("0.15", 1)}
ACCOUNTS = {"T1": "3301040160000001111", "T2": "3301040160000002222"}  # their banks' accounts


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert problem_code(response) == code
    body: dict[str, Any] = response.json()
    return body


def fen(value: Decimal) -> int:
    """Half-up to the fen, as the service rounds (once, on the total)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def interest(principal: int, rate: str, days: int) -> int:
    return fen(Decimal(principal) * Decimal(rate) / 360 * days)


def scorecard_limit(income_3m: int, months: int) -> int:
    return income_3m * months // 3 // LIMIT_ROUNDING * LIMIT_ROUNDING


def details(f: AgentInput) -> dict[str, str]:
    """The firm's details as its owner types them into an application."""
    return {
        "name": f.name,
        "uscc": f.uscc,
        "legal_rep_name": f.legal_rep_name,
        "legal_rep_id": f.legal_rep_id,
        "mobile": f.mobile,
        "bank_card": f.bank_card,
    }


class Story:
    """The callers of the story and the few things they remember."""

    def __init__(self, api: Api, ops: Caller) -> None:
        self.api, self.ops = api, ops
        # The reserve account's bank, outside the platform: it keeps its own balance
        # and writes statements that an operator uploads.
        self.bank = Bank(api.db, running=0, register=False)
        self.firms: list[AgentInput] = [firm(n, carrier_since=date(2024, 1, 1)) for n in range(4)]
        self.agents: dict[str, Caller] = {}
        self.systems: dict[str, Caller] = {}

    def code(self, n: int) -> str:
        return self.firms[n].code

    def agent(self, n: int) -> Caller:
        return self.agents[self.code(n)]

    def log_in(self, username: str, password: str, handle: str) -> Caller:
        token = ok(
            self.api.client.post(
                f"{V1}/auth/token", json={"username": username, "password": password}
            )
        )["access_token"]
        return Caller(self.api.client, {"Authorization": f"Bearer {token}"}, handle)

    def today(self) -> date:
        return date.fromisoformat(ok(self.ops.get(f"{V1}/books/date"))["business_date"])

    def close_days_until(self, day: date) -> None:
        today = self.today()
        while today < day:
            self.bank_pays()
            run = ok(
                self.ops.post(f"{V1}/eod/runs", {"business_date": str(today)}, key="auto"), 201
            )
            assert run["business_date"] == str(today) and run["skipped"] == []
            today += timedelta(days=1)
            assert run["next_business_date"] == str(today)

    def wallet(self, handle: str, caller: Caller | None = None) -> dict[str, Any]:
        found: dict[str, Any] = ok((caller or self.ops).get(f"{V1}/wallets/{handle}"))
        return found

    def balance(self, n: int) -> int:
        balance: int = self.wallet(f"agent:{self.code(n)}", self.agent(n))["balance"]
        return balance

    def standing(self, n: int) -> dict[str, Any]:
        found: dict[str, Any] = ok(self.agent(n).get(f"{V1}/agents/{self.code(n)}/standing"))
        return found

    def draw(self, n: int, amount: int, term_days: int) -> dict[str, Any]:
        order: dict[str, Any] = ok(
            self.agent(n).post(
                f"{V1}/agents/{self.code(n)}/drawdowns",
                {"amount": amount, "term_days": term_days},
                key="auto",
            ),
            201,
        )
        assert (order["status"], order["amount"], order["fee"]) == ("requested", amount, 0)
        return order

    def bank_pays(self) -> None:
        """The bank pays what the platform instructed (the funders' payouts of the day
        before), and the day's statement shows it."""
        waiting = self.pages(self.ops, f"{V1}/payments", status="instructed")
        for p in waiting:
            self.bank.debit(
                p["amount"],
                memo=f"代付 {p['reference']}",
                name=p["payee_name"] or "",
                account=p["payee_account"] or "",
                on=self.today(),
            )
        if waiting:
            assert self.close_bank_day()["matched"] == len(waiting)

    def close_bank_day(self) -> dict[str, Any]:
        """The bank's statement of today, uploaded by the operator."""
        content = self.bank.statement_bytes()
        imported: dict[str, Any] = ok(
            upload_statement(self.ops, content, f"{self.today()}-{self.bank.statements}.csv"),
            201,
        )
        return imported

    def fund(self, funder: str, order: dict[str, Any], bank_ref: str) -> dict[str, Any]:
        """The funder's system says it paid (a notice: the wallet does not move), then the
        bank's statement shows the money quoting the order and it is matched."""
        agent = self.agent_of(order)
        before = self.wallet(agent)["balance"]
        notice: dict[str, Any] = ok(
            self.systems[funder].post(
                f"{V1}/fundings",
                {"order_ref": order["order_ref"], "amount": order["amount"], "bank_ref": bank_ref},
                key="auto",
            ),
            201,
        )
        assert (notice["status"], notice["moved_money"]) == ("open", False)
        assert self.wallet(agent)["balance"] == before  # a funder's word is not money
        self.bank.credit(
            order["amount"],
            memo=f"放款 {order['order_ref']}",
            name=f"Lender {funder}",
            account=ACCOUNTS[funder],
            on=self.today(),
        )
        imported = self.close_bank_day()
        assert (imported["new"], imported["matched"], imported["exceptions"]) == (1, 1, 0)
        [seen] = [
            n for n in self.pages(self.systems[funder], f"{V1}/notices") if n["id"] == notice["id"]
        ]
        assert seen["status"] == "matched"
        return seen

    def agent_of(self, order: dict[str, Any]) -> str:
        record = ok(self.ops.get(f"{V1}/drawdowns/{order['id']}"))
        return f"agent:{record['agent_code']}"

    def pay_carrier(self, n: int, amount: int) -> httpx.Response:
        return self.agent(n).post(
            f"{V1}/wallets/agent:{self.code(n)}/carrier-prepayments", {"amount": amount}, key="auto"
        )

    def top_up(self, n: int, amount: int, bank_ref: str) -> dict[str, Any]:
        """The agent pays into the reserve account quoting its pay-in code."""
        code = self.wallet(f"agent:{self.code(n)}", self.agent(n))["pay_in_code"]
        self.bank.credit(
            amount,
            memo=f"充值 YT{code}",
            account=self.firms[n].bank_card,
            serial=bank_ref,
            on=self.today(),
        )
        imported = self.close_bank_day()
        assert (imported["new"], imported["matched"]) == (1, 1)
        return imported

    def pages(self, caller: Caller, url: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list, following next_cursor."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = ok(caller.get(url, params={**params, **({"cursor": cursor} if cursor else {})}))
            found.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return found


# ---------------------------------------------------------------- the operator builds the market


def build_market(s: Story) -> None:
    ops = s.ops
    for code, (rate, months) in LENDERS.items():
        facts = ok(
            ops.post(
                f"{V1}/funders",
                {
                    "code": code,
                    "name": f"Lender {code}",
                    "licence": "micro_loan",
                    "contact": f"{code} desk, 0571-0000",
                    "settlement_bank_account": ACCOUNTS[code],
                    "settlement_bank_name": "Bank",
                    "revenue_share": str(SHARE),
                    "decision_mode": "scorecard",
                    "scorecard": card(rate, str(months)),
                },
            ),
            201,
        )
        assert (facts["code"], facts["opened_on"]) == (code, str(OPENED))
        product = ok(
            ops.post(
                f"{V1}/funders/{code}/products",
                {
                    "code": "LINE",
                    "name": "Line",
                    "kind": "revolving",
                    "method": "revolving",
                    "min_rate": "0.08",
                    "max_rate": "0.18",
                    "min_limit": 100_000,
                    "max_limit": 50_000_000,
                    "min_term_days": 7,
                    "max_term_days": 180,
                },
            ),
            201,
        )
        assert (product["day_basis"], product["penalty_multiplier"]) == (360, "1.5")
        assert Decimal(product["worst_apr"]) > Decimal("0.18")  # compounded, the dearest term
    listed = ok(ops.get(f"{V1}/funders"))["items"]
    assert [f["code"] for f in listed] == ["T1", "T2"]

    # A firm with a broken bank card is refused and nothing is onboarded.
    broken = {**asdict(s.firms[0]), "carrier_since": "2024-01-01"}
    broken["bank_card"] = broken["bank_card"][:-1] + str((int(broken["bank_card"][-1]) + 1) % 10)
    refused(ops.post(f"{V1}/agents", broken), 422, "bank_card_invalid")
    for f in s.firms:
        body = {**asdict(f), "carrier_since": "2024-01-01"}
        agent = ok(ops.post(f"{V1}/agents", body), 201)
        assert (agent["code"], agent["uscc"], agent["masked"]) == (f.code, f.uscc, False)
        assert agent["onboarded_on"] == str(OPENED)
    listed = ok(ops.get(f"{V1}/agents"))["items"]
    assert [a["code"] for a in listed] == [f.code for f in s.firms]
    assert all(a["masked"] and a["uscc"] != f.uscc for a, f in zip(listed, s.firms, strict=True))

    # Sign-ins for the agents who act (agent 3 never does) and for T1's staff; API
    # keys for the funders' systems.
    for f in s.firms[:3]:
        username, password = f.code.lower(), f"{f.code}-secret-pass"
        user = ok(
            ops.post(
                f"{V1}/users",
                {"username": username, "password": password, "role": "agent", "subject": f.code},
            ),
            201,
        )
        assert (user["role"], user["subject"]) == ("agent", f.code)
        s.agents[f.code] = s.log_in(username, password, f"agent:{f.code}")
    ok(
        ops.post(
            f"{V1}/users",
            {
                "username": "t1-staff",
                "password": "t1-staff-secret",
                "role": "funder",
                "subject": "T1",
            },
        ),
        201,
    )
    s.systems["T1 staff"] = s.log_in("t1-staff", "t1-staff-secret", "funder:T1")
    me = ok(s.systems["T1 staff"].get(f"{V1}/me"))
    assert (me["role"], me["subject"]) == ("funder", "T1")
    for code in LENDERS:
        issued = ok(
            ops.post(f"{V1}/funders/{code}/api-keys", {"label": f"{code} loan system"}), 201
        )
        assert (issued["details"]["subject"], issued["details"]["revoked"]) == (code, False)
        s.systems[code] = Caller(
            s.api.client,
            {"Authorization": f"Bearer {issued['key']}"},
            f"funder:{code}",
            signing_secret=issued["signing_secret"],
        )
    assert ok(s.systems["T1"].get(f"{V1}/me"))["subject"] == "T1"
    # An agent is no operator.
    refused(s.agent(0).get(f"{V1}/agents"), 403, "access_denied")


def carrier_pays_commissions(s: Story) -> None:
    s.close_days_until(date(2025, 12, 5))
    rows = "".join(f"{f.code},2025-11,{c}\n" for f, c in zip(s.firms, COMMISSIONS, strict=True))
    csv = f"agent,month,amount\n{rows}".encode()
    url = f"{V1}/commissions/files?filename=nov.csv"
    headers = {"Content-Type": "text/csv"}
    applied = ok(s.ops.post(url, content=csv, headers=headers, key="auto"), 201)
    assert (applied["status"], applied["rows"], applied["total_fen"], applied["state"]) == (
        "created",
        4,
        sum(COMMISSIONS),
        "awaiting_funds",
    )
    assert applied["business_date"] == "2025-12-05"
    # The same file again (another request) is the same file.
    again = ok(s.ops.post(url, content=csv, headers=headers, key="auto"), 201)
    assert (again["status"], again["file_id"]) == ("exists", applied["file_id"])
    # The carrier's word moves nothing: its payment of the total, on the bank's
    # statement quoting the file, credits every row.
    assert [s.wallet(f"agent:{f.code}")["balance"] for f in s.firms] == [0] * 4
    s.bank.credit(
        sum(COMMISSIONS), memo=f"11月佣金 {applied['reference']}", name="运营商", on=s.today()
    )
    assert s.close_bank_day()["matched"] == 1
    balances = [s.wallet(f"agent:{f.code}")["balance"] for f in s.firms]
    assert balances == list(COMMISSIONS)
    assert s.balance(0) == COMMISSIONS[0]  # as the agent itself sees it
    s.close_days_until(MARKET_DAY)


# ---------------------------------------------------------------- pre-approval and formal credit


def preapproval(s: Story) -> None:
    """Agents 0-2 opt in (3 does not); the operator runs pre-approval; the funders see
    pseudonymous candidates; agent 0 compares its offers."""
    text = ok(s.agent(0).get(f"{V1}/consent-text"))
    for n in range(3):
        consent = ok(
            s.agent(n).post(
                f"{V1}/agents/{s.code(n)}/preapproval-consent",
                {"text_version": text["text_version"]},
            )
        )
        assert consent["text_version"] == text["text_version"]
        assert consent["funder_code"] is None and consent["withdrawn_on"] is None
    refused(
        s.agent(0).post(f"{V1}/agents/{s.code(1)}/preapproval-consent", {"text_version": "x"}),
        404,
        "agent_not_found",
    )
    # A funder cannot run pre-approval; nor look at an agent before its consent.
    refused(s.systems["T1"].post(f"{V1}/preapproval/runs"), 403, "access_denied")
    assert s.systems["T1"].get(f"{V1}/agents/{s.code(0)}").status_code == 403

    run = ok(s.ops.post(f"{V1}/preapproval/runs"), 201)
    assert run["business_date"] == str(MARKET_DAY)
    assert run["offers_created"] == 6  # two funders, three agents open to offers
    for code in LENDERS:
        assert (run["funders"][code]["agents"], run["funders"][code]["created"]) == (3, 3)

    # T1's system sees three pseudonymous candidates: features, no identity.
    answer = s.systems["T1"].get(f"{V1}/funders/T1/candidates")
    candidates = ok(answer)["items"]
    assert sorted(c["features"]["income_3m"] for c in candidates) == list(COMMISSIONS[:3])
    assert all(set(c) == {"token", "features_as_of", "features", "offers"} for c in candidates)
    # And T1's own offers to each: the one the run just made (T2's are not T1's).
    assert [c["offers"]["count"] for c in candidates] == [1, 1, 1]
    assert len({c["token"] for c in candidates}) == 3
    for f in s.firms:
        for secret in (f.code, f.name, f.uscc, f.mobile, f.bank_card, f.legal_rep_id):
            assert secret not in answer.text
    t2_tokens = {
        c["token"] for c in ok(s.systems["T2"].get(f"{V1}/funders/T2/candidates"))["items"]
    }
    assert t2_tokens.isdisjoint(c["token"] for c in candidates)  # tokens mean nothing elsewhere
    refused(s.systems["T1"].get(f"{V1}/funders/T2/candidates"), 404, "funder_not_found")

    # Agent 0 compares its offers: cheapest first, each with its APR; agent 3 has none.
    offers = ok(s.agent(0).get(f"{V1}/agents/{s.code(0)}/offers"))["items"]
    assert [(o["funder_code"], o["annual_rate"]) for o in offers] == [
        ("T1", "0.12"),
        ("T2", "0.15"),
    ]
    for o in offers:
        rate, months = LENDERS[o["funder_code"]]
        assert o["credit_limit"] == scorecard_limit(COMMISSIONS[0], months)
        assert Decimal(o["apr"]) > Decimal(rate)  # compounded over the term
        assert o["sample_cost"] == o["sample_interest"] + o["sample_fee"] > 0
    assert Decimal(offers[0]["apr"]) < Decimal(offers[1]["apr"])
    assert ok(s.ops.get(f"{V1}/agents/{s.code(3)}/offers"))["items"] == []


def apply_and_approve(s: Story) -> dict[int, dict[str, Any]]:
    """Agents 0 and 1 apply to T1, agent 2 to T2, consenting; each funder's system reads
    its applicants and grants the line its offer said."""
    text = ok(s.agent(0).get(f"{V1}/consent-text"))
    consent = {
        "fields": text["application_fields"],
        "valid_until": "2026-12-31",
        "text_version": text["text_version"],
    }
    lines: dict[int, dict[str, Any]] = {}
    for n, funder in ((0, "T1"), (1, "T1"), (2, "T2")):
        f, agent = s.firms[n], s.agent(n)
        offers = ok(agent.get(f"{V1}/agents/{f.code}/offers"))["items"]
        offer = next(o for o in offers if o["funder_code"] == funder)
        firm_details = details(f)
        url = f"{V1}/agents/{f.code}/applications"
        if n == 0:
            # Without the consent nothing identified may go: refused, nothing engaged.
            refused(
                agent.post(url, {"offer_id": offer["id"], "firm": firm_details}),
                422,
                "consent_required",
            )
        application = ok(
            agent.post(url, {"offer_id": offer["id"], "firm": firm_details, "consent": consent}),
            201,
        )
        assert (application["status"], application["funder_code"]) == ("submitted", funder)
        lines[n] = {"application": application, "offer": offer}
    # One funder at a time: agent 0 cannot also apply to T2.
    other = next(
        o
        for o in ok(s.agent(0).get(f"{V1}/agents/{s.code(0)}/offers"))["items"]
        if o["funder_code"] == "T2"
    )
    refused(
        s.agent(0).post(
            f"{V1}/agents/{s.code(0)}/applications",
            {
                "offer_id": other["id"],
                "firm": details(s.firms[0]),
                "consent": consent,
            },
        ),
        409,
        "credit_already_engaged",
    )

    # Each funder's system reads its applicants (identified, under consent) and approves.
    for funder in LENDERS:
        system = s.systems[funder]
        waiting = ok(system.get(f"{V1}/applications", params={"status": "submitted"}))["items"]
        mine = sorted(n for n, x in lines.items() if x["application"]["funder_code"] == funder)
        assert [a["id"] for a in waiting] == [lines[n]["application"]["id"] for n in mine]
        for n in mine:
            application, offer = lines[n]["application"], lines[n]["offer"]
            applicant = ok(system.get(f"{V1}/applications/{application['id']}/applicant"))
            f = s.firms[n]
            assert (applicant["code"], applicant["uscc"], applicant["masked"]) == (
                f.code,
                f.uscc,
                False,
            )
            line = ok(
                system.post(
                    f"{V1}/applications/{application['id']}/approve",
                    {"credit_limit": offer["credit_limit"], "annual_rate": offer["annual_rate"]},
                ),
                201,
            )
            assert (line["status"], line["agent_code"], line["funder_code"]) == (
                "active",
                f.code,
                funder,
            )
            assert (line["credit_limit"], line["annual_rate"]) == (
                scorecard_limit(COMMISSIONS[n], LENDERS[funder][1]),
                LENDERS[funder][0],
            )
            assert line["opened_on"] == str(MARKET_DAY)
            lines[n]["line"] = line
    # A funder sees only what was sent to it: its applicants (under their consent),
    # not the agent that applied elsewhere, nor that application.
    t1 = s.systems["T1"]
    assert ok(t1.get(f"{V1}/agents/{s.code(0)}"))["uscc"] == s.firms[0].uscc
    assert t1.get(f"{V1}/agents/{s.code(2)}").status_code == 403
    assert t1.get(f"{V1}/applications/{lines[2]['application']['id']}").status_code == 404
    assert [a["status"] for a in ok(s.agent(0).get(f"{V1}/applications"))["items"]] == ["approved"]
    return lines


# ---------------------------------------------------------------- drawdown, interest, repayment


def borrow_and_repay(s: Story, lines: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Agent 0 draws 500,000 fen for 30 days, funded by T1's system on the day, pays the
    carrier, repays everything five days later (interest as the daily rate says), and
    then draws its whole line, which stays outstanding into February. Agent 1 draws a
    7-day loan and spends it all; agent 2 draws from T2."""
    t1, agent = s.systems["T1"], s.agent(0)
    code, limit = s.code(0), lines[0]["line"]["credit_limit"]
    order = s.draw(0, 500_000, 30)
    assert (order["funder_code"], order["annual_rate_ppm"]) == ("T1", 120_000)
    waiting = ok(t1.get(f"{V1}/drawdowns", params={"status": "requested"}))["items"]
    assert [d["order_ref"] for d in waiting] == [order["order_ref"]]
    # The line holds the order at once: more than what is left is refused.
    too_much = agent.post(
        f"{V1}/agents/{code}/drawdowns", {"amount": limit, "term_days": 30}, key="auto"
    )
    assert refused(too_much, 409, "exceeds_available_limit")["available"] == limit - 500_000

    s.fund("T1", order, "BANK-T1-0001")
    loan = ok(agent.get(f"{V1}/drawdowns/{order['id']}"))
    assert (loan["status"], loan["principal"], loan["credited_on"], loan["due_date"]) == (
        "credited",
        500_000,
        str(MARKET_DAY),
        str(MARKET_DAY + timedelta(days=30)),
    )
    assert s.balance(0) == COMMISSIONS[0] + 500_000
    ok(s.pay_carrier(0, 400_000), 201)
    assert s.balance(0) == COMMISSIONS[0] + 100_000
    [last] = ok(agent.get(f"{V1}/wallets/agent:{code}/statement", params={"limit": 1}))["items"]
    assert (last["amount"], last["side"], last["balance_after"]) == (
        400_000,
        "D",
        COMMISSIONS[0] + 100_000,
    )

    # Agent 1: seven days (due 2026-01-12), everything spent at the carrier at once.
    short = s.draw(1, 300_000, 7)
    s.fund("T1", short, "BANK-T1-0002")
    spent = s.balance(1)
    assert spent == COMMISSIONS[1] + 300_000
    ok(s.pay_carrier(1, spent), 201)
    assert s.balance(1) == 0
    # Agent 2 borrows from T2.
    s.fund("T2", s.draw(2, 100_000, 60), "BANK-T2-0001")
    assert s.balance(2) == COMMISSIONS[2] + 100_000

    # Five days of interest: exactly 500,000 x 12% / 360 x 5, rounded once.
    s.close_days_until(MARKET_DAY + timedelta(days=5))
    expected = interest(500_000, "0.12", 5)
    assert expected == 833  # 833.33...
    preview = ok(agent.get(f"{V1}/agents/{code}/repayments/preview"))
    assert (preview["owed"], preview["interest"], preview["penalty"], preview["principal"]) == (
        500_000 + expected,
        expected,
        0,
        500_000,
    )
    [part] = preview["parts"]
    assert part["owed_after"] == 0
    one_day = ok(agent.get(f"{V1}/agents/{code}/repayments/preview", params={"amount": 100}))
    assert (one_day["interest"], one_day["principal"]) == (100, 0)  # interest first

    repaid = ok(agent.post(f"{V1}/agents/{code}/repayments", {"all": True}, key="auto"), 201)
    assert (repaid["amount"], repaid["interest"], repaid["principal"], repaid["kind"]) == (
        500_000 + expected,
        expected,
        500_000,
        "asked",
    )
    assert repaid["share"] == fen(expected * SHARE)
    assert s.balance(0) == COMMISSIONS[0] + 100_000 - 500_000 - expected
    assert ok(agent.get(f"{V1}/drawdowns/{order['id']}"))["status"] == "repaid"
    refused(agent.get(f"{V1}/agents/{code}/repayments/preview"), 409, "nothing_owed")
    standing = s.standing(0)
    assert (standing["owed"], standing["bucket"], standing["frozen"]) == (0, "M0", False)
    # The line is whole again: agent 0 draws all of it (60 days, into February).
    whole = s.draw(0, limit, 60)
    s.fund("T1", whole, "BANK-T1-0003")
    return {"first": order, "repaid": repaid, "whole": whole, "short": short}


# ---------------------------------------------------------------- overdue


def fall_overdue(s: Story, short: dict[str, Any]) -> list[dict[str, Any]]:
    """Agent 1's 7-day loan is not repaid: on 2026-01-14 it is 2 days past due, its
    wallet frozen; T1 asks for a contractual freeze and the operator applies it; two
    top-ups sweep into the debt; the overdue freeze lifts, the funder's stays."""
    agent, t1, ops = s.agent(1), s.systems["T1"], s.ops
    code, handle = s.code(1), f"agent:{s.code(1)}"
    ask = {"agent": code, "note": "seven days unpaid"}
    refused(t1.post(f"{V1}/freeze-requests", ask), 409, "borrower_not_in_default")
    s.close_days_until(date(2026, 1, 14))  # due the 12th, overdue from the 13th

    normal = interest(300_000, "0.12", 8)  # 5th-12th at the contract rate
    penalty = interest(300_000, "0.18", 1)  # the 13th at 1.5 times it
    owed = 300_000 + normal + penalty
    standing = s.standing(1)
    assert (standing["days_past_due"], standing["bucket"], standing["frozen"]) == (2, "M1", True)
    assert [f["reason"] for f in standing["freezes"]] == ["overdue"]
    [loan] = standing["loans"]
    assert (loan["status"], loan["order_ref"]) == ("overdue", short["order_ref"])
    assert loan["owed"] == {
        "drawdown_id": short["id"],
        "principal": 300_000,
        "interest": normal,
        "penalty": penalty,
    }
    assert standing["owed"] == owed
    [past_due] = ok(t1.get(f"{V1}/funders/T1/past-due"))["items"]
    assert (past_due["drawdown_id"], past_due["days_past_due"]) == (short["id"], 2)

    # Frozen by contract: nothing goes out (and no new loan), money still comes in.
    refused(s.pay_carrier(1, 1), 409, "account_frozen")
    refused(
        agent.post(f"{V1}/wallets/{handle}/withdrawals", {"amount": 1}, key="auto"),
        409,
        "account_frozen",
    )
    refused(
        agent.post(f"{V1}/agents/{code}/drawdowns", {"amount": 1_000, "term_days": 7}, key="auto"),
        409,
        "loan_overdue",
    )

    # T1 asks for a contractual freeze; the operator applies it, and the log says so.
    request = ok(t1.post(f"{V1}/freeze-requests", ask), 201)
    assert (request["status"], request["agent_code"]) == ("requested", code)
    refused(t1.post(f"{V1}/freeze-requests/{request['id']}/apply"), 403, "access_denied")
    applied = ok(ops.post(f"{V1}/freeze-requests/{request['id']}/apply", {"note": "contract 7.2"}))
    assert (applied["status"], applied["decided_by"]) == ("applied", "operator:ops")
    assert s.wallet(handle)["freezes"] == ["funder_request", "overdue"]
    audited = s.pages(ops, f"{V1}/audit", actor="operator:ops")
    assert [
        (a["action"], a["status"])
        for a in audited
        if a["target"] == f"{V1}/freeze-requests/{request['id']}/apply"
    ] == [("POST /api/v1/freeze-requests/{request_id}/apply", 200)]

    # A top-up lands and goes straight to the overdue debt (penalty, interest first).
    s.top_up(1, 100_000, "BANK-TOPUP-1")
    assert s.balance(1) == 0
    [swept] = ok(agent.get(f"{V1}/repayments"))["items"]
    assert (swept["kind"], swept["amount"]) == ("sweep", 100_000)
    assert (swept["penalty"], swept["interest"], swept["principal"]) == (
        penalty,
        normal,
        100_000 - penalty - normal,
    )
    assert s.standing(1)["owed"] == owed - 100_000
    lines = ok(agent.get(f"{V1}/wallets/{handle}/statement", params={"limit": 2}))["items"]
    assert [(x["side"], x["amount"]) for x in lines] == [("C", 100_000), ("D", 100_000)]
    assert s.wallet(handle)["freezes"] == ["funder_request", "overdue"]

    # The next top-up clears it: the overdue freeze lifts, the funder's stays.
    s.top_up(1, 250_000, "BANK-TOPUP-2")
    assert s.balance(1) == 250_000 - (owed - 100_000)
    after = s.standing(1)
    assert (after["owed"], after["days_past_due"], after["bucket"]) == (0, 0, "M0")
    assert [f["reason"] for f in after["freezes"]] == ["funder_request"]
    assert ok(agent.get(f"{V1}/drawdowns/{short['id']}"))["status"] == "repaid"
    refused(s.pay_carrier(1, 1), 409, "account_frozen")
    lifted = ok(
        ops.post(
            f"{V1}/wallets/{handle}/unfreeze",
            {"reason": "funder_request", "note": "repaid in full"},
        )
    )
    assert lifted["freezes"] == []
    audited = s.pages(ops, f"{V1}/audit", actor="operator:ops")
    assert [a["status"] for a in audited if a["target"] == f"{V1}/wallets/{handle}/unfreeze"] == [
        200
    ]
    ok(s.pay_carrier(1, s.balance(1)), 201)
    assert s.balance(1) == 0
    repayments: list[dict[str, Any]] = ok(agent.get(f"{V1}/repayments"))["items"]
    return repayments


# ---------------------------------------------------------------- revenue share, events, books


def revenue_share(s: Story, collected: list[dict[str, Any]], whole: dict[str, Any]) -> None:
    """January closes; T1's staff read its statement (the platform's share of every
    fen of interest and penalty collected, line by line) and its book."""
    s.close_days_until(date(2026, 2, 1))
    staff = s.systems["T1 staff"]
    statement = ok(staff.get(f"{V1}/funders/T1/statements/2026-01"))
    assert (statement["funder_code"], statement["revenue_share_ppm"]) == ("T1", 200_000)
    assert [(x["repayment_id"], x["kind"]) for x in statement["lines"]] == [
        (r["id"], "repayment") for r in collected
    ]
    for line in statement["lines"]:
        assert line["share"] == fen((line["interest"] + line["penalty"]) * SHARE)
    agent_0 = interest(500_000, "0.12", 5)
    agent_1 = interest(300_000, "0.12", 8), interest(300_000, "0.18", 1)
    assert (statement["interest"], statement["penalty"]) == (agent_0 + agent_1[0], agent_1[1])
    assert statement["share"] == sum(r["share"] for r in collected)
    assert statement["share"] == fen(agent_0 * SHARE) + fen(sum(agent_1) * SHARE)
    assert abs(statement["share"] - (statement["interest"] + statement["penalty"]) * SHARE) < 1
    december = ok(staff.get(f"{V1}/funders/T1/statements/2025-12"))
    assert (december["lines"], december["share"]) == ([], 0)
    refused(staff.get(f"{V1}/funders/T2/statements/2026-01"), 404, "funder_not_found")

    # T1's book on the 31st: agent 0's whole line, current (M0), 22 days of interest due.
    book = ok(staff.get(f"{V1}/funders/T1/portfolio"))
    assert book["as_of"] == "2026-01-31"
    buckets = {b["bucket"]: b for b in book["buckets"]}
    assert (buckets["M0"]["loans"], buckets["M0"]["principal"]) == (1, whole["amount"])
    assert buckets["M0"]["interest_due"] == interest(whole["amount"], "0.12", 22)
    assert all(b["loans"] == 0 for name, b in buckets.items() if name != "M0")
    assert ok(staff.get(f"{V1}/funders/T1/past-due"))["items"] == []


def funder_events(s: Story, loans: dict[str, Any]) -> None:
    """T1's system reads its events: every step of its book, nothing of T2's, no
    personal data."""
    t1 = s.pages(s.systems["T1"], f"{V1}/events", limit=5)  # polled page by page
    t2 = s.pages(s.systems["T2"], f"{V1}/events", limit=5)
    assert {e["recipient"] for e in t1} == {"funder:T1"}
    assert {e["recipient"] for e in t2} == {"funder:T2"}
    assert {e["id"] for e in t1}.isdisjoint(e["id"] for e in t2)
    kinds: dict[str, list[dict[str, Any]]] = {}
    for e in t1:
        kinds.setdefault(e["type"], []).append(e)
    assert len(kinds["application.submitted"]) == 2
    assert {e["data"]["status"] for e in kinds["application.decided"]} == {"approved"}
    ordered = [
        loans["first"]["order_ref"],
        loans["short"]["order_ref"],
        loans["whole"]["order_ref"],
    ]
    assert sorted(e["data"]["order_ref"] for e in kinds["drawdown.ordered"]) == sorted(ordered)
    assert len(kinds["repayment.received"]) == 3  # agent 0's, and agent 1's two sweeps
    [overdue] = kinds["loan.overdue"]
    assert (overdue["subject_id"], overdue["data"]["overdue_from"]) == (
        loans["short"]["id"],
        "2026-01-13",
    )
    assert [e["data"]["month"] for e in kinds["statement.ready"]] == ["2025-12", "2026-01"]
    assert [e["type"] for e in t2].count("application.submitted") == 1
    assert [e["type"] for e in t2].count("drawdown.ordered") == 1
    # Events carry tokens and references, never who the agent is.
    text = json.dumps(t1)
    for f in s.firms:
        for secret in (f.name, f.uscc, f.mobile, f.bank_card, f.legal_rep_id):
            assert secret not in text
    # T1 may not read T2's, even by asking.
    refused(
        s.systems["T1"].get(f"{V1}/events", params={"recipient": "funder:T2"}),
        403,
        "access_denied",
    )
    refused(s.systems["T1"].get(f"{V1}/events/{t2[0]['id']}"), 404, "event_not_found")


def reconcile(s: Story) -> None:
    """The books prove themselves; money quoting no order is held, then returned."""
    ops, t1 = s.ops, s.systems["T1"]
    verified = ok(ops.get(f"{V1}/ledger/verify"))
    assert (verified["ok"], verified["problems"]) == (True, 0), verified
    assert all(c["ok"] for c in verified["checks"])
    refused(t1.get(f"{V1}/ledger/verify"), 403, "access_denied")

    # Money from T1's account quoting no order: held in suspense, listed, returned to
    # the account it came from; the bank's debit of the return settles it.
    before = s.wallet("funder:T1", t1)["balance"]
    s.bank.credit(12_345, memo="YR-NO-SUCH-ORDER", account=ACCOUNTS["T1"], on=s.today())
    stray = s.close_bank_day()
    assert (stray["matched"], stray["exceptions"]) == (0, 1)
    [held] = ok(ops.get(f"{V1}/recon/exceptions"))["items"]
    assert (held["kind"], held["amount"], held["line"]["in_suspense"]) == ("unknown", 12_345, True)
    assert s.wallet("funder:T1", t1)["balance"] == before  # held in suspense, not the funder's
    refused(t1.get(f"{V1}/recon/exceptions"), 403, "access_denied")
    returned = ok(ops.post(f"{V1}/recon/exceptions/{held['id']}/return", key="auto"))
    assert returned["exception"]["resolution"] == "returned"
    assert ok(ops.get(f"{V1}/recon/exceptions"))["items"] == []
    [action] = ok(ops.get(f"{V1}/recon/exceptions/{held['id']}"))["actions"]
    assert (action["action"], action["actor"]) == ("return", "operator:ops")
    reference = action["detail"]["payment"]
    s.bank.debit(12_345, memo=f"退回 {reference}", account=ACCOUNTS["T1"], on=s.today())
    assert s.close_bank_day()["matched"] == 1
    assert s.wallet("funder:T1", t1)["balance"] == before
    # Every file the bank sent can be read back as it came.
    files = s.pages(ops, f"{V1}/bank-statements")
    raw = ops.get(f"{V1}/bank-statements/{files[-1]['id']}/raw")
    assert raw.status_code == 200 and hashlib.sha256(raw.content).hexdigest() == files[-1]["sha256"]
    again = ok(ops.get(f"{V1}/ledger/verify"))
    assert again["ok"] is True and again["entries"] > verified["entries"]


# ---------------------------------------------------------------- the story


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_seed_story_through_http(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level (SQLAlchemy keeps its own)
    # Bootstrap (outside HTTP): a migrated database, the books open, the first operator.
    db = fresh_database(backend, tmp_path)
    open_books(db, OPENED)
    api = Api(db)
    s = Story(api, api.sign_in("operator", "ops"))

    # The reserve account at the bank, recorded by the operator.
    account = ok(
        s.ops.post(
            f"{V1}/bank-accounts",
            {"number": RESERVE_NUMBER, "bank_name": "招商银行", "name": "易融支付备付金"},
        ),
        201,
    )
    assert account["ledger_account"] == "platform:reserve"

    # 1. Business data: the market, then November's commissions in the wallets.
    build_market(s)
    carrier_pays_commissions(s)
    assert s.today() == MARKET_DAY

    # 2-3. Pre-approval, choosing an offer, formal credit.
    preapproval(s)
    lines = apply_and_approve(s)

    # 4-6. Drawdown, interest, repayment.
    loans = borrow_and_repay(s, lines)

    # 7. Overdue: frozen, asked for, swept, unfrozen.
    sweeps = fall_overdue(s, loans["short"])

    # 8. Revenue share: the month closes, the funder reads its statement and book.
    revenue_share(s, [loans["repaid"], *sweeps], loans["whole"])

    # Events: what T1's system was told.
    funder_events(s, loans)

    # 9. Reconciliation.
    reconcile(s)
    db.dispose()

    # Personal data never reach a log: no record the whole story wrote (message,
    # extras, traceback) holds any firm's name, ID, mobile or card.
    traceback = logging.Formatter().formatException
    written = "\n".join(
        f"{r.getMessage()} {r.__dict__} {traceback(r.exc_info) if r.exc_info else ''}"
        for r in caplog.records
    )
    assert sum(r.getMessage() == "request" for r in caplog.records) > 100  # it was logged
    for f in s.firms:
        for value in (f.name, f.uscc, f.mobile, f.bank_card, f.legal_rep_id, f.legal_rep_name):
            assert value not in written
