"""``yirong preapproval``, ``yirong offers``, ``yirong consent`` and ``yirong credit``:
the marketplace from a terminal (agents', funders' and operators' actions alike)."""

from __future__ import annotations

import typer
from rich.table import Table

from yirong.agents.service import agent_row
from yirong.books.cli import parse_date
from yirong.cli_support import console, database, run
from yirong.credit import applications as apps
from yirong.credit.consents import (
    APPLICATION_FIELDS,
    ConsentTerms,
    consents_of,
    opt_in_preapproval,
    withdraw_consent,
)
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import OfferView, compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.infra.db import Tx
from yirong.loans.lines import close_line
from yirong.money import format_fen, format_percent, parse_percent, parse_yuan
from yirong.policy.service import setting

preapproval_app = typer.Typer(help="Pre-approval (预授信): funders' offers.", no_args_is_help=True)
consent_app = typer.Typer(help="Consents agents gave, and their withdrawal.", no_args_is_help=True)
credit_app = typer.Typer(
    help="Formal credit (正式授信): applications and lines.", no_args_is_help=True
)


@preapproval_app.command("opt-in")
def opt_in(
    ctx: typer.Context,
    agent: str,
    text_version: str = typer.Option(
        None, help="The consent text version the agent accepted (default: the current one)."
    ),
) -> None:
    """The agent agrees that funders may see its pseudonymous features."""
    db = database(ctx)
    version = text_version or run(
        lambda: db.run(lambda tx: setting(tx, "consent_text_version"), readonly=True)
    )
    consent = run(lambda: opt_in_preapproval(db, agent, text_version=version))
    console.print(
        f"Consent {consent.id}: pseudonymous features to every funder until "
        f"{consent.valid_until} (text {consent.text_version})."
    )


@preapproval_app.command("run")
def run_all(ctx: typer.Context) -> None:
    """Recompute features and ask every funder for offers."""
    with console.status("pre-approval") as status:
        report = run(lambda: run_preapproval(database(ctx), progress=status.update))
    table = Table(title=f"Pre-approval run {report.run_id} on {report.business_date}")
    for column in ("funder", "agents", "proposed", "created", "kept", "refused", "error"):
        table.add_column(column)
    for code, o in report.funders.items():
        table.add_row(
            code,
            str(o.agents),
            str(o.proposed),
            str(o.created),
            str(o.kept),
            ", ".join(f"{k}: {v}" for k, v in o.refused.items()),
            o.error or "",
        )
    console.print(table)
    console.print(f"{report.offers_created} offers made, {report.offers_expired} expired.")


def offers(ctx: typer.Context, agent: str) -> None:
    """The agent's live offers side by side, cheapest first."""
    views = run(lambda: compare_offers(database(ctx), agent))
    console.print(offers_table(agent, views) if views else f"No live offers for {agent}.")


def offers_table(agent: str, views: list[OfferView]) -> Table:
    """Offers side by side as the agent sees them (the demo shows the same table)."""
    table = Table(title=f"Offers for {agent}, cheapest first")
    for column in (
        "offer",
        "funder",
        "product",
        "limit",
        "rate",
        "APR (compound)",
        "APR (simple)",
        "term",
        "sample drawdown costs",
        "expires",
    ):
        table.add_column(column)
    for o in views:
        table.add_row(
            str(o.id),
            o.funder_name,
            o.product_name,
            format_fen(o.credit_limit),
            format_percent(o.annual_rate),
            f"[bold]{format_percent(o.apr)}[/]",
            format_percent(o.apr_simple),
            f"{o.term_days} days",
            f"{format_fen(o.sample_cost)} on {format_fen(o.sample_amount)}",
            str(o.expires_on),
        )
    return table


@consent_app.command("list")
def list_consents(ctx: typer.Context, agent: str) -> None:
    for c in run(lambda: consents_of(database(ctx), agent)):
        state = f"withdrawn {c.withdrawn_on}" if c.withdrawn_on else f"valid until {c.valid_until}"
        console.print(
            f"{c.id}: {c.purpose} to {c.funder_code or 'every funder'} — "
            f"{', '.join(c.fields)} — {state}"
        )


