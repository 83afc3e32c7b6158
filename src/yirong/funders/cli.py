"""``yirong funder``: register funders and their products from a JSON file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from yirong.cli_support import console, database, run
from yirong.funders.service import (
    FunderInput,
    ProductInput,
    add_product_in,
    funders,
    products_of,
    register_in,
)
from yirong.infra.db import Tx
from yirong.money import format_fen, format_percent, ppm_to_rate

app = typer.Typer(help="Funders (资金方) and their products.", no_args_is_help=True)

EXAMPLE = """{
  "funder": {"code": "F09", "name": "...", "licence": "micro_loan", "contact": "...",
             "settlement_bank_account": "...", "settlement_bank_name": "...",
             "revenue_share": "0.2", "decision_mode": "scorecard", "scorecard": {...}},
  "products": [{"code": "LINE", "name": "...", "kind": "revolving", "method": "revolving",
                "min_rate": "0.08", "max_rate": "0.18", "min_limit": 500000,
                "max_limit": 50000000, "min_term_days": 7, "max_term_days": 180}]
}"""

DECIMALS = ("revenue_share", "min_rate", "max_rate", "penalty_multiplier", "fee")


def _decimals(values: dict[str, Any]) -> dict[str, Any]:
    return {k: Decimal(str(v)) if k in DECIMALS else v for k, v in values.items()}


@app.command()
def register(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help=f"JSON like:\n{EXAMPLE}"),
) -> None:
    """Register a funder with its products, all or nothing."""
    spec = json.loads(path.read_text())
    funder = dict(spec["funder"])
    if isinstance(funder.get("scorecard"), dict):
        funder["scorecard"] = json.dumps(funder["scorecard"])
    try:
        data = FunderInput(**_decimals(funder))
        products = [ProductInput(**_decimals(p)) for p in spec.get("products", [])]
    except TypeError as exc:
        raise typer.BadParameter(str(exc)) from exc

    def work(tx: Tx) -> int:
        register_in(tx, data)
        for product in products:
            add_product_in(tx, data.code, product)
        return len(products)

    count = run(lambda: database(ctx).run(work))
    console.print(f"Registered {data.code} with {count} product(s).")


@app.command("list")
def list_funders(ctx: typer.Context) -> None:
    """The funders and their products."""

    def read(tx: Tx) -> list[tuple[Any, ...]]:
        return [
            (
                f.code,
                f.name,
                f.licence,
                f.decision_mode,
                ppm_to_rate(f.revenue_share_ppm),
                [
                    (
                        p.code,
                        p.kind,
                        p.method,
                        ppm_to_rate(p.min_rate_ppm),
                        ppm_to_rate(p.max_rate_ppm),
                        p.max_limit,
                    )
                    for p in products_of(tx, f)
                ],
            )
            for f in funders(tx)
        ]

    table = Table(title="Funders")
    for column in ("code", "name", "licence", "decides by", "share", "products"):
        table.add_column(column)
    rows = run(lambda: database(ctx).run(read, readonly=True))
    for code, name, licence, mode, share, products in rows:
        table.add_row(
            code,
            name,
            licence,
            mode,
            format_percent(share),
            "\n".join(
                f"{p[0]} {p[1]}/{p[2]} {format_percent(p[3])}-{format_percent(p[4])} "
                f"up to {format_fen(p[5])}"
                for p in products
            ),
        )
    console.print(table)
