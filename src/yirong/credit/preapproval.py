"""Pre-approval (预授信): every funder looks at the pseudonymous features of the agents
who opted in, and proposes offers; the platform checks each proposal against the
funder's products and the legal cap before any agent sees it.

A run first recomputes the features (set-based) and expires stale offers. Each
funder is then a unit on its own: its offers are written in one transaction or not
at all (a funder whose system fails gets none this run, the others are unaffected).
Running again never duplicates a live offer: an agent keeps one live offer per
product until it expires, is accepted or is replaced by a later run after expiry."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.credit.consents import PREAPPROVAL_FIELDS, Purpose, record_shares
from yirong.credit.deciders import Decider, ManualDecider, Proposal, Pseudonymous, ScorecardDecider
from yirong.credit.http_funder import HttpDecider
from yirong.credit.tables import AgentEngagement, Consent, Offer, PreapprovalRun
from yirong.credit.tokens import funder_token
from yirong.errors import YirongError
from yirong.features.service import FEATURE_NAMES, Features, compute_in
from yirong.features.tables import AgentFeatures
from yirong.funders.service import funders, products_of
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import Terms, apr_of
from yirong.infra.db import Database, Dialect, Tx
from yirong.money import rate_to_ppm
from yirong.policy.service import apr_cap, setting

Progress = Callable[[str], None]
WRITE_CHUNK = 2_000
MILLIONTH = Decimal("0.000001")


@dataclass
class FunderOutcome:
    agents: int = 0
    proposed: int = 0
    created: int = 0
    kept: int = 0  # a live offer already stood for that agent and product
    refused: dict[str, int] = field(default_factory=dict)  # proposals the platform refused
    error: str | None = None  # the funder's system failed: no offers from it this run


@dataclass
class RunReport:
    run_id: int
    business_date: date
    features_as_of: date
    offers_expired: int
    funders: dict[str, FunderOutcome] = field(default_factory=dict)

    @property
    def offers_created(self) -> int:
        return sum(f.created for f in self.funders.values())


@dataclass(frozen=True, slots=True)
class _Eligible:
    agent_id: int
    consent_id: int
    features: Features


def run_preapproval(
    db: Database, *, deciders: Mapping[str, Decider] | None = None, progress: Progress | None = None
) -> RunReport:
    say = progress or (lambda _: None)
    say("computing features")
    report = db.run(_start)
    for code, mode in db.run(
        lambda tx: [(f.code, f.decision_mode) for f in funders(tx)], readonly=True
    ):
        if mode == "manual":
            continue
        say(f"asking {code}")
        decider = (deciders or {}).get(code) or _decider(mode, report.business_date)
        report.funders[code] = _one_funder(db, report, code, decider)
    db.run(lambda tx: _finish(tx, report))
    return report


def _decider(mode: str, business_date: date) -> Decider:
    if mode == "http":
        return HttpDecider(business_date)
    if mode == "scorecard":
        return ScorecardDecider()
    return ManualDecider()


def _start(tx: Tx) -> RunReport:
    today = business_date_of(tx)
    as_of = compute_in(tx, today)
    expired = tx.conn.execute(
        update(Offer)
        .where(Offer.status == "live", Offer.expires_on < today)
        .values(status="expired")
    ).rowcount
    run = PreapprovalRun(business_date=today, offers_expired=expired)
    tx.session.add(run)
    tx.session.flush()
    return RunReport(run.id, today, as_of, expired)


def _one_funder(db: Database, report: RunReport, code: str, decider: Decider) -> FunderOutcome:
    outcome = FunderOutcome()
    funder, products, eligible = db.run(
        lambda tx: _eligible(tx, code, report.features_as_of, report.business_date), readonly=True
    )
    by_token = {funder_token(code, agent_code): agent for agent_code, agent in eligible.items()}
    outcome.agents = len(by_token)
    agents = [Pseudonymous(token, a.features) for token, a in by_token.items()]
    try:
        proposals = decider.propose(funder, products, agents) if agents else []
    except YirongError as exc:
        outcome.error = exc.code
        proposals = []
    outcome.proposed = len(proposals)
    db.run(lambda tx: _write(tx, report, funder.id, products, by_token, proposals, outcome))
    return outcome


def _eligible(
    tx: Tx, code: str, as_of: date, today: date
) -> tuple[Funder, list[FunderProduct], dict[str, _Eligible]]:
    """Agents who opted in to pre-approval (a valid consent), have features and are
    not engaged with a funder."""
    funder = tx.session.scalars(select(Funder).where(Funder.code == code)).one()
    products = products_of(tx, funder)
    tx.session.expunge_all()  # plain values from here: the transaction ends before use
    feature_columns = [getattr(AgentFeatures, name) for name in FEATURE_NAMES]
    engaged = select(AgentEngagement.agent_id).where(AgentEngagement.agent_id == Agent.id)
    rows = tx.conn.execute(
        select(Agent.code, Agent.id, Consent.id, *feature_columns)
        .join(Consent, Consent.agent_id == Agent.id)
        .join(AgentFeatures, (AgentFeatures.agent_id == Agent.id) & (AgentFeatures.as_of == as_of))
        .where(
            Consent.purpose == Purpose.PREAPPROVAL.value,
            Consent.withdrawn_on.is_(None),
            Consent.given_on <= today,
            Consent.valid_until >= today,
        )
        # An agent already applying to or borrowing from a funder cannot take another
        # offer until that ends (one funder at a time): it is not shown around.
        .where(~engaged.exists())
    ).all()
    eligible: dict[str, _Eligible] = {}
    for agent_code, agent_id, consent_id, *values in rows:
        eligible.setdefault(agent_code, _Eligible(agent_id, consent_id, Features(*values)))
    return funder, products, eligible


def _write(
    tx: Tx,
    report: RunReport,
    funder_id: int,
    products: Sequence[FunderProduct],
    by_token: Mapping[str, _Eligible],
    proposals: Sequence[Proposal],
    outcome: FunderOutcome,
) -> None:
    """Check every proposal, write the good ones, and log what was shared."""
    today = report.business_date
    cap = apr_cap(tx, today)
    sample = int(setting(tx, "sample_drawdown_fen", today))
    by_code = {p.code: p for p in products}
    rows: list[dict[str, object]] = []
    seen: set[tuple[int, int]] = set()
    for proposal in proposals if outcome.error is None else ():
        refusal, row = _checked(proposal, by_token, by_code, cap, sample, seen, today)
        if refusal:
            outcome.refused[refusal] = outcome.refused.get(refusal, 0) + 1
            continue
        assert row is not None
        row.update(run_id=report.run_id, funder_id=funder_id)
        rows.append(row)
    for start in range(0, len(rows), WRITE_CHUNK):
        outcome.created += _insert_offers(tx, rows[start : start + WRITE_CHUNK])
    outcome.kept = len(rows) - outcome.created
    # Whatever happened to the answer, these agents' features were put before the funder.
    record_shares(
        tx,
        [
            {
                "consent_id": agent.consent_id,
                "agent_id": agent.agent_id,
                "funder_id": funder_id,
                "fields": ",".join(PREAPPROVAL_FIELDS),
                "identified": False,
                "reference": f"preapproval:{report.run_id}",
                "shared_on": today,
            }
            for agent in by_token.values()
        ],
    )


def _checked(
    proposal: Proposal,
    by_token: Mapping[str, _Eligible],
    by_code: Mapping[str, FunderProduct],
    cap: Decimal,
    sample: int,
    seen: set[tuple[int, int]],
    today: date,
) -> tuple[str | None, dict[str, object] | None]:
    """A refusal code, or the offer's row."""
    agent = by_token.get(proposal.token)
    if agent is None:
        return "unknown_token", None
    product = by_code.get(proposal.product)
    if product is None:
        return "product_not_found", None
    if (agent.agent_id, product.id) in seen:
        return "duplicate", None
    try:
        rate_ppm = rate_to_ppm(proposal.annual_rate)
    except YirongError:
        return "rate_too_precise", None
    if (
        not product.min_rate_ppm <= rate_ppm <= product.max_rate_ppm
        or not product.min_limit <= proposal.limit <= product.max_limit
        or not product.min_term_days <= proposal.term_days <= product.max_term_days
    ):
        return "offer_outside_product", None
    terms = Terms.of(product)
    apr = apr_of(terms, terms.sample_amount(sample), rate_ppm, proposal.term_days)
    if apr.compound > cap:
        return "offer_above_rate_cap", None
    seen.add((agent.agent_id, product.id))
    return None, {
        "agent_id": agent.agent_id,
        "product_id": product.id,
        "credit_limit": proposal.limit,
        "annual_rate_ppm": rate_ppm,
        "term_days": proposal.term_days,
        "apr_ppm": rate_to_ppm(apr.compound.quantize(MILLIONTH, rounding=ROUND_HALF_UP)),
        "offered_on": today,
        "expires_on": today + timedelta(days=product.offer_valid_days),
        "status": "live",
    }


def _insert_offers(tx: Tx, rows: list[dict[str, object]]) -> int:
    """Insert, skipping an agent's product that already has a live offer."""
    dialect_insert = postgresql.insert if tx.dialect is Dialect.POSTGRESQL else sqlite.insert
    statement = (
        dialect_insert(Offer)
        .on_conflict_do_nothing(
            index_elements=["agent_id", "product_id"],
            index_where=text("status = 'live'"),
        )
        .returning(Offer.id)
    )
    return len(tx.conn.execute(statement, rows).all())


def _finish(tx: Tx, report: RunReport) -> None:
    run = tx.session.get(PreapprovalRun, report.run_id)
    assert run is not None
    run.agents = max((f.agents for f in report.funders.values()), default=0)
    run.offers_created = report.offers_created
    run.report = json.dumps({code: asdict(o) for code, o in report.funders.items()})
