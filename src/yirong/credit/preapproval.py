"""Pre-approval (预授信): every funder looks at the pseudonymous features of the agents
who opted in, and proposes offers; the platform checks each proposal against the
funder's products and the legal cap before any agent sees it.

A run first recomputes the features (set-based) and expires stale offers. Each
funder is then a unit on its own: its offers are written in one transaction or not
at all (a funder whose system fails gets none this run, the others are unaffected).
Running again never duplicates a live offer: an agent keeps one live offer per
product until it expires, is accepted or is replaced by a later run after expiry.

One funder at a time holds in each product family (``credit.applications``): an
agent applying to or borrowing from a funder in one family is offered nothing more
in that family, and still may be in the other (an agent with a line may be offered
an order facility)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import false, or_, select, text, update

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.config import settings
from yirong.credit.applications import engaged_in
from yirong.credit.consents import PREAPPROVAL_FIELDS, Purpose, record_shares
from yirong.credit.deciders import Decider, ManualDecider, Proposal, Pseudonymous, ScorecardDecider
from yirong.credit.http_funder import HttpDecider
from yirong.credit.tables import Consent, Offer, PreapprovalRun
from yirong.credit.tokens import funder_token
from yirong.errors import YirongError
from yirong.features.service import FEATURE_NAMES, Features, compute_in, insert_unless_raced
from yirong.features.tables import AgentFeatures
from yirong.funders import scorecard
from yirong.funders.service import funders, products_of
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import FAMILIES, Terms, apr_of, family_of
from yirong.infra.db import Database, Dialect, Tx
from yirong.infra.json_rows import encode, json_table
from yirong.money import rate_to_ppm
from yirong.policy.service import apr_cap, setting

Progress = Callable[[str], None]
WRITE_CHUNK = 5_000
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
    engaged: frozenset[str] = frozenset()  # the families it may be offered nothing in


def run_preapproval(
    db: Database, *, deciders: Mapping[str, Decider] | None = None, progress: Progress | None = None
) -> RunReport:
    say = progress or (lambda _: None)
    say("computing features")
    report = db.run(_start)
    listed = db.run(lambda tx: [(f.code, f.decision_mode) for f in funders(tx)], readonly=True)
    chosen = {
        code: (deciders or {}).get(code) or _decider(mode, report.business_date)
        for code, mode in listed
        if mode != "manual"
    }
    in_sql = [code for code, decider in chosen.items() if isinstance(decider, ScorecardDecider)]
    if in_sql:
        # Built-in scorecards run where the features are: set-based, together, in one
        # transaction (they are the platform's own code, so they fail together or not
        # at all). Concurrent funders did not help: their inserts contend for the same
        # index pages (BENCHMARKS.md).
        say(f"scoring for {', '.join(in_sql)}")
        report.funders.update(db.run(lambda tx: _scorecards_in_sql(tx, report, in_sql)))
    for code, decider in chosen.items():
        if code not in in_sql:
            # Each outside funder is a unit of its own: one that fails gets no offers
            # this run, and the others are unaffected.
            say(f"asking {code}")
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
    secret = settings().secret_key
    by_token = {
        funder_token(code, agent_code, secret): agent for agent_code, agent in eligible.items()
    }
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
    free in a product family the funder lends in (not engaged with a funder in it),
    each with the families of those it is engaged in."""
    funder = tx.session.scalars(select(Funder).where(Funder.code == code)).one()
    products = products_of(tx, funder)
    tx.session.expunge_all()  # plain values from here: the transaction ends before use
    feature_columns = [getattr(AgentFeatures, name) for name in FEATURE_NAMES]
    families = sorted({family_of(p.kind) for p in products})
    engaged = [engaged_in(Agent.id, family) for family in families]
    rows = tx.conn.execute(
        select(Agent.code, Agent.id, Consent.id, *engaged, *feature_columns)
        .join(Consent, Consent.agent_id == Agent.id)
        .join(AgentFeatures, (AgentFeatures.agent_id == Agent.id) & (AgentFeatures.as_of == as_of))
        .where(
            Consent.purpose == Purpose.PREAPPROVAL.value,
            Consent.withdrawn_on.is_(None),
            Consent.given_on <= today,
            Consent.valid_until >= today,
        )
        # An agent already applying to or borrowing from a funder cannot take another
        # offer in that family until that ends (one funder at a time): it is not shown
        # around for it, nor at all unless the funder lends in another family.
        .where(or_(false(), *(~e for e in engaged)))
    ).all()
    eligible: dict[str, _Eligible] = {}
    for agent_code, agent_id, consent_id, *values in rows:
        held, features = values[: len(families)], values[len(families) :]
        if agent_code not in eligible:
            taken = frozenset(f for f, h in zip(families, held, strict=True) if h)
            eligible[agent_code] = _Eligible(agent_id, consent_id, Features(*features), taken)
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
    if family_of(product.kind) in agent.engaged:
        return "credit_already_engaged", None
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
    if apr.higher > cap:
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


