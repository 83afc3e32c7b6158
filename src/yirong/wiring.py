"""What the capabilities hand down to those below them when the application starts:
the one place a lower package is given a function of a higher one, so that no
package imports upward. Every entry point calls :func:`wire` (the command line, the
API's application, the tests); it is safe to call again.

* Wallets are told how loans sweep money credited to a wallet frozen for an overdue
  loan (``loans.repayments.sweep_in``): without it such a credit is refused."""

from __future__ import annotations

from yirong.loans.repayments import sweep_in
from yirong.orders.financing import payout_settled_in, payout_voided_in
from yirong.payments.service import on_settled
from yirong.wallets.service import on_overdue_credit


def wire() -> None:
    on_overdue_credit(sweep_in)
    on_settled("supplier", payout_settled_in, payout_voided_in)
