"""``yirong demo``: what ``make demo`` runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table

from yirong.api.server import serve as run_server
from yirong.cli_support import console, print_json
from yirong.config import new_secret_key
from yirong.demo.lending import FUNDER_CODES
from yirong.demo.result import DemoResult
from yirong.demo.scenario import fresh_demo_database, run_demo
from yirong.demo.signins import SignIn, create_signins
from yirong.infra.db import Database
from yirong.loans.buckets import NAMES
from yirong.loans.standing import funder_portfolio
from yirong.money import format_fen


def demo(
    ctx: typer.Context,
    agents: int = typer.Option(2000, min=2, help="How many agents to onboard."),
    days: int = typer.Option(120, min=1, help="How many business days of lending to play."),
    seed: int = typer.Option(2026, help="Random seed: the same seed plays the same story."),
    path: Path = typer.Option(Path("yirong-demo.db"), help="The new SQLite file to create."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of counts."),
    serve: bool = typer.Option(
        True,
        "--serve/--no-serve",
        help="Serve the demo's data over HTTP afterwards, on --host:--port (Ctrl-C stops).",
    ),
    host: str = typer.Option("127.0.0.1", help="Where to serve the API."),
    port: int = typer.Option(8000, min=1, max=65535),
) -> None:
    """Play the seed's story on a NEW database: a year of agents' wallets, the credit
    marketplace, then months of lending, each day closed by the end of day; then serve
    it over the HTTP API with a sign-in for each role."""
    url = ctx.find_root().obj.get("url")
    db = fresh_demo_database(url, path)
    console.print(f"Demo database: [bold]{db.url.render_as_string()}[/]")
    # A secret key of the demo's own, kept beside its database: the built-in key is in
    # the source, and serving refuses it.
    key_path = Path(f"{path}.key")
    key_path.write_text(new_secret_key() + "\n")
    key_path.chmod(0o600)
    with secret_key(key_path.read_text().strip()):
        _play_and_serve(db, agents, days, seed, as_json, serve, host, port, key_path)


def _play_and_serve(
    db: Database,
    agents: int,
    days: int,
    seed: int,
    as_json: bool,
    serve: bool,
    host: str,
    port: int,
    key_path: Path,
) -> None:
    result = run_demo(db, agents=agents, days=days, seed=seed, console=console)
    _summary(result)
    _reconciliation(result)
    _loan_book(db)
    _signins(create_signins(db), f"http://{host}:{port}")
    console.print(
        f"Its secret key is in {key_path}: serve it again with"
        f" YIRONG_SECRET_KEY=$(cat {key_path}) yirong --database"
        f" {db.url.render_as_string()} serve"
    )
    if as_json:
        print_json(
            {
                **result.counts,
                "refusals": dict(result.refusals),
                "reserve_fen": result.reserve_fen,
                "carrier_fen": result.carrier_fen,
                "bank_fen": result.bank_fen,
                "bank_agrees": result.bank_agrees,
                "recon_by_kind": {k: list(v) for k, v in result.exceptions_by_kind.items()},
                "verify_ok": result.verify_ok,
            }
        )
    if not (result.verify_ok and result.bank_agrees):
        raise typer.Exit(1)
    if serve:
        served = db.url.render_as_string(hide_password=False)
        db.dispose()
        console.print(f"Serving the API on [bold]http://{host}:{port}/docs[/] (Ctrl-C stops)")
        run_server(served, host=host, port=port)


@contextmanager
def secret_key(key: str) -> Iterator[None]:
    """``YIRONG_SECRET_KEY`` set for what runs inside, as it was afterwards."""
    before = os.environ.get("YIRONG_SECRET_KEY")
    os.environ["YIRONG_SECRET_KEY"] = key
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("YIRONG_SECRET_KEY", None)
        else:
            os.environ["YIRONG_SECRET_KEY"] = before


def _signins(made: list[SignIn], base: str) -> None:
    """One line each, never cut: the passwords and keys are there to be copied."""
    console.print(
        f"\n[bold]Open the console[/] at {base}/ and sign in with a username and password"
        " below (the agent's wallet, the funder's book, the operations' day; 中文 or English);"
    )
    console.print(f"[bold]or sign in to the API[/] ({base}/docs): POST /api/v1/auth/token")
    for s in made:
        who = f"{s.role} {s.acts_for}"
        how = f"username {s.username}  password {s.secret}" if s.username else f"API key {s.secret}"
        if s.signing_secret:
            how += f"  signing secret {s.signing_secret}"
        console.print(f"  {who:<17} {how}  ({s.note})", soft_wrap=True, highlight=False)
    console.print(
        f"Try: curl -s {base}/api/v1/auth/token -H 'Content-Type: application/json' "
        f'-d \'{{"username": "{made[0].username}", "password": "{made[0].secret}"}}\'',
        soft_wrap=True,
        highlight=False,
    )
    console.print(
        "A funder's system signs each money-moving call with its signing secret"
        " (docs/request-signing.md; yirong.access.signing.signature_headers)."
    )


def _loan_book(db: Database) -> None:
    """Each lender's book at the last closed day: loans by bucket, principal in all."""
    table = Table(title="The lenders' books at the last closed day: loans by bucket")
    table.add_column("funder")
    for name in NAMES:
        table.add_column(name, justify="right")
    table.add_column("principal (yuan)", justify="right")
    for code in FUNDER_CODES:
        book = funder_portfolio(db, code)
        table.add_row(
            code,
            *(f"{b.loans:,}" for b in book.buckets),
            format_fen(sum(b.principal for b in book.buckets)),
        )
    console.print(table)


