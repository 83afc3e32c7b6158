"""``yirong policy``: the operator's dated rules."""

from __future__ import annotations

import typer

from yirong.books.cli import parse_date
from yirong.cli_support import console, database, run
from yirong.infra.db import Tx
from yirong.policy.service import RULES, set_setting, setting

app = typer.Typer(help="The operator's dated rules (the legal APR cap...).", no_args_is_help=True)


@app.command()
def show(ctx: typer.Context) -> None:
    """Every rule's value on the current business date."""

    def read(tx: Tx) -> list[tuple[str, str, str]]:
        return [(key, setting(tx, key), rule.about) for key, rule in RULES.items()]

    for key, value, about in run(lambda: database(ctx).run(read, readonly=True)):
        console.print(f"[bold]{key}[/] = {value}  ({about})")


@app.command("set")
def set_rule(
    ctx: typer.Context,
    key: str,
    value: str,
    effective_from: str = typer.Option(..., "--from", help="YYYY-MM-DD, today or later."),
    by: str = typer.Option("operator", help="Who sets it."),
) -> None:
    """Set a rule from a business date on."""
    run(
        lambda: set_setting(
            database(ctx), key, value, effective_from=parse_date(effective_from), set_by=by
        )
    )
    console.print(f"{key} = {value} from {effective_from}.")
