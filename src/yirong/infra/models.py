"""Every capability's tables, imported so that the metadata (and Alembic) sees them all."""

from __future__ import annotations

from yirong.books import tables as books_tables
from yirong.infra.base import Base
from yirong.ledger import tables as ledger_tables
from yirong.wallets import tables as wallets_tables

metadata = Base.metadata

__all__ = ["books_tables", "ledger_tables", "metadata", "wallets_tables"]
