"""Options the reconciliation's commands share."""

from __future__ import annotations

import getpass

import typer

ACTOR = typer.Option(
    None, "--as", envvar="YIRONG_OPERATOR", help="The operator acting (default: you)."
)


def actor_of(name: str | None) -> str:
    return f"operator:{name or getpass.getuser()}"
