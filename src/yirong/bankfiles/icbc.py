"""工商银行 (ICBC) exports, CSV or XLSX, in either of its two layouts:

* "historydetail*.xlsx": one title row, then 凭证号, 本方账号, 对方账号, 交易时间
  (``2026-01-05 09:30:01``), 借/贷, 借方发生额, 贷方发生额, 对方行号, 摘要, 用途,
  对方单位名称, 余额. 凭证号 is the bank serial.
* the account-detail layout with 转出金额/转入金额 and no serial at all: 交易日期,
  交易时间, 摘要, 用途, 转入金额, 转出金额, 余额, 对方户名, 对方账号, 对方开户行; the
  account is in a title row (``账号：...``). Its lines' identities are composed.

The account is the 本方账号 column, else a title row. Neither layout prints a value
date, an end-to-end reference or a sub-account; a reversal shows as a negative amount."""

from __future__ import annotations

from yirong.bankfiles.model import BankStatement
from yirong.bankfiles.profile import Profile, read_profile
from yirong.bankfiles.tabular import read_sheet

PROFILE = Profile(
    format="icbc",
    columns={
        "date": ("交易日期", "记账日期", "交易时间"),
        "time": ("交易时间",),
        "value_date": ("起息日",),
        "debit": ("借方发生额", "转出金额", "支出金额"),
        "credit": ("贷方发生额", "转入金额", "收入金额"),
        "balance": ("余额", "账户余额"),
        "direction_mark": ("借/贷", "借贷标志"),
        "serial": ("凭证号",),
        "counterparty_name": ("对方单位名称", "对方户名", "对方账户名称"),
        "counterparty_account": ("对方账号", "对方账户"),
        "counterparty_bank": ("对方行号", "对方开户行", "对方行名"),
        "account": ("本方账号",),
        "account_name": ("本方户名", "本方账户名称"),
        "currency": ("币种",),
    },
    memo_columns=("摘要", "用途", "附言"),
    required=("date", "debit", "credit", "balance"),
    signature=("借方发生额", "贷方发生额", "转出金额", "转入金额"),
)


def parse(content: bytes) -> list[BankStatement]:
    return read_profile(read_sheet(content), PROFILE)
