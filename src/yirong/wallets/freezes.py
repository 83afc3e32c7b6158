"""Freezing many wallets at once: what :func:`yirong.wallets.service.freeze_in` does
for one wallet, in a handful of statements for all of them. The end of day freezes
every wallet whose loan fell overdue that day; one wallet at a time, the freezes
were half of its overdue step (BENCHMARKS.md, end of day)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx
from yirong.ledger import service as ledger
from yirong.ledger.model import Account, AccountState
from yirong.wallets.service import FreezeReason, account_code, parse_handle
from yirong.wallets.tables import Wallet, WalletFreeze


def freeze_all_in(
    tx: Tx, handles: Sequence[str], reason: FreezeReason, *, note: str, actor: str
) -> dict[str, Account]:
    """Freeze each wallet for ``reason``, as :func:`freeze_in` would one after the
    other: a wallet already frozen for it gets no second freeze, and only an active
    account becomes debit-blocked (its state change on record). Returns each
    handle's ledger account."""
    if not handles:
        return {}
    wallet_ids = _locked_wallets(tx, handles)
    already = set(
        tx.conn.execute(
            select(WalletFreeze.wallet_id).where(
                WalletFreeze.wallet_id.in_(wallet_ids.values()),
                WalletFreeze.reason == reason.value,
                WalletFreeze.lifted_on.is_(None),
            )
        ).scalars()
    )
    today = business_date_of(tx)
    new = [
        {
            "wallet_id": wallet_id,
            "reason": reason.value,
            "note": note,
            "frozen_by": actor,
            "frozen_on": today,
        }
        for wallet_id in wallet_ids.values()
        if wallet_id not in already
    ]
    if new:
        tx.conn.execute(insert(WalletFreeze), new)
    by_code = ledger.accounts_by_code(tx, [account_code(h) for h in handles])
    accounts = {h: by_code[account_code(h)] for h in handles}
    ledger.set_states(
        tx,
        list(accounts.values()),
        AccountState.DEBIT_BLOCKED,
        only_from=AccountState.ACTIVE,
        reason=f"freeze:{reason.value}: {note}",
        business_date=today,
    )
    return accounts


def _locked_wallets(tx: Tx, handles: Sequence[str]) -> dict[str, int]:
    """Each handle's wallet id, the rows locked (in id order, as any two callers take
    them) so that no freeze or unfreeze decides from a stale view meanwhile."""
    by_type: dict[str, dict[str, str]] = {}
    for handle in handles:
        owner_type, code = parse_handle(handle)
        by_type.setdefault(owner_type, {})[code] = handle
    found: dict[str, int] = {}
    for owner_type, codes in by_type.items():
        rows = tx.conn.execute(
            select(Wallet.id, Wallet.owner_code)
            .where(Wallet.owner_type == owner_type, Wallet.owner_code.in_(list(codes)))
            .order_by(Wallet.id)
            .with_for_update()
        ).all()
        found.update({codes[code]: wallet_id for wallet_id, code in rows})
    missing = [h for h in handles if h not in found]
    if missing:
        raise YirongError("wallet_not_found", wallet=missing[0])
    return {h: found[h] for h in handles}
