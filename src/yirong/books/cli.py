"""``yirong books``: open the books and show the business date."""

from __future__ import annotations

from datetime import date, timedelta

import typer

from yirong.books import service
from yirong.cli_support import console, database, print_json, refusals, run
from yirong.eod.service import run_eod
from yirong.errors import YirongError

app = typer.Typer(help="The books and their business date (会计日).", no_args_is_help=True)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise YirongError("business_date_invalid", value=text) from exc


@app.command("open")
def open_books(
    ctx: typer.Context,
    business_date: str = typer.Option(..., "--date", help="The first business date, YYYY-MM-DD."),
) -> None:
    """Open the platform's books on their first business date."""
    opened = run(lambda: service.open_books(database(ctx), parse_date(business_date)))
    console.print(f"Books open; business date [bold]{opened}[/].")


@app.command("show")
def show(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON line.")
) -> None:
    """The business date and the bank accounts the platform holds."""
    db = database(ctx)
    today = run(lambda: service.current_business_date(db))
    accounts = run(lambda: service.bank_accounts(db))
    if as_json:
        print_json(
            {
                "business_date": today,
                "bank_accounts": [
                    {
                        "number": a.number,
                        "bank": a.bank_name,
                        "name": a.name,
                        "currency": a.currency,
                        "ledger_account": a.ledger_account,
                    }
                    for a in accounts
                ],
            }
        )
        return
    console.print(f"Business date [bold]{today}[/].")
    for a in accounts:
        console.print(f"  {a.bank_name} {a.number} ({a.name}, {a.currency}) = {a.ledger_account}")


@app.command("add-bank-account")
def add_bank_account(
    ctx: typer.Context,
    number: str,
    bank: str = typer.Option(..., help="The bank's name."),
    name: str = typer.Option(..., help="The account's name at the bank (户名)."),
) -> None:
    """Record a bank account the platform holds: its statements can then be imported."""
    a = run(lambda: service.add_bank_account(database(ctx), number, bank, name))
    console.print(f"{a.bank_name} {a.number} is {a.ledger_account} in the books.")


@app.command()
def today(ctx: typer.Context) -> None:
    """Print the current business date."""
    console.print(str(run(lambda: service.current_business_date(database(ctx)))))


@app.command("next")
def next_day(
    ctx: typer.Context,
    to: str = typer.Option(None, help="Move on day by day up to this YYYY-MM-DD."),
) -> None:
    """Close the business day (the whole end of day) and move on; --to: day by day."""
    db = database(ctx)
    current = run(lambda: service.current_business_date(db))
    target = parse_date(to) if to else current + timedelta(days=1)
    if target <= current:
        with refusals():
            raise YirongError(
                "business_date_invalid",
                f"The books are on {current}; they only move forward.",
                current=current.isoformat(),
                requested=target.isoformat(),
            )
    with console.status("closing business days") as status:
        while current < target:
            current = run(lambda: run_eod(db)).business_date + timedelta(days=1)
            status.update(f"business date {current}")
    console.print(f"Business date [bold]{current}[/].")
