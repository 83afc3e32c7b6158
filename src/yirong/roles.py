"""Who acts in Yirong: the three roles every sign-in, API key, page and audit record
is one of. Ground under every capability (access grants them, agents' personal data
is shown by them, the API checks them)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"  # a carrier's sales agent, the borrower
    FUNDER = "funder"  # a licensed lender's staff or system
    OPERATOR = "operator"  # the payment company's operations team
