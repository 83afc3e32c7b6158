"""``yirong wallet`` and ``yirong commissions``: wallet operations from a terminal.

Amounts are typed in yuan (``1234.56``) and converted exactly to fen; every command
that moves money needs ``--key``, the idempotency key that makes a retry harmless."""

from __future__ import annotations

from pathlib import Path

import typer

from yirong.cli_support import console, database, run
from yirong.money import format_fen, parse_yuan
from yirong.wallets import commissions, service
from yirong.wallets.service import Movement, WalletView

app = typer.Typer(help="Wallets (支付账户) of agents and funders.", no_args_is_help=True)
commissions_app = typer.Typer(help="Carrier commission files (佣金).", no_args_is_help=True)

KEY = typer.Option(..., "--key", help="Idempotency key: the same key never moves money twice.")
HANDLE = typer.Argument(
    ..., help="Wallet handle: agent:<code>, funder:<code>, or a bare agent code."
)


def _show(view: WalletView) -> None:
    freezes = f" frozen for: {', '.join(view.freezes)}" if view.freezes else ""
    console.print(
        f"[bold]{view.handle}[/] {view.name} [{view.state.value}]{freezes}"
        f"  pay-in code YT{view.pay_in_code}\n"
        f"  balance {format_fen(view.balance)}  available {format_fen(view.available)}"
        f"  held {format_fen(view.held)}"
    )


def _moved(what: str, movement: Movement) -> None:
    note = "" if movement.status == "created" else " (already done: nothing moved again)"
    console.print(f"{what}: entry [bold]{movement.entry_id}[/] on {movement.business_date}{note}")


@app.command("open")
def open_wallet(
    ctx: typer.Context,
    handle: str = HANDLE,
    name: str = typer.Option(..., help="The owner's name."),
) -> None:
    """Open a wallet (opening it again changes nothing)."""
    _show(run(lambda: service.open_wallet(database(ctx), handle, name)))


@app.command()
def show(ctx: typer.Context, handle: str = HANDLE) -> None:
    """Show a wallet's balance, holds and freezes."""
    _show(run(lambda: service.wallet(database(ctx), handle)))


@app.command()
def withdraw(
    ctx: typer.Context,
    handle: str = HANDLE,
    amount: str = typer.Argument(..., help="Yuan."),
    key: str = KEY,
) -> None:
    """Withdraw to the bank: held until the bank's statement shows it paid."""
    _moved(
        "withdrawal held",
        run(lambda: service.request_withdrawal(database(ctx), handle, parse_yuan(amount), key)),
    )


@app.command("fail-withdrawal")
def fail_withdrawal(
    ctx: typer.Context,
    withdrawal: int = typer.Argument(...),
    reason: str = typer.Option(..., help="Why the bank refused."),
) -> None:
    """The bank refused the withdrawal before paying it: release the hold."""
    p = run(lambda: service.fail_withdrawal(database(ctx), withdrawal, reason=reason))
    console.print(f"withdrawal {p.withdrawal_id} ({p.reference}): {p.status}, the money stays.")


@app.command("pay-carrier")
def pay_carrier(
    ctx: typer.Context,
    handle: str = HANDLE,
    amount: str = typer.Argument(..., help="Yuan."),
    key: str = KEY,
) -> None:
    """Pre-pay the carrier (预存款) from the wallet."""
    _moved(
        "carrier pre-payment",
        run(lambda: service.pay_carrier(database(ctx), handle, parse_yuan(amount), key)),
    )


@app.command()
def transfer(
    ctx: typer.Context,
    source: str = typer.Argument(...),
    target: str = typer.Argument(...),
    amount: str = typer.Argument(..., help="Yuan."),
    key: str = KEY,
) -> None:
    """Move money between two wallets."""
    _moved(
        "transfer",
        run(lambda: service.transfer(database(ctx), source, target, parse_yuan(amount), key)),
    )


@app.command()
def freeze(
    ctx: typer.Context,
    handle: str = HANDLE,
    reason: str = typer.Option(..., help="overdue | funder_request | legal_order | risk"),
    note: str = typer.Option(...),
    actor: str = typer.Option("operator"),
) -> None:
    """Freeze a wallet: credits land, debits other than repayment are refused."""
    _show(run(lambda: service.freeze(database(ctx), handle, reason, note=note, actor=actor)))


@app.command()
def unfreeze(
    ctx: typer.Context,
    handle: str = HANDLE,
    reason: str = typer.Option(...),
    note: str = typer.Option(...),
    actor: str = typer.Option("operator"),
) -> None:
    """Lift one reason's freeze."""
    _show(run(lambda: service.lift_freeze(database(ctx), handle, reason, note=note, actor=actor)))


@app.command()
def close(ctx: typer.Context, handle: str = HANDLE, note: str = typer.Option(...)) -> None:
    """Close an empty wallet."""
    _show(run(lambda: service.close_wallet(database(ctx), handle, note=note)))


@commissions_app.command("import")
def import_file(
    ctx: typer.Context, path: Path = typer.Argument(..., exists=True, dir_okay=False)
) -> None:
    """Record a commission file (agent,month,amount in fen): all rows or none, once.
    It is credited when the carrier's payment of its total is on a bank statement."""
    result = run(
        lambda: commissions.import_commissions(database(ctx), path.read_bytes(), path.name)
    )
    again = "" if result.status == "created" else " (this file was recorded before)"
    console.print(
        f"File {result.file_id}{again}: {result.rows} commissions, "
        f"{format_fen(result.total_fen)} yuan, {result.state}; the carrier pays it quoting "
        f"[bold]{result.reference}[/]."
    )
