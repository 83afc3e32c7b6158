"""Pay-in codes (入金识别码): how a bank line finds the wallet it is for.

Each wallet has a code derived from its id with a Luhn check digit (python-stdnum), so
that a mistyped code matches no wallet rather than the wrong one. An agent quotes
``YT<code>`` in the transfer's memo, or pays into its virtual account (虚拟账号): the
reserve account's number followed by the code, which the bank prints on the line."""

from __future__ import annotations

import re

from stdnum import luhn

PREFIX = "YT"
_REFERENCE = re.compile(rf"{PREFIX}(\d{{9,}})")


def pay_in_code(wallet_id: int) -> str:
    digits = f"{wallet_id:08d}"
    return digits + luhn.calc_check_digit(digits)


def wallet_id_of(code: str) -> int | None:
    """The wallet a code names, or None when the code is not one (a wrong check digit)."""
    if len(code) < 9 or not code.isdigit() or not luhn.is_valid(code):
        return None
    return int(code[:-1])


def references_in(text: str) -> list[int]:
    """Wallet ids named by ``YT<code>`` references in a memo, in order, valid ones only."""
    found = (wallet_id_of(m) for m in _REFERENCE.findall(text.upper()))
    return [w for w in found if w is not None]


def wallet_of_virtual_account(virtual_account: str, account_number: str) -> int | None:
    """The wallet a virtual account under ``account_number`` belongs to, if any."""
    if not virtual_account.startswith(account_number) or virtual_account == account_number:
        return None
    return wallet_id_of(virtual_account[len(account_number) :])
