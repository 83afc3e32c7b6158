"""``yirong loan``: drawdowns, repayments, statements and a funder's book (the funder's
money arrives on bank statements: ``yirong recon``)."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from yirong.books.service import current_business_date
from yirong.cli_support import console, database, print_json, run
from yirong.loans.drawdowns import cancel_drawdown, request_drawdown
from yirong.loans.repayments import repay
from yirong.loans.reversals import reverse_repayment
from yirong.loans.standing import agent_standing, funder_portfolio, past_due_loans
from yirong.loans.statements import revenue_share_statement
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
    """The agent's loans: what each owes today, and how far past due."""
    db = database(ctx)
    standing = run(lambda: agent_standing(db, agent))
    table = Table(title=f"Loans of {agent} on {standing.business_date}")
    for column in ("id", "order", "status", "due", "dpd", "bucket", "principal", "interest"):
        table.add_column(column)
    table.add_column("penalty")
    for loan in standing.loans:
        table.add_row(
            str(loan.drawdown_id),
            loan.order_ref,
            loan.status,
            str(loan.due_date or ""),
            str(loan.days_past_due),
            loan.bucket,
            format_fen(loan.owed.principal),
            format_fen(loan.owed.interest),
            format_fen(loan.owed.penalty),
        )
    console.print(table)
    console.print(
        f"Owed today: {format_fen(standing.owed)} yuan; {standing.bucket} "
        f"({standing.days_past_due} days past due)."
    )


@app.command()
def reverse(
    ctx: typer.Context,
    repayment: int,
    reason: str = typer.Option(..., help="Why (kept with the reversal)."),
) -> None:
    """Reverse a repayment made in error, with its revenue share (operators)."""
    r = run(lambda: reverse_repayment(database(ctx), repayment, reason))
    console.print(
        f"Repayment {r.id} reversed ({r.outcome}): {format_fen(r.amount)} yuan back to the "
        f"wallet, share {format_fen(r.share)} taken back."
    )


@app.command()
def statement(
    ctx: typer.Context,
    funder: str,
    month: str = typer.Option(None, help="YYYY-MM; default: the books' current month."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object, amounts in fen."),
) -> None:
    """A funder's monthly revenue-share statement (分润对账单)."""
    db = database(ctx)
    month = month or f"{run(lambda: current_business_date(db)):%Y-%m}"
    s = run(lambda: revenue_share_statement(db, funder, month))
    if as_json:
        print_json(
            {
                "funder": s.funder_code,
                "month": s.month,
                "revenue_share_ppm": s.revenue_share_ppm,
                "interest": s.interest,
                "penalty": s.penalty,
                "share": s.share,
                "lines": [asdict(line) for line in s.lines],
            }
        )
        return
    table = Table(title=f"Revenue share owed by {s.funder_code}, {s.month}")
    for column in ("date", "repayment", "agent", "kind", "interest", "penalty", "share"):
        table.add_column(column)
    for line in s.lines:
        table.add_row(
            str(line.business_date),
            str(line.repayment_id),
            line.agent_code,
            line.kind,
            format_fen(line.interest),
            format_fen(line.penalty),
            format_fen(line.share),
        )
    console.print(table)
    console.print(
        f"Interest {format_fen(s.interest)} + penalty {format_fen(s.penalty)} collected; "
        f"share at {s.revenue_share_ppm / 10_000:g}%: {format_fen(s.share)} yuan."
    )


@app.command()
def portfolio(ctx: typer.Context, funder: str) -> None:
    """A funder's book by bucket at the last closed day, and its loans past due."""
    db = database(ctx)
    p = run(lambda: funder_portfolio(db, funder))
    table = Table(title=f"{p.funder_code}'s book at the end of {p.as_of or 'no closed day'}")
    for column in ("bucket", "loans", "principal", "interest due", "penalty due"):
        table.add_column(column)
    for b in p.buckets:
        table.add_row(
            b.bucket,
            str(b.loans),
            format_fen(b.principal),
            format_fen(b.interest_due),
            format_fen(b.penalty_due),
        )
    console.print(table)
    for loan in run(lambda: past_due_loans(db, funder, limit=20)):
        console.print(
            f"{loan.order_ref} {loan.agent_code}: {loan.days_past_due} days past due "
            f"({loan.bucket}), owes {format_fen(loan.owed.total)}"
        )
