"""``yirong events``: push the outbox to funders' endpoints, and look at a funder's
events."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import typer
from rich.table import Table

from yirong.cli_support import console, database, run
from yirong.events import service
from yirong.events.delivery import DEFAULT_POLICY, RECIPIENT_PREFIX, deliver_due, run_deliverer
from yirong.infra.outbound import guarded_client

app = typer.Typer(help="Events for funders (the outbox) and their delivery.", no_args_is_help=True)


@app.command()
def deliver(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="One round, then stop."),
    max_seconds: float = typer.Option(
        None, "--max-seconds", min=0, help="Stop after this many seconds (default: Ctrl-C)."
    ),
    interval: float = typer.Option(1.0, "--interval", min=0.05, help="Pause when idle, seconds."),
) -> None:
    """Push due events to funders' endpoints (signed, retried with backoff)."""
    db = database(ctx)
    if once:
        # Guarded like the deliverer in `yirong serve`: funders choose these URLs.
        with guarded_client(DEFAULT_POLICY.timeout) as client:
            # The wall clock: delivery is scheduling, not money.
            report = run(lambda: deliver_due(db, client=client, now=datetime.now(UTC)))
        for outcome in report.outcomes:
            state = "delivered" if outcome.delivered else f"failed: {outcome.error}"
            console.print(f"{outcome.event_id} to {outcome.recipient}: {state}")
        console.print(f"{report.delivered} delivered, {report.failed} failed.")
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=run_deliverer, args=(db, stop, interval), name="yirong-events", daemon=True
    )
    thread.start()
    started = time.monotonic()
    try:
        while thread.is_alive() and (
            max_seconds is None or time.monotonic() - started < max_seconds
        ):
            thread.join(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join()
    console.print("Deliverer stopped.")


@app.command("list")
def list_events(
    ctx: typer.Context,
    funder: str = typer.Argument(..., help="The funder's code, such as F01"),
    after: str = typer.Option("", "--after", help="Only events after this one (its evt_ id)."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    undelivered: bool = typer.Option(False, "--undelivered", help="Only those not yet delivered."),
) -> None:
    """A funder's events, oldest first, with how their delivery went."""
    db = database(ctx)
    endpoint = run(lambda: service.events_endpoint(db, funder))
    events = service.list_events(
        db,
        recipient=RECIPIENT_PREFIX + funder,
        delivered=False if undelivered else None,
        after=run(lambda: service.outbox_id_of(after)) if after else 0,
        limit=limit,
    )
    table = Table(title=f"Events for {funder} ({endpoint or 'no endpoint: read through the API'})")
    for column in ("id", "type", "business date", "subject", "attempts", "delivered", "error"):
        table.add_column(column, no_wrap=column == "id")
    for e in events:
        table.add_row(
            e.id,
            e.type,
            str(e.business_date),
            str(e.subject_id),
            str(e.attempts),
            f"{e.delivered_at:%Y-%m-%d %H:%M:%S}" if e.delivered_at else "-",
            e.last_error or "",
        )
    console.print(table)
