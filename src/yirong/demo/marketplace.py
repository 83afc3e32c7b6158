"""The demo's marketplace morning: funders and their products, agents' opt-ins,
pre-approval (run twice: the second run adds nothing), one agent's competing offers
side by side, formal applications under consent, the funders' decisions, a funder
reading an applicant's data until the consent is withdrawn, and an agent changing
funder. Each refusal the platform must make is tried once and counted by its code."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select

from yirong.agents.cli import agent_card
from yirong.agents.service import Viewer, agent_row, get_agent
from yirong.books.service import current_business_date
from yirong.credit import applications as apps
from yirong.credit.cli import offers_table
from yirong.credit.consents import (
    APPLICATION_FIELDS,
    ConsentTerms,
    opt_in_preapproval,
    withdraw_consent,
)
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import OfferView, compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.credit.tables import Consent, CreditLine, DataShare, Offer
from yirong.demo.funders import FACTORING, FUNDERS, line
from yirong.demo.result import DemoResult
from yirong.errors import YirongError
from yirong.funders.service import add_product, register_funder
from yirong.funders.tables import FunderProduct
from yirong.infra.db import Database, Tx
from yirong.loans.lines import close_line
from yirong.policy.service import setting
from yirong.pricing.schedule import Method
from yirong.roles import Role

OPT_IN_SHARE = 0.85
APPLY_SHARE = 0.6
CONSENT_DAYS = 365


@dataclass
class Market:
    db: Database
    rnd: random.Random
    console: Console
    result: DemoResult
    text_version: str = ""
    opted_in: list[str] = field(default_factory=list)

    def refused(self, call: Callable[[], object]) -> str | None:
        """Try something the platform must refuse; count it by its code."""
        try:
            call()
        except YirongError as exc:
            self.result.refusals[exc.code] += 1
            return exc.code
        return None

    def consent(self, today: date) -> ConsentTerms:
        return ConsentTerms(
            APPLICATION_FIELDS, today + timedelta(days=CONSENT_DAYS), self.text_version
        )


def run_marketplace(
    db: Database,
    rnd: random.Random,
    codes: list[str],
    *,
    console: Console,
    progress: Progress,
    result: DemoResult,
) -> Market:
    market = Market(db, rnd, console, result)
    counts = result.counts
    task = progress.add_task("Marketplace: funders, opt-ins and pre-approval", total=4)
    _open_funders(market)
    progress.advance(task)
    market.text_version = db.run(lambda tx: setting(tx, "consent_text_version"), readonly=True)
    opted = [c for c in codes if rnd.random() < OPT_IN_SHARE]
    for code in opted:
        opt_in_preapproval(db, code, text_version=market.text_version)
    counts["agents_opted_in"] = len(opted)
    market.opted_in = opted
    progress.advance(task)
    report = run_preapproval(db)
    counts["offers"] = report.offers_created
    progress.advance(task)
    # The same run again the same day: every live offer stands, none is added.
    counts["offers_added_by_rerun"] = run_preapproval(db).offers_created
    progress.advance(task)
    counts["agents_with_competing_offers"] = db.run(_agents_with_competing_offers, readonly=True)

    offered = {code: compare_offers(db, code) for code in opted}
    offered = {code: views for code, views in offered.items() if views}
    _show_one_agent(market, offered)

    task = progress.add_task("Marketplace: applications and decisions", total=3)
    applied = _applications(market, offered)
    progress.advance(task)
    decided = decide_by_scorecards(db)
    counts["applications_approved"] = decided.approved
    counts["applications_rejected"] = sum(decided.rejected.values())
    progress.advance(task)
    _after_approval(market, applied, offered)
    progress.advance(task)
    counts.update(db.run(_on_record, readonly=True))
    return market


def _open_funders(market: Market) -> None:
    db = market.db
    for funder, products in FUNDERS:
        register_funder(db, funder)
        for product in products:
            add_product(db, funder.code, product)
    register_funder(db, FACTORING)
    market.result.counts["funders"] = len(FUNDERS) + 1
    # A factoring company may not lend; no product may cost more than the legal cap.
    plain_loan = line("LINE", "保理公司的贷款 A loan from a factor", "0.10", "0.18", 100_000, 10**7)
    market.refused(lambda: add_product(db, FACTORING.code, plain_loan))
    dear = replace(plain_loan, code="DEAR", max_rate=Decimal("0.30"))
    market.refused(lambda: add_product(db, FUNDERS[0][0].code, dear))


def _agents_with_competing_offers(tx: Tx) -> int:
    per_agent = (
        select(Offer.agent_id)
        .where(Offer.status == "live")
        .group_by(Offer.agent_id)
        .having(func.count(func.distinct(Offer.funder_id)) > 1)
        .subquery()
    )
    return tx.conn.scalar(select(func.count()).select_from(per_agent)) or 0


def _show_one_agent(market: Market, offered: dict[str, list[OfferView]]) -> None:
    """The agent with the most offers, as a funder's staff would see it (masked),
    and its offers as it sees them."""
    if not offered:
        return
    code = max(offered, key=lambda c: (len(offered[c]), c))
    market.console.print()
    viewer = Viewer(Role.FUNDER, offered[code][0].funder_code)
    market.console.print(agent_card(get_agent(market.db, code, viewer)))
    market.console.print(offers_table(code, offered[code]))


INSTALMENTS = {m.value for m in Method if m is not Method.BULLET}
TERM_TAKERS = 0.3  # applicants who choose monthly instalments over the cheapest offer


def chosen_offer(rnd: random.Random, offers: list[OfferView]) -> OfferView:
    """The offer an agent applies for: the cheapest (they come cheapest first), but
    some would rather repay in fixed monthly instalments when one is offered."""
    wants_term = rnd.random() < TERM_TAKERS
    return next((o for o in offers if wants_term and o.method in INSTALMENTS), offers[0])


def _applications(market: Market, offered: dict[str, list[OfferView]]) -> list[str]:
    """Most agents with offers apply to the one they choose (:func:`chosen_offer`); a
    few try what must be refused."""
    db, counts = market.db, market.result.counts
    today = current_business_date(db)
    codes = sorted(offered)
    applying = [c for c in codes if market.rnd.random() < APPLY_SHARE]
    for code in applying:
        details = firm_details(db, code)
        offer = chosen_offer(market.rnd, offered[code])
        apps.apply_for_credit(db, code, offer.id, details, market.consent(today))
        counts["applications"] += 1
    # Applying to a second funder while one application is in progress; with someone
    # else's offer; without consent; with details that differ from those on record.
    choosy = [c for c in applying if len(offered[c]) > 1]
    if choosy:
        agent, details = choosy[0], firm_details(db, choosy[0])
        second = offered[agent][1].id
        market.refused(
            lambda: apps.apply_for_credit(db, agent, second, details, market.consent(today))
        )
    idle = [c for c in codes if c not in applying]
    if idle and applying:
        mine, theirs = firm_details(db, idle[0]), offered[applying[0]][0].id
        market.refused(
            lambda: apps.apply_for_credit(db, idle[0], theirs, mine, market.consent(today))
        )
        market.refused(
            lambda: apps.apply_for_credit(db, idle[0], offered[idle[0]][0].id, mine, None)
        )
        other_mobile = "13800000000" if mine.mobile != "+8613800000000" else "13900000000"
        market.refused(
            lambda: apps.apply_for_credit(
                db,
                idle[0],
                offered[idle[0]][0].id,
                replace(mine, mobile=other_mobile),
                market.consent(today),
            )
        )
    return applying


def firm_details(db: Database, code: str) -> apps.FirmDetails:
    """The firm's details on record, which the agent confirms when it applies."""

    def on_record(tx: Tx) -> apps.FirmDetails:
        return apps.details_of(agent_row(tx, code))

    return db.run(on_record, readonly=True)


