"""``yirong order``: order financing (订单融资) from a terminal: suppliers, the purchase
orders agents enter and suppliers confirm, their documents and changes, and each
order's financing from request to the payout to the supplier.

Amounts are typed in yuan (``1234.56``) and converted exactly to fen; what records an
order, a change or a financing needs ``--key``, the idempotency key that makes a retry
harmless. Who acts is an operator (``--by``, or ``YIRONG_OPERATOR``; default: you):
suppliers and agents act through the API."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import typer
from rich.table import Table

from yirong.books.cli import parse_date
from yirong.cli_support import EXIT_CHECK_FAILED, console, database, run
from yirong.money import format_fen, parse_yuan
from yirong.orders import book, financing, model, purchase, suppliers
from yirong.orders.financing import FinancingView
from yirong.orders.purchase import GoodsLine, OrderView
from yirong.reconciliation.cli_options import actor_of

app = typer.Typer(
    help="Order financing (订单融资): orders, documents, advances.", no_args_is_help=True
)
supplier_app = typer.Typer(
    help="Suppliers (供应商) and their settlement accounts.", no_args_is_help=True
)
app.add_typer(supplier_app, name="supplier")

KEY = typer.Option(..., "--key", help="Idempotency key: the same key records once.")
BY = typer.Option(
    None, "--by", envvar="YIRONG_OPERATOR", help="The operator acting (default: you)."
)
REF = typer.Argument(..., help="The order's reference (po_...).")
FIN = typer.Argument(..., help="The financing's reference (of_...).")


def _again(outcome: str) -> str:
    return "" if outcome == "created" else " (already recorded under this key: nothing new)"


# Suppliers ------------------------------------------------------------------------


def _show_supplier(s: suppliers.SupplierView) -> None:
    verified = f"verified on {s.account_verified_on}" if s.account_verified else "NOT verified"
    listed = "whitelisted" if s.whitelisted else "NOT whitelisted"
    console.print(
        f"[bold]{s.code}[/] {s.name}  credit code {s.uscc}\n"
        f"  account {s.bank_account} ({s.bank_name}) {verified}; {listed}"
    )


@supplier_app.command("register")
def register_supplier(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="The supplier's code on the platform."),
    name: str = typer.Option(..., help="The firm's registered name."),
    uscc: str = typer.Option(..., help="Unified social credit code (统一社会信用代码)."),
    account: str = typer.Option(..., help="The settlement bank account."),
    bank: str = typer.Option(..., help="The settlement account's bank."),
    whitelisted: bool = typer.Option(
        True, "--whitelisted/--not-whitelisted", help="May its orders be financed."
    ),
) -> None:
    """Register a supplier; its account must be verified before anything is paid."""
    data = suppliers.SupplierInput(code, name, uscc, account, bank, whitelisted)
    s = run(lambda: suppliers.register_supplier(database(ctx), data))
    console.print(f"Registered supplier {s.code}; its account waits to be verified.")
    _show_supplier(s)


@supplier_app.command("verify")
def verify_supplier(ctx: typer.Context, code: str, by: str = BY) -> None:
    """Confirm the settlement account is the supplier's (a test transfer, a bank letter)."""
    s = run(lambda: suppliers.verify_account(database(ctx), code, by=actor_of(by)))
    console.print(
        f"Supplier {s.code}'s account {s.bank_account} verified on {s.account_verified_on}."
    )


@supplier_app.command("account")
def change_supplier_account(
    ctx: typer.Context,
    code: str,
    account: str = typer.Argument(..., help="The new settlement bank account."),
    bank: str = typer.Argument(..., help="Its bank."),
) -> None:
    """A new settlement account: nothing is paid to it before it is verified."""
    s = run(lambda: suppliers.change_account(database(ctx), code, account, bank))
    state = "verified" if s.account_verified else "to be verified"
    console.print(f"Supplier {s.code}'s account is {s.bank_account} ({s.bank_name}), {state}.")


@supplier_app.command("whitelist")
def whitelist_supplier(
    ctx: typer.Context,
    code: str,
    on: bool = typer.Option(..., "--on/--off", help="Put on or take off the whitelist."),
) -> None:
    """Put a supplier on the whitelist financing requires, or take it off."""
    s = run(lambda: suppliers.set_whitelisted(database(ctx), code, on))
    console.print(f"Supplier {s.code} is {'on' if s.whitelisted else 'off'} the whitelist.")


