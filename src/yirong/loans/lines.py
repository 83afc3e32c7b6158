"""Closing a credit line (to change funder, say): the line belongs to credit, but
whether it may close is the loans' to say: only a line that carries no debt."""

from __future__ import annotations

from sqlalchemy import func, select

from yirong.credit.applications import LineView, active_line_locked, close_line_in
from yirong.errors import YirongError
from yirong.infra.db import Tx, transactional
from yirong.loans.drawdowns import OPEN, used_on_line
from yirong.loans.tables import Drawdown


@transactional
def close_line(tx: Tx, reference: str, *, reason: str) -> LineView:
    """Close the line ``reference`` names, if it carries no debt."""
    line = active_line_locked(tx, reference)
    if outstanding_on_line(tx, line.id) > 0:
        raise YirongError("line_has_debt", line=reference)
    return close_line_in(tx, line, reason=reason)


def outstanding_on_line(tx: Tx, line_id: int) -> int:
    """What the line carries: orders waiting for money and principal outstanding, and
    1 fen for a loan whose principal is repaid but whose interest is not (it is not
    closed either)."""
    used = used_on_line(tx, line_id)
    unsettled = tx.session.scalar(
        select(func.count()).where(Drawdown.line_id == line_id, Drawdown.status.in_(OPEN))
    )
    return used or int(bool(unsettled))
