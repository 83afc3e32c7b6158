"""The demo's funders: three lenders with different appetites, and a factoring
company (which may not offer loans, and is refused when it tries)."""

from __future__ import annotations

import json
from decimal import Decimal

from yirong.funders.service import FunderInput, ProductInput

CAREFUL = {
    "product": "LINE",
    "term_days": 90,
    "min_tenure_months": 12,
    "max_months_without_income": 1,
    "points": {
        "per_10k_yuan_income_12m": 2,
        "per_10pct_trend": 2,
        "per_10pct_volatility": -3,
        "per_year_tenure": 4,
        "per_month_without_income": -10,
    },
    "tiers": [
        {"min_score": 60, "annual_rate": "0.0850", "limit_months_of_income": "3"},
        {"min_score": 40, "annual_rate": "0.1080", "limit_months_of_income": "2"},
        {"min_score": 25, "annual_rate": "0.1440", "limit_months_of_income": "1.5"},
    ],
}
BROAD = {
    "product": "LINE",
    "term_days": 60,
    "min_tenure_months": 3,
    "max_months_without_income": 4,
    "points": {
        "per_10k_yuan_income_12m": 1,
        "per_10pct_trend": 1,
        "per_10pct_volatility": -1,
        "per_year_tenure": 2,
        "per_month_without_income": -3,
    },
    "tiers": [
        {"min_score": 30, "annual_rate": "0.1380", "limit_months_of_income": "2"},
        {"min_score": 10, "annual_rate": "0.1680", "limit_months_of_income": "1.5"},
        {"min_score": -20, "annual_rate": "0.1980", "limit_months_of_income": "1"},
    ],
}
GROWTH = {
    "product": "TERM6",
    "term_days": 180,
    "min_tenure_months": 6,
    "max_months_without_income": 2,
    "points": {
        "per_10k_yuan_income_12m": 1,
        "per_10pct_trend": 4,
        "per_10pct_volatility": -2,
        "per_year_tenure": 1,
        "per_month_without_income": -6,
    },
    "tiers": [
        {"min_score": 35, "annual_rate": "0.1200", "limit_months_of_income": "4"},
        {"min_score": 15, "annual_rate": "0.1560", "limit_months_of_income": "3"},
    ],
}


def line(
    code: str, name: str, min_rate: str, max_rate: str, min_limit: int, max_limit: int
) -> ProductInput:
    """A revolving working-capital line: drawdowns of 7 to 180 days, daily interest."""
    return ProductInput(
        code=code,
        name=name,
        kind="revolving",
        method="revolving",
        min_rate=Decimal(min_rate),
        max_rate=Decimal(max_rate),
        min_limit=min_limit,
        max_limit=max_limit,
        min_term_days=7,
        max_term_days=180,
        day_basis=360,
        penalty_multiplier=Decimal("1.5"),
        grace_days=3,
    )


FUNDERS: list[tuple[FunderInput, list[ProductInput]]] = [
    (
        FunderInput(
            code="F01",
            name="杭州易贷小额贷款有限公司 Hangzhou Yidai Micro-Loan",
            licence="micro_loan",
            contact="风控部 risk@yidai.example, 0571-8888 0001",
            settlement_bank_account="3301040160000001234",
            settlement_bank_name="杭州银行",
            revenue_share=Decimal("0.20"),
            decision_mode="scorecard",
            scorecard=json.dumps(CAREFUL),
        ),
        [
            line(
                "LINE",
                "经营循环贷 Revolving working-capital line",
                "0.08",
                "0.18",
                500_000,
                50_000_000,
            )
        ],
    ),
    (
        FunderInput(
            code="F02",
            name="浙江网商小额贷款有限公司 Zhejiang Online Micro-Loan",
            licence="internet_micro_loan",
            contact="客服 95188-2, credit@wangshang.example",
            settlement_bank_account="3301040160000005678",
            settlement_bank_name="浙江网商银行",
            revenue_share=Decimal("0.25"),
            decision_mode="scorecard",
            scorecard=json.dumps(BROAD),
        ),
        [line("LINE", "随借随还 Borrow and repay any day", "0.12", "0.21", 300_000, 30_000_000)],
    ),
    (
        FunderInput(
            code="F03",
            name="钱江小额贷款股份有限公司 Qianjiang Micro-Loan",
            licence="micro_loan",
            contact="信贷部 0571-8888 0003, loans@qianjiang.example",
            settlement_bank_account="3301040160000009012",
            settlement_bank_name="中国工商银行",
            revenue_share=Decimal("0.15"),
            share_settlement="net",  # its agreement: the share kept back from payouts
            decision_mode="scorecard",
            scorecard=json.dumps(GROWTH),
        ),
        [
            ProductInput(
                code="TERM6",
                name="6期等额本息 Six monthly instalments",
                kind="term",
                method="equal-installment",
                periods=6,
                min_rate=Decimal("0.10"),
                max_rate=Decimal("0.18"),
                min_limit=1_000_000,
                max_limit=80_000_000,
                min_term_days=180,
                max_term_days=184,
                day_basis=360,
                fee=Decimal("0.005"),
            )
        ],
    ),
]

FACTORING = FunderInput(
    code="F04",
    name="钱塘商业保理有限公司 Qiantang Commercial Factoring",
    licence="factoring",
    contact="0571-8888 0004",
    settlement_bank_account="3301040160000003456",
    settlement_bank_name="宁波银行",
    revenue_share=Decimal("0.10"),
    decision_mode="manual",
)
