"""The HTTP funder against a real funder's system: a local HTTP server (loopback, an
ephemeral port) that checks the platform's signature, records what it was sent and
answers as each test scripts it.

First the client alone (HttpDecider): proposals, chunks, retries, and every way an
answer is refused. Then pre-approval end to end, an HTTP funder beside a scorecard
funder from the demo: what leaves the platform, what the platform refuses, and a
failing funder's system costing only that funder its offers."""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.bank import credit_commissions
from tests.conftest import FIRST_DAY
from tests.credit.fake_funder import (
    Behaviour,
    FakeFunder,
    Json,
    OfferDict,
    Reply,
    answering,
    garbage,
    offering,
    offers_body,
    product_of,
    replying,
    slow,
    status,
    within,
)
from tests.databases import BACKENDS, fresh_database
from yirong.agents.service import AgentInput, agent_row, onboard_agents
from yirong.books.service import advance_business_date, open_books
from yirong.credit import http_funder
from yirong.credit.consents import PREAPPROVAL_FIELDS, opt_in_preapproval
from yirong.credit.deciders import Proposal, Pseudonymous
from yirong.credit.http_funder import HttpDecider, HttpPolicy
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import RunReport, run_preapproval
from yirong.credit.tables import DataShare, Offer, PreapprovalRun
from yirong.credit.tokens import TOKEN_LENGTH, funder_token
from yirong.demo.funders import FUNDERS, line
from yirong.demo.identities import firm
from yirong.errors import YirongError
from yirong.features.service import FEATURE_NAMES, Features, features_of
from yirong.funders.service import (
    FunderInput,
    add_product,
    funder_row,
    products_of,
    register_funder,
)
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import Terms, apr_of
from yirong.infra import signing
from yirong.infra.db import Database, Tx
from yirong.money import rate_to_ppm
from yirong.policy.service import set_setting

HTTP = "H01"
SCORECARD = "F02"  # the demo's broad lender
SECRET = "h01-shared-secret-for-tests"
# Small, so that timeouts and retries cost well under a second.
FAST = HttpPolicy(connect_timeout=0.5, read_timeout=0.25, attempts=3, backoff_seconds=0.01)
TOO_SLOW = 3.0  # seconds: far beyond FAST.read_timeout (the server stops waiting at the end)
HTTP_PRODUCT = line("LINE", "随借随还 HTTP line", "0.10", "0.18", 500_000, 20_000_000)
# What ``within`` offers on HTTP_PRODUCT: a third of the way up its rate and limit ranges.
GOOD_LIMIT, GOOD_RATE, GOOD_TERM = 7_000_000, Decimal("0.1267"), 90


def http_funder_input(url: str, *, code: str = HTTP, secret: str = SECRET) -> FunderInput:
    return FunderInput(
        code=code,
        name=f"{code} 数字小贷 Digital Micro-Loan",
        licence="internet_micro_loan",
        contact=f"{code} 风控 api@{code.lower()}.example",
        settlement_bank_account="3301040160000007777",
        settlement_bank_name="杭州银行",
        revenue_share=Decimal("0.20"),
        decision_mode="http",
        endpoint_url=url,
        endpoint_secret=secret,
    )


def register_http(db: Database, url: str, **kwargs: str) -> tuple[Funder, list[FunderProduct]]:
    data = http_funder_input(url, **kwargs)
    register_funder(db, data)
    add_product(db, data.code, HTTP_PRODUCT)
    return loaded(db, data.code)


def loaded(db: Database, code: str) -> tuple[Funder, list[FunderProduct]]:
    """The funder and its products as plain objects, as pre-approval hands them over."""

    def work(tx: Tx) -> tuple[Funder, list[FunderProduct]]:
        funder = funder_row(tx, code)
        products = products_of(tx, funder)
        tx.session.expunge_all()
        return funder, products

    return db.run(work, readonly=True)


def pseudonymous(count: int) -> list[Pseudonymous]:
    return [
        Pseudonymous(
            f"tok{n:021d}",
            Features(
                income_3m=1_200_000 + n,
                income_6m=2_400_000 + n,
                income_12m=4_800_000 + n,
                prepay_12m=300_000,
                months_without_income=n % 3,
                trend_ppm=None if n % 2 else 50_000,
                volatility_ppm=120_000,
                tenure_months=24 + n,
                overdue_days=0,
            ),
        )
        for n in range(count)
    ]


