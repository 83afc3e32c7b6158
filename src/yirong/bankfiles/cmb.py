"""招商银行 (China Merchants Bank) corporate online-banking export, CSV (GBK or UTF-8)
or XLSX. Title rows above the table carry the account (``账号：755915678910802``), its
name and currency, maybe the period (``起始日期``/``终止日期``); the table's columns:
交易日, 交易时间, 起息日, 交易类型, 借方金额, 贷方金额, 余额, 用途, 流水号, 业务参考号,
业务摘要, 收(付)方名称, 收(付)方账号, 收(付)方开户行, 冲账标志, 商务支付订单号 (the
36-column variant also prints 账号, 账号名称, 币种 and 摘要 on every row).

Read as: 流水号 the bank serial; 业务参考号 (else 商务支付订单号) the end-to-end
reference; 摘要, 用途, 业务摘要 the memo; 冲账标志 Y/是/* a reversal; 记账子单元编号 or
虚拟账号, where present, the sub-account credited. 交易类型 is not kept."""

from __future__ import annotations

from yirong.bankfiles.model import BankStatement
from yirong.bankfiles.profile import Profile, read_profile
from yirong.bankfiles.tabular import read_sheet

PROFILE = Profile(
    format="cmb",
    columns={
        "date": ("交易日", "交易日期", "记账日期"),
        "time": ("交易时间",),
        "value_date": ("起息日",),
        "debit": ("借方金额",),
        "credit": ("贷方金额",),
        "balance": ("余额", "联机余额"),
        "serial": ("流水号",),
        "end_to_end_ref": ("业务参考号",),
        "order_ref": ("商务支付订单号",),
        "counterparty_name": ("收(付)方名称",),
        "counterparty_account": ("收(付)方账号",),
        "counterparty_bank": ("收(付)方开户行", "收(付)方开户行名"),
        "reversal": ("冲账标志", "冲帐标志"),
        "virtual_account": ("记账子单元编号", "虚拟账号", "子账号"),
        "account": ("账号",),
        "account_name": ("账号名称", "户名"),
        "currency": ("币种",),
    },
    memo_columns=("摘要", "用途", "业务摘要"),
    required=("date", "debit", "credit", "balance"),
    signature=("借方金额", "贷方金额"),
)


def parse(content: bytes) -> list[BankStatement]:
    return read_profile(read_sheet(content), PROFILE)