@supplier_app.command("list")
def list_suppliers(ctx: typer.Context) -> None:
    """The suppliers, their accounts and whether they may be financed."""
    rows = run(lambda: suppliers.suppliers(database(ctx)))
    table = Table(title="Suppliers")
    for column in ("code", "name", "credit code", "account", "verified on", "whitelisted"):
        table.add_column(column)
    for s in rows:
        table.add_row(
            s.code,
            s.name,
            s.uscc,
            f"{s.bank_account} ({s.bank_name})",
            str(s.account_verified_on or "-"),
            "yes" if s.whitelisted else "no",
        )
    console.print(table)


# Purchase orders ------------------------------------------------------------------


def _goods(text: str) -> GoodsLine:
    """``description:quantity:unit price in yuan`` (the description may hold colons)."""
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].strip().lstrip("-").isdigit():
        raise typer.BadParameter(
            f"{text!r} is not description:quantity:unit price", param_hint="--line"
        )
    description, quantity, price = parts
    return GoodsLine(description, int(quantity), parse_yuan(price))


def _order_line(o: OrderView) -> str:
    reduced = f", {format_fen(o.reduced)} taken off: worth {format_fen(o.net)}" if o.reduced else ""
    return (
        f"Order [bold]{o.reference}[/] ({o.status}): {o.agent} from {o.supplier}, "
        f"order no. {o.order_no}, {format_fen(o.total)} yuan{reduced}"
    )


@app.command()
def enter(
    ctx: typer.Context,
    agent: str,
    supplier: str,
    order_no: str = typer.Argument(..., help="The supplier's order number."),
    line: list[str] = typer.Option(
        ..., "--line", help="description:quantity:unit price in yuan (repeat for each line)."
    ),
    delivery: str = typer.Option(..., help="Expected delivery, YYYY-MM-DD."),
    key: str = KEY,
) -> None:
    """Enter an agent's purchase order from a supplier."""
    o = run(
        lambda: purchase.enter_order(
            database(ctx),
            agent,
            supplier,
            order_no,
            [_goods(text) for text in line],
            parse_date(delivery),
            key,
        )
    )
    console.print(
        f"{_order_line(o)} in {len(o.lines)} line(s), delivery {o.expected_delivery}"
        f"{_again(o.outcome)}."
    )


@app.command()
def confirm(
    ctx: typer.Context,
    reference: str = REF,
    supplier: str = typer.Option(None, help="The supplier confirming (its orders only)."),
    by: str = BY,
) -> None:
    """The supplier confirms the order is real (an operator on its behalf)."""
    o = run(
        lambda: purchase.confirm_order(
            database(ctx), reference, by=actor_of(by), supplier_code=supplier
        )
    )
    console.print(f"Order {o.reference} {o.status} on {o.confirmed_on} by {o.confirmed_by}.")


@app.command()
def invoice(
    ctx: typer.Context,
    reference: str = REF,
    number: str = typer.Argument(..., help="The supplier's invoice number (发票号码)."),
) -> None:
    """Record the order's invoice number (unique on the platform)."""
    o = run(lambda: purchase.set_invoice(database(ctx), reference, number))
    console.print(f"Order {o.reference} has invoice {o.invoice_no}.")


@app.command()
def attach(
    ctx: typer.Context,
    reference: str = REF,
    kind: str = typer.Argument(..., help=" | ".join(model.DOCUMENT_KINDS)),
    path: Path = typer.Argument(..., exists=True, dir_okay=False),
    by: str = BY,
) -> None:
    """Keep a document of the order with its SHA-256 (the same file again: the first)."""
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    content = path.read_bytes()
    d = run(
        lambda: purchase.attach_document(
            database(ctx), reference, kind, path.name, media_type, content, by=actor_of(by)
        )
    )
    console.print(
        f"Document {d.reference} ({d.kind}, {d.filename}, {d.media_type}, {d.size} bytes) "
        f"kept with order {reference}: sha256 {d.sha256}."
    )


