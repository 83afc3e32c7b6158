"""The charts' options for ECharts, written by the server as JSON (the page's script
only draws them). Money goes as yuan strings with two decimals, never as a float."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from yirong.console import i18n
from yirong.loans.standing import BucketLine
from yirong.loans.vintage import Vintage
from yirong.reconciliation.kept_days import KeptDay
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


def buckets_chart(buckets: Sequence[BucketLine], principal: str) -> str:
    """Bars of the principal outstanding in each bucket, M0 to M3+ (M0 in the
    brand's blue, the buckets past due in the alert's red)."""
    option = {
        "aria": {"enabled": True},
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"top": 16, "left": 8, "right": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [b.bucket for b in buckets]},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": principal,
                "type": "bar",
                "data": [
                    {
                        "value": _yuan(b.principal),
                        "itemStyle": {"color": "#0b5cad" if b.bucket == "M0" else "#b3261e"},
                    }
                    for b in buckets
                ],
            }
        ],
    }
    return json.dumps(option, ensure_ascii=False)


def recon_chart(days: Sequence[KeptDay], books: str, bank: str, language: str) -> str:
    """Lines of the books' and the bank's closing balance of each day reconciled, all
    bank accounts together, oldest day first (a day the bank said nothing of has no
    bank point)."""
    by_day: dict[date, list[int | None]] = {}
    for kept in sorted(days, key=lambda k: k.figures.day):
        f = kept.figures
        point = by_day.setdefault(f.day, [0, 0])
        point[0] = (point[0] or 0) + f.books
        point[1] = None if f.bank is None or point[1] is None else point[1] + f.bank.closing
    option = {
        "aria": {"enabled": True},
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [books, bank], "top": 0},
        "grid": {"top": 40, "left": 8, "right": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [i18n.day(d, language) for d in by_day]},
        "yAxis": {"type": "value", "scale": True},
        "series": [
            {"name": books, "type": "line", "data": [_yuan(p[0] or 0) for p in by_day.values()]},
            {
                "name": bank,
                "type": "line",
                "data": [None if p[1] is None else _yuan(p[1]) for p in by_day.values()],
            },
        ],
    }
    return json.dumps(option, ensure_ascii=False)


def vintage_chart(vintages: Sequence[Vintage], language: str) -> str:
    """One line per month of lending: the share 30+ days past due by month on book,
    in percent (a month not ended yet has no point)."""
    horizon = len(vintages[0].past_due) if vintages else 0
    option = {
        "aria": {"enabled": True},
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"top": 40, "left": 8, "right": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [str(n) for n in range(1, horizon + 1)]},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {
                "name": i18n.month(v.cohort, language),
                "type": "line",
                "data": [
                    None if s is None else str((s * 100).quantize(Decimal("0.01")))
                    for s in v.past_due
                ],
            }
            for v in vintages
            if v.loans
        ],
    }
    return json.dumps(option, ensure_ascii=False)


def trend_chart(flows: Sequence[MonthFlow], language: str) -> str:
    """A small line of an agent's monthly commissions, without axes (a sparkline)."""
    option = {
        "aria": {"enabled": True},
        "animation": False,
        "grid": {"top": 4, "left": 4, "right": 4, "bottom": 4},
        "xAxis": {
            "type": "category",
            "show": False,
            "data": [i18n.month(f.month, language) for f in flows],
        },
        "yAxis": {"type": "value", "show": False},
        "tooltip": {"trigger": "axis"},
        "series": [
            {"type": "line", "symbol": "none", "data": [_yuan(f.commissions) for f in flows]}
        ],
    }
    return json.dumps(option, ensure_ascii=False)