def good(token: str) -> Proposal:
    return Proposal(token, "LINE", GOOD_LIMIT, GOOD_RATE, GOOD_TERM)


def refused_with(call: Callable[[], object]) -> YirongError:
    with pytest.raises(YirongError) as refused:
        call()
    return refused.value


@pytest.fixture(scope="module")
def server() -> Iterator[FakeFunder]:
    with FakeFunder(SECRET) as running:
        yield running


@pytest.fixture
def fake(server: FakeFunder) -> FakeFunder:
    return server.reset()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """Where the client's funders are registered. The client never touches the
    database, so one SQLite database serves every client test."""
    database = fresh_database("sqlite", tmp_path_factory.mktemp("http-funders"))
    open_books(database, FIRST_DAY)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def h01(registry: Database, server: FakeFunder) -> tuple[Funder, list[FunderProduct]]:
    return register_http(registry, server.url)


# --- the client alone ---------------------------------------------------------------


def test_a_good_answer_gives_proposals(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder
) -> None:
    funder, products = h01
    agents = pseudonymous(3)
    proposals = HttpDecider(FIRST_DAY, FAST).propose(funder, products, agents)
    assert proposals == [good(a.token) for a in agents]

    [request] = fake.received
    assert request.path == "/preapproval"
    assert request.signature_ok
    assert request.headers["content-type"] == "application/json"
    body = request.json
    assert set(body) == {"funder", "business_date", "products", "agents"}
    assert (body["funder"], body["business_date"]) == (HTTP, "2026-01-05")
    [product] = body["products"]
    assert product["code"] == "LINE"
    assert (product["kind"], product["method"]) == ("revolving", "revolving")
    assert (Decimal(product["min_rate"]), Decimal(product["max_rate"])) == (
        Decimal("0.10"),
        Decimal("0.18"),
    )
    assert (product["min_limit"], product["max_limit"]) == (500_000, 20_000_000)
    assert (product["min_term_days"], product["max_term_days"]) == (7, 180)
    assert body["agents"] == [{"token": a.token, "features": a.features.as_dict()} for a in agents]


def test_proposals_come_back_as_the_funder_made_them(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder
) -> None:
    """The client reads; judging the offers is pre-approval's job (tested below)."""
    funder, products = h01
    fake.default = answering(
        [
            {"token": "unknown", "product": "NOPE", "limit": 1, "annual_rate": "0.99",
             "term_days": 366},
            {"token": "t", "product": "LINE", "limit": 100, "annual_rate": 0.125,
             "term_days": 30},
        ]
    )  # fmt: skip
    proposals = HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(1))
    assert proposals == [
        Proposal("unknown", "NOPE", 1, Decimal("0.99"), 366),
        Proposal("t", "LINE", 100, Decimal("0.125"), 30),
    ]


def test_agents_are_sent_in_chunks(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_funder, "CHUNK", 2)
    funder, products = h01
    agents = pseudonymous(5)
    proposals = HttpDecider(FIRST_DAY, FAST).propose(funder, products, agents)
    tokens = [a.token for a in agents]
    assert [r.tokens for r in fake.received] == [tokens[0:2], tokens[2:4], tokens[4:5]]
    assert all(r.signature_ok for r in fake.received)
    assert all(r.json["products"] == fake.received[0].json["products"] for r in fake.received)
    assert proposals == [good(t) for t in tokens]


def test_a_failing_chunk_fails_the_whole_funder(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunk's offers are not kept when a later chunk fails: all or nothing."""
    monkeypatch.setattr(http_funder, "CHUNK", 2)
    funder, products = h01
    fake.script(offering(), garbage())
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(5))
    )
    assert error.code == "funder_bad_response"
    assert len(fake.received) == 2