def _reconciliation(result: DemoResult) -> None:
    """The bank's side: every line of its statements, how it ended, and the queue."""
    counts = result.counts
    table = Table(title="Reconciliation: the bank's statements, line by line")
    table.add_column("")
    table.add_column("lines", justify="right")
    table.add_column("open now", justify="right")
    rows = [
        (f"statement lines ({counts['statement_files']:,} files)", counts["statement_lines"]),
        ("  given again (duplicates, ignored)", counts["duplicate_lines"]),
        ("  matched", counts["matched_lines"]),
        ("  part of an order, waiting", counts["partial_lines"]),
        ("  returned to the sender", counts["returned_lines"]),
        ("  exception still", counts["exception_lines"]),
    ]
    for name, n in rows:
        table.add_row(name, f"{n:,}", "")
    table.add_section()
    for kind, (opened, still_open) in result.exceptions_by_kind.items():
        table.add_row(f"exceptions: {kind.replace('_', ' ')}", f"{opened:,}", f"{still_open:,}")
    table.add_row(
        "exceptions in all",
        f"{counts['recon_exceptions']:,}",
        f"{counts['recon_exceptions_open']:,}",
    )
    table.add_section()
    table.add_row("days reconciled: clean", f"{counts['recon_days_clean']:,}", "")
    table.add_row(
        "days reconciled: not clean (signed off, or still open)",
        f"{counts['recon_days_unclean']:,}",
        f"{counts['recon_days_open']:,}",
    )
    table.add_row(
        f"funders' loan books compared ({counts.get('funder_files_compared', 0):,}): differences",
        f"{counts['funder_file_differences']:,}",
        "",
    )
    console.print(table)
    agrees = "[green]agrees with[/]" if result.bank_agrees else "[red]does NOT agree with[/]"
    console.print(
        f"The books' reserve account ({format_fen(result.reserve_fen)} yuan) {agrees} the "
        f"bank's closing balance ({format_fen(result.bank_fen)} yuan)"
        + (
            f", less {format_fen(result.unbooked_fen)} yuan released from suspense."
            if result.unbooked_fen
            else "."
        )
    )


def _summary(result: DemoResult) -> None:
    table = Table(title="What happened")
    table.add_column("flow")
    table.add_column("count", justify="right")
    for name, count in sorted(result.counts.items()):
        shown = format_fen(count) + " yuan" if name.endswith("_fen") else f"{count:,}"
        table.add_row(name.replace("_", " "), shown)
    for code, count in sorted(result.refusals.items()):
        table.add_row(f"refused: {code}", f"{count:,}")
    console.print(table)
    report = result.report
    assert report is not None
    console.print(
        f"Reserve account holds {format_fen(result.reserve_fen)} yuan; "
        f"owed to the carrier {format_fen(result.carrier_fen)} yuan."
    )
    verdict = "[green]The books balance[/]" if report.ok else "[red]The books do NOT balance[/]"
    console.print(
        f"{verdict}: {report.entries:,} entries and {report.postings:,} postings "
        f"checked by `yirong ledger verify`."
    )
