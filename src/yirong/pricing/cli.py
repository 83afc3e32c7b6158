"""``yirong schedule``: the loan calculator, from the same code as the engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import typer
from rich.table import Table

from yirong.books.cli import parse_date
from yirong.cli_support import console, print_json, run
from yirong.errors import YirongError
from yirong.money import format_fen, parse_percent, parse_yuan
from yirong.pricing.apr import apr_string, schedule_apr
from yirong.pricing.schedule import Method, Schedule, build_schedule


def schedule(
    principal: str = typer.Option(..., help="Yuan, e.g. 1000000 or 5000.50"),
    annual_rate: str = typer.Option(..., help="Percent a year, e.g. 4.90"),
    periods: int = typer.Option(1, min=1, max=600, help="Monthly installments (bullet: months)."),
    method: Method = typer.Option(Method.EQUAL_INSTALLMENT),
    start: str = typer.Option(..., help="YYYY-MM-DD the money is drawn."),
    day_basis: int = typer.Option(360, help="360 or 365 (bullet loans)."),
    days: int = typer.Option(None, min=1, help="Bullet: the loan's days."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object, amounts in fen."),
) -> None:
    """Preview a loan: every installment's principal, interest and balance, and its APR."""
    built: Schedule = run(
        lambda: _build(principal, annual_rate, periods, method, start, day_basis, days)
    )
    apr = schedule_apr(built)
    if as_json:
        print_json(
            {
                "installments": [
                    {
                        "n": r.n,
                        "due_date": r.due_date.isoformat(),
                        "principal": r.principal,
                        "interest": r.interest,
                        "total": r.total,
                        "balance": r.balance,
                    }
                    for r in built.installments
                ],
                "total_interest": built.total_interest,
                "apr": apr_string(apr.simple),
                "apr_compound": apr_string(apr.compound),
            }
        )
        return
    table = Table(title=f"{method.value}: {format_fen(built.principal)} yuan from {built.start}")
    for column in ("n", "due", "principal", "interest", "total", "balance"):
        table.add_column(column, justify="right")
    for r in built.installments:
        table.add_row(
            str(r.n),
            str(r.due_date),
            *(format_fen(v) for v in (r.principal, r.interest, r.total, r.balance)),
        )
    console.print(table)
    console.print(
        f"Interest {format_fen(built.total_interest)} yuan; APR {apr_string(apr.simple)} simple "
        f"(单利, a 365-day year), {apr_string(apr.compound)} compound (复利)."
    )


def _build(
    principal: str,
    rate: str,
    periods: int,
    method: Method,
    start: str,
    basis: int,
    days: int | None,
) -> Schedule:
    if basis not in (360, 365):
        raise YirongError("day_basis_invalid", basis=basis)
    first: date = parse_date(start)
    annual: Decimal = parse_percent(rate)
    return build_schedule(
        parse_yuan(principal), annual, method, first, periods=periods, day_basis=basis, days=days
    )