def test_timeouts_are_retried_then_the_funder_is_unavailable(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder
) -> None:
    funder, products = h01
    fake.default = slow(TOO_SLOW)
    started = time.monotonic()
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(2))
    )
    elapsed = time.monotonic() - started
    assert error.code == "funder_unavailable"
    assert error.details["attempts"] == FAST.attempts
    assert error.details["last_error"] == "ReadTimeout"
    assert len(fake.received) == FAST.attempts
    # Every attempt is the same request, correctly signed; each waited for the read
    # timeout and no longer (not for the slow answer).
    assert all(r.signature_ok for r in fake.received)
    assert len({r.body for r in fake.received}) == 1
    gaps = [b.at - a.at for a, b in zip(fake.received, fake.received[1:], strict=False)]
    assert all(gap >= FAST.read_timeout * 0.8 for gap in gaps)  # each attempt timed out
    assert elapsed < FAST.attempts * (FAST.read_timeout + 0.5) < TOO_SLOW


@pytest.mark.parametrize("code", [500, 502, 503])
def test_server_errors_are_retried_until_an_answer(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder, code: int
) -> None:
    funder, products = h01
    fake.script(*[status(code)] * (FAST.attempts - 1))
    agents = pseudonymous(2)
    proposals = HttpDecider(FIRST_DAY, FAST).propose(funder, products, agents)
    assert proposals == [good(a.token) for a in agents]
    assert len(fake.received) == FAST.attempts


def test_server_errors_on_every_attempt_make_the_funder_unavailable(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder
) -> None:
    funder, products = h01
    fake.default = status(500)
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(2))
    )
    assert error.code == "funder_unavailable"
    assert (error.details["attempts"], error.details["last_error"]) == (
        FAST.attempts,
        "RuntimeError",
    )
    assert len(fake.received) == FAST.attempts


def test_a_funder_that_is_down_is_unavailable(registry: Database) -> None:
    with FakeFunder(SECRET) as gone:
        url = gone.url  # the port is closed once the server stopped
    funder, products = register_http(registry, url, code="HDOWN")
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(1))
    )
    assert error.code == "funder_unavailable"
    assert error.details["last_error"] == "ConnectError"


def test_garbage_is_refused_at_once(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder
) -> None:
    funder, products = h01
    fake.default = garbage()
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(2))
    )
    assert error.code == "funder_bad_response"
    assert len(fake.received) == 1  # not retried


OFFER: OfferDict = {
    "token": "t",
    "product": "LINE",
    "limit": 1_000_000,
    "annual_rate": "0.12",
    "term_days": 90,
}
WRONG_SCHEMAS: dict[str, Any] = {
    "no_offers_key": {"decisions": [OFFER]},
    "offers_not_a_list": {"offers": OFFER},
    "top_level_list": [OFFER],
    "extra_top_level_field": {"offers": [OFFER], "note": "x"},
    "missing_field": {"offers": [{k: v for k, v in OFFER.items() if k != "term_days"}]},
    "extra_offer_field": {"offers": [{**OFFER, "apr": "0.13"}]},
    "rate_in_percent": {"offers": [{**OFFER, "annual_rate": "12"}]},
    "rate_not_a_number": {"offers": [{**OFFER, "annual_rate": "twelve percent"}]},
    "negative_limit": {"offers": [{**OFFER, "limit": -1}]},
    "limit_in_yuan_decimals": {"offers": [{**OFFER, "limit": 10000.5}]},
    "term_over_a_year": {"offers": [{**OFFER, "term_days": 400}]},
    "empty_token": {"offers": [{**OFFER, "token": ""}]},
    "null_offers": {"offers": None},
}


@pytest.mark.parametrize("answer", WRONG_SCHEMAS.values(), ids=WRONG_SCHEMAS.keys())
def test_an_answer_of_the_wrong_shape_is_refused_at_once(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder, answer: Any
) -> None:
    funder, products = h01
    fake.default = replying(Reply(body=json.dumps(answer).encode()))
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(1))
    )
    assert error.code == "funder_bad_response"
    assert len(fake.received) == 1


@pytest.mark.parametrize("code", [400, 404, 409])
def test_a_client_error_status_is_refused_at_once(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder, code: int
) -> None:
    funder, products = h01
    fake.default = status(code, b'{"offers":[]}')
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(1))
    )
    assert (error.code, error.details["status"]) == ("funder_bad_response", code)
    assert len(fake.received) == 1


def test_the_funder_refuses_a_request_signed_with_another_secret(
    registry: Database, fake: FakeFunder
) -> None:
    funder, products = register_http(
        registry, fake.url, code="HWRONG", secret="not-what-the-funder-holds"
    )
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(1))
    )
    assert (error.code, error.details["status"]) == ("funder_bad_response", 401)
    [request] = fake.received
    assert not request.signature_ok