OFFER_COLUMNS = (
    ("run_id", "bigint"),
    ("agent_id", "bigint"),
    ("funder_id", "bigint"),
    ("product_id", "bigint"),
    ("credit_limit", "bigint"),
    ("annual_rate_ppm", "int"),
    ("term_days", "int"),
    ("apr_ppm", "int"),
    ("offered_on", "date"),
    ("expires_on", "date"),
    ("status", "text"),
)


def _insert_offers(tx: Tx, rows: list[dict[str, object]]) -> int:
    """Insert, skipping an agent's product that already has a live offer."""
    names = [name for name, _ in OFFER_COLUMNS]
    statement = text(
        f"INSERT INTO offers ({', '.join(names)}) SELECT {', '.join(names)} "
        f"FROM {json_table(tx.dialect, 'rows', OFFER_COLUMNS)} WHERE true "
        "ON CONFLICT (agent_id, product_id) WHERE status = 'live' DO NOTHING RETURNING id"
    )
    return len(
        tx.conn.execute(statement, {"rows": encode([r[n] for n in names] for r in rows)}).all()
    )


# Agents who opted in to pre-approval (one valid consent each) and have features, each
# with a flag per family it is engaged in (engaged_line, engaged_order). Each scorecard
# keeps those free (not engaged with a funder) in its product's family: the set the
# Python path reads in _eligible, narrowed to that family. (No filter here on "free in
# at least one family": it changed no offer, and PostgreSQL guessed it kept a hundredth
# of the agents, then looked their features up one by one.) Each family's engagement
# is one row at most (its primary key): a join per family.
ENGAGED = ", ".join(
    f"CASE WHEN g_{family}.agent_id IS NULL THEN 0 ELSE 1 END AS engaged_{family}"
    for family in FAMILIES
)
_BY_FAMILY = "".join(
    f"LEFT JOIN agent_engagements g_{family} "
    f"ON g_{family}.agent_id = a.id AND g_{family}.family = '{family}'\n"
    for family in FAMILIES
)
ELIGIBLE = f"""
FROM agents a
JOIN (SELECT agent_id, MIN(id) AS consent_id FROM consents
      WHERE purpose = 'preapproval' AND withdrawn_on IS NULL
        AND given_on <= :today AND valid_until >= :today
      GROUP BY agent_id) c ON c.agent_id = a.id
JOIN agent_features f ON f.agent_id = a.id AND f.as_of = :as_of
{_BY_FAMILY}"""


def _scorecards_in_sql(tx: Tx, report: RunReport, codes: list[str]) -> dict[str, FunderOutcome]:
    """The eligible agents and their features, gathered once into a temporary table,
    then every scorecard funder in turn."""
    columns = ", ".join(f"f.{name}" for name in FEATURE_NAMES)
    drop = " ON COMMIT DROP" if tx.dialect is Dialect.POSTGRESQL else ""
    tx.conn.execute(
        text(
            f"CREATE TEMPORARY TABLE eligible_now{drop} AS "
            f"SELECT a.id AS agent_id, c.consent_id, {ENGAGED}, {columns} {ELIGIBLE}"
        ),
        {"today": report.business_date, "as_of": report.features_as_of},
    )
    outcomes = {code: _scorecard_in_sql(tx, report, code) for code in codes}
    tx.conn.execute(text("DROP TABLE eligible_now"))
    return outcomes


