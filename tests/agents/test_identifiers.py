"""Chinese identifiers, checked against known values and the standards' rules."""

from __future__ import annotations

from datetime import date

import pytest

from tests.agents.ids import luhn, resident_id, with_check_digit
from yirong.agents import identifiers
from yirong.errors import YirongError

ON = date(2026, 1, 5)


def refusal(call: object, *args: object, **kwargs: object) -> YirongError:
    with pytest.raises(YirongError) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    return refused.value


def test_the_helpers_agree_with_published_check_digits() -> None:
    assert resident_id("360426", date(1991, 1, 1), "007") == "360426199101010071"
    assert luhn("411111111111111") == "4111111111111111"
    assert luhn("37828224631000") == "378282246310005"


# ---------------------------------------------------------------- 统一社会信用代码


def test_a_valid_unified_social_credit_code_is_accepted() -> None:
    assert identifiers.unified_social_credit_code("91110000600037341L") == "91110000600037341L"


def test_a_credit_code_is_normalised_to_upper_case_without_spaces() -> None:
    assert identifiers.unified_social_credit_code("9111 0000 6000 3734 1l") == "91110000600037341L"


@pytest.mark.parametrize(
    "value",
    [
        "91110000600037342L",  # wrong check character
        "91110000600037341",  # 17 characters
        "91110000600037341LL",  # 19 characters
        "9111000060003734IL",  # I is not in the GB 32100 alphabet
        "",
    ],
)
def test_a_bad_credit_code_is_refused(value: str) -> None:
    assert refusal(identifiers.unified_social_credit_code, value).code == "uscc_invalid"


# ---------------------------------------------------------------- 居民身份证号


def test_a_valid_resident_id_is_accepted() -> None:
    assert identifiers.resident_id("360426199101010071", on=ON) == "360426199101010071"


def test_a_resident_id_with_a_wrong_check_digit_is_refused() -> None:
    assert refusal(identifiers.resident_id, "360426199101010072", on=ON).code == (
        "resident_id_invalid"
    )


def test_an_old_fifteen_digit_resident_id_is_refused() -> None:
    assert refusal(identifiers.resident_id, "360426910101007", on=ON).code == "resident_id_invalid"


@pytest.mark.parametrize(
    "value",
    [
        "36042619910101007",  # 17 characters
        "3604261991010100711",  # 19 characters
        resident_id("360426", date(1991, 1, 1), "007")[:-1] + "A",  # not a check character
    ],
)
def test_a_malformed_resident_id_is_refused(value: str) -> None:
    assert refusal(identifiers.resident_id, value, on=ON).code == "resident_id_invalid"


def test_an_impossible_birth_date_is_refused_even_with_a_right_check_digit() -> None:
    born_on_30_february = with_check_digit("360426" + "19910230" + "007")
    assert refusal(identifiers.resident_id, born_on_30_february, on=ON).code == (
        "resident_id_invalid"
    )


def test_a_lower_case_x_check_digit_is_normalised() -> None:
    with_x = resident_id("110101", date(1985, 6, 15), "006")
    assert with_x.endswith("X")
    assert identifiers.resident_id(with_x.lower(), on=ON) == with_x


def test_a_legal_representative_under_18_on_the_business_date_is_refused() -> None:
    day_before_18th_birthday = resident_id("110101", date(2008, 1, 6), "123")
    refused = refusal(identifiers.resident_id, day_before_18th_birthday, on=ON)
    assert refused.code == "legal_representative_under_18"
    assert refused.details["age"] == 17


def test_a_legal_representative_is_adult_on_the_18th_birthday() -> None:
    eighteen_today = resident_id("110101", date(2008, 1, 5), "123")
    assert identifiers.resident_id(eighteen_today, on=ON) == eighteen_today
    assert refusal(identifiers.resident_id, eighteen_today, on=date(2026, 1, 4)).code == (
        "legal_representative_under_18"
    )


# ---------------------------------------------------------------- mobile numbers


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("19212345678", "+8619212345678"),  # 192: China Broadnet
        ("17012345678", "+8617012345678"),  # 170: virtual operators
    ],
)
def test_a_mainland_mobile_is_normalised_to_e164(value: str, e164: str) -> None:
    assert identifiers.mainland_mobile(value) == e164


@pytest.mark.parametrize(
    "value",
    [
        "12345678901",  # no such mobile prefix
        "01012345678",  # a Beijing landline
        "1380013800",  # a digit short
        "138001380001",  # a digit too many
        "+14155552671",  # United States
        "+85291234567",  # Hong Kong
        "not a number",
    ],
)
def test_anything_but_a_mainland_mobile_is_refused(value: str) -> None:
    assert refusal(identifiers.mainland_mobile, value).code == "mobile_invalid"


# ---------------------------------------------------------------- bank cards


@pytest.mark.parametrize("length", [16, 17, 18, 19])
def test_a_card_of_16_to_19_digits_with_a_right_check_digit_is_accepted(length: int) -> None:
    card = luhn("62" + "3" * (length - 3))
    assert len(card) == length
    assert identifiers.bank_card(card) == card


def test_a_card_number_is_kept_without_spaces() -> None:
    assert identifiers.bank_card("4111 1111 1111 1111") == "4111111111111111"


def test_a_card_with_a_wrong_check_digit_is_refused() -> None:
    card = luhn("622202100111555")
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert refusal(identifiers.bank_card, wrong).code == "bank_card_invalid"


@pytest.mark.parametrize(
    "value",
    [
        "378282246310005",  # 15 digits, Luhn-valid
        luhn("6" * 19),  # 20 digits, Luhn-valid
        "4111-1111-1111-1111",
        "",
    ],
)
def test_a_card_of_the_wrong_length_or_form_is_refused(value: str) -> None:
    assert refusal(identifiers.bank_card, value).code == "bank_card_invalid"


# ---------------------------------------------------------------- no echo


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (lambda v: identifiers.resident_id(v, on=ON), "360426199101010072"),
        (
            lambda v: identifiers.resident_id(v, on=ON),
            resident_id("110101", date(2010, 3, 3), "001"),
        ),
        (identifiers.mainland_mobile, "12345678901"),
        (identifiers.bank_card, "4111111111111112"),
    ],
)
def test_a_refusal_never_echoes_the_personal_data_it_refused(check: object, value: str) -> None:
    refused = refusal(check, value)
    assert value not in str(refused)
    assert value not in repr(refused.as_dict())
