"""What every command line shares: the database it talks to, and how a refusal is
shown (its stable code, its plain message, exit status 2)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console

from yirong.errors import YirongError
from yirong.infra.db import Database

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

EXIT_REFUSED = 2
EXIT_CHECK_FAILED = 1


def database(ctx: typer.Context) -> Database:
    obj = ctx.find_root().obj
    if obj.get("db") is None:
        obj["db"] = Database(obj.get("url"))
    db: Database = obj["db"]
    return db


@contextmanager
def refusals() -> Iterator[None]:
    """Show a refusal as ``refused <code>: <message>`` and exit 2."""
    try:
        yield
    except YirongError as exc:
        show_refusal(exc)
        raise typer.Exit(EXIT_REFUSED) from exc


def show_refusal(exc: YirongError) -> None:
    err_console.print(f"[bold red]refused[/] [bold]{exc.code}[/]: {exc.message}")
    for key, value in exc.details.items():
        if key == "errors" and isinstance(value, list):
            for item in value:
                err_console.print(
                    f"  line {item['line']}: [bold]{item['code']}[/] {item['message']}"
                )
        else:
            err_console.print(f"  {key}: {value}")


def run(work: Callable[[], T]) -> T:
    with refusals():
        return work()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
