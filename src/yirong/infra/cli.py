"""``yirong db``: the schema."""

from __future__ import annotations

import typer

from yirong.cli_support import console, database
from yirong.infra import migrate

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Create or migrate the schema to the latest version (safe to run again)."""
    db = database(ctx)
    revision = migrate.upgrade(db)
    console.print(f"Schema at revision [bold]{revision}[/] on {db.url.render_as_string()}")


@app.command()
def status(ctx: typer.Context) -> None:
    """Show the schema's revision and the latest one."""
    db = database(ctx)
    console.print(f"current: {migrate.current_revision(db)}  head: {migrate.head_revision(db)}")
