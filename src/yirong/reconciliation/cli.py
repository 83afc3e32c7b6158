"""``yirong recon``: bank statements in, notices, the exception queue and its actions.

``--json`` prints one JSON object as the last line, for scripts. Actions name the
operator taking them (``--as``, or ``YIRONG_OPERATOR``): a match or return at or above
the threshold waits for another operator's ``yirong recon approve``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from yirong.cli_support import console, database, print_json, run
from yirong.money import format_fen, parse_yuan
from yirong.reconciliation import daily_cli, exceptions, notices, rules, statements
from yirong.reconciliation.cli_options import ACTOR, actor_of
from yirong.reconciliation.exceptions import ActionResult, ExceptionView

app = typer.Typer(
    help="Reconciliation (对账): bank statements, notices, exceptions.", no_args_is_help=True
)
notice_app = typer.Typer(
    help="Record what someone says about money (it moves nothing).", no_args_is_help=True
)
app.add_typer(notice_app, name="notice")

FORMATS = ("auto", "camt053", "mt940", "cmb", "icbc", "csv")
JSON = typer.Option(False, "--json", help="One JSON object as the last line.")
KEY = typer.Option(..., "--key", help="Idempotency key: the same key records once.")


@app.command("import")
def import_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False),
    fmt: str = typer.Option("auto", "--format", help="auto|camt053|mt940|cmb|icbc|csv"),
    as_json: bool = JSON,
    actor: str = ACTOR,
) -> None:
    """Import a bank statement file: all of it or nothing, each line once; lines that
    match move money, the others are listed as exceptions."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    db = database(ctx)
    content = path.read_bytes()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task(f"importing {path.name}", total=None)
        result = run(
            lambda: statements.import_statement_file(
                db,
                content,
                filename=path.name,
                fmt=fmt,
                actor=actor_of(actor),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        )
    if as_json:
        print_json(
            {
                "status": result.status,
                "file_id": result.file_id,
                "format": result.format,
                "statements": result.statements,
                "lines": result.lines,
                "new": result.new,
                "duplicates": result.duplicates,
                "matched": result.matched,
                "partial": result.partial,
                "exceptions": result.exceptions,
            }
        )
        return
    again = " (imported before: nothing added)" if result.status == "exists" else ""
    console.print(
        f"File {result.file_id} ({result.format}){again}: {result.lines} lines, "
        f"{result.new} new, {result.duplicates} seen before; {result.matched} matched, "
        f"{result.partial} part-paid orders waiting, {result.exceptions} exceptions."
    )


def _exception_row(e: ExceptionView) -> list[str]:
    line = e.line
    what = (
        f"{line.booking_date} {line.counterparty_name} {line.memo}"[:60]
        if line
        else f"notice {e.notice_id}"
        if e.notice_id
        else f"payment {e.payment_id}"
    )
    return [
        str(e.id),
        e.kind,
        "in" if e.direction == "C" else "out",
        format_fen(e.amount),
        f"{e.age_days}d",
        e.owner,
        what,
        e.proposal or "",
    ]


@app.command("exceptions")
def list_exceptions(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Resolved ones too."),
    kind: str = typer.Option(None, help="Only this type."),
    as_json: bool = JSON,
) -> None:
    """The exception queue, oldest first: type, direction, amount, age, owner."""
    found = run(
        lambda: exceptions.list_exceptions(
            database(ctx), status=None if all_ else "open", kind=kind, limit=10_000
        )
    )
    if as_json:
        print_json({"exceptions": [asdict(e) for e in found]})
        return
    table = Table(title=f"{len(found)} exceptions")
    for name in ("id", "type", "", "yuan", "age", "owner", "what", "proposal"):
        table.add_column(name)
    for e in found:
        table.add_row(*_exception_row(e))
    console.print(table)


@app.command("show")
def show_exception(ctx: typer.Context, exception: int, as_json: bool = JSON) -> None:
    """One exception and every action taken on it."""
    found, actions = run(lambda: exceptions.exception_detail(database(ctx), exception))
    if as_json:
        print_json({"exception": asdict(found), "actions": actions})
        return
    console.print(" ".join(_exception_row(found)), f"\n  {found.detail}")
    for a in actions:
        console.print(f"  {a['business_date']} {a['actor']}: {a['action']} {a['detail']}")


def _acted(result: ActionResult, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "status": result.status,
                "approval_id": result.approval_id,
                "exception": asdict(result.exception),
            }
        )
        return
    e = result.exception
    if result.status == "awaiting_approval":
        console.print(
            f"Exception {e.id}: waits for a second operator (approval {result.approval_id})."
        )
    else:
        state = e.resolution or ("in suspense" if e.line and e.line.in_suspense else e.status)
        console.print(f"Exception {e.id} ({e.kind}): {state}.")


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    exception: int,
    match: str = typer.Option(
        None, help="order:<ref> | wallet:<handle> | commission:<ref> | payment:<ref>"
    ),
    confirm: bool = typer.Option(False, "--confirm", help="Match to the rule's proposal."),
    return_: bool = typer.Option(False, "--return", help="Send the money back to its sender."),
    suspense: bool = typer.Option(False, "--suspense", help="Book the money to suspense."),
    release: bool = typer.Option(False, "--release", help="Release it from suspense."),
    dismiss: str = typer.Option(None, help="Close a notice or payment alert, with a reason."),
    assign: str = typer.Option(None, help="Give it an owner."),
    actor: str = ACTOR,
    as_json: bool = JSON,
) -> None:
    """Act on an exception (one action at a time)."""
    chosen = [
        x for x in (match, confirm or None, return_ or None, suspense or None, release or None) if x
    ]
    chosen += [x for x in (dismiss, assign) if x]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "say exactly one of --match, --confirm, --return, --suspense, --release, "
            "--dismiss, --assign"
        )
    db, who = database(ctx), actor_of(actor)
    if match or confirm:
        result = run(lambda: exceptions.match_by_hand(db, exception, match, actor=who))
    elif return_:
        result = run(lambda: exceptions.return_to_sender(db, exception, actor=who))
    elif suspense:
        result = run(lambda: exceptions.book_to_suspense(db, exception, actor=who))
    elif release:
        result = run(lambda: exceptions.release_from_suspense(db, exception, actor=who))
    elif dismiss:
        result = run(lambda: exceptions.dismiss(db, exception, dismiss, actor=who))
    else:
        result = run(lambda: exceptions.assign(db, exception, assign, actor=who))
    _acted(result, as_json)


