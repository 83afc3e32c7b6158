"""``yirong ledger``: prove the books and read statements."""

from __future__ import annotations

import typer
from rich.table import Table

from yirong.cli_support import EXIT_CHECK_FAILED, console, database, print_json, run
from yirong.ledger.statement import statement
from yirong.ledger.verify import verify as verify_books
from yirong.money import format_fen

app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)


@app.command()
def verify(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Recompute every balance from its postings and check every invariant.
    Exits 1 and lists each difference if anything is off."""
    report = run(lambda: verify_books(database(ctx)))
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "problems": report.problems,
                "entries": report.entries,
                "postings": report.postings,
                "accounts": report.accounts,
                "checks": {c.name: c.problems for c in report.checks},
            }
        )
    else:
        table = Table(title="Ledger verification")
        table.add_column("check")
        table.add_column("result")
        for check in report.checks:
            table.add_row(
                check.description,
                "[green]ok[/]" if check.ok else f"[red]{check.count} problem(s)[/]",
            )
        console.print(table)
        for check in report.checks:
            for problem in check.problems:
                console.print(f"[red]{check.name}[/]: {problem}")
        verdict = (
            "[green]The books balance.[/]" if report.ok else "[red]The books do NOT balance.[/]"
        )
        console.print(
            f"{verdict} {report.entries} entries, {report.postings} postings, "
            f"{report.accounts} accounts."
        )
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def show(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="Account code (e.g. wallet:agent:A001) or id."),
    limit: int = typer.Option(50, min=1, max=10_000, help="How many latest lines."),
) -> None:
    """Print an account's statement with a running balance (yuan)."""
    stmt = run(lambda: statement(database(ctx), account, limit=limit))
    bal = stmt.balance
    acc = bal.account
    console.print(
        f"[bold]{acc.code}[/] ({acc.kind.value}, book {acc.book}, {acc.currency}) "
        f"state [bold]{bal.state.value}[/]"
    )
    table = Table(caption=f"{len(stmt.lines)} of {stmt.total_lines} lines")
    for column in ("entry", "date", "movement", "phase", "debit", "credit", "balance"):
        table.add_column(
            column, justify="right" if column in ("debit", "credit", "balance") else "left"
        )
    for line in stmt.lines:
        debit = format_fen(line.amount) if line.side.value == "D" else ""
        credit = format_fen(line.amount) if line.side.value == "C" else ""
        after = format_fen(line.balance_after) if line.balance_after is not None else "(held)"
        table.add_row(
            str(line.entry_id),
            str(line.business_date),
            line.code,
            line.phase.value,
            debit,
            credit,
            after,
        )
    console.print(table)
    console.print(f"balance {format_fen(bal.balance)}  available {format_fen(bal.available)}")