def _after_approval(
    market: Market, applied: list[str], offered: dict[str, list[OfferView]]
) -> None:
    """A funder reads an applicant's data under its consent; the agent withdraws the
    consent and the next read is refused. Another agent changes funder: it closes its
    line (no debt) and applies to a different funder, which decides at once."""
    db, counts = market.db, market.result.counts
    with_lines: list[tuple[str, apps.ApplicationView, apps.LineView]] = []
    for code in applied:
        application, line_view = apps.current_credit(db, code)
        if application is not None and line_view is not None:
            with_lines.append((code, application, line_view))
    if not with_lines:
        return
    reader, read = with_lines[0][0], with_lines[0][1]
    apps.applicant_data(db, read.id, funder_code=read.funder_code)
    counts["applicant_data_reads"] += 1
    withdraw_consent(db, reader, read.consent_id)
    counts["consents_withdrawn"] += 1
    market.refused(lambda: apps.applicant_data(db, read.id, funder_code=read.funder_code))

    for code, application, line_view in with_lines[1:]:
        others = [o for o in offered[code] if o.funder_code != application.funder_code]
        if not others:
            continue
        close_line(db, line_view.id, reason="changing funder")
        details = firm_details(db, code)
        today = current_business_date(db)
        apps.apply_for_credit(db, code, others[0].id, details, market.consent(today))
        counts["funder_changes"] += 1
        counts["applications"] += 1
        decided = decide_by_scorecards(db)
        counts["applications_approved"] += decided.approved
        counts["applications_rejected"] += sum(decided.rejected.values())
        break


def _on_record(tx: Tx) -> dict[str, int]:
    """What the database holds at the end: the proof behind the demo's claims."""
    # One funder at a time in each product family: a line and an order facility each.
    active = (
        select(CreditLine.agent_id, func.count().label("lines"))
        .join(FunderProduct, FunderProduct.id == CreditLine.product_id)
        .where(CreditLine.status == "active")
        .group_by(CreditLine.agent_id, apps.family_sql(FunderProduct.kind))
        .subquery()
    )
    return {
        "lines_active": tx.conn.scalar(select(func.coalesce(func.sum(active.c.lines), 0))) or 0,
        "most_active_lines_for_one_agent": tx.conn.scalar(
            select(func.coalesce(func.max(active.c.lines), 0))
        )
        or 0,
        "consents_on_record": tx.conn.scalar(select(func.count()).select_from(Consent)) or 0,
        "data_shares_logged": tx.conn.scalar(select(func.count()).select_from(DataShare)) or 0,
    }
