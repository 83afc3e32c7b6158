"""``yirong bench api``: the HTTP API under a mixed load, against the same server's
trivial endpoint as the framework's ceiling, measured in the same run.

It builds a market in a schema of its own (PostgreSQL) or a new file (SQLite): two
scorecard funders, ``agents`` agents each holding an active credit line and a month
of commissions in its wallet, a sign-in for the agents the clients act for, an API
key per funder and an operator. Seeding goes through the services directly; only
the measured traffic is HTTP.

Then ``yirong serve`` runs as a child process on a free port of 127.0.0.1 (always
stopped at the end), and the load generator (``loadgen``) sends, in each round, the
**ceiling** (every client looping ``GET /healthz``) and the **mix** for the same
length with the same clients. Each client acts for one agent of its own (so that
its expected state, and therefore every answer, is known) and loops over a cycle of
16 requests: six balance reads and six statements (the newest 20 movements), one
drawdown, the funder's system saying it paid (``POST /fundings``: a notice, which
moves nothing), the operator uploading the bank's statement line that shows the
money (``POST /bank-statements``: matched, the loan credited to the wallet), and one
repayment (half the drawdown, or everything owed, in turn). A drawdown's cycle is
finished even past the deadline, so no run leaves an unfunded order behind.
Afterwards the ledger is verified (``GET /api/v1/ledger/verify`` as the operator)
and the server's records must match what the clients were told: as many drawdowns,
matched bank lines and repayments."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select

from yirong.access.secrets import signing_secret
from yirong.access.service import create_user, issue_api_key, sign_in
from yirong.access.signing import signature_headers
from yirong.agents.service import onboard_agents
from yirong.bench.loadgen import (
    HOST,
    Connection,
    Reply,
    Session,
    Tally,
    TransportError,
    build_request,
    build_upload,
    free_port,
    generator_limit,
    percentile,
    run_load,
)
from yirong.bench.process import figures_table
from yirong.bench.workspace import bench_database, drop_schema, url_with_schema
from yirong.books.service import (
    add_bank_account,
    current_business_date,
    next_business_day,
    open_books,
)
from yirong.config import new_secret_key
from yirong.credit.applications import FirmDetails, apply_for_credit, lines
from yirong.credit.consents import APPLICATION_FIELDS, ConsentTerms, opt_in_preapproval
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.demo.identities import firm
from yirong.funders.service import FunderInput, ProductInput, add_product, register_funder
from yirong.infra.db import Database, normalize_url
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import LIVE_ORDER
from yirong.loans.tables import Drawdown, Repayment
from yirong.wallets.commissions import apply_commission_file, import_commissions

SCHEMA = "yirong_bench_api"
RESERVE_NUMBER = "755915678910802"
FUNDERS = ("BA", "BB")  # two scorecard lenders; agents alternate between them
TODAY = date(2026, 1, 5)
CONSENT_TEXT = "2026-01"
TERM_DAYS = 30
LARGEST_DRAW = 20_000  # fen: a quarter of the line at most, so a cycle never nears the limit
READS = 6  # balance and statement reads a cycle, with a drawdown, its notice, bank line, repayment
STATEMENT_LIMIT = 20
READY_SECONDS = 60.0
STOP_SECONDS = 15.0
# Refusals a mix may meet without anything being wrong (counted apart from errors).
# The mix is built so that none is expected: each client acts for its own agent, draws
# at most a quarter of its line and repays only what it owes.
DRAW_REFUSALS = frozenset({"exceeds_available_limit"})
REPAY_REFUSALS = frozenset({"nothing_owed", "exceeds_owed"})


@dataclass(frozen=True, slots=True)
class Plan:
    """What one client acts for."""

    agent: str
    token: str
    funder_key: str
    funder_signing: str  # the key's signing secret under the server's secret key
    amount: int  # fen drawn each cycle


@dataclass(frozen=True, slots=True)
class Seeded:
    plans: list[Plan]
    operator_token: str
    agents: int
    seconds: float


# ---------------------------------------------------------------- the market


def _funder(code: str, rate: str) -> tuple[FunderInput, ProductInput]:
    card = {
        "product": "LINE",
        "term_days": 60,
        "tiers": [{"min_score": -1000, "annual_rate": rate, "limit_months_of_income": "2"}],
    }
    return (
        FunderInput(
            code=code,
            name=f"Bench lender {code}",
            licence="micro_loan",
            contact=f"{code} desk, 0571-0000",
            settlement_bank_account="6222000000001",
            settlement_bank_name="Bank",
            revenue_share=Decimal("0.2"),
            decision_mode="scorecard",
            scorecard=json.dumps(card),
        ),
        ProductInput(
            code="LINE",
            name="Line",
            kind="revolving",
            method="revolving",
            min_rate=Decimal("0.08"),
            max_rate=Decimal("0.18"),
            min_limit=100_000,
            max_limit=50_000_000,
            min_term_days=7,
            max_term_days=180,
        ),
    )


def _advance_to(db: Database, day: date) -> None:
    while current_business_date(db) < day:
        next_business_day(db)


def build_market(db: Database, agents: int) -> dict[str, tuple[str, int]]:
    """``agents`` agents with an active line each (from the two funders in turn) and
    November's commissions in their wallets; their funder and limit, by agent code."""
    open_books(db, date(2025, 12, 1))
    add_bank_account(db, RESERVE_NUMBER, "招商银行", "Yirong reserve")
    for code, rate in zip(FUNDERS, ("0.12", "0.15"), strict=True):
        funder, product = _funder(code, rate)
        register_funder(db, funder)
        add_product(db, code, product)
    firms = [firm(n, carrier_since=date(2024, 1, 1)) for n in range(agents)]
    for start in range(0, agents, 500):
        onboard_agents(db, firms[start : start + 500])
    _advance_to(db, date(2025, 12, 5))
    rows = "".join(f"{f.code},2025-11,{1_000_000 + n * 1_000}\n" for n, f in enumerate(firms))
    # Seeding stands in for the carrier's payment of the file (not what is measured).
    recorded = import_commissions(db, f"agent,month,amount\n{rows}".encode(), "bench-nov.csv")
    apply_commission_file(db, recorded.file_id)
    _advance_to(db, TODAY)
    for f in firms:
        opt_in_preapproval(db, f.code, text_version=CONSENT_TEXT)
    run_preapproval(db)
    consent = ConsentTerms(APPLICATION_FIELDS, date(2026, 12, 31), CONSENT_TEXT)
    for n, f in enumerate(firms):
        wanted = FUNDERS[n % len(FUNDERS)]
        offer = next(o for o in compare_offers(db, f.code) if o.funder_code == wanted)
        details = FirmDetails(
            f.name, f.uscc, f.legal_rep_name, f.legal_rep_id, f.mobile, f.bank_card
        )
        apply_for_credit(db, f.code, offer.id, details, consent)
    decided = decide_by_scorecards(db)
    if decided.approved != agents:
        raise RuntimeError(f"only {decided.approved} of {agents} lines were approved")
    return {line.agent_code: (line.funder_code, line.credit_limit) for line in lines(db)}


