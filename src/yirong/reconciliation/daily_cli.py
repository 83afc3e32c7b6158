"""``yirong recon run|day|days|sign-off``: the day's reconciliation, the books against
the bank. ``--json`` prints one JSON object as the last line."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import typer

from yirong.cli_support import console, database, print_json, run
from yirong.money import format_fen
from yirong.payments import batch
from yirong.reconciliation import daily, funder_files, kept_days
from yirong.reconciliation.cli_options import ACTOR, actor_of
from yirong.reconciliation.daily import DayReport
from yirong.reconciliation.daily_model import TIMING, DayFigures
from yirong.reconciliation.funder_layout import KINDS
from yirong.reconciliation.kept_days import KeptDay

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
        for item in a.items:
            mark = "  " if item.kind in TIMING else "[bold red]![/] "
            console.print(
                f"  {mark}{item.kind.value} {item.ref}: {format_fen(item.effect)} yuan"
                f" (since {item.since}) {item.detail}",
                highlight=False,
            )


def register(app: typer.Typer) -> None:
    _funder_file_commands(app)
    _payout_commands(app)

    @app.command("run")
    def run_command(
        ctx: typer.Context,
        on: str = DATE,
        actor: str | None = ACTOR,
        as_json: bool = JSON,
    ) -> None:
        """Reconcile a day: per bank account, the bank's balance against the books',
        the difference explained item by item. Kept; the same day again finds the same."""
        day = _day(on)
        report: DayReport = run(lambda: daily.run_day(database(ctx), day, actor=actor_of(actor)))
        accounts = list(report.accounts)
        if as_json:
            print_json({**_totals(day, accounts), "versions": list(report.versions)})
            return
        _show(day, accounts, f" (version {', '.join(map(str, report.versions))})")

    @app.command("day")
    def day_command(ctx: typer.Context, on: str = DATE, as_json: bool = JSON) -> None:
        """A day's kept result, as it was found."""
        day = _day(on)
        kept: list[KeptDay] = run(lambda: kept_days.kept_day(database(ctx), day))
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
        kept: list[KeptDay] = run(lambda: kept_days.unclean_days(database(ctx)))
        counts = run(lambda: kept_days.day_counts(database(ctx)))
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
        actor: str | None = ACTOR,
        as_json: bool = JSON,
    ) -> None:
        """Sign off an unclean day, saying why: it leaves the list of days to look at."""
        day = _day(on)
        kept: list[KeptDay] = run(
            lambda: kept_days.acknowledge_day(database(ctx), day, note, actor=actor_of(actor))
        )
        if as_json:
            print_json({"date": day, "kept": [_kept_facts(k) for k in kept]})
            return
        console.print(f"{day}: signed off ({len(kept)} account(s)).")


def _funder_file_commands(app: typer.Typer) -> None:
    @app.command("funder-file")
    def funder_file_command(
        ctx: typer.Context,
        funder: str = typer.Argument(..., help="The funder's code."),
        on: str = DATE,
        kind: str | None = typer.Option(None, help="LOANS | REPAYMENTS | PAYOUTS (default: all)."),
        out: Path = typer.Option(Path("."), "--out", help="Where to write our files."),
        compare: Path | None = typer.Option(
            None,
            "--compare",
            exists=True,
            dir_okay=False,
            help="The funder's own file, its .ok marker beside it: compared with ours.",
        ),
        actor: str | None = ACTOR,
        as_json: bool = JSON,
    ) -> None:
        """Write our daily files for a funder (each with its .ok marker), or compare the
        funder's own file of the day with ours, every difference listed."""
        day = _day(on)
        db = database(ctx)
        if compare is not None:
            _compare(db, funder, day, kind, compare, actor, as_json)
            return
        kinds = [kind] if kind else list(KINDS)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in kinds:
            found = run(partial(funder_files.funder_file, db, funder, day, name))
            (out / found.name).write_bytes(found.content)
            (out / (found.name + ".ok")).write_bytes(found.ok)
            written.append(
                {"kind": name, "file": str(out / found.name), "ok": found.ok.decode().strip()}
            )
        if as_json:
            print_json({"funder": funder, "date": day, "files": written})
            return
        for w in written:
            console.print(f"{w['file']} (and .ok)")


def _payout_commands(app: typer.Typer) -> None:
    @app.command("payouts")
    def payouts_command(
        ctx: typer.Context,
        on: str = DATE,
        out: Path | None = typer.Option(None, "--out", help="Write the batch files here."),
        as_json: bool = JSON,
    ) -> None:
        """The day's bank batch files (代付): payments instructed by the day and not yet
        sent are batched now (the end of day does it too); each settles only when the
        bank's statement shows its debit."""
        day = _day(on)
        db = database(ctx)
        run(lambda: batch.make_batches(db, day))
        found = run(lambda: batch.batches(db, day=day))
        written = []
        for b in found:
            path = None
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                path = out / b.name
                path.write_bytes(run(partial(batch.batch_content, db, b.reference)))
            written.append({**asdict(b), "file": str(path) if path else None})
        if as_json:
            print_json(
                {
                    "date": day,
                    "batches": written,
                    "payments": sum(b.payments for b in found),
                    "total_fen": sum(b.total for b in found),
                }
            )
            return
        for b in found:
            console.print(
                f"{b.reference}: {b.payments} payments, {format_fen(b.total)} yuan"
                f" from {b.bank_account}"
            )
        if not found:
            console.print(f"No payments left on {day}.")


def _compare(
    db: Any, funder: str, day: date, kind: str | None, path: Path, actor: str | None, as_json: bool
) -> None:
    content = path.read_bytes()
    marker = path.with_name(path.name + ".ok")
    ok = marker.read_bytes() if marker.exists() else None
    if kind is None:  # the control record says which it is
        head = content.split(b"\n", 1)[0].decode("utf-8", "replace").split("|")
        kind = head[2] if len(head) > 2 else ""
    check = run(
        lambda: funder_files.compare_funder_file(
            db, funder, day, kind, content, ok, actor=actor_of(actor)
        )
    )
    if as_json:
        print_json(
            {
                "funder": funder,
                "date": day,
                "kind": check.kind,
                "clean": check.clean,
                "differences": [asdict(d) for d in check.differences],
            }
        )
        return
    verdict = "clean" if check.clean else f"{len(check.differences)} differences"
    console.print(f"{funder} {check.kind} {day}: {verdict}")
    for d in check.differences:
        console.print(f"  {d.kind.value} {d.key} {d.field} ours={d.ours!r} theirs={d.theirs!r}")


def _kept_facts(k: KeptDay) -> dict[str, Any]:
    return {
        "account": k.figures.account,
        "version": k.version,
        "run_on": k.run_on,
        "run_by": k.run_by,
        "acknowledged": asdict(k.acknowledged) if k.acknowledged else None,
    }
