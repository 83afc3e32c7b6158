"""What the demo did, counted: shown as a table and, with ``--json``, as one line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from yirong.ledger.verify import VerifyReport


@dataclass
class DemoResult:
    counts: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    reserve_fen: int = 0  # the books' reserve account
    carrier_fen: int = 0
    bank_fen: int = 0  # the bank's closing balance after its last statement
    unbooked_fen: int = 0  # lines released from suspense, open (see record.unbooked_fen)
    exceptions_by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    report: VerifyReport | None = None

    @property
    def verify_ok(self) -> bool:
        return self.report is not None and self.report.ok

    @property
    def bank_agrees(self) -> bool:
        """The books' reserve account shows what the bank does, but for the lines an
        operator took out of suspense while their exception is still open."""
        return self.reserve_fen == self.bank_fen - self.unbooked_fen
