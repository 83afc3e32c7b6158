"""Matching new bank lines and posting their money, within the caller's transaction.

For a chunk of lines, the facts their references name are read in a few queries, each
line is decided by ``reconciliation.model.decide`` in booking order (the facts updated
after each, so that a second payment of one order is a duplicate), and then applied:
the order is funded, the wallet credited, the file's commissions paid, our payment
settled or voided; or the money is held in suspense, as part of an order paid in
several lines or as an exception. Every posting is keyed by the line, so that it is
made once."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Select, Table, bindparam, func, select, text, update

from yirong.bankfiles.model import BankLine as ParsedLine
from yirong.bankfiles.model import Direction
from yirong.books.service import BankAccountView, business_date_of
from yirong.books.tables import BANK_LINE, BankAccount
from yirong.funders.service import funder_code_of
from yirong.funders.tables import Funder
from yirong.infra.bulk import update_rows
from yirong.infra.db import Dialect, Tx
from yirong.infra.direct import send
from yirong.ledger import service as ledger
from yirong.ledger.model import AccountState, Leg, NewEntry, Side
from yirong.loans.funding import Funding, fund_order_in, fund_orders_in, order_by_reference
from yirong.loans.model import DrawdownStatus
from yirong.loans.tables import Drawdown
from yirong.orders.refunds import receive_refund_in
from yirong.orders.tables import OrderFinancing
from yirong.payments import service as payments
from yirong.payments.tables import Payment
from yirong.reconciliation import model, suspense
from yirong.reconciliation.model import Decision, ExceptionKind, Facts, Outcome, Rule, Target
from yirong.reconciliation.tables import BankLine, Notice, ReconException
from yirong.wallets import commissions
from yirong.wallets.pay_in import references_in, wallet_of_virtual_account
from yirong.wallets.service import credit_from_bank_in, handles_of, repay_overdue_from
from yirong.wallets.tables import CommissionFile, CommissionFileRow, Wallet

OPERATIONS = "operations"  # who owns a new exception until someone takes it
_CANNOT_TAKE = (AccountState.BLOCKED.value, AccountState.CLOSED.value)


@dataclass(slots=True)
class Taken:
    """A new line of the chunk, as the matcher works on it."""

    id: int
    account: BankAccountView
    parsed: ParsedLine
    status: str = "exception"
    target: str | None = None
    target_ref: str | None = None
    matched_by: str | None = None
    suspense_entry_id: int | None = None
    suspense_moves: int = 0

    def as_model(self) -> model.Line:
        p = self.parsed
        refs = model.references(p.memo, p.end_to_end_ref)
        wallet_id = None
        if p.virtual_account:
            wallet_id = wallet_of_virtual_account(p.virtual_account, self.account.number)
        if wallet_id is None and self.account.number in p.memo:
            # Layouts without a column for it (MT940, ICBC) print the virtual account
            # in the memo: the reserve account's number followed by the pay-in code.
            found_in_memo = re.search(rf"{self.account.number}(\d{{9,}})", p.memo)
            if found_in_memo:
                wallet_id = wallet_of_virtual_account(
                    self.account.number + found_in_memo.group(1), self.account.number
                )
        if wallet_id is None and refs.pay_ins:
            found = references_in(" ".join(refs.pay_ins))
            wallet_id = found[0] if found else None
        return model.Line(
            self.id,
            p.direction,
            p.amount,
            p.booking_date,
            p.counterparty_account,
            refs,
            wallet_id,
        )


def match_lines_in(tx: Tx, taken: Sequence[Taken], rules: Mapping[str, Rule]) -> None:
    """Decide and apply every line of the chunk, then record how each ended."""
    if not taken:
        return
    today = business_date_of(tx)
    lines = [t.as_model() for t in taken]
    facts = gather_facts(tx, lines)
    together: list[tuple[Taken, Decision]] = []
    for t, line in zip(taken, lines, strict=True):
        decision = model.decide(line, facts, rules, today)
        if decision.outcome is Outcome.MATCHED and decision.rule in FUNDED_TOGETHER:
            # Posted with the chunk's other fundings below (its facts noted now, so
            # that a second line for the same order is a duplicate).
            t.status, t.matched_by = "matched", f"rule:{decision.rule}"
            t.target, t.target_ref = Target.ORDER.value, ",".join(decision.refs)
            _update_facts(decision, facts, t.parsed.amount)
            together.append((t, decision))
        else:
            apply_in(tx, t, decision, facts)
    _fund_together(tx, together, facts)
    table = BankLine.__table__
    assert isinstance(table, Table)
    update_rows(
        tx,
        table,
        "id",
        [
            {
                "id": t.id,
                "status": t.status,
                "target": t.target,
                "target_ref": t.target_ref,
                "matched_by": t.matched_by,
                "matched_on": today if t.status == "matched" else None,
                "suspense_entry_id": t.suspense_entry_id,
                "suspense_moves": t.suspense_moves,
            }
            for t in taken
            if t.status != "partial"  # written when held (a later line may complete it)
        ],
    )


# ---------------------------------------------------------------- facts


def _order_facts() -> Select[Any]:
    """The orders named, with what partial lines already paid towards each: one
    statement, built once (a day's file is a money request on the API's hot path)."""
    refs: BindParameter[str] = bindparam("refs", expanding=True)
    paid = (
        select(BankLine.target_ref, func.sum(BankLine.amount).label("paid"))
        .where(BankLine.status == "partial", BankLine.target_ref.in_(refs))
        .group_by(BankLine.target_ref)
        .subquery("paid")
    )
    return (
        select(
            Drawdown.order_ref,
            Funder.code,
            Drawdown.amount,
            Drawdown.status,
            Drawdown.fund_by,
            paid.c.paid,
        )
        .join(Funder, Funder.id == Drawdown.funder_id)
        .outerjoin(paid, paid.c.target_ref == Drawdown.order_ref)
        .where(Drawdown.order_ref.in_(refs))
    )


_ORDER_FACTS = _order_facts()


# The payments a chunk's lines name, locked, so that what is decided below still holds
# when it is applied: a legal order may cancel a withdrawal, or the bank's refusal fail
# it, meanwhile.
_PAYMENTS = (
    select(
        Payment.reference,
        Payment.amount,
        Payment.status,
        Payment.payee_account,
        Payment.instructed_on,
        Payment.kind,
        # A supplier's payout may come back as refunds up to what it paid.
        (Payment.amount - func.coalesce(OrderFinancing.refunded, 0)).label("refundable"),
    )
    .outerjoin(OrderFinancing, OrderFinancing.payment_id == Payment.id)
    .order_by(Payment.reference)
    .with_for_update(of=Payment)
)
_PAYMENTS_NAMED = _PAYMENTS.where(Payment.reference.in_(bindparam("refs", expanding=True)))
_PAYMENTS_TO = _PAYMENTS.where(
    Payment.status == "instructed", Payment.payee_account.in_(bindparam("payees", expanding=True))
)


_balances = ledger.balance_rows()
# Each wallet's state (its worst shard's).
_WALLET_STATES = (
    select(Wallet.id, func.max(_balances.c.state))
    .join(_balances, _balances.c.account_id == Wallet.account_id)
    .where(Wallet.id.in_(bindparam("ids", expanding=True)))
    .group_by(Wallet.id)
)


def gather_facts(tx: Tx, lines: Sequence[model.Line]) -> Facts:
    """What the chunk's references name, in one query per kind."""
    facts = Facts()
    order_refs = sorted({r for line in lines for r in line.refs.orders})
    if order_refs:
        for ref, funder, amount, status, fund_by, paid in tx.conn.execute(
            _ORDER_FACTS, {"refs": order_refs}
        ):
            paid_so_far = int(paid or 0)
            facts.orders[ref] = model.OrderFacts(ref, funder, amount, status, fund_by, paid_so_far)
    file_refs = {r for line in lines for r in line.refs.commissions}
    ids = {commissions.file_ids_in(r)[0]: r for r in file_refs}
    if ids:
        balances = ledger.balance_rows()
        blocked = set(
            tx.conn.scalars(
                select(CommissionFileRow.file_id)
                .join(
                    Wallet,
                    (Wallet.owner_type == "agent") & (Wallet.owner_code == CommissionFileRow.agent),
                )
                .join(balances, balances.c.account_id == Wallet.account_id)
                .where(
                    CommissionFileRow.file_id.in_(list(ids)),
                    balances.c.state.in_(_CANNOT_TAKE),
                )
            )
        )
        for file_id, total, state in tx.conn.execute(
            select(CommissionFile.id, CommissionFile.total_fen, CommissionFile.state).where(
                CommissionFile.id.in_(list(ids))
            )
        ):
            ref = commissions.reference_for(file_id)
            if ref in file_refs:
                facts.files[ref] = model.FileFacts(ref, total, state, file_id in blocked)
    payment_refs = sorted({r for line in lines for r in line.refs.payments})
    payees = sorted(
        {
            line.counterparty_account
            for line in lines
            if line.direction is Direction.DEBIT
            and not line.refs.payments
            and line.counterparty_account
        }
    )
    if payment_refs:
        for row in tx.conn.execute(_PAYMENTS_NAMED, {"refs": payment_refs}):
            facts.payments[row[0]] = model.PaymentFacts(*row)
    if payees:
        for row in tx.conn.execute(_PAYMENTS_TO, {"payees": payees}):
            found = facts.payments.setdefault(row[0], model.PaymentFacts(*row))
            facts.open_payments_by_payee.setdefault(row[3] or "", []).append(found)
    wallet_ids = sorted({line.wallet_id for line in lines if line.wallet_id is not None})
    if wallet_ids:
        facts.wallets = {
            wallet_id: state not in _CANNOT_TAKE
            for wallet_id, state in tx.conn.execute(_WALLET_STATES, {"ids": wallet_ids})
        }
    # An account several funders name tells us no sender. Only credits' senders are
    # asked (``model.decide``), and only those the bank names.
    senders = sorted(
        {
            line.counterparty_account
            for line in lines
            if line.direction is Direction.CREDIT and line.counterparty_account
        }
    )
    owners: dict[str, set[str]] = {}
    if senders:
        for account, code in tx.conn.execute(
            select(Funder.settlement_bank_account, Funder.code).where(
                Funder.settlement_bank_account.in_(senders)
            )
        ):
            owners.setdefault(account, set()).add(code)
    facts.senders = {account: codes.pop() for account, codes in owners.items() if len(codes) == 1}
    if any(line.direction is Direction.CREDIT and not line.refs.any for line in lines):
        facts.notices = [
            model.NoticeFacts(*row)
            for row in tx.conn.execute(
                select(
                    Notice.id,
                    Notice.kind,
                    Notice.party,
                    Notice.target,
                    Notice.amount,
                    Notice.value_date,
                )
                .where(Notice.status.in_(("open", "unfunded")), Notice.kind != "payment")
                .order_by(Notice.id)
            )
        ]
    return facts


