"""``yirong user`` and ``yirong api-key``: the first operator's sign-in (everything
after it can be done through the API), and systems' keys from the shell: a funder's,
and a supplier's, its only credential (each key command written to the audit log as
the shell's user)."""

from __future__ import annotations

import getpass

import typer

from yirong.access import service
from yirong.cli_support import console, database, run
from yirong.config import settings, unsafe_secret_key
from yirong.infra.db import Database
from yirong.orders.suppliers import supplier_row

user_app = typer.Typer(help="People who sign in to the API.", no_args_is_help=True)
key_app = typer.Typer(help="Funders' and suppliers' systems' API keys.", no_args_is_help=True)


@user_app.command("add")
def add_user(
    ctx: typer.Context,
    username: str,
    role: str = typer.Option(..., help="agent, funder or operator (suppliers: api-key)"),
    subject: str = typer.Option(..., help="The agent's or funder's code; an operator's name"),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="YIRONG_NEW_PASSWORD",
        help="At least 12 characters (asked for when not given).",
    ),
) -> None:
    """Create a sign-in (the password is stored only as an Argon2id hash)."""
    made = run(lambda: service.create_user(database(ctx), username, password, role, subject))
    console.print(f"[green]created[/] {made.username} ({made.role.value} for {made.subject})")


def _audit(db: Database, command: str, target: str) -> None:
    service.record_shell_action(db, getpass.getuser(), command, target)


@key_app.command("issue")
def issue(
    ctx: typer.Context,
    funder: str,
    label: str = typer.Option("system"),
    days: int = typer.Option(None, min=1, help="How long it works (default: api_key_days)."),
) -> None:
    """Issue an API key for a funder's system, with its signing secret; both are shown
    once, keep them."""
    db = database(ctx)
    issued = run(lambda: service.issue_api_key(db, funder, label, days=days))
    _audit(db, "api-key issue", f"funder:{funder} key {issued.details.id}")
    _show(issued, funder)


@key_app.command("issue-supplier")
def issue_supplier(
    ctx: typer.Context,
    supplier: str,
    label: str = typer.Option("system"),
    days: int = typer.Option(None, min=1, help="How long it works (default: api_key_days)."),
) -> None:
    """Issue an API key for a supplier's system (its only credential: a supplier has no
    sign-in), with its signing secret; both are shown once, keep them."""
    db = database(ctx)
    issued = run(
        lambda: service.issue_supplier_api_key(
            db, supplier, label, check_supplier=supplier_row, days=days
        )
    )
    _audit(db, "api-key issue-supplier", f"supplier:{supplier} key {issued.details.id}")
    _show(issued, supplier)


def _show(issued: service.IssuedApiKey, holder: str) -> None:
    console.print(
        f"API key {issued.details.id} for {holder}, until {issued.details.expires_at:%Y-%m-%d}"
        f" (shown once): [bold]{issued.key}[/]\nIts signing secret (shown once):"
        f" [bold]{issued.signing_secret}[/]",
        soft_wrap=True,
    )
    if unsafe_secret_key(settings().secret_key) is not None:
        console.print(
            "[yellow]The signing secret is derived from YIRONG_SECRET_KEY, here the built-in"
            " or a short one: it matches only a server with this same key. Issue keys with"
            " the server's key set.[/]"
        )


@key_app.command("revoke")
def revoke(ctx: typer.Context, key_id: int) -> None:
    """Stop a key at once."""
    db = database(ctx)
    run(lambda: service.revoke_api_key(db, key_id))
    _audit(db, "api-key revoke", f"key {key_id}")
    console.print(f"API key {key_id} revoked")


@key_app.command("revoke-all")
def revoke_all(ctx: typer.Context, funder: str) -> None:
    """Stop every key of a funder at once (one may have leaked)."""
    db = database(ctx)
    count = run(lambda: service.revoke_all_api_keys(db, funder))
    _audit(db, "api-key revoke-all", f"funder:{funder} ({count} keys)")
    console.print(f"{count} API keys of {funder} revoked")
