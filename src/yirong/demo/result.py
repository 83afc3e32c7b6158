"""What the demo did, counted: shown as a table and, with ``--json``, as one line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from yirong.ledger.verify import VerifyReport


@dataclass
class DemoResult:
    counts: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    reserve_fen: int = 0
    carrier_fen: int = 0
    report: VerifyReport | None = None

    @property
    def verify_ok(self) -> bool:
        return self.report is not None and self.report.ok