# ---------------------------------------------------------------- applying


def apply_in(tx: Tx, t: Taken, decision: Decision, facts: Facts) -> None:
    """Post what ``decision`` says about line ``t`` and note it on ``t`` and ``facts``."""
    if decision.outcome is Outcome.EXCEPTION:
        assert decision.exception is not None
        open_exception(tx, t, decision.exception, decision.detail, decision.proposal)
        _money_came_for(tx, t, decision, facts)
        if decision.notice_id is not None:
            # The notice has found its line (to be confirmed): it no longer waits.
            tx.conn.execute(
                update(Notice)
                .where(Notice.id == decision.notice_id, Notice.status == "open")
                .values(status="proposed", line_id=t.id)
            )
        return
    if decision.outcome is Outcome.PARTIAL:
        _hold_part(tx, t, decision.refs[0], facts)
        _money_came_for(tx, t, decision, facts)
        return
    assert decision.target is not None
    pay(tx, t, decision.target, decision.refs, returned=decision.returned)
    t.status, t.matched_by = "matched", f"rule:{decision.rule}"
    _update_facts(decision, facts, t.parsed.amount)


FUNDED_TOGETHER = ("order_reference", "orders_in_one_line")  # no earlier parts to bring in


def _fund_together(tx: Tx, together: Sequence[tuple[Taken, Decision]], facts: Facts) -> None:
    """The chunk's lines that each pay whole orders, funded in one go (a line paying
    several orders is split by their amounts)."""
    fundings: list[Funding] = []
    paid_by: dict[str, int] = {}
    for t, d in together:
        for ref in d.refs:
            amount = t.parsed.amount if len(d.refs) == 1 else facts.orders[ref].amount
            fundings.append(Funding(ref, f"bank:{t.id}:{ref}", {t.account.ledger_account: amount}))
            paid_by[ref] = t.id
    fund_orders_in(tx, fundings)
    close_notices_in(tx, "funding", paid_by)


