"""``yirong recon run|day|days|sign-off``: the day's reconciliation, the books against
the bank. ``--json`` prints one JSON object as the last line."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import typer
from rich.table import Table

from yirong.cli_support import console, database, print_json, run
from yirong.money import format_fen
from yirong.reconciliation import daily
from yirong.reconciliation.daily import DayReport, KeptDay
from yirong.reconciliation.daily_model import TIMING, DayFigures

JSON = typer.Option(False, "--json", help="One JSON object as the last line.")
DATE = typer.Option(..., "--date", help="The day to reconcile, YYYY-MM-DD (a closed day).")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("a date as YYYY-MM-DD", param_hint="--date") from None


def _totals(day: date, accounts: list[DayFigures]) -> dict[str, Any]:
    return {
        "date": day,
        "clean": all(a.clean for a in accounts),
        "bank_closing_fen": sum(a.bank.closing for a in accounts if a.bank is not None),
        "books_fen": sum(a.books for a in accounts),
        "difference_fen": sum(a.difference for a in accounts),
        "explained_fen": sum(a.explained for a in accounts),
        "open_items": sum(a.open_items for a in accounts),
        "accounts": [asdict(a) for a in accounts],
    }


def _show(day: date, accounts: list[DayFigures], note: str = "") -> None:
    verdict = "clean" if all(a.clean for a in accounts) else "NOT clean"
    console.print(f"[bold]{day}[/bold]: {verdict}{note}")
    for a in accounts:
        bank = (
            f"bank {format_fen(a.bank.opening)} + {format_fen(a.bank.credits)}"
            f" - {format_fen(a.bank.debits)} = {format_fen(a.bank.closing)}"
            if a.bank
            else "bank: no statement"
        )
        console.print(
            f"  account {a.account}: {bank}; books {format_fen(a.books)};"
            f" difference {format_fen(a.difference)}, explained {format_fen(a.explained)}"
        )
        if not a.items:
            continue
        table = Table(show_header=True, box=None, padding=(0, 2))
        for name in ("item", "about", "yuan", "since", "detail"):
            table.add_column(name)
        for item in a.items:
            style = "" if item.kind in TIMING else "bold"
            table.add_row(
                f"[{style}]{item.kind.value}[/{style}]" if style else item.kind.value,
                item.ref,
                format_fen(item.effect),
                str(item.since or ""),
                item.detail[:70],
            )
        console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_command(
        ctx: typer.Context,
        on: str = DATE,
        actor: str = typer.Option("operator", "--as", envvar="YIRONG_OPERATOR"),
        as_json: bool = JSON,
    ) -> None:
        """Reconcile a day: per bank account, the bank's balance against the books',
        the difference explained item by item. Kept; the same day again finds the same."""
        day = _day(on)
        report: DayReport = run(
            lambda: daily.run_day(database(ctx), day, actor=f"operator:{actor}")
        )
        accounts = list(report.accounts)
        if as_json:
            print_json({**_totals(day, accounts), "versions": list(report.versions)})
            return
        _show(day, accounts, f" (version {', '.join(map(str, report.versions))})")

    @app.command("day")
    def day_command(ctx: typer.Context, on: str = DATE, as_json: bool = JSON) -> None:
        """A day's kept result, as it was found."""
        day = _day(on)
        kept: list[KeptDay] = run(lambda: daily.kept_day(database(ctx), day))
        accounts = [k.figures for k in kept]
        if as_json:
            print_json({**_totals(day, accounts), "kept": [_kept_facts(k) for k in kept]})
            return
        _show(day, accounts)
        for k in kept:
            signed = k.acknowledged
            if signed is not None:
                console.print(f"  signed off by {signed.by} on {signed.on}: {signed.note}")

    @app.command("days")
    def days_command(ctx: typer.Context, as_json: bool = JSON) -> None:
        """Days not clean that nobody has signed off, oldest first."""
        kept: list[KeptDay] = run(lambda: daily.unclean_days(database(ctx)))
        counts = run(lambda: daily.day_counts(database(ctx)))
        if as_json:
            print_json(
                {
                    **asdict(counts),
                    "days": [
                        {**asdict(k.figures), **_kept_facts(k), "open_items": k.figures.open_items}
                        for k in kept
                    ],
                }
            )
            return
        console.print(
            f"{counts.clean} clean days, {counts.unclean} not clean"
            f" ({counts.open} waiting for someone)."
        )
        for k in kept:
            kinds = sorted({i.kind.value for i in k.figures.items if i.kind not in TIMING})
            console.print(f"  {k.figures.day} account {k.figures.account}: {', '.join(kinds)}")

    @app.command("sign-off")
    def sign_off(
        ctx: typer.Context,
        on: str = DATE,
        note: str = typer.Option(..., "--note", help="Why the day may stand as it is."),
        actor: str = typer.Option("operator", "--as", envvar="YIRONG_OPERATOR"),
        as_json: bool = JSON,
    ) -> None:
        """Sign off an unclean day, saying why: it leaves the list of days to look at."""
        day = _day(on)
        kept: list[KeptDay] = run(
            lambda: daily.acknowledge_day(database(ctx), day, note, actor=f"operator:{actor}")
        )
        if as_json:
            print_json({"date": day, "kept": [_kept_facts(k) for k in kept]})
            return
        console.print(f"{day}: signed off ({len(kept)} account(s)).")


def _kept_facts(k: KeptDay) -> dict[str, Any]:
    return {
        "account": k.figures.account,
        "version": k.version,
        "run_on": k.run_on,
        "run_by": k.run_by,
        "acknowledged": asdict(k.acknowledged) if k.acknowledged else None,
    }
