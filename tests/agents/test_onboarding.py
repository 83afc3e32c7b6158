"""Onboarding agents, on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tests.agents.ids import luhn, resident_id
from tests.conftest import FIRST_DAY
from yirong.agents.service import OPERATOR, AgentInput, get_agent, onboard_agent, onboard_agents
from yirong.demo.identities import firm
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.wallets import service as wallets


def refused(call: object, *args: object) -> str:
    with pytest.raises(YirongError) as refusal:
        call(*args)  # type: ignore[operator]
    return refusal.value.code


def not_onboarded(db: Database, code: str) -> bool:
    agent_gone = refused(get_agent, db, code, OPERATOR) == "agent_not_found"
    wallet_gone = refused(wallets.wallet, db, f"agent:{code}") == "wallet_not_found"
    return agent_gone and wallet_gone


def test_onboarding_opens_the_agents_wallet(db: Database) -> None:
    data = firm(1)
    view = onboard_agent(db, data)
    assert (view.code, view.onboarded_on, view.masked) == (data.code, FIRST_DAY, False)
    wallet = wallets.wallet(db, data.code)
    assert (wallet.handle, wallet.name, wallet.balance) == (f"agent:{data.code}", data.name, 0)
    assert wallet.opened_on == FIRST_DAY
    wallets.credit_from_bank(db, data.code, 100, "first-top-up")  # the wallet takes money
    assert wallets.wallet(db, f"agent:{data.code}").balance == 100


def test_identifiers_are_stored_normalised(db: Database) -> None:
    rep_id = resident_id("110101", date(1985, 6, 15), "006")  # ends in X
    card = luhn("622202100111555")
    data = AgentInput(
        code="A100",
        name="  杭州王记通信店 ",
        uscc="9111 0000 6000 3734 1l",
        legal_rep_name=" 王伟 ",
        legal_rep_id=rep_id.lower(),
        mobile="+86 138-0013-8000",
        bank_card=f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}",
        bank_name=" 招商银行",
    )
    onboard_agent(db, data)
    stored = get_agent(db, "A100", OPERATOR)
    assert stored.name == "杭州王记通信店"
    assert stored.uscc == "91110000600037341L"
    assert stored.legal_rep_name == "王伟"
    assert stored.legal_rep_id == rep_id
    assert stored.mobile == "+8613800138000"
    assert stored.bank_card == card
    assert stored.bank_name == "招商银行"


def test_a_duplicate_credit_code_is_refused(db: Database) -> None:
    onboard_agent(db, replace(firm(1), uscc="91110000600037341L"))
    same_firm_again = replace(firm(2), uscc="91110000600037341l")  # written in lower case
    assert refused(onboard_agent, db, same_firm_again) == "agent_uscc_taken"
    assert not_onboarded(db, same_firm_again.code)


def test_a_duplicate_agent_code_is_refused(db: Database) -> None:
    onboard_agent(db, firm(1, code="A7"))
    other_firm = firm(2, code="A7")
    assert refused(onboard_agent, db, other_firm) == "agent_code_taken"
    assert get_agent(db, "A7", OPERATOR).uscc == firm(1).uscc


def test_a_legal_representative_must_be_18_on_the_business_date(db: Database) -> None:
    minor = replace(firm(1), legal_rep_id=resident_id("110101", date(2008, 1, 6), "123"))
    assert refused(onboard_agent, db, minor) == "legal_representative_under_18"
    assert not_onboarded(db, minor.code)
    adult_today = replace(firm(2), legal_rep_id=resident_id("110101", date(2008, 1, 5), "123"))
    assert onboard_agent(db, adult_today).legal_rep_id == adult_today.legal_rep_id


BAD_FIELDS: list[tuple[dict[str, object], str]] = [
    ({"uscc": "91110000600037342L"}, "uscc_invalid"),
    ({"legal_rep_id": "360426910101007"}, "resident_id_invalid"),
    ({"mobile": "01012345678"}, "mobile_invalid"),
    ({"bank_card": "4111111111111112"}, "bank_card_invalid"),
    ({"name": "   "}, "name_invalid"),
    ({"bank_name": "x" * 101}, "name_invalid"),
    ({"wallet_class": 4}, "wallet_class_invalid"),
    ({"code": "A 1"}, "wallet_owner_invalid"),
    ({"carrier_since": date(2026, 1, 6)}, "date_in_future"),
]


def test_a_firm_with_a_bad_field_is_not_onboarded(db: Database) -> None:
    for change, code in BAD_FIELDS:
        bad = replace(firm(1), **change)  # type: ignore[arg-type]
        assert (change, refused(onboard_agent, db, bad)) == (change, code)
        assert not_onboarded(db, firm(1).code)


def test_carrier_since_defaults_to_the_onboarding_date(db: Database) -> None:
    assert onboard_agent(db, firm(1)).carrier_since == FIRST_DAY
    since = date(2019, 7, 15)
    assert onboard_agent(db, firm(2, carrier_since=since)).carrier_since == since


def test_a_batch_is_onboarded_all_or_nothing(db: Database) -> None:
    batch = [firm(1), firm(2), replace(firm(3), mobile="12345678901"), firm(4)]
    assert refused(onboard_agents, db, batch) == "mobile_invalid"
    assert all(not_onboarded(db, data.code) for data in batch)
    good = [firm(1), firm(2), firm(4)]
    assert onboard_agents(db, good) == 3
    assert [get_agent(db, data.code, OPERATOR).uscc for data in good] == [d.uscc for d in good]


def test_a_batch_carrying_the_same_firm_twice_onboards_nothing(db: Database) -> None:
    batch = [firm(1), firm(2), replace(firm(3), uscc=firm(1).uscc)]
    assert refused(onboard_agents, db, batch) == "agent_uscc_taken"
    assert all(not_onboarded(db, data.code) for data in batch)
