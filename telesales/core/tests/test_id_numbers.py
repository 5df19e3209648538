"""Chinese resident ID numbers (GB 11643-1999): checksum, region, birth date, legacy 15-digit
numbers, spreadsheet cells and masking."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from telesales.core.id_numbers import (
    ID_NUMBER_ERRORS,
    PROVINCE_CODES,
    IdNumberResult,
    id_number_check_character,
    mask_id_number,
    validate_id_number,
)

PROPERTY = hypothesis_settings(max_examples=200, deadline=None)
TODAY = date(2026, 11, 26)

# The two examples printed in GB 11643-1999 itself.
BEIJING_WOMAN = "11010519491231002X"
SHANTOU_MAN = "440524188001010014"


@st.composite
def valid_id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(sorted(PROVINCE_CODES))) + f"{draw(st.integers(0, 9999)):04d}"
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    first17 = region + born.strftime("%Y%m%d") + f"{draw(st.integers(0, 999)):03d}"
    return first17 + id_number_check_character(first17)


def test_the_standards_own_examples_validate():
    woman = validate_id_number(BEIJING_WOMAN, today=TODAY)
    assert woman == IdNumberResult(BEIJING_WOMAN, date(1949, 12, 31), "F", None)
    man = validate_id_number(SHANTOU_MAN, today=TODAY)
    assert man == IdNumberResult(SHANTOU_MAN, date(1880, 1, 1), "M", None)
    assert woman.ok and woman.message == ""


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        " 11010519491231002X ",
        "110105 19491231 002X",
        "110105-19491231-002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２ｘ",
    ],
)
def test_lower_case_x_full_width_and_spaces_are_normalised(raw):
    assert validate_id_number(raw, today=TODAY).value == BEIJING_WOMAN


def test_legacy_15_digit_number_is_converted_to_18():
    result = validate_id_number("110105491231002", today=TODAY)
    assert result.value == BEIJING_WOMAN
    assert result.converted_from_15
    assert result.birth_date == date(1949, 12, 31)
    assert result.gender == "F"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (440524188001010014, SHANTOU_MAN),  # an int cell holds 18 digits exactly
        (110105491231002, BEIJING_WOMAN),  # a 15-digit number fits a float exactly
        (110105491231002.0, BEIJING_WOMAN),
        (Decimal("440524188001010014"), SHANTOU_MAN),
    ],
)
def test_spreadsheet_numbers_are_accepted_when_exact(raw, expected):
    assert validate_id_number(raw, today=TODAY).value == expected


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (None, "empty"),
        ("", "empty"),
        ("  ", "empty"),
        ("abc", "not_an_id_number"),
        ("1101051949123100X2", "not_an_id_number"),
        ("11010519491231002Y", "not_an_id_number"),
        ("110105194912310０2X", None),  # one full-width digit is still a digit
        (True, "not_an_id_number"),
        (-1, "not_an_id_number"),
        (["11010519491231002X"], "not_an_id_number"),
        ("11010519491231002", "wrong_length"),
        ("11010519491231002XX", "not_an_id_number"),
        ("1101051949123100211", "wrong_length"),
        ("12345", "wrong_length"),
        (4.40524188001010014e17, "lost_digits"),
        (Decimal("4.40524E+17"), "lost_digits"),
        ("99010519491231002X", "unknown_region"),
        ("00010519491231002X", "unknown_region"),
        ("110105194913310021", "invalid_birth_date"),
        ("110105194902300021", "invalid_birth_date"),
        ("110105184912310021", "invalid_birth_date"),  # before 1850
        ("110105000012310021", "invalid_birth_date"),
        ("110105202612270021", "birth_date_in_future"),
        ("11010519491231003X", "checksum_mismatch"),
        ("110105194912310021", "checksum_mismatch"),
    ],
)
def test_each_error_code(raw, error):
    result = validate_id_number(raw, today=TODAY)
    assert result.error == error
    if error:
        assert result.value is None and result.birth_date is None and result.gender is None
        assert result.message == str(ID_NUMBER_ERRORS[error])


def test_huge_numbers_are_the_wrong_length_not_a_crash():
    assert validate_id_number(10**5000).error == "wrong_length"  # str() of it would raise
    assert validate_id_number(Decimal(10**4000)).error == "wrong_length"
    assert mask_id_number(10**5000) == ""


def test_birth_date_today_is_allowed_and_tomorrow_is_not():
    first17 = "110105" + TODAY.strftime("%Y%m%d") + "001"
    assert validate_id_number(first17 + id_number_check_character(first17), today=TODAY).ok
    tomorrow = TODAY + timedelta(days=1)
    first17 = "110105" + tomorrow.strftime("%Y%m%d") + "001"
    result = validate_id_number(first17 + id_number_check_character(first17), today=TODAY)
    assert result.error == "birth_date_in_future"


def test_default_today_is_the_local_date():
    assert validate_id_number(BEIJING_WOMAN).ok
    assert validate_id_number("110105209912310021").error == "birth_date_in_future"


def test_every_error_code_has_a_message():
    assert all(str(message) for message in ID_NUMBER_ERRORS.values())


@pytest.mark.parametrize("bad", ["1101051949123100", "11010519491231002X", "1101051949123100a"])
def test_check_character_takes_exactly_17_digits(bad):
    with pytest.raises(ValueError, match="17 digits"):
        id_number_check_character(bad)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (BEIJING_WOMAN, "110105********002X"),
        ("110105194912311234", "110105********1234"),
        ("110105491231002", "110105*****1002"),
        ("12345", "*****"),
        ("1234567890", "**********"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id_number_keeps_first_6_and_last_4(value, masked):
    assert mask_id_number(value) == masked


# --- Properties -----------------------------------------------------------------------------


@PROPERTY
@given(valid_id_numbers())
def test_generated_valid_ids_validate(id_number):
    result = validate_id_number(id_number, today=TODAY)
    assert result.ok, result.error
    assert result.value == id_number
    assert result.birth_date == date(
        int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])
    )
    assert result.gender == ("M" if int(id_number[16]) % 2 else "F")
    assert validate_id_number(id_number.lower(), today=TODAY).value == id_number
    assert result.masked == id_number[:6] + "********" + id_number[-4:]


@PROPERTY
@given(valid_id_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_fails(id_number, position, shift):
    digit = str((int(id_number[position]) + shift) % 10)
    changed = id_number[:position] + digit + id_number[position + 1 :]
    assert not validate_id_number(changed, today=TODAY).ok


@PROPERTY
@given(valid_id_numbers(), st.integers(0, 15))
def test_any_swap_of_two_adjacent_different_digits_fails(id_number, position):
    a, b = id_number[position], id_number[position + 1]
    if a != b:
        swapped = id_number[:position] + b + a + id_number[position + 2 :]
        assert not validate_id_number(swapped, today=TODAY).ok


@PROPERTY
@given(valid_id_numbers())
def test_a_wrong_check_character_fails(id_number):
    for check in "0123456789X":
        if check != id_number[-1]:
            result = validate_id_number(id_number[:17] + check, today=TODAY)
            assert result.error == "checksum_mismatch"


@PROPERTY
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789Xx１２３ -"),
        st.integers(),
        st.floats(),
        st.decimals(),
        st.none(),
    )
)
def test_validate_and_mask_never_raise(raw):
    result = validate_id_number(raw, today=TODAY)
    assert (result.value is None) == (result.error is not None)
    assert result.error is None or result.error in ID_NUMBER_ERRORS
    masked = mask_id_number(raw)
    assert isinstance(masked, str)
    if result.ok:
        assert "*" in result.masked