@app.command()
def change(
    ctx: typer.Context,
    reference: str = REF,
    kind: str = typer.Argument(..., help=" | ".join(model.CHANGE_KINDS)),
    amount: str = typer.Argument(..., help="Yuan taken off the order."),
    note: str = typer.Option(..., help="What happened."),
    key: str = KEY,
    by: str = BY,
) -> None:
    """Take part of the order off its value: cancelled, not delivered or returned
    (before the supplier is paid)."""
    o = run(
        lambda: purchase.record_change(
            database(ctx), reference, kind, parse_yuan(amount), note, key, by=actor_of(by)
        )
    )
    console.print(
        f"Order {o.reference} ({o.status}): {format_fen(o.reduced)} of "
        f"{format_fen(o.total)} yuan taken off in all; worth {format_fen(o.net)} yuan now."
    )


@app.command()
def delivered(ctx: typer.Context, reference: str = REF, by: str = BY) -> None:
    """The goods arrived (its delivery receipt must be attached first)."""
    o = run(lambda: purchase.mark_delivered(database(ctx), reference, by=actor_of(by)))
    console.print(f"Order {o.reference} delivered on {o.delivered_on}.")


@app.command()
def show(ctx: typer.Context, reference: str = REF) -> None:
    """An order whole: its lines, documents (with their SHA-256) and changes."""
    o = run(lambda: purchase.get_order(database(ctx), reference))
    confirmed = f", confirmed {o.confirmed_on} by {o.confirmed_by}" if o.confirmed_on else ""
    delivered_on = f", delivered {o.delivered_on}" if o.delivered_on else ""
    console.print(
        f"{_order_line(o)}\n  {o.supplier_name}; entered {o.entered_on}{confirmed}; "
        f"delivery expected {o.expected_delivery}{delivered_on}; "
        f"invoice {o.invoice_no or '-'}"
    )
    lines = Table(title="Goods")
    for column in ("#", "description", "quantity", "unit price", "amount"):
        lines.add_column(column)
    for n, g in enumerate(o.lines, start=1):
        lines.add_row(
            str(n), g.description, str(g.quantity), format_fen(g.unit_price), format_fen(g.amount)
        )
    console.print(lines)
    for d in o.documents:
        console.print(
            f"  {d.reference} {d.kind} {d.filename} ({d.media_type}, {d.size} bytes) "
            f"{d.uploaded_on} by {d.uploaded_by}\n    sha256 {d.sha256}"
        )
    for c in o.changes:
        console.print(
            f"  {c.recorded_on} {c.kind} {format_fen(c.amount)} by {c.recorded_by}: {c.note}"
        )


@app.command("list")
def list_orders(ctx: typer.Context, agent: str) -> None:
    """An agent's purchase orders."""
    rows = run(lambda: purchase.orders_of(database(ctx), agent))
    table = Table(title=f"Orders of {agent}")
    for column in ("order", "supplier", "order no.", "status", "total", "worth", "delivery"):
        table.add_column(column)
    table.add_column("invoice")
    for o in rows:
        table.add_row(
            o.reference,
            o.supplier,
            o.order_no,
            o.status,
            format_fen(o.total),
            format_fen(o.net),
            str(o.expected_delivery),
            o.invoice_no or "-",
        )
    console.print(table)


# Financing ------------------------------------------------------------------------


def _financing_line(f: FinancingView) -> str:
    return (
        f"Financing [bold]{f.reference}[/] ({f.status}) of order {f.order} ({f.supplier} "
        f"no. {f.order_no}): {format_fen(f.advance)} yuan from {f.funder}"
    )


@app.command()
def finance(
    ctx: typer.Context,
    agent: str,
    order: str = typer.Argument(..., help="The order's reference (po_...)."),
    advance: str = typer.Argument(..., help="Yuan asked of the funder."),
    key: str = KEY,
    sell_through_days: int = typer.Option(
        model.SELL_THROUGH_DAYS, help="Days to sell the goods after they arrive."
    ),
) -> None:
    """Ask the order facility's funder for an advance against the order; the agent's
    part and the margin are held in the wallet until the payout."""
    f = run(
        lambda: financing.request_financing(
            database(ctx),
            agent,
            order,
            parse_yuan(advance),
            key,
            sell_through_days=sell_through_days,
        )
    )
    console.print(
        f"{_financing_line(f)} for {f.term_days} days{_again(f.outcome)}; the agent's part "
        f"{format_fen(f.own_part)} and margin {format_fen(f.margin)} held in its wallet."
    )


