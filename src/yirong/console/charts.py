"""The charts' options for ECharts, written by the server as JSON (the page's script
only draws them). Money goes as yuan strings with two decimals, never as a float."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from yirong.console import i18n
from yirong.wallets.history import MonthFlow


def _yuan(fen: int) -> str:
    return str(Decimal(fen) / 100)


def months_chart(
    flows: Sequence[MonthFlow], commissions: str, prepayments: str, language: str
) -> str:
    """Bars of the months' commissions and pre-payments (names already translated)."""
    option = {
        "aria": {"enabled": True},
        "animation": False,  # drawn as it is (and a screenshot shows it whole)
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [commissions, prepayments], "top": 0},
        "grid": {"top": 40, "left": 8, "right": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [i18n.month(f.month, language) for f in flows]},
        "yAxis": {"type": "value"},
        "series": [
            {"name": commissions, "type": "bar", "data": [_yuan(f.commissions) for f in flows]},
            {"name": prepayments, "type": "bar", "data": [_yuan(f.prepayments) for f in flows]},
        ],
    }
    return json.dumps(option, ensure_ascii=False)
