"""Bank statement files (银行对账单): every supported layout read into one model of
immutable values, proved (in yuan, balances chaining) before it is returned, and written
back for the simulated bank and tests. Pure: bytes in, values out; no database, no
network.

Layouts: ISO 20022 camt.053 (``camt053``), SWIFT MT940 (``mt940``), 招商银行's export
(``cmb``), 工商银行's exports (``icbc``) and Yirong's own CSV (``csv``)."""

from yirong.bankfiles.model import (
    BankLine,
    BankStatement,
    Direction,
    line_identity,
    number_repeats,
)
from yirong.bankfiles.parse import FORMATS, parse_statements, sniff
from yirong.bankfiles.write import (
    write_camt053,
    write_cmb,
    write_csv,
    write_icbc,
    write_mt940,
)

__all__ = [
    "FORMATS",
    "BankLine",
    "BankStatement",
    "Direction",
    "line_identity",
    "number_repeats",
    "parse_statements",
    "sniff",
    "write_camt053",
    "write_cmb",
    "write_csv",
    "write_icbc",
    "write_mt940",
]