@consent_app.command("withdraw")
def withdraw(ctx: typer.Context, agent: str, consent_id: int) -> None:
    c = run(lambda: withdraw_consent(database(ctx), agent, consent_id))
    console.print(f"Consent {c.id} withdrawn on {c.withdrawn_on}: nothing more is shared under it.")


@credit_app.command()
def apply(
    ctx: typer.Context,
    agent: str,
    offer: int,
    consent_until: str = typer.Option(..., help="YYYY-MM-DD the consent lasts until."),
    i_consent: bool = typer.Option(
        False, "--i-consent", help="The agent has read the consent and agrees."
    ),
) -> None:
    """Apply to the funder of an offer, confirming the firm's details on record."""
    db = database(ctx)
    version = run(lambda: db.run(lambda tx: setting(tx, "consent_text_version"), readonly=True))
    console.print(
        f"Consent (text {version}): the firm's {', '.join(APPLICATION_FIELDS)} go to "
        f"the funder of offer {offer}, for a credit application, until {consent_until}."
    )
    terms = (
        ConsentTerms(APPLICATION_FIELDS, parse_date(consent_until), version) if i_consent else None
    )

    def details(tx: Tx) -> apps.FirmDetails:
        return apps.details_of(agent_row(tx, agent))

    confirmed = run(lambda: db.run(details, readonly=True))
    view = run(lambda: apps.apply_for_credit(db, agent, offer, confirmed, terms))
    console.print(f"Application {view.id} to {view.funder_code}: {view.status}.")


@credit_app.command()
def approve(
    ctx: typer.Context,
    application: int,
    funder: str = typer.Option(...),
    limit: str = typer.Option(..., help="Yuan."),
    rate: str = typer.Option(..., help="Annual rate in percent, e.g. 12.5"),
) -> None:
    """The funder grants a credit line."""
    line = run(
        lambda: apps.approve_application(
            database(ctx),
            application,
            funder_code=funder,
            credit_limit=parse_yuan(limit),
            annual_rate=parse_percent(rate),
        )
    )
    console.print(
        f"Line {line.id}: {format_fen(line.credit_limit)} at "
        f"{format_percent(line.annual_rate)} until {line.valid_until}."
    )


@credit_app.command()
def reject(
    ctx: typer.Context,
    application: int,
    funder: str = typer.Option(...),
    reason: str = typer.Option(..., help=", ".join(apps.REJECTION_REASONS)),
) -> None:
    view = run(
        lambda: apps.reject_application(
            database(ctx), application, funder_code=funder, reason_code=reason
        )
    )
    console.print(f"Application {view.id}: rejected ({view.reason_code}).")


@credit_app.command()
def decide(ctx: typer.Context) -> None:
    """Scorecard funders decide every submitted application to them."""
    report = run(lambda: decide_by_scorecards(database(ctx)))
    refused = ", ".join(f"{code}: {n}" for code, n in sorted(report.rejected.items()))
    console.print(f"{report.approved} approved; rejected: {refused or 'none'}.")


@credit_app.command("withdraw")
def withdraw_app(ctx: typer.Context, agent: str, application: int) -> None:
    view = run(lambda: apps.withdraw_application(database(ctx), agent, application))
    console.print(f"Application {view.id}: {view.status}.")


@credit_app.command("close-line")
def close(
    ctx: typer.Context,
    line: str = typer.Argument(..., help="The line's reference, such as cl_48120937465521"),
    reason: str = typer.Option(...),
) -> None:
    view = run(lambda: close_line(database(ctx), line, reason=reason))
    console.print(f"Line {view.id} is {view.status}: the agent may apply to another funder.")


@credit_app.command()
def show(ctx: typer.Context, agent: str) -> None:
    """The agent's application in progress or active line."""
    application, line = run(lambda: apps.current_credit(database(ctx), agent))
    if application is None:
        console.print(f"{agent} has no application or line.")
        return
    console.print(
        f"Application {application.id} to {application.funder_code}: "
        f"{application.status} since {application.submitted_on}"
    )
    if line is not None:
        console.print(
            f"Line {line.id}: {format_fen(line.credit_limit)} at "
            f"{format_percent(line.annual_rate)}, {line.status} until {line.valid_until}"
        )
