"""Builds the two XLSX samples from the cell values typed below (run it from the repository
root: ``.venv/bin/python tests/bankfiles/samples/make_xlsx.py``). The workbooks are
committed; this script says what is in them. Amounts are typed as numbers where a bank's
export stores numbers: Excel keeps those as binary floats, which is exactly what the
reader has to cope with."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent

CMB_ROWS: list[list[object]] = [
    ["招商银行交易明细"],
    ["账号：", "755915678910802"],
    ["账户名称：易融支付有限公司备付金"],
    ["币种：人民币"],
    [],
    [
        "交易日",
        "交易时间",
        "起息日",
        "交易类型",
        "借方金额",
        "贷方金额",
        "余额",
        "用途",
        "流水号",
        "业务参考号",
        "业务摘要",
        "收(付)方名称",
        "收(付)方账号",
        "收(付)方开户行",
        "冲账标志",
        "商务支付订单号",
        "记账子单元编号",
    ],
    [
        "2026-01-09",
        "09:05:00",
        "2026-01-09",
        "汇入汇款",
        None,
        8888.88,
        1305364.38,
        "充值 W100023",
        "K3052300000201C",
        "",
        "汇入汇款",
        "王五",
        "6217001234567890",
        "中国建设银行",
        "N",
        "",
        "7559156789108020001",
    ],
    [
        "2026-01-09",
        "09:40:12",
        "2026-01-09",
        "汇入汇款",
        None,
        200,
        1305564.38,
        "充值 W100024",
        "K3052300000202C",
        "",
        "",
        "赵六",
        "6217001234560000",
        "中国农业银行",
        "N",
        "",
        "7559156789108020002",
    ],
    [
        "2026-01-09",
        "15:00:00",
        "2026-01-09",
        "汇出汇款",
        1000,
        None,
        1304564.38,
        "提现 WD0001",
        "K3052300000203C",
        "WD0001",
        "",
        "王五",
        "6217001234567890",
        "中国建设银行",
        "N",
        "",
        "",
    ],
]

# 工商银行 historydetail, listed newest first as the bank lists it.
ICBC_ROWS: list[list[object]] = [
    ["工商银行账户历史明细（2026-01-05 至 2026-01-06）"],
    [
        "凭证号",
        "本方账号",
        "对方账号",
        "交易时间",
        "借/贷",
        "借方发生额",
        "贷方发生额",
        "对方行号",
        "摘要",
        "用途",
        "对方单位名称",
        "余额",
    ],
    [
        "",
        "1202021309900123456",
        "",
        "2026-01-06 11:11:11",
        "借",
        10,
        None,
        "",
        "手续费",
        "",
        "",
        "248,755.44",
    ],
    [
        "0123456790",
        "1202021309900123456",
        "6222021234567890123",
        "2026-01-05 15:30:12",
        "借",
        1234.56,
        None,
        "102584000002",
        "汇款",
        "代付 PAY0105",
        "张三",
        "248,765.44",
    ],
    [
        "0123456789",
        "1202021309900123456",
        "3301040160000001234",
        "2026-01-05 09:00:00",
        "贷",
        None,
        50000,
        "313331000014",
        "转账",
        "放款 YR202601050000000009",
        "杭州某小额贷款有限公司",
        "250,000.00",
    ],
]


def build(rows: list[list[object]], path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)


if __name__ == "__main__":
    build(CMB_ROWS, HERE / "cmb.xlsx")
    build(ICBC_ROWS, HERE / "icbc_historydetail.xlsx")