@app.command("approvals")
def list_approvals(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Hand matches and returns waiting for a second operator."""
    found = run(lambda: exceptions.approvals(database(ctx)))
    if as_json:
        print_json({"approvals": [asdict(a) for a in found]})
        return
    for a in found:
        console.print(
            f"{a.id}: {a.action} exception {a.exception_id} {a.target or ''} "
            f"{format_fen(a.amount)} yuan, asked by {a.maker} on {a.made_on}"
        )


@app.command("approve")
def approve(ctx: typer.Context, approval: int, actor: str = ACTOR, as_json: bool = JSON) -> None:
    """Approve another operator's match or return: it is carried out."""
    _acted(run(lambda: exceptions.approve(database(ctx), approval, actor=actor_of(actor))), as_json)


@app.command("refuse")
def refuse(
    ctx: typer.Context, approval: int, reason: str = typer.Option(...), actor: str = ACTOR
) -> None:
    """Refuse another operator's match or return: nothing moves."""
    a = run(lambda: exceptions.refuse(database(ctx), approval, reason, actor=actor_of(actor)))
    console.print(f"Approval {a.id}: {a.status}.")


@app.command("files")
def files(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Statement files received, each with what its import did."""
    found = run(lambda: statements.statement_files(database(ctx), limit=10_000))
    if as_json:
        print_json({"files": [asdict(f) for f in found]})
        return
    for f in found:
        r = f.result
        did = (
            f"{r.new} new, {r.duplicates} seen before, {r.matched} matched, "
            f"{r.exceptions} exceptions"
            if r
            else f.state
        )
        console.print(
            f"{f.id}: {f.filename} ({f.format}, {f.lines} lines) on {f.received_on}: {did}"
        )


@app.command("file")
def file_command(
    ctx: typer.Context,
    file_id: int,
    out: Path = typer.Option(..., "--out", help="Where to write the file as received."),
) -> None:
    """Write a statement file back out exactly as it was received."""
    found, content = run(lambda: statements.statement_file(database(ctx), file_id))
    out.write_bytes(content)
    console.print(f"Wrote {found.filename} ({found.size} bytes, sha256 {found.sha256}) to {out}.")


@app.command("notices")
def list_notices(
    ctx: typer.Context,
    status: str = typer.Option(None, help="open | matched | unfunded | dismissed"),
    as_json: bool = JSON,
) -> None:
    """What people said about money, and whether the bank has shown it."""
    found = run(lambda: notices.notices(database(ctx), status=status, limit=10_000))
    if as_json:
        print_json({"notices": [asdict(n) for n in found]})
        return
    for n in found:
        console.print(
            f"{n.id}: {n.kind} {format_fen(n.amount)} for {n.target} said by {n.recorded_by} "
            f"on {n.said_on}: {n.status}"
        )


def _noticed(view: notices.NoticeView) -> None:
    again = " (recorded before)" if view.outcome == "exists" else ""
    console.print(
        f"Notice {view.id}{again}: {view.kind} {format_fen(view.amount)} for {view.target}, "
        f"{view.status}. Nothing moves until the bank's statement shows the money."
    )


@notice_app.command("funding")
def funding_notice(
    ctx: typer.Context,
    order: str,
    funder: str = typer.Option(...),
    amount: str = typer.Option(..., help="Yuan."),
    bank_ref: str = typer.Option("", help="The funder's reference for the transfer."),
    value_date: str = typer.Option(None, help="YYYY-MM-DD; default today."),
    key: str = KEY,
    actor: str = ACTOR,
) -> None:
    """A funder says it paid an order."""
    _noticed(
        run(
            lambda: notices.record_notice(
                database(ctx),
                kind="funding",
                recorded_by=actor_of(actor),
                key=key,
                target=order,
                amount=parse_yuan(amount),
                their_ref=bank_ref,
                value_date=date.fromisoformat(value_date) if value_date else None,
                funder=funder,
            )
        )
    )


@notice_app.command("top-up")
def top_up_notice(
    ctx: typer.Context,
    handle: str,
    amount: str = typer.Option(..., help="Yuan."),
    bank_ref: str = typer.Option(""),
    key: str = KEY,
    actor: str = ACTOR,
) -> None:
    """Someone says money was sent to a wallet."""
    _noticed(
        run(
            lambda: notices.record_notice(
                database(ctx),
                kind="top_up",
                recorded_by=actor_of(actor),
                key=key,
                target=handle,
                amount=parse_yuan(amount),
                their_ref=bank_ref,
            )
        )
    )


@notice_app.command("payment")
def payment_notice(ctx: typer.Context, withdrawal: str, key: str = KEY, actor: str = ACTOR) -> None:
    """Someone says the bank paid a withdrawal or payout (its id or YP reference)."""
    _noticed(
        run(
            lambda: notices.record_notice(
                database(ctx),
                kind="payment",
                recorded_by=actor_of(actor),
                key=key,
                target=withdrawal,
            )
        )
    )


@app.command("rules")
def show_rules(ctx: typer.Context, as_json: bool = JSON) -> None:
    """The matching rules and their settings."""
    found = run(lambda: rules.match_rules(database(ctx)))
    if as_json:
        print_json({"rules": [asdict(r) for r in found]})
        return
    table = Table(title="Matching rules")
    for name in ("rule", "on", "posts", "± fen", "days before", "days after"):
        table.add_column(name)
    for r in found:
        table.add_row(
            r.name,
            "yes" if r.enabled else "no",
            "at once" if r.auto else "proposes",
            str(r.amount_tolerance),
            str(r.days_before),
            str(r.days_after),
        )
    console.print(table)


@app.command("rule")
def set_rule(
    ctx: typer.Context,
    name: str,
    enabled: bool = typer.Option(None, "--enabled/--disabled"),
    auto: bool = typer.Option(None, "--auto/--propose"),
    tolerance: int = typer.Option(None, help="Amount tolerance in fen."),
    days_before: int = typer.Option(None),
    days_after: int = typer.Option(None),
) -> None:
    """Change a matching rule."""
    r = run(
        lambda: rules.set_rule(
            database(ctx),
            name,
            enabled=enabled,
            auto=auto,
            amount_tolerance=tolerance,
            days_before=days_before,
            days_after=days_after,
        )
    )
    console.print(f"{r.name}: {r}")


daily_cli.register(app)  # recon run | day | days | sign-off