def pay(tx: Tx, t: Taken, target: Target, refs: Sequence[str], *, returned: bool = False) -> None:
    """The line's money goes where ``target`` and ``refs`` say (the line not in
    suspense: its money is still on the reserve account in the books)."""
    t.target = target.value
    match target:
        case Target.ORDER:
            _fund(tx, t, refs)
            t.target_ref = ",".join(refs)
        case Target.WALLET:
            handle = handles_of(tx, [int(refs[0])])[int(refs[0])] if refs[0].isdigit() else refs[0]
            credit_from_bank_in(
                tx,
                handle,
                t.parsed.amount,
                f"bank:{t.id}",
                bank_account=t.account.ledger_account,
                memo=f"bank line {t.id} {t.parsed.bank_serial}".strip()[:200],
            )
            t.target_ref = handle
            _close_notices(tx, "top_up", handle, t, amount=t.parsed.amount)
        case Target.COMMISSION:
            record = commissions.file_for_payment(tx, commissions.file_ids_in(refs[0])[0])
            assert record is not None
            commissions.apply_commission_file_in(tx, record, bank_account=t.account.ledger_account)
            t.target_ref = refs[0]
        case Target.REFUND:
            payment = payments.payment_row(tx, reference=refs[0])
            receive_refund_in(
                tx,
                payment,
                t.parsed.amount,
                key=f"bank:{t.id}",
                bank_account=t.account.ledger_account,
            )
            t.target_ref = refs[0]
        case Target.PAYMENT:
            payment = payments.payment_row(tx, reference=refs[0])
            if returned:
                _returned(tx, t, payment)
            else:
                payments.settle_in(tx, payment, line_id=t.id)
                _close_notices(tx, "payment", payment.reference, t)
                _resolve_waiting(tx, payment_id=payment.id, line_id=t.id)
            t.target_ref = refs[0]


