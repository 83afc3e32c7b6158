"""A drawdown's interest clock, pure and exact, without a row per loan per day.

Interest is charged on the principal outstanding at the end of each day: the day the
money is credited counts, the day it is repaid does not (算头不算尾). Instead of a row
per day, a drawdown keeps the integral of its principal over time in fen-days, split
into days at the contract rate and days at the penalty rate (on and after the day it
is overdue). The interest charged up to any day is that integral times the rate over
the day basis, rounded half-up to the fen *once, cumulatively*: each charge is the
rounded total so far minus what was charged before, so the remainder carries and no
fen is lost or invented over the loan's life, however it is repaid.

Everything is integer arithmetic (rates in millionths), so the SQL of the end of day
computes the very same figures (see :func:`charged_sql`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from yirong.money import PPM, divide_half_up, ppm_of


@dataclass(frozen=True, slots=True)
class Clock:
    """Principal outstanding since ``since`` (a day ordinal), with the fen-days
    accumulated before it. ``overdue_from`` is the first day at the penalty rate."""

    principal: int
    since: int
    normal_fen_days: int
    penalty_fen_days: int
    overdue_from: int

    @classmethod
    def start(cls, principal: int, credited_on: date, overdue_from: date) -> Clock:
        return cls(principal, credited_on.toordinal(), 0, 0, overdue_from.toordinal())

    def fen_days(self, day: date) -> tuple[int, int]:
        """(normal, penalty) fen-days of the days before ``day``."""
        d = day.toordinal()
        normal_days = max(0, min(d, self.overdue_from) - self.since)
        penalty_days = max(0, d - max(self.since, self.overdue_from))
        return (
            self.normal_fen_days + self.principal * normal_days,
            self.penalty_fen_days + self.principal * penalty_days,
        )

    def moved_to(self, day: date, principal: int) -> Clock:
        """The clock after the principal changes to ``principal`` on ``day`` (a
        repayment: the day's own interest is on what is left at its end)."""
        d = day.toordinal()
        if d < self.since:
            raise ValueError(f"the clock is at {date.fromordinal(self.since)}; {day} is before it")
        normal, penalty = self.fen_days(day)
        return replace(
            self, principal=principal, since=d, normal_fen_days=normal, penalty_fen_days=penalty
        )

    def restored(self, day: date, amount: int, repaid_on: date) -> Clock:
        """The clock as if ``amount`` of principal repaid on ``repaid_on`` had never
        left (the repayment is reversed on ``day``): it is outstanding again, and it
        owes the fen-days it missed in between, at the rate of each of those days."""
        back = Clock(amount, repaid_on.toordinal(), 0, 0, self.overdue_from).fen_days(day)
        moved = self.moved_to(day, self.principal + amount)
        return replace(
            moved,
            normal_fen_days=moved.normal_fen_days + back[0],
            penalty_fen_days=moved.penalty_fen_days + back[1],
        )


def charged(fen_days: int, rate_ppm: int, day_basis: int) -> int:
    """Interest on ``fen_days`` at an annual rate of ``rate_ppm`` millionths, rounded
    half-up to the fen: floor((2·fd·rate + D) / 2D) with D = 10⁶·basis."""
    if fen_days < 0 or rate_ppm < 0:
        raise ValueError("fen-days and rates are never negative")
    return divide_half_up(fen_days * rate_ppm, PPM * day_basis)


def charged_sql(fen_days: str, rate_ppm: str, day_basis: str) -> str:
    """:func:`charged` in SQL, for non-negative integers: ``divide_half_up`` written
    out (integer division truncates on both databases, which for non-negative
    operands is the floor)."""
    scale = f"({PPM} * {day_basis})"
    return f"((2 * ({fen_days}) * ({rate_ppm}) + {scale}) / (2 * {scale}))"


def penalty_rate_ppm(rate_ppm: int, multiplier_ppm: int) -> int:
    """The penalty rate (罚息) written into the drawdown: the contract rate times the
    product's multiplier, to the millionth (half-up)."""
    return ppm_of(rate_ppm, multiplier_ppm)