def _unprefixed(request: Json) -> Reply:
    body = offering()(request).body
    timestamp, signature = signing.sign(SECRET, body)
    return Reply(body=body, timestamp=timestamp, signature=signature.removeprefix("sha256="))


def _timestamp_not_signed(request: Json) -> Reply:
    body = offering()(request).body
    timestamp, signature = signing.sign(SECRET, body)
    return Reply(body=body, timestamp=str(int(timestamp) - 1), signature=signature)


BAD_SIGNATURES: dict[str, Behaviour] = {
    "unsigned": offering(sign=False),
    "signed_with_another_secret": offering(secret="someone-else"),
    "body_changed_after_signing": offering(sign_body=offers_body([])),
    "signature_without_prefix": _unprefixed,
    "timestamp_not_the_one_signed": _timestamp_not_signed,
    "timestamp_missing": offering(timestamp=""),
    "timestamp_not_a_number": offering(timestamp="yesterday"),
    "signature_empty": offering(signature=""),
    "signature_of_another_algorithm": offering(signature="md5=" + "0" * 32),
    "signed_far_in_the_future": offering(signed_at=time.time() + signing.TOLERANCE_SECONDS + 3600),
}


@pytest.mark.parametrize("behaviour", BAD_SIGNATURES.values(), ids=BAD_SIGNATURES.keys())
def test_an_answer_with_a_bad_signature_is_refused_at_once(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder, behaviour: Behaviour
) -> None:
    funder, products = h01
    fake.default = behaviour
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(2))
    )
    assert error.code == "funder_bad_signature"
    assert len(fake.received) == 1


def test_a_stale_answer_is_refused_as_a_bad_signature(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder
) -> None:
    """Correctly signed, but long ago: a replayed answer."""
    funder, products = h01
    fake.default = offering(signed_at=time.time() - signing.TOLERANCE_SECONDS - 60)
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(2))
    )
    assert error.code == "funder_bad_signature"
    assert len(fake.received) == 1
    # Signed just inside the tolerance, the same answer is taken.
    fake.default = offering(signed_at=time.time() - signing.TOLERANCE_SECONDS + 30)
    assert HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(2))


NON_ASCII_HEADERS: dict[str, Behaviour] = {
    # A header byte outside ASCII reaches the client as a latin-1 character.
    "signature": offering(signature="sha256=\u00e9" + "0" * 63),
    "timestamp": offering(timestamp="\u00b2"),  # "²": str.isdigit() is True, int() fails
}


@pytest.mark.parametrize("behaviour", NON_ASCII_HEADERS.values(), ids=NON_ASCII_HEADERS.keys())
def test_a_non_ascii_signature_header_is_a_bad_signature(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder, behaviour: Behaviour
) -> None:
    """Whatever bytes come back in the signature headers, the answer is refused with
    the stable code, never with an exception the run does not expect."""
    funder, products = h01
    fake.default = behaviour
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(1))
    )
    assert error.code == "funder_bad_signature"
    assert len(fake.received) == 1


def test_an_answer_that_cannot_be_decoded_is_a_bad_response(
    h01: tuple[Funder, list[FunderProduct]], fake: FakeFunder
) -> None:
    """Content-Encoding: gzip over a body that is not gzip (a misconfigured proxy):
    the answer is wrong, so it is refused at once with the stable code."""
    funder, products = h01
    fake.default = offering(headers=(("Content-Encoding", "gzip"),))
    error = refused_with(
        lambda: HttpDecider(FIRST_DAY, FAST).propose(funder, products, pseudonymous(1))
    )
    assert error.code == "funder_bad_response"
    assert len(fake.received) == 1


# --- pre-approval end to end ------------------------------------------------------------

START = date(2025, 1, 2)
CARRIER_SINCE = date(2020, 1, 1)
AGENTS, OPTED_IN = 7, 5
TEXT_VERSION = "2026-01"
# What pre-approval must never send a funder before consent to an application.
IDENTIFYING = ("code", "name", "uscc", "legal_rep_name", "legal_rep_id", "mobile", "bank_card")