@app.command()
def approve(ctx: typer.Context, funder: str, reference: str = FIN) -> None:
    """The funder says yes: its drawdown is ordered."""
    f = run(lambda: financing.approve_financing(database(ctx), funder, reference))
    again = "" if f.outcome == "created" else " (approved before)"
    console.print(
        f"Financing {f.reference} approved{again}: {f.funder}'s transfer of "
        f"{format_fen(f.advance)} yuan must quote [bold]{f.order_ref}[/]."
    )


@app.command()
def reject(
    ctx: typer.Context,
    funder: str,
    reference: str = FIN,
    reason: str = typer.Option(..., help="Why (kept with the financing)."),
) -> None:
    """The funder declines: the agent's hold is released and the order is free."""
    f = run(lambda: financing.reject_financing(database(ctx), funder, reference, reason))
    console.print(f"Financing {f.reference} rejected by {f.funder}: {f.reason}.")


@app.command()
def cancel(ctx: typer.Context, agent: str, reference: str = FIN) -> None:
    """The agent calls the financing off before the supplier is paid."""
    f = run(lambda: financing.cancel_financing(database(ctx), agent, reference))
    loan = f" (its loan {f.order_ref}: {f.loan_status})" if f.order_ref else ""
    console.print(f"Financing {f.reference} cancelled{loan}; the agent's hold is released.")


@app.command()
def gate(ctx: typer.Context, reference: str = FIN) -> None:
    """What keeps the supplier from being paid; "ready" if nothing (exit 1 if not)."""
    missing = run(lambda: financing.payout_gate(database(ctx), reference))
    if not missing:
        console.print(f"Financing {reference}: ready.")
        return
    console.print(f"Financing {reference} is missing:")
    for item in missing:
        console.print(f"  {item}")
    raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def pay(ctx: typer.Context, reference: str = FIN) -> None:
    """Pay the supplier the whole order from escrow, once the gate passes."""
    f = run(lambda: financing.pay_supplier(database(ctx), reference))
    again = "" if f.outcome == "created" else " (instructed before)"
    console.print(
        f"Payout {f.payment} to {f.supplier} for financing {f.reference}{again}: "
        f"{format_fen(f.advance + f.own_part)} yuan ({f.status}); the loan runs once the bank "
        f"shows it paid."
    )


@app.command("financings")
def list_financings(
    ctx: typer.Context,
    agent: str = typer.Option(None, help="Of this agent only."),
    funder: str = typer.Option(None, help="Of this funder only."),
) -> None:
    """Order financings, oldest first."""
    rows = run(lambda: financing.financings(database(ctx), agent_code=agent, funder_code=funder))
    table = Table(title="Order financings")
    for column in ("financing", "order", "supplier", "agent", "funder", "advance", "own part"):
        table.add_column(column)
    for column in ("margin", "days", "status", "loan", "payout"):
        table.add_column(column)
    for f in rows:
        table.add_row(
            f.reference,
            f.order,
            f.supplier,
            f.agent,
            f.funder,
            format_fen(f.advance),
            format_fen(f.own_part),
            format_fen(f.margin),
            str(f.term_days),
            f.status,
            f"{f.order_ref} {f.loan_status}" if f.order_ref else "-",
            f.payment or "-",
        )
    console.print(table)


@app.command("book")
def order_book(ctx: typer.Context, funder: str) -> None:
    """A funder's order book by supplier and by agent, largest first."""
    c = run(lambda: book.concentration(database(ctx), funder))
    for title, exposures in (("supplier", c.by_supplier), ("agent", c.by_agent)):
        table = Table(title=f"{funder}'s order book by {title}, {c.as_of}")
        for column in (title, "name", "financings", "advanced", "outstanding", "overdue"):
            table.add_column(column)
        table.add_column("total")
        for e in exposures:
            table.add_row(
                e.code,
                e.name,
                str(e.financings),
                format_fen(e.advanced),
                format_fen(e.outstanding),
                format_fen(e.overdue),
                format_fen(e.total),
            )
        console.print(table)
    console.print(f"At risk in all: {format_fen(c.total)} yuan.")