def _fund(tx: Tx, t: Taken, refs: Sequence[str]) -> None:
    """Fund each order the line pays: a line paying several orders is split by their
    amounts; the last part of an order paid in several lines brings the earlier parts
    out of suspense."""
    for ref in refs:
        drawdown = order_by_reference(tx, ref)
        assert drawdown is not None
        funder = funder_code_of(tx, drawdown.funder_id)
        assert funder is not None
        sources: dict[str, int] = {}
        for part in tx.session.scalars(
            select(BankLine)
            .where(BankLine.status == "partial", BankLine.target_ref == ref)
            .order_by(BankLine.id)
            .with_for_update()
        ):
            assert part.suspense_entry_id is not None
            suspense.release(tx, part.id, part.suspense_entry_id, part.suspense_moves)
            code = _ledger_account_of(tx, part.bank_account_id)
            sources[code] = sources.get(code, 0) + part.amount
            part.status, part.matched_by, part.matched_on = (
                "matched",
                "rule:order_in_parts",
                business_date_of(tx),
            )
            part.target, part.suspense_entry_id = Target.ORDER.value, None
            part.suspense_moves += 1
        rest = drawdown.amount - sum(sources.values())
        if len(refs) == 1:
            assert rest == t.parsed.amount
        code = t.account.ledger_account
        sources[code] = sources.get(code, 0) + rest
        fund_order_in(tx, drawdown, funder, key=f"bank:{t.id}:{ref}", sources=sources)
        _close_notices(tx, "funding", ref, t)


