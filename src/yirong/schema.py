"""Every capability's tables, imported so that the metadata (and Alembic) sees them all."""

from __future__ import annotations

from yirong.access import tables as access_tables
from yirong.agents import tables as agents_tables
from yirong.api import tables as api_tables
from yirong.books import tables as books_tables
from yirong.credit import tables as credit_tables
from yirong.eod import tables as eod_tables
from yirong.features import tables as features_tables
from yirong.funders import tables as funders_tables
from yirong.infra import outbox as outbox_tables
from yirong.infra.base import Base
from yirong.ledger import tables as ledger_tables
from yirong.loans import tables as loans_tables
from yirong.orders import tables as orders_tables
from yirong.payments import tables as payments_tables
from yirong.policy import tables as policy_tables
from yirong.reconciliation import tables as reconciliation_tables
from yirong.wallets import tables as wallets_tables

metadata = Base.metadata

__all__ = [
    "access_tables",
    "agents_tables",
    "api_tables",
    "books_tables",
    "credit_tables",
    "eod_tables",
    "features_tables",
    "funders_tables",
    "ledger_tables",
    "loans_tables",
    "metadata",
    "orders_tables",
    "outbox_tables",
    "payments_tables",
    "policy_tables",
    "reconciliation_tables",
    "wallets_tables",
]