def income(n: int, month: int) -> int:
    """Agent n's commission for a month of 2025 (fen): every month, a little uneven."""
    return 400_000 + 60_000 * n + 15_000 * (month % 3)


@dataclass
class World:
    db: Database
    fake: FakeFunder
    firms: list[AgentInput]

    @property
    def opted_in(self) -> list[AgentInput]:
        return self.firms[:OPTED_IN]

    @property
    def not_opted_in(self) -> list[AgentInput]:
        return self.firms[OPTED_IN:]

    def token(self, agent: AgentInput, funder: str = HTTP) -> str:
        return funder_token(funder, agent.code)

    def run(self, *, fast: bool = True) -> RunReport:
        """Pre-approval, with the HTTP funder's client on short timeouts (``fast``) or
        as pre-approval makes it by default."""
        deciders = {HTTP: HttpDecider(FIRST_DAY, FAST)} if fast else None
        return run_preapproval(self.db, deciders=deciders)

    def ids(self, agents: list[AgentInput]) -> set[int]:
        return self.db.run(lambda tx: {agent_row(tx, a.code).id for a in agents}, readonly=True)

    def shares(self, funder: str) -> list[DataShare]:
        def work(tx: Tx) -> list[DataShare]:
            rows = list(
                tx.session.scalars(
                    select(DataShare).where(DataShare.funder_id == funder_row(tx, funder).id)
                )
            )
            tx.session.expunge_all()
            return rows

        return self.db.run(work, readonly=True)

    def offers(self, funder: str) -> list[Offer]:
        def work(tx: Tx) -> list[Offer]:
            rows = list(
                tx.session.scalars(
                    select(Offer)
                    .where(Offer.funder_id == funder_row(tx, funder).id)
                    .order_by(Offer.id)
                )
            )
            tx.session.expunge_all()
            return rows

        return self.db.run(work, readonly=True)

    def stored_report(self, run_id: int) -> dict[str, Any]:
        def work(tx: Tx) -> dict[str, Any]:
            run = tx.session.get(PreapprovalRun, run_id)
            assert run is not None
            stored: dict[str, Any] = json.loads(run.report)
            return stored

        return self.db.run(work, readonly=True)


def advance(db: Database, today: date, to: date) -> date:
    while today < to:
        today += timedelta(days=1)
        db.run(partial(advance_business_date, to=today))
    return today


FIRMS = [firm(n, carrier_since=CARRIER_SINCE) for n in range(1, AGENTS + 1)]


def build_world(db: Database, url: str) -> None:
    """A year of commissions for seven agents (books from 2025-01-02 to 2026-01-05), the
    demo's F02 and an HTTP funder H01 at ``url``; five agents opted in."""
    open_books(db, START)
    onboard_agents(db, FIRMS)
    today = START
    for month in range(1, 13):
        today = advance(db, today, date(2025, month, 2))
        rows = "".join(
            f"{f.code},2025-{month:02d},{income(n, month)}\n" for n, f in enumerate(FIRMS)
        )
        credit_commissions(db, f"agent,month,amount\n{rows}".encode(), f"{month}.csv")
    advance(db, today, FIRST_DAY)
    [(scorecard_funder, scorecard_products)] = [(f, ps) for f, ps in FUNDERS if f.code == SCORECARD]
    register_funder(db, scorecard_funder)
    for product in scorecard_products:
        add_product(db, SCORECARD, product)
    register_http(db, url)
    for agent in FIRMS[:OPTED_IN]:
        opt_in_preapproval(db, agent.code, text_version=TEXT_VERSION)


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory, server: FakeFunder) -> Path:
    """The world built once on SQLite, copied for each test (a year of business days
    is most of the cost of a test)."""
    db = fresh_database("sqlite", tmp_path_factory.mktemp("world"))
    try:
        build_world(db, server.url)
    finally:
        db.dispose()
    assert db.url.database is not None
    return Path(db.url.database)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path, fake: FakeFunder) -> Iterator[World]:
    if request.param == "sqlite":
        target = tmp_path / "yirong.db"
        shutil.copyfile(request.getfixturevalue("sqlite_world"), target)
        db = Database(f"sqlite:///{target}")
    else:
        db = fresh_database(request.param, tmp_path)
        build_world(db, fake.url)
    try:
        yield World(db, fake, FIRMS)
    finally:
        db.dispose()


