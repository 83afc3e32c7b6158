"""``yirong user`` and ``yirong api-key``: the first operator's sign-in (everything
after it can be done through the API), and funder systems' keys from the shell."""

from __future__ import annotations

import typer

from yirong.access import service
from yirong.cli_support import console, database, run

user_app = typer.Typer(help="People who sign in to the API.", no_args_is_help=True)
key_app = typer.Typer(help="Funder systems' API keys.", no_args_is_help=True)


@user_app.command("add")
def add_user(
    ctx: typer.Context,
    username: str,
    role: str = typer.Option(..., help="agent, funder or operator"),
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


@key_app.command("issue")
def issue(ctx: typer.Context, funder: str, label: str = typer.Option("system")) -> None:
    """Issue an API key for a funder's system; it is shown once, keep it."""
    issued = run(lambda: service.issue_api_key(database(ctx), funder, label))
    console.print(f"API key {issued.details.id} for {funder} (shown once): [bold]{issued.key}[/]")


@key_app.command("revoke")
def revoke(ctx: typer.Context, key_id: int) -> None:
    """Stop a key at once."""
    run(lambda: service.revoke_api_key(database(ctx), key_id))
    console.print(f"API key {key_id} revoked")