def _signed_in(db: Database, username: str, role: str, subject: str) -> str:
    password = f"{username}-bench-password"
    create_user(db, username, password, role, subject)
    return sign_in(db, username, password, "bench").access_token


def seed(db: Database, *, agents: int, clients: int, server_key: str) -> Seeded:
    """The market, then a session for each client's agent (Argon2 is slow on purpose:
    hashed on a few threads), an API key per funder (with its signing secret under
    the server's ``server_key``) and a signed-in operator."""
    started = time.perf_counter()
    held = build_market(db, agents)
    acting = sorted(held)[:clients]
    keys = {code: issue_api_key(db, code, "bench").key for code in FUNDERS}
    signing = {code: signing_secret(key, server_key) for code, key in keys.items()}
    with ThreadPoolExecutor(4) as pool:
        tokens = list(
            pool.map(lambda code: _signed_in(db, f"bench-{code.lower()}", "agent", code), acting)
        )
        operator = _signed_in(db, "bench-operator", "operator", "bench")
    plans = [
        Plan(
            code,
            token,
            keys[held[code][0]],
            signing[held[code][0]],
            min(LARGEST_DRAW, held[code][1] // 4),
        )
        for code, token in zip(acting, tokens, strict=True)
    ]
    return Seeded(plans, operator, agents, time.perf_counter() - started)


# ---------------------------------------------------------------- the server


class Server:
    """``yirong serve`` as a child process in a session of its own (so that it and its
    workers are stopped together), its output kept in a file for when it fails."""

    def __init__(
        self,
        url: str,
        *,
        workers: int,
        log_dir: Path,
        secret_key: str,
        deliver_events: bool = False,
    ) -> None:
        self.port = free_port()
        self.log_path = log_dir / "server.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "yirong",
                "--database",
                url,
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--deliver-events" if deliver_events else "--no-deliver-events",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A key of its own for the benchmark's server (serving refuses the built-in).
            env={**os.environ, "YIRONG_POOL_SIZE": "16", "YIRONG_SECRET_KEY": secret_key},
        )

    def wait_ready(self) -> None:
        raw = build_request("GET", "/healthz", self.port)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if _one_request(self.port, raw).status == 200:
                    return
            except TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"the server did not answer within {READY_SECONDS:.0f} s:\n{self.tail()}"
        )

    def tail(self) -> str:
        return "\n".join(self.tail_all().splitlines()[-30:])

    def tail_all(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # uvicorn stops its workers
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def _one_request(port: int, raw: bytes) -> Reply:
    async def once() -> Reply:
        connection = Connection(port)
        try:
            return await connection.request(raw)
        finally:
            connection.close()

    return asyncio.run(once())


# ---------------------------------------------------------------- the clients


def ceiling_client(port: int) -> Any:
    raw = build_request("GET", "/healthz", port)

    async def client(_index: int, session: Session) -> None:
        while True:
            await session.call("healthz", raw)

    return client


def bank_line(order_ref: str, amount: int, serial: str) -> bytes:
    """The reserve account's statement of one line: the funder's money quoting the
    order (Yirong's CSV layout, as a bank or a tool would write it)."""
    day = TODAY.isoformat()
    return (
        f"# account: {RESERVE_NUMBER}\n# account_name: Yirong reserve\n# currency: CNY\n"
        f"# statement_id: {serial}\n# from: {day}\n# to: {day}\n"
        f"# opening_balance_fen: 0\n# closing_balance_fen: {amount}\n"
        "booking_date,value_date,direction,amount_fen,counterparty_name,counterparty_account,"
        "counterparty_bank,memo,bank_serial,end_to_end_ref,virtual_account,balance_after_fen\n"
        f"{day},{day},C,{amount},,,,{order_ref},{serial},,,\n"
    ).encode()


def signed_notice(port: int, plan: Plan, headers: dict[str, str], body: Any) -> bytes:
    """The funder's system's notice, signed as its client signs it (``access.signing``)."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    path = "/api/v1/fundings"
    signed = signature_headers(plan.funder_signing, "POST", path, payload)
    return build_upload(path, port, {**headers, **signed}, payload, "application/json")


def mix_client(port: int, plans: list[Plan], tag: str, operator_token: str) -> Any:
    """Each client acts for its own agent: reads its wallet and statement, draws, has
    the funder say it paid and the operator upload the bank's line, repays."""

    async def client(index: int, s: Session) -> None:
        p = plans[index]
        operator = {"Authorization": f"Bearer {operator_token}"}
        agent = {"Authorization": f"Bearer {p.token}"}
        funder = {"Authorization": f"Bearer {p.funder_key}"}
        wallet = f"/api/v1/wallets/agent:{p.agent}"
        balance = build_request("GET", wallet, port, agent)
        statement = build_request("GET", f"{wallet}/statement?limit={STATEMENT_LIMIT}", port, agent)
        cycle = 0
        while True:
            for _ in range(READS):
                await s.call("balance", balance)
                await s.call("statement", statement)
            cycle += 1
            key = f"{tag}-{index}-{cycle}"
            drawn = await s.call(
                "drawdown",
                build_request(
                    "POST",
                    f"/api/v1/agents/{p.agent}/drawdowns",
                    port,
                    {**agent, "Idempotency-Key": f"{key}-d"},
                    {"amount": p.amount, "term_days": TERM_DAYS},
                ),
                ok=201,
                refusals=DRAW_REFUSALS,
            )
            if drawn is None:
                continue
            # The rest of the cycle is sent even past the deadline (two requests at
            # most): a run never leaves an order unfunded or a loan half-repaid.
            said = await s.call(
                "notice",
                signed_notice(
                    port,
                    p,
                    {**funder, "Idempotency-Key": f"{key}-n"},
                    {
                        "order_ref": drawn.json()["order_ref"],
                        "amount": p.amount,
                        "bank_ref": f"BANK-{key}",
                    },
                ),
                ok=201,
                force=True,
            )
            if said is None:
                continue
            funded = await s.call(
                "funding",
                build_upload(
                    f"/api/v1/bank-statements?filename={key}.csv",
                    port,
                    {**operator, "Idempotency-Key": f"{key}-f"},
                    bank_line(drawn.json()["order_ref"], p.amount, f"BANK-{key}"),
                    "text/csv",
                ),
                ok=201,
                force=True,
            )
            if funded is None:
                continue
            if funded.json()["matched"] != 1:
                s.anomaly("funding", f"imported {funded.json()}")
                continue
            await s.call(
                "repayment",
                build_request(
                    "POST",
                    f"/api/v1/agents/{p.agent}/repayments",
                    port,
                    {**agent, "Idempotency-Key": f"{key}-r"},
                    {"amount": p.amount // 2} if cycle % 2 else {"all": True},
                ),
                ok=201,
                refusals=REPAY_REFUSALS,
                force=True,
            )

    return client


# ---------------------------------------------------------------- measuring


@dataclass
class Round:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    refused: int
    cpu_us: float  # the generator's CPU per request
    by_kind: dict[str, dict[str, float]]


def summarise(tally: Tally) -> Round:
    ordered = tally.all_latencies()
    answered = len(ordered)
    by_kind = {}
    for kind, values in sorted(tally.latencies.items()):
        values.sort()
        by_kind[kind] = {
            "count": len(values),
            "p50_ms": round(percentile(values, 50) * 1000, 2),
            "p99_ms": round(percentile(values, 99) * 1000, 2),
        }
    return Round(
        rps=answered / tally.seconds if tally.seconds else 0.0,
        p50_ms=percentile(ordered, 50) * 1000,
        p99_ms=percentile(ordered, 99) * 1000,
        errors=tally.error_count,
        refused=sum(tally.refused.values()),
        cpu_us=tally.cpu_seconds / answered * 1e6 if answered else 0.0,
        by_kind=by_kind,
    )


def succeeded(tallies: list[Tally]) -> Counter[str]:
    """Requests of each kind that were answered as asked (not refused)."""
    done: Counter[str] = Counter()
    for t in tallies:
        for kind, values in t.latencies.items():
            done[kind] += len(values)
        for kind_code, n in t.refused.items():
            done[kind_code.split(":")[0]] -= n
    return done


def records_agree(db: Database, done: Counter[str]) -> tuple[bool, dict[str, int]]:
    """The server's records against what its clients were told: one drawdown per
    drawdown answered, each of them funded and credited, one repayment per repayment
    answered."""

    def count(tx: Any) -> dict[str, int]:
        s = tx.session
        return {
            "drawdowns": s.scalar(select(func.count()).select_from(Drawdown)) or 0,
            "unfunded": s.scalar(select(func.count()).where(Drawdown.status.in_(LIVE_ORDER))) or 0,
            "repayments": s.scalar(select(func.count()).select_from(Repayment)) or 0,
        }

    found = db.run(count, readonly=True)
    ok = (
        found["drawdowns"] == done["drawdown"]
        and found["unfunded"] == done["drawdown"] - done["funding"]
        and found["repayments"] == done["repayment"]
    )
    return ok, found


def verify_over_http(port: int, operator_token: str, db: Database) -> tuple[bool, int]:
    """``GET /api/v1/ledger/verify`` as the operator (the service itself when the
    route is not there): whether the books verify, and over how many entries."""
    raw = build_request(
        "GET", "/api/v1/ledger/verify", port, {"Authorization": f"Bearer {operator_token}"}
    )
    reply = _one_request(port, raw)
    if reply.status == 404:  # the route is not there: the service itself
        report = verify(db)
        return report.ok, report.entries
    if reply.status != 200:
        raise RuntimeError(f"ledger verify answered {reply.status}: {reply.body[:300]!r}")
    body = reply.json()
    return bool(body["ok"]), int(body["entries"])


@dataclass(frozen=True, slots=True)
class Settings:
    seconds: float  # each timed run
    runs: int
    clients: int
    agents: int
    workers: int  # server processes
    warmup: float  # seconds of untimed mix first
    generators: int  # load generator processes


@dataclass
class Measured:
    limit: Round  # the load generator against a canned server
    ceilings: list[Round]
    mixes: list[Round]
    tallies: list[Tally]  # the mix's, warm-up included (for the records check)
    ledger_ok: bool = False
    entries: int = 0
    records_ok: bool = False
    records: dict[str, int] | None = None


def bench_api(
    url: str, settings: Settings, *, console: Console, schema: str = SCHEMA
) -> dict[str, Any]:
    """Build, serve, measure (ceiling then mix, ``runs`` times), verify; the figures,
    also printed as a table."""
    if settings.clients > settings.agents:
        raise ValueError("each client acts for an agent of its own: clients <= agents")
    directory = Path(tempfile.mkdtemp(prefix="yirong-bench-api-"))
    backend = normalize_url(url).get_backend_name()
    server: Server | None = None
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("building the market", total=2 * settings.runs + 3)
            db = bench_database(url, schema=schema)
            server_key = new_secret_key()
            seeded = seed(
                db, agents=settings.agents, clients=settings.clients, server_key=server_key
            )
            served_url = url_with_schema(db)
            db.dispose()
            progress.advance(task)
            server = Server(
                served_url, workers=settings.workers, log_dir=directory, secret_key=server_key
            )
            server.wait_ready()

            def step(description: str) -> None:
                progress.update(task, description=description)
                progress.advance(task)

            measured = measure(server.port, seeded, settings, step, console)
            db = Database(served_url)
            measured.ledger_ok, measured.entries = verify_over_http(
                server.port, seeded.operator_token, db
            )
            measured.records_ok, measured.records = records_agree(db, succeeded(measured.tallies))
            db.dispose()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        if backend == "postgresql":
            drop_schema(url, schema)
    result = _result(seeded, measured, settings, backend)
    _print_table(console, result, measured)
    return result


def measure(port: int, seeded: Seeded, settings: Settings, step: Any, console: Console) -> Measured:
    """The generator's own limit, a warm-up, then ``runs`` rounds of the ceiling and
    the mix, one after the other on the same server."""
    clients, seconds, generators = settings.clients, settings.seconds, settings.generators
    step("the load generator's own limit")
    limit = summarise(generator_limit(clients, min(seconds, 5.0), generators))
    tag = uuid.uuid4().hex[:8]
    ceiling = ceiling_client(port)

    def mix(run: int) -> Any:  # each run its own idempotency keys
        return mix_client(port, seeded.plans, f"{tag}{run}", seeded.operator_token)

    measured = Measured(limit, [], [], [])
    step("warming up")
    if settings.warmup > 0:
        measured.tallies.append(
            run_load(port, mix(0), clients=clients, seconds=settings.warmup, processes=generators)
        )
        run_load(port, ceiling, clients=clients, seconds=settings.warmup / 2)
    for n in range(1, settings.runs + 1):
        step(f"ceiling (GET /healthz), run {n}/{settings.runs}")
        measured.ceilings.append(
            summarise(
                run_load(port, ceiling, clients=clients, seconds=seconds, processes=generators)
            )
        )
        step(f"mixed load, run {n}/{settings.runs}")
        tally = run_load(port, mix(n), clients=clients, seconds=seconds, processes=generators)
        measured.tallies.append(tally)
        measured.mixes.append(summarise(tally))
        if tally.anomalies:
            console.print(f"[red]errors in run {n}:[/] " + "; ".join(tally.anomalies[:3]))
    return measured


def _result(seeded: Seeded, m: Measured, settings: Settings, backend: str) -> dict[str, Any]:
    rps = statistics.median(r.rps for r in m.mixes)
    ceiling_rps = statistics.median(r.rps for r in m.ceilings)
    refused: Counter[str] = Counter()
    for t in m.tallies:
        refused.update(t.refused)
    kinds = sorted({k for r in m.mixes for k in r.by_kind})
    return {
        "rps": round(rps, 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in m.mixes), 2),
        "p99_ms": round(statistics.median(r.p99_ms for r in m.mixes), 2),
        "errors": sum(r.errors for r in m.mixes) + sum(r.errors for r in m.ceilings),
        "ceiling_rps": round(ceiling_rps, 1),
        "ratio": round(rps / ceiling_rps, 3) if ceiling_rps else 0.0,
        "verify_ok": m.ledger_ok and m.records_ok,
        "ledger_ok": m.ledger_ok,
        "records_ok": m.records_ok,
        "refused": dict(refused),
        "ceiling_p50_ms": round(statistics.median(r.p50_ms for r in m.ceilings), 2),
        "ceiling_p99_ms": round(statistics.median(r.p99_ms for r in m.ceilings), 2),
        "by_kind": {
            k: {
                name: statistics.median(r.by_kind[k][name] for r in m.mixes if k in r.by_kind)
                for name in ("count", "p50_ms", "p99_ms")
            }
            for k in kinds
        },
        "rps_runs": [round(r.rps, 1) for r in m.mixes],
        "ceiling_runs": [round(r.rps, 1) for r in m.ceilings],
        "loadgen_limit_rps": round(m.limit.rps, 1),
        "loadgen_cpu_us": {
            "canned": round(m.limit.cpu_us, 1),
            "ceiling": round(statistics.median(r.cpu_us for r in m.ceilings), 1),
            "mix": round(statistics.median(r.cpu_us for r in m.mixes), 1),
        },
        "entries_verified": m.entries,
        "records": m.records,
        "database": backend,
        "agents": seeded.agents,
        "clients": settings.clients,
        "workers": settings.workers,
        "generators": settings.generators,
        "seconds": settings.seconds,
        "runs": settings.runs,
        "setup_seconds": round(seeded.seconds, 1),
    }


def _print_table(console: Console, result: dict[str, Any], m: Measured) -> None:
    table = figures_table(
        f"HTTP API on {result['database']}: {result['clients']} clients, "
        f"{result['workers']} server worker(s), {result['seconds']:g} s a run "
        f"(medians of {result['runs']})",
        ("load", "req/s", "p50 ms", "p99 ms", "errors", "runs"),
    )
    for name, rounds in (("GET /healthz (ceiling)", m.ceilings), ("mix", m.mixes)):
        table.add_row(
            name,
            f"{statistics.median(r.rps for r in rounds):,.0f}",
            f"{statistics.median(r.p50_ms for r in rounds):.2f}",
            f"{statistics.median(r.p99_ms for r in rounds):.2f}",
            str(sum(r.errors for r in rounds)),
            " ".join(f"{r.rps:,.0f}" for r in rounds),
        )
    for kind, figures in result["by_kind"].items():
        table.add_row(
            f"  {kind}",
            f"({figures['count']:,.0f})",
            f"{figures['p50_ms']:.2f}",
            f"{figures['p99_ms']:.2f}",
            "",
            "",
        )
    console.print(table)
    console.print(
        f"ratio {result['ratio']:.3f}; verify_ok {result['verify_ok']} "
        f"({result['entries_verified']:,} entries); load generator alone: "
        f"{result['loadgen_limit_rps']:,.0f} req/s"
    )
