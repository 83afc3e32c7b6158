"""Synthetic but valid firms for the demo, the tests and the benchmarks: check digits
come from the same libraries that validate them, so every generated identifier
passes onboarding. Nothing here is anyone's real data."""

from __future__ import annotations

import random
from datetime import date

from stdnum import luhn
from stdnum.cn import ric, uscc

from yirong.agents.service import AgentInput

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
SHOP_WORDS = ("通信", "数码", "手机", "电讯", "移动", "科技", "商贸", "通讯")
CITIES = ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "台州")
# Area codes that existed throughout 1960-1999 (stdnum checks the code against the birth date).
AREAS = ("110101", "110105", "310101", "310104", "120101", "330100", "330200", "440100")
BANKS = ("中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "招商银行")


def firm(
    n: int,
    *,
    rnd: random.Random | None = None,
    code: str | None = None,
    carrier_since: date | None = None,
) -> AgentInput:
    """The n-th synthetic firm (deterministic for a given n and random stream)."""
    r = rnd or random.Random(n)
    head = f"9133{n % 10_000:04d}{(n // 10_000) % 100_000_000:08d}"
    body = (head + "".join(r.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(3)))[:17]
    credit_code = body + uscc.calc_check_digit(body)
    born = date(1960 + r.randrange(40), 1 + r.randrange(12), 1 + r.randrange(28))
    id_body = f"{r.choice(AREAS)}{born:%Y%m%d}{r.randrange(1000):03d}"
    person = r.choice(SURNAMES) + r.choice(GIVEN) + (r.choice(GIVEN) if r.random() < 0.6 else "")
    card_body = f"62{r.randrange(10**15):015d}"
    return AgentInput(
        code=code or f"A{n:06d}",
        name=f"{r.choice(CITIES)}{person[0]}记{r.choice(SHOP_WORDS)}店",
        uscc=credit_code,
        legal_rep_name=person,
        legal_rep_id=id_body + ric.calc_check_digit(id_body + "0"),  # it skips the last digit
        mobile=f"13{r.randrange(10)}{r.randrange(10**8):08d}",
        bank_card=card_body + luhn.calc_check_digit(card_body),
        bank_name=r.choice(BANKS),
        wallet_class=2 if r.random() < 0.9 else 3,
        carrier_since=carrier_since,
    )
