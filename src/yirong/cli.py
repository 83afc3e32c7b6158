"""The ``yirong`` command."""

from __future__ import annotations

import typer

from yirong.bench.cli import app as bench_app
from yirong.books.cli import app as books_app
from yirong.demo.cli import demo
from yirong.infra.cli import app as db_app
from yirong.ledger.cli import app as ledger_app
from yirong.wallets.cli import app as wallet_app
from yirong.wallets.cli import commissions_app

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
    ctx.obj = {"url": database, "db": None}


app.add_typer(db_app, name="db")
app.add_typer(books_app, name="books")
app.add_typer(wallet_app, name="wallet")
app.add_typer(commissions_app, name="commissions")
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.command()(demo)


def main() -> None:
    app()
