"""``yirong loan``: drawdowns, the funder's money, repayments and exceptions."""

from __future__ import annotations

import typer
from rich.table import Table

from yirong.cli_support import console, database, run
from yirong.loans.drawdowns import cancel_drawdown, drawdowns_of, request_drawdown
from yirong.loans.funding import exceptions, receive_funding, return_to_funder
from yirong.loans.repayments import owed_now, repay
from yirong.money import format_fen, parse_yuan

app = typer.Typer(help="Loans (借据): drawdowns, funding, repayment.", no_args_is_help=True)


@app.command()
def draw(
    ctx: typer.Context,
    agent: str,
    amount: str = typer.Argument(..., help="Yuan."),
    term_days: int = typer.Option(..., "--days", help="Days until it is due."),
    key: str = typer.Option(..., help="The client's idempotency key."),
) -> None:
    """Ask the line's funder for money (the amount is reserved at once)."""
    d = run(lambda: request_drawdown(database(ctx), agent, parse_yuan(amount), term_days, key))
    console.print(
        f"Order {d.order_ref} ({d.outcome}): {format_fen(d.amount)} yuan for {d.term_days} days "
        f"from {d.funder_code}, to be funded by {d.fund_by}."
    )


@app.command()
def cancel(ctx: typer.Context, agent: str, drawdown: int) -> None:
    d = run(lambda: cancel_drawdown(database(ctx), agent, drawdown))
    console.print(f"Order {d.order_ref} is {d.status}.")


@app.command()
def fund(
    ctx: typer.Context,
    bank_ref: str,
    funder: str = typer.Option(...),
    reference: str = typer.Option(..., help="The order reference the funder quoted."),
    amount: str = typer.Option(..., help="Yuan."),
) -> None:
    """Book money a funder sent to the reserve account, as the bank statement shows it."""
    r = run(lambda: receive_funding(database(ctx), bank_ref, funder, reference, parse_yuan(amount)))
    console.print(f"Receipt {r.id} ({r.bank_ref}): {r.outcome}.")


@app.command("repay")
def repay_command(
    ctx: typer.Context,
    agent: str,
    amount: str = typer.Argument(None, help="Yuan; omitted: everything owed today."),
    key: str = typer.Option(...),
) -> None:
    r = run(lambda: repay(database(ctx), agent, parse_yuan(amount) if amount else None, key))
    console.print(
        f"Repaid {format_fen(r.amount)} ({r.outcome}): penalty {format_fen(r.penalty)}, "
        f"interest {format_fen(r.interest)}, principal {format_fen(r.principal)}."
    )


@app.command()
def show(ctx: typer.Context, agent: str) -> None:
    """The agent's drawdowns and what each owes today."""
    db = database(ctx)
    owed = {o.drawdown_id: o for o in run(lambda: owed_now(db, agent))}
    table = Table(title=f"Drawdowns of {agent}")
    for column in (
        "id",
        "order",
        "status",
        "amount",
        "credited",
        "due",
        "principal",
        "interest",
        "penalty",
    ):
        table.add_column(column)
    for d in run(lambda: drawdowns_of(db, agent)):
        o = owed.get(d.id)
        table.add_row(
            str(d.id),
            d.order_ref,
            d.status,
            format_fen(d.amount),
            str(d.credited_on or ""),
            str(d.due_date or ""),
            format_fen(d.principal),
            format_fen(o.interest) if o else "",
            format_fen(o.penalty) if o else "",
        )
    console.print(table)


@app.command("exceptions")
def list_exceptions(ctx: typer.Context) -> None:
    """Money in suspense that matched no live order."""
    for e in run(lambda: exceptions(database(ctx))):
        console.print(
            f"{e.id}: {e.bank_ref} {format_fen(e.amount)} from {e.funder_code} quoting "
            f"{e.reference!r} on {e.received_on}: {e.outcome}"
        )


@app.command("return")
def return_command(ctx: typer.Context, receipt: int) -> None:
    """Send an unmatched receipt back to the funder's payment account."""
    r = run(lambda: return_to_funder(database(ctx), receipt))
    console.print(f"Receipt {r.id}: {r.resolution}.")