def assert_only_pseudonymous(bodies: list[bytes], firms: list[AgentInput]) -> None:
    """Tokens and numeric features, nothing else: no agent code, name or identifier
    anywhere in what was sent, however it is encoded."""
    assert bodies
    for body in bodies:
        parsed = json.loads(body)
        texts = (body.decode(), json.dumps(parsed, ensure_ascii=False))
        for agent in firms:
            for name in IDENTIFYING:
                value = getattr(agent, name)
                assert all(value not in text for text in texts), f"{name} of {agent.code} sent"
        assert set(parsed) == {"funder", "business_date", "products", "agents"}
        for sent in parsed["agents"]:
            assert set(sent) == {"token", "features"}
            assert re.fullmatch(f"[0-9a-f]{{{TOKEN_LENGTH}}}", sent["token"])
            assert tuple(sent["features"]) == FEATURE_NAMES
            assert all(v is None or type(v) is int for v in sent["features"].values())


def test_preapproval_with_an_http_funder_beside_a_scorecard_funder(world: World) -> None:
    db, fake = world.db, world.fake
    a, b, c, d, e = (world.token(agent) for agent in world.opted_in)
    # The operator lowers the legal cap after the products were registered: a rate
    # the product still allows can now be above it.
    set_setting(db, "apr_cap", "0.19", effective_from=FIRST_DAY, set_by="test")
    _, [product] = loaded(db, HTTP)
    terms = Terms.of(product)
    assert apr_of(terms, 1_000_000, rate_to_ppm(GOOD_RATE), GOOD_TERM).compound < Decimal("0.19")
    assert apr_of(terms, 1_000_000, rate_to_ppm(Decimal("0.18")), 7).compound > Decimal("0.19")

    def plan(token: str, request: Json) -> list[OfferDict]:
        offer = {"token": token, **within(product_of(request, "LINE"))}
        return {
            a: [offer, {**offer, "token": "0" * TOKEN_LENGTH}, offer],  # unknown, duplicate
            b: [offer, {**offer, "product": "TERM6"}],  # another funder's product
            c: [{**offer, "annual_rate": "0.25"}],  # above the product's top rate
            d: [{**offer, "annual_rate": "0.18", "term_days": 7}],  # in product, above cap
            e: [{**offer, "limit": 20_010_000}],  # above the product's limit
        }[token]

    fake.default = offering(plan)
    report = world.run(fast=False)  # the client pre-approval builds for an http funder

    http = report.funders[HTTP]
    assert http.error is None
    assert (http.agents, http.proposed, http.created, http.kept) == (OPTED_IN, 8, 2, 0)
    assert http.refused == {
        "unknown_token": 1,
        "duplicate": 1,
        "product_not_found": 1,
        "offer_outside_product": 2,
        "offer_above_rate_cap": 1,
    }
    scorecard = report.funders[SCORECARD]
    assert scorecard.error is None
    assert (scorecard.agents, scorecard.created, scorecard.refused) == (OPTED_IN, OPTED_IN, {})

    # What left the platform: one signed request, the opted-in agents' tokens and their
    # features as stored for the run; nobody else, nothing identifying.
    [request] = fake.received
    assert request.signature_ok
    assert sorted(request.tokens) == sorted([a, b, c, d, e])
    assert not {world.token(x) for x in world.not_opted_in} & set(fake.tokens)
    assert (request.json["funder"], request.json["business_date"]) == (HTTP, "2026-01-05")
    assert [p["code"] for p in request.json["products"]] == ["LINE"]
    assert_only_pseudonymous(fake.bodies, world.firms)
    sent = {x["token"]: x["features"] for x in request.json["agents"]}
    for agent in world.opted_in:
        [agent_id] = world.ids([agent])
        features = partial(features_of, agent_id=agent_id, as_of=report.features_as_of)
        stored = db.run(features, readonly=True)
        assert stored is not None
        assert sent[world.token(agent)] == stored.as_dict()

    # Only the good proposals became offers, visible to their agents beside F02's.
    offered = {x.code: compare_offers(db, x.code) for x in world.firms}
    for agent in world.opted_in[:2]:
        [mine] = [o for o in offered[agent.code] if o.funder_code == HTTP]
        assert (mine.product_code, mine.credit_limit, mine.annual_rate, mine.term_days) == (
            "LINE",
            GOOD_LIMIT,
            GOOD_RATE,
            GOOD_TERM,
        )
        assert mine.apr < Decimal("0.19")
    for agent in world.opted_in[2:]:
        assert {o.funder_code for o in offered[agent.code]} == {SCORECARD}
    for agent in world.not_opted_in:
        assert offered[agent.code] == []
    assert sorted(o.agent_id for o in world.offers(HTTP)) == sorted(world.ids(world.opted_in[:2]))

    # Every agent whose features were sent is logged, pseudonymously, under this run.
    shares = world.shares(HTTP)
    assert sorted(s.agent_id for s in shares) == sorted(world.ids(world.opted_in))
    for share in shares:
        assert share.identified is False
        assert share.reference == f"preapproval:{report.run_id}"
        assert share.fields == ",".join(PREAPPROVAL_FIELDS)
        assert share.shared_on == FIRST_DAY
    assert not {s.agent_id for s in shares + world.shares(SCORECARD)} & world.ids(
        world.not_opted_in
    )

    # Asked again the same day, the funder proposes the same; nothing is duplicated.
    again = world.run(fast=False)
    assert (again.funders[HTTP].created, again.funders[HTTP].kept) == (0, 2)
    assert (again.funders[SCORECARD].created, again.funders[SCORECARD].kept) == (0, OPTED_IN)
    assert len(fake.received) == 2
    assert len([o for o in world.offers(HTTP) if o.status == "live"]) == 2


