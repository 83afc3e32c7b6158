"""Who acts in Yirong: the roles every sign-in, API key, page and audit record is one
of. Ground under every capability (access grants them, agents' personal data is shown
by them, the API checks them)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"  # a carrier's sales agent, the borrower
    FUNDER = "funder"  # a licensed lender's staff or system
    OPERATOR = "operator"  # the payment company's operations team
    SUPPLIER = "supplier"  # a supplier's system (供应商): an API key, never a sign-in


# The roles a person signs in as, with a password (and a console). A supplier has
# neither: its system calls the API with a key an operator issues.
SIGN_IN_ROLES = frozenset({Role.AGENT, Role.FUNDER, Role.OPERATOR})