def _scorecard_in_sql(tx: Tx, report: RunReport, code: str) -> FunderOutcome:
    """Score every eligible agent free in the family of the scorecard's product, check
    each proposal, write offers and log the sharing: set-based, with the same rules
    as the Python path."""
    outcome = FunderOutcome()
    funder = tx.session.scalars(select(Funder).where(Funder.code == code)).one()
    card = scorecard.parse(funder.scorecard or "")
    sql = scorecard.compile_sql(card)
    today = report.business_date
    params: dict[str, object] = {
        "today": today,
        "as_of": report.features_as_of,
        "funder": funder.id,
        "run": report.run_id,
    }
    products = products_of(tx, funder)
    product = next((p for p in products if p.code == card.product), None)
    # Only agents it could be offered to: free in its product's family (no product:
    # in a family the funder lends in, as the Python path has it).
    families = {family_of(p.kind) for p in ([product] if product else products)}
    free = " OR ".join(f"f.engaged_{family} = 0" for family in sorted(families)) or "false"
    # Each agent scored once, into a table the checks, the offers and the log then read:
    # the tiers' rate and limit each name the score, and the checks name them several
    # times; written inline, the score was worked out a dozen times an agent.
    # With it, whether the agent has a live offer for the product already (kept, not
    # made again): a lookup per agent, or one hash of the live offers, whichever
    # PostgreSQL picks, never a plan resting on a guess of how many there are.
    drop = " ON COMMIT DROP" if tx.dialect is Dialect.POSTGRESQL else ""
    tx.conn.execute(
        text(
            f"CREATE TEMPORARY TABLE scored_now{drop} AS "
            f"SELECT f.agent_id, f.consent_id, f.income_3m, {sql.score} AS score, "
            f"{sql.eligible} AS ok, EXISTS (SELECT 1 FROM offers o WHERE o.agent_id = "
            "f.agent_id AND o.product_id = :product AND o.status = 'live') AS live "
            f"FROM eligible_now f WHERE {free}"
        ),
        {"product": product.id if product else None},
    )
    scored = "scored_now s"
    # Which tier rates the platform accepts, with each one's APR (few: compute here).
    accepted: dict[int, int] = {}
    refusals: dict[int, str] = {}
    if product is not None:
        cap = apr_cap(tx, today)
        terms = Terms.of(product)
        sample = terms.sample_amount(int(setting(tx, "sample_drawdown_fen", today)))
        for tier in card.tiers:
            rate_ppm = rate_to_ppm(tier.annual_rate)
            apr = apr_of(terms, sample, rate_ppm, card.term_days)
            if (
                not product.min_rate_ppm <= rate_ppm <= product.max_rate_ppm
                or not product.min_term_days <= card.term_days <= product.max_term_days
            ):
                refusals[rate_ppm] = "offer_outside_product"
            elif apr.higher > cap:
                refusals[rate_ppm] = "offer_above_rate_cap"
            else:
                accepted[rate_ppm] = rate_to_ppm(apr.compound.quantize(MILLIONTH, ROUND_HALF_UP))
    rate, limit = sql.rate_ppm, sql.limit
    rate_ok = f"{rate} IN ({', '.join(map(str, accepted)) or 'NULL'})"
    limit_ok = (
        f"{limit} BETWEEN {product.min_limit} AND {product.max_limit}" if product else "false"
    )
    counts = tx.conn.execute(
        text(
            f"SELECT COUNT(*), SUM(CASE WHEN s.ok AND {rate} IS NOT NULL THEN 1 ELSE 0 END), "
            + ", ".join(f"SUM(CASE WHEN s.ok AND {rate} = {r} THEN 1 ELSE 0 END)" for r in refusals)
            + ("," if refusals else "")
            + f" SUM(CASE WHEN s.ok AND {rate_ok} AND NOT ({limit_ok}) THEN 1 ELSE 0 END) "
            f"FROM {scored}"
        ),
        params,
    ).one()
    outcome.agents, outcome.proposed = int(counts[0]), int(counts[1] or 0)
    for rate_ppm, count in zip(refusals, counts[2:-1], strict=True):
        if count:
            key = refusals[rate_ppm]
            outcome.refused[key] = outcome.refused.get(key, 0) + int(count)
    if counts[-1]:
        outcome.refused["offer_outside_product"] = outcome.refused.get(
            "offer_outside_product", 0
        ) + int(counts[-1])
    if product is None:
        if outcome.proposed:
            outcome.refused["product_not_found"] = outcome.proposed
    else:
        apr_case = " ".join(f"WHEN {r} THEN {a}" for r, a in accepted.items())
        params.update(
            product=product.id,
            term=card.term_days,
            expires=today + timedelta(days=product.offer_valid_days),
        )
        # A plain insert of the offers not kept: ON CONFLICT (its speculative insertion)
        # cost 0.14 s more per 100,000 offers. Unlike an anti-join in the insert, the
        # check above does not rest on estimates of the live offers: with 230,000 live
        # offers (a rerun that keeps them), such a plan took six minutes.
        outcome.created = insert_unless_raced(
            tx,
            "INSERT INTO offers (run_id, agent_id, funder_id, product_id, credit_limit, "
            "annual_rate_ppm, term_days, apr_ppm, offered_on, expires_on, status) "
            f"SELECT :run, s.agent_id, :funder, :product, {limit}, {rate}, :term, "
            f"CASE {rate} {apr_case or 'WHEN NULL THEN NULL'} END, :today, :expires, 'live' "
            f"FROM {scored} WHERE s.ok AND {rate_ok} AND {limit_ok} AND NOT s.live",
            # a run at the same moment made some of them: keep its offers
            "ON CONFLICT (agent_id, product_id) WHERE status = 'live' DO NOTHING",
            params,
        )
        accepted_proposals = outcome.proposed - sum(outcome.refused.values())
        outcome.kept = accepted_proposals - outcome.created
    tx.conn.execute(
        text(
            "INSERT INTO data_shares (consent_id, agent_id, funder_id, fields, identified, "
            "reference, shared_on) "
            "SELECT s.consent_id, s.agent_id, :funder, :fields, false, :reference, :today "
            f"FROM {scored}"
        ),
        {
            **params,
            "fields": ",".join(PREAPPROVAL_FIELDS),
            "reference": f"preapproval:{report.run_id}",
        },
    )
    tx.conn.execute(text("DROP TABLE scored_now"))
    return outcome


def _finish(tx: Tx, report: RunReport) -> None:
    run = tx.session.get(PreapprovalRun, report.run_id)
    assert run is not None
    run.agents = max((f.agents for f in report.funders.values()), default=0)
    run.offers_created = report.offers_created
    run.report = json.dumps({code: asdict(o) for code, o in report.funders.items()})