FAILURES: dict[str, tuple[Callable[[], Behaviour], str, int]] = {
    # behaviour, the stable code, how many requests the funder gets
    "slow": (lambda: slow(TOO_SLOW), "funder_unavailable", FAST.attempts),
    "garbage": (garbage, "funder_bad_response", 1),
    # A malformed answer the client does not expect (see the client test above).
    "undecodable": (
        lambda: offering(headers=(("Content-Encoding", "gzip"),)),
        "funder_bad_response",
        1,
    ),
}


@pytest.mark.parametrize(("behaviour", "code", "requests"), FAILURES.values(), ids=FAILURES.keys())
def test_a_failing_funder_gets_no_offers_and_the_others_are_unaffected(
    world: World, behaviour: Callable[[], Behaviour], code: str, requests: int
) -> None:
    world.fake.default = behaviour()
    report = world.run()

    http = report.funders[HTTP]
    assert http.error == code
    assert (http.agents, http.proposed, http.created, http.kept, http.refused) == (
        OPTED_IN,
        0,
        0,
        0,
        {},
    )
    assert world.offers(HTTP) == []
    assert world.stored_report(report.run_id)[HTTP]["error"] == code
    # The features did reach the funder's system, so the sharing is logged all the same.
    assert len(world.fake.received) == requests
    assert sorted(s.agent_id for s in world.shares(HTTP)) == sorted(world.ids(world.opted_in))
    assert_only_pseudonymous(world.fake.bodies, world.firms)

    scorecard = report.funders[SCORECARD]
    assert (scorecard.error, scorecard.created) == (None, OPTED_IN)
    for agent in world.opted_in:
        assert [o.funder_code for o in compare_offers(world.db, agent.code)] == [SCORECARD]


class _Trickle:
    """A funder that answers a byte at a time, never quite slow enough for the read
    timeout to fire: only an overall deadline stops it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stop = threading.Event()
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/offers"

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                for _ in range(200):
                    if self.stop.wait(0.02):
                        return
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()


def test_a_trickling_answer_meets_the_deadline(registry: Database) -> None:
    trickle = _Trickle()
    try:
        funder, products = register_http(registry, trickle.url, code="H09")
        policy = HttpPolicy(
            connect_timeout=1, read_timeout=1, deadline=0.3, attempts=2, backoff_seconds=0.01
        )
        started = time.monotonic()
        error = refused_with(
            lambda: HttpDecider(FIRST_DAY, policy).propose(funder, products, pseudonymous(1))
        )
        assert error.code == "funder_unavailable"
        assert trickle.connections == 2  # each attempt stopped at the deadline, then retried
        assert time.monotonic() - started < 2  # not the ~4 s the trickle would take
    finally:
        trickle.close()
