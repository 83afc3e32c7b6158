"""Suppliers (供应商): registered by an operator, their settlement account verified
before anything is paid to it, and on a whitelist that financing requires."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from yirong.agents.identifiers import unified_social_credit_code
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.orders.tables import Supplier

_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_ACCOUNT = re.compile(r"\d{8,32}")


@dataclass(frozen=True, slots=True)
class SupplierInput:
    code: str
    name: str
    uscc: str
    bank_account: str
    bank_name: str
    whitelisted: bool = True


@dataclass(frozen=True, slots=True)
class SupplierView:
    code: str
    name: str
    uscc: str
    bank_account: str
    bank_name: str
    account_verified_on: date | None
    whitelisted: bool
    registered_on: date

    @property
    def account_verified(self) -> bool:
        return self.account_verified_on is not None


def view(s: Supplier) -> SupplierView:
    return SupplierView(
        s.code,
        s.name,
        s.uscc,
        s.bank_account,
        s.bank_name,
        s.account_verified_on,
        s.whitelisted,
        s.registered_on,
    )


def _checked_account(account: str, bank: str) -> tuple[str, str]:
    account = account.replace(" ", "")
    if not _ACCOUNT.fullmatch(account) or not 0 < len(bank.strip()) <= 100:
        raise YirongError("supplier_account_invalid")
    return account, bank.strip()


@transactional
def register_supplier(tx: Tx, data: SupplierInput) -> SupplierView:
    """Register a supplier; its account waits to be verified."""
    if not _CODE.fullmatch(data.code):
        raise YirongError("supplier_invalid", reason="a code is 1 to 32 letters, digits, - or _")
    if not 0 < len(data.name.strip()) <= 200:
        raise YirongError("supplier_invalid", reason="a name is 1 to 200 characters")
    uscc = unified_social_credit_code(data.uscc)
    account, bank = _checked_account(data.bank_account, data.bank_name)
    supplier = Supplier(
        code=data.code,
        name=data.name.strip(),
        uscc=uscc,
        bank_account=account,
        bank_name=bank,
        whitelisted=data.whitelisted,
        registered_on=business_date_of(tx),
    )
    tx.session.add(supplier)
    try:
        tx.session.flush()
    except IntegrityError as exc:  # the same code or firm, registered concurrently or before
        if any(name in str(exc.orig) for name in ("uq_suppliers_code", "suppliers.code")):
            raise YirongError("supplier_code_taken", supplier=data.code) from exc
        raise YirongError("supplier_firm_taken", supplier=data.code) from exc
    return view(supplier)


def supplier_row(tx: Tx, code: str, *, lock: bool = False) -> Supplier:
    query = select(Supplier).where(Supplier.code == code)
    found = tx.session.scalars(query.with_for_update() if lock else query).one_or_none()
    if found is None:
        raise YirongError("supplier_not_found", supplier=code)
    return found


@transactional
def verify_account(tx: Tx, code: str, *, by: str) -> SupplierView:
    """An operator confirms the settlement account is the supplier's (again: no change)."""
    supplier = supplier_row(tx, code, lock=True)
    if supplier.account_verified_on is None:
        supplier.account_verified_on, supplier.account_verified_by = business_date_of(tx), by
    return view(supplier)


@transactional
def change_account(tx: Tx, code: str, bank_account: str, bank_name: str) -> SupplierView:
    """A new settlement account: it must be verified before anything is paid to it."""
    supplier = supplier_row(tx, code, lock=True)
    account, bank = _checked_account(bank_account, bank_name)
    if (account, bank) != (supplier.bank_account, supplier.bank_name):
        supplier.bank_account, supplier.bank_name = account, bank
        supplier.account_verified_on = supplier.account_verified_by = None
    return view(supplier)


@transactional
def set_whitelisted(tx: Tx, code: str, whitelisted: bool) -> SupplierView:
    supplier = supplier_row(tx, code, lock=True)
    supplier.whitelisted = whitelisted
    return view(supplier)


@read_only
def suppliers(tx: Tx) -> list[SupplierView]:
    return [view(s) for s in tx.session.scalars(select(Supplier).order_by(Supplier.code))]


@read_only
def get_supplier(tx: Tx, code: str) -> SupplierView:
    return view(supplier_row(tx, code))
