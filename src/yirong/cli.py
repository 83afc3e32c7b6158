"""The ``yirong`` command."""

from __future__ import annotations

import typer

from yirong.access.cli import key_app, user_app
from yirong.agents.cli import app as agent_app
from yirong.api.cli import prune, serve
from yirong.bench.cli import app as bench_app
from yirong.books.cli import app as books_app
from yirong.credit.cli import consent_app, credit_app, offers, preapproval_app
from yirong.demo.cli import demo
from yirong.eod.cli import app as eod_app
from yirong.events.cli import app as events_app
from yirong.funders.cli import app as funder_app
from yirong.infra.cli import app as db_app
from yirong.ledger.cli import app as ledger_app
from yirong.loans.cli import app as loan_app
from yirong.orders.cli import app as order_app
from yirong.policy.cli import app as policy_app
from yirong.pricing.cli import schedule
from yirong.reconciliation.cli import app as recon_app
from yirong.wallets.cli import app as wallet_app
from yirong.wallets.cli import commissions_app
from yirong.wiring import wire

app = typer.Typer(
    help="Yirong (易融): revenue-based lending to small businesses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    database: str = typer.Option(
        None,
        "--database",
        envvar="YIRONG_DATABASE_URL",
        help="sqlite:///yirong.db (default) or postgresql+psycopg://user@host/db",
    ),
) -> None:
    wire()
    ctx.obj = {"url": database, "db": None}


app.add_typer(db_app, name="db")
app.add_typer(books_app, name="books")
app.add_typer(wallet_app, name="wallet")
app.add_typer(commissions_app, name="commissions")
app.add_typer(ledger_app, name="ledger")
app.add_typer(agent_app, name="agent")
app.add_typer(funder_app, name="funder")
app.add_typer(policy_app, name="policy")
app.add_typer(preapproval_app, name="preapproval")
app.command()(offers)
app.add_typer(consent_app, name="consent")
app.add_typer(credit_app, name="credit")
app.add_typer(loan_app, name="loan")
app.add_typer(order_app, name="order")
app.add_typer(eod_app, name="eod")
app.add_typer(recon_app, name="recon")
app.add_typer(events_app, name="events")
app.command()(schedule)
app.command()(prune)
app.add_typer(bench_app, name="bench")
app.command()(demo)
app.command()(serve)
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="api-key")


def main() -> None:
    app()