def _ledger_account_of(tx: Tx, bank_account_id: int) -> str:
    code = tx.conn.scalar(
        select(BankAccount.ledger_account).where(BankAccount.id == bank_account_id)
    )
    assert code is not None
    return code


def _returned(tx: Tx, t: Taken, payment: Payment) -> None:
    """The bank sent our payment back: a payment still open is released; one already
    debited comes back to where it left from."""
    if payment.status == "instructed":
        payments.void_in(tx, payment, status="returned", note="returned by the bank", line_id=t.id)
        return
    source = ledger.account_by_code(tx, payment.source)
    posted = ledger.post(
        tx,
        NewEntry(
            f"bank:{t.id}",
            "bank.payment_returned",
            (
                Leg(
                    ledger.account_by_code(tx, t.account.ledger_account).id,
                    Side.DEBIT,
                    t.parsed.amount,
                ),
                Leg(source.id, Side.CREDIT, t.parsed.amount),
            ),
            memo=payment.reference,
        ),
    )
    payment.status, payment.returned_on, payment.return_line_id = (
        "returned",
        business_date_of(tx),
        t.id,
    )
    repay_overdue_from(tx, [posted])


def _money_came_for(tx: Tx, t: Taken, decision: Decision, facts: Facts) -> None:
    """Money quoting an order came, if not as it should (short, over, late): the
    funder's notices about that order have met their bank line, and the one exception
    to work is the line's, not a second one for a notice left waiting. (A second
    payment of a funded order leaves its notices to the line that funded it.)"""
    if t.parsed.direction is Direction.CREDIT:
        for ref in decision.refs:
            order = facts.orders.get(ref)
            if model.ORDER_REF.fullmatch(ref) and (order is None or order.status != "credited"):
                _close_notices(tx, "funding", ref, t)


def _hold_part(tx: Tx, t: Taken, ref: str, facts: Facts) -> None:
    t.suspense_entry_id = suspense.book(
        tx, t.id, t.parsed.direction.value, t.parsed.amount, t.account.ledger_account, 0
    )
    t.suspense_moves = 1
    t.status, t.target, t.target_ref = "partial", Target.ORDER.value, ref
    facts.orders[ref].paid_in_parts += t.parsed.amount
    tx.conn.execute(
        update(BankLine)
        .where(BankLine.id == t.id)
        .values(
            status=t.status,
            target=t.target,
            target_ref=ref,
            suspense_entry_id=t.suspense_entry_id,
            suspense_moves=t.suspense_moves,
        )
    )


def open_exception(
    tx: Tx, t: Taken, kind: ExceptionKind, detail: str, proposal: str | None
) -> None:
    """The line matched nothing: its money is held in suspense (labelled, never
    silently anywhere) and it is listed for an operator."""
    t.suspense_entry_id = suspense.book(
        tx, t.id, t.parsed.direction.value, t.parsed.amount, t.account.ledger_account, 0
    )
    t.suspense_moves, t.status = 1, "exception"
    tx.session.add(
        ReconException(
            kind=kind.value,
            line_id=t.id,
            direction=t.parsed.direction.value,
            amount=t.parsed.amount,
            detail=detail[:300],
            proposal=proposal,
            opened_on=business_date_of(tx),
            owner=OPERATIONS,
            status="open",
        )
    )
    tx.session.flush()


def _update_facts(decision: Decision, facts: Facts, amount: int) -> None:
    for ref in decision.refs:
        if decision.target is Target.ORDER and ref in facts.orders:
            facts.orders[ref].status, facts.orders[ref].paid_in_parts = DrawdownStatus.CREDITED, 0
        elif decision.target is Target.COMMISSION and ref in facts.files:
            facts.files[ref].state = "applied"
        elif decision.target is Target.PAYMENT and ref in facts.payments:
            facts.payments[ref].status = "returned" if decision.returned else "settled"
        elif decision.target is Target.REFUND and ref in facts.payments:
            facts.payments[ref].refundable -= amount


