"""The loan book as SQL: what each drawdown owes at the end of a day, read from its
clocks (interest and penalty fen-days) advanced to the next day's ordinal
``:next_ord``, with no row written. The end of day's portfolio snapshot and the
funders' daily loan-book files read the same expressions, so they cannot disagree.
A term loan's charges are not a clock's: the loans write them from the model
(``interest_charged``, ``penalty_charged``), and the expressions read them as they are."""

from __future__ import annotations

from yirong.loans.interest import charged_sql


def _positive(days: str) -> str:
    return f"CASE WHEN {days} > 0 THEN {days} ELSE 0 END"


def charged_interest_sql(alias: str = "d") -> str:
    """Normal interest charged in all, to the end of the day before ``:next_ord``."""
    d = alias
    normal_days = (
        f"CASE WHEN {d}.overdue_day < :next_ord THEN {d}.overdue_day ELSE :next_ord END"
        f" - {d}.since_day"
    )
    fen_days = f"{d}.normal_fen_days + {d}.principal * {_positive(normal_days)}"
    return _by_method(
        d, charged_sql(fen_days, f"{d}.annual_rate_ppm", f"{d}.day_basis"), "interest"
    )


def charged_penalty_sql(alias: str = "d") -> str:
    """Penalty interest (罚息) charged in all, to the end of the day before ``:next_ord``."""
    d = alias
    penalty_days = (
        f":next_ord - CASE WHEN {d}.since_day > {d}.overdue_day"
        f" THEN {d}.since_day ELSE {d}.overdue_day END"
    )
    fen_days = f"{d}.penalty_fen_days + {d}.principal * {_positive(penalty_days)}"
    return _by_method(
        d, charged_sql(fen_days, f"{d}.penalty_rate_ppm", f"{d}.day_basis"), "penalty"
    )


def _by_method(d: str, clock: str, kind: str) -> str:
    return f"(CASE WHEN {d}.method = 'bullet' THEN {clock} ELSE {d}.{kind}_charged END)"
