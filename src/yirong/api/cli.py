"""``yirong serve``: the HTTP API; ``yirong prune``: what it keeps only for a while."""

from __future__ import annotations

import typer

from yirong.api import retention
from yirong.api.server import serve as run_server
from yirong.cli_support import console, database, print_json, run


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int | None = typer.Option(
        None, min=1, max=32, help="Server processes [default: one per core]."
    ),
    deliver_events: bool = typer.Option(
        True, "--deliver-events/--no-deliver-events", help="Push funders' events while serving."
    ),
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
) -> None:
    """Serve the HTTP API (docs at /docs) on the database of --database (SQLite by
    default, PostgreSQL by URL); the schema is migrated first. Needs YIRONG_SECRET_KEY:
    a random key of at least 32 characters, kept (it keys funders' tokens)."""
    run(
        lambda: run_server(
            ctx.find_root().obj.get("url"),
            host=host,
            port=port,
            workers=workers,
            deliver_events=deliver_events,
            log_level=log_level,
        )
    )


def prune(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="One JSON object as the last line."),
) -> None:
    """Delete what is kept only for a while: sign-in counters quiet past the throttling
    window, signed requests' nonces past their window, answered requests past a month
    (a running server does it every hour)."""
    gone = run(lambda: retention.prune(database(ctx)))
    if as_json:
        print_json(gone)
        return
    console.print(
        f"Deleted {gone['login_counters']} sign-in counters,"
        f" {gone['request_nonces']} nonces and"
        f" {gone['answered_requests']} answered requests."
    )