def _close_notices(tx: Tx, kind: str, target: str, t: Taken, *, amount: int | None = None) -> None:
    """Notices about what this line paid are matched (a top-up's: one notice of its
    amount), and their exceptions (no money yet) resolved: the information flow has
    met its fund flow."""
    if amount is None:
        close_notices_in(tx, kind, {target: t.id})
        return
    found = tx.conn.scalar(
        select(Notice.id)
        .where(
            Notice.kind == kind,
            Notice.target == target,
            Notice.amount == amount,
            Notice.status.in_(WAITING),
        )
        .order_by(Notice.id)
        .limit(1)
    )
    if found is not None:
        _matched_notices(tx, [(found, t.id)])


WAITING = ("open", "proposed", "unfunded")  # a notice whose money has not been matched


def close_notices_in(tx: Tx, kind: str, lines_by_target: Mapping[str, int]) -> None:
    """Every waiting notice of ``kind`` about one of the targets is matched to the line
    that paid it (two queries for a whole chunk)."""
    if not lines_by_target:
        return
    if tx.dialect is Dialect.POSTGRESQL:
        # One statement: the notices matched, and the exceptions raised about them
        # resolved (a data-modifying WITH).
        pairs = [{"target": target, "line": line} for target, line in lines_by_target.items()]
        send(
            tx,
            _NOTICES_CLOSED_PG,
            {"kind": kind, "pairs": json.dumps(pairs), "today": business_date_of(tx)},
        )
        return
    found = tx.conn.execute(
        _WAITING_NOTICES, {"kind": kind, "targets": list(lines_by_target)}
    ).all()
    _matched_notices(tx, [(notice_id, lines_by_target[target]) for notice_id, target in found])


def _matched_notices(tx: Tx, pairs: Sequence[tuple[int, int]]) -> None:
    if not pairs:
        return
    today = business_date_of(tx)
    matched = [{"notice": notice, "line": line, "today": today} for notice, line in pairs]
    tx.conn.execute(_NOTICE_MATCHED, matched)
    tx.conn.execute(_NOTICES_RESOLVED, {"notices": [notice for notice, _ in pairs], "today": today})


# Built once: every funding line of a statement upload closes its notice with them.
_WAITING_NOTICES = select(Notice.id, Notice.target).where(
    Notice.kind == bindparam("kind"),
    Notice.target.in_(bindparam("targets", expanding=True)),
    Notice.status.in_(WAITING),
)
_NOTICES_CLOSED_PG = text(
    "WITH closed AS ("
    " UPDATE notices n SET status = 'matched', line_id = (x->>'line')::bigint,"
    " closed_on = :today"
    " FROM json_array_elements(CAST(:pairs AS json)) x"
    " WHERE n.kind = :kind AND n.target = x->>'target'"
    f" AND n.status IN ({', '.join(repr(s) for s in WAITING)})"
    " RETURNING n.id)"
    " UPDATE recon_exceptions SET status = 'resolved', resolution = 'matched',"
    " resolved_on = :today, resolved_by = 'bank'"
    " WHERE notice_id IN (SELECT id FROM closed) AND status = 'open'"
)
_NOTICE_MATCHED = (
    update(Notice)
    .where(Notice.id == bindparam("notice"))
    .values(status="matched", line_id=bindparam("line"), closed_on=bindparam("today"))
)
_NOTICES_RESOLVED = (
    update(ReconException)
    .where(
        ReconException.notice_id.in_(bindparam("notices", expanding=True)),
        ReconException.status == "open",
    )
    .values(
        status="resolved",
        resolution="matched",
        resolved_on=bindparam("today"),
        resolved_by="bank",
    )
)


def _resolve_waiting(tx: Tx, *, payment_id: int, line_id: int) -> None:
    """An exception that waited for a payment's debit is resolved by the line that came."""
    tx.conn.execute(
        update(ReconException)
        .where(ReconException.payment_id == payment_id, ReconException.status == "open")
        .values(
            status="resolved",
            resolution="matched",
            resolved_on=business_date_of(tx),
            resolved_by=f"bank line {BANK_LINE.of(line_id)}",
        )
    )
