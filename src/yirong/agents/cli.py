"""``yirong agent``: onboarding and looking at agents."""

from __future__ import annotations

from datetime import date

import typer

from yirong.agents.service import AgentInput, AgentView, Viewer, get_agent, onboard_agent
from yirong.books.cli import parse_date
from yirong.cli_support import console, database, run
from yirong.roles import Role

app = typer.Typer(help="Agents (代理商): the firms that borrow.", no_args_is_help=True)


def show_agent(view: AgentView) -> None:
    console.print(agent_card(view))


def agent_card(view: AgentView) -> str:
    """The agent as the viewer may see it (the demo prints the same card)."""
    return (
        f"[bold]{view.code}[/] {view.name}{'  (masked)' if view.masked else ''}\n"
        f"  credit code {view.uscc}  legal representative {view.legal_rep_name} "
        f"({view.legal_rep_id})\n  mobile {view.mobile}  card {view.bank_card} "
        f"({view.bank_name})  account class {view.wallet_class}\n"
        f"  with the carrier since {view.carrier_since}, onboarded {view.onboarded_on}"
    )


def viewer_of(text: str) -> Viewer:
    role, _, subject = text.partition(":")
    return Viewer(Role(role), subject)


@app.command()
def onboard(
    ctx: typer.Context,
    code: str = typer.Option(..., help="The carrier's agent number."),
    name: str = typer.Option(..., help="The firm's registered name."),
    uscc: str = typer.Option(..., help="Unified social credit code (统一社会信用代码)."),
    legal_rep: str = typer.Option(..., help="The legal representative's name."),
    legal_rep_id: str = typer.Option(..., help="The legal representative's resident ID."),
    mobile: str = typer.Option(...),
    bank_card: str = typer.Option(..., help="The settlement bank card."),
    bank_name: str = typer.Option(...),
    wallet_class: int = typer.Option(2, help="Payment account class: 1, 2 or 3."),
    carrier_since: str = typer.Option(None, help="YYYY-MM-DD the agent began with the carrier."),
) -> None:
    """Onboard a firm and open its wallet."""
    since: date | None = parse_date(carrier_since) if carrier_since else None
    data = AgentInput(
        code, name, uscc, legal_rep, legal_rep_id, mobile, bank_card, bank_name, wallet_class, since
    )
    show_agent(run(lambda: onboard_agent(database(ctx), data)))


@app.command()
def show(
    ctx: typer.Context,
    code: str,
    viewer: str = typer.Option("operator", "--as", help="operator, agent:<code> or funder:<code>"),
) -> None:
    """Show an agent as the given viewer sees it (personal data masked unless allowed)."""
    show_agent(run(lambda: get_agent(database(ctx), code, viewer_of(viewer))))
