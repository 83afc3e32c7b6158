"""``yirong eod``: close the business day (日终), or see how far an interrupted run got."""

from __future__ import annotations

import typer
from rich.progress import Progress

from yirong.books.cli import parse_date
from yirong.cli_support import console, database, print_json, run
from yirong.eod.service import eod_status, run_eod

app = typer.Typer(help="End of day (日终): accrual, overdue, freezes, payouts, the next date.")


@app.command("run")
def run_command(
    ctx: typer.Context,
    date: str = typer.Option(None, "--date", help="The day to close (default: the books' date)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Close the business day; after a crash, run it again: it resumes where it stopped."""
    db = database(ctx)
    day = parse_date(date) if date else None
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("end of day", total=None)

        def show(step: str, done: int, total: int) -> None:
            progress.update(task, description=f"end of day: {step}", completed=done, total=total)

        report = run(lambda: run_eod(db, day, show))
    if as_json:
        print_json(
            {"business_date": report.business_date, **report.done, "skipped": report.skipped}
        )
        return
    for step, detail in report.done.items():
        console.print(f"{step}: {detail}")
    if report.skipped:
        console.print(f"already done by an earlier run: {', '.join(report.skipped)}")
    console.print(f"Closed {report.business_date}.")


@app.command()
def status(ctx: typer.Context) -> None:
    """The books' date and the steps of its end of day already done."""
    print_json(run(lambda: eod_status(database(ctx))))
