"""``yirong db``: the schema."""

from __future__ import annotations

import typer

from yirong.cli_support import console, database
from yirong.infra import migrate, roles

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command()
def upgrade(
    ctx: typer.Context,
    service_role: str = typer.Option(
        "",
        envvar="YIRONG_SERVICE_ROLE",
        help="PostgreSQL: the role `yirong serve` connects as, given read and write on the "
        "working tables and only read and insert on the append-only ones.",
    ),
) -> None:
    """Create or migrate the schema to the latest version (safe to run again). Run it
    as the tables' owner."""
    db = database(ctx)
    revision = migrate.upgrade(db)
    console.print(f"Schema at revision [bold]{revision}[/] on {db.url.render_as_string()}")
    if service_role:
        given = roles.grant_service_role(db, service_role)
        console.print(
            f"Role [bold]{service_role}[/]: read and write on {len(given['read_write'])} "
            f"tables, read and insert only on {len(given['read_insert'])} append-only "
            f"({', '.join(given['read_insert'])})"
        )


@app.command()
def status(ctx: typer.Context) -> None:
    """Show the schema's revision and the latest one."""
    db = database(ctx)
    console.print(f"current: {migrate.current_revision(db)}  head: {migrate.head_revision(db)}")
