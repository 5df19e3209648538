"""Phone numbers: every spelling a spreadsheet or a person produces, each error code, the fast
path, hashing, masking and the leak detector."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
import threading
import unicodedata
from datetime import date, timedelta
from decimal import Decimal

import phonenumbers
import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

from telesales.core import phone_numbers
from telesales.core.id_numbers import PROVINCE_CODES, id_number_check_character
from telesales.core.phone_numbers import (
    PHONE_ERRORS,
    PHONE_LIKE,
    PhoneResult,
    mask_phone,
    normalise_many,
    normalise_phone,
    phone_hash,
)

PROPERTY = hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


def _cn_type(national: str) -> int:
    """The oracle: phonenumbers' own type for a Chinese national significant number."""
    return phonenumbers.number_type(PhoneNumber(country_code=86, national_number=int(national)))


MOBILE_PREFIXES = [p for p in range(130, 200) if _cn_type(f"{p}12345678") == PhoneNumberType.MOBILE]
AREA_CODES = ["10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "351", "371"]
AREA_CODES += ["431", "451", "512", "531", "551", "571", "591", "731", "755", "757", "769", "871"]
FULL_WIDTH = str.maketrans("0123456789+-() :", "０１２３４５６７８９＋－（）\u3000：")


@st.composite
def valid_mobiles(draw: st.DrawFn) -> str:
    national = f"{draw(st.sampled_from(MOBILE_PREFIXES))}{draw(st.integers(0, 10**8 - 1)):08d}"
    assume(_cn_type(national) == PhoneNumberType.MOBILE)
    return national


@st.composite
def valid_landlines(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(AREA_CODES))
    length = 8 if len(area) == 2 else draw(st.sampled_from([7, 8]))
    first = draw(st.integers(2, 8))
    national = f"{area}{first}{draw(st.integers(0, 10 ** (length - 1) - 1)):0{length - 1}d}"
    assume(_cn_type(national) == PhoneNumberType.FIXED_LINE)
    return national


def _grouped(national: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, start = [], 0
    for size in sizes:
        parts.append(national[start : start + size])
        start += size
    return separator.join(parts)


@st.composite
def mobile_spellings(draw: st.DrawFn, national: str) -> object:
    """Any way a person or a spreadsheet writes this mobile number."""
    form = draw(st.sampled_from(["text", "text", "text", "int", "int86", "float", "decimal"]))
    if form == "int":
        return int(national)
    if form == "int86":
        return int("86" + national)
    if form == "float":
        assume(len(national.rstrip("0")) >= 7)  # see test_float_with_few_significant_digits
        return draw(st.sampled_from([float(national), f"{national}.0", f"{int(national):.10E}"]))
    if form == "decimal":
        return Decimal(national)
    sizes = draw(st.sampled_from([(11,), (3, 4, 4), (3, 8), (7, 4), (3, 4, 4)]))
    body = _grouped(national, sizes, draw(st.sampled_from(["", " ", "-", ".", "  ", " - "])))
    prefix = draw(
        st.sampled_from(
            ["", "", "+86", "+86 ", "+86-", "0086", "0086 ", "86", "86 ", "(+86)", "(+86) "]
        )
    )
    label = draw(
        st.sampled_from(["", "", "tel:", "Tel: ", "手机:", "手机号码：", "电话：", "mobile "])
    )
    trailing = draw(st.sampled_from(["", "", " ", "\t", "（本人）", " (张三)"]))
    text = f"{label}{prefix}{body}{trailing}"
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    return text


def _ok(e164: str, kind: str, others: tuple[str, ...] = ()) -> PhoneResult:
    return PhoneResult(e164, kind, None, others)  # type: ignore[arg-type]


MOBILE = _ok("+8613812345678", "mobile")
BEIJING = _ok("+861012345678", "landline")
SHENZHEN = _ok("+8675588881234", "landline")


# --- Concrete spellings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 13812345678 ",
        "138 1234 5678",
        "138-1234-5678",
        "138.1234.5678",
        "138/1234/5678",
        "(138)12345678",
        "13,812,345,678",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "(+86)13812345678",
        "008613812345678",
        "0086 138 1234 5678",
        "8613812345678",
        "86 13812345678",
        "013812345678",
        "tel:13812345678",
        "tel:+86-138-1234-5678",
        "手机:13812345678",
        "手机号码：138 1234 5678",
        "电话：13812345678",
        "13812345678（本人）",
        "１３８１２３４５６７８",
        "＋８６ １３８ １２３４ ５６７８",
        "１３８－１２３４－５６７８",
        13812345678,
        8613812345678,
        13812345678.0,
        1.3812345678e10,
        "1.3812345678E+10",
        "1.3812345678e10",
        "13812345678.0",
        "13812345678.00",
        Decimal("13812345678"),
        Decimal("13812345678.0"),
        Decimal("1.3812345678E+10"),
    ],
)
def test_every_spelling_of_a_mobile_normalises_to_e164(raw):
    assert normalise_phone(raw) == MOBILE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("010-12345678", BEIJING),
        ("01012345678", BEIJING),
        ("010 1234 5678", BEIJING),
        ("(010)12345678", BEIJING),
        ("（０１０）１２３４５６７８", BEIJING),
        ("010/12345678", BEIJING),
        ("+86 10 1234 5678", BEIJING),
        ("+86 (0)10 1234 5678", BEIJING),
        ("+86 010 12345678", BEIJING),
        ("0086 10 12345678", BEIJING),
        ("86 10 12345678", BEIJING),
        ("tel:+86-10-1234-5678", BEIJING),
        ("电话：010-12345678", BEIJING),
        ("010-12345678转123", BEIJING),
        ("010-12345678 转 8001", BEIJING),
        ("010-12345678 ext 12", BEIJING),
        ("010-12345678 ext. 12", BEIJING),
        ("010-12345678x12", BEIJING),
        ("010-12345678#8001", BEIJING),
        ("010-12345678 分机 8001", BEIJING),
        ("010-12345678-8001", BEIJING),
        ("(0755)8888-1234", SHENZHEN),
        ("0755 88881234", SHENZHEN),
        ("0755-8888-1234", SHENZHEN),
        ("075588881234", SHENZHEN),
        ("(0755)8888-1234-8001", SHENZHEN),
        ("+86 755 8888 1234", SHENZHEN),
        (75588881234, SHENZHEN),
    ],
)
def test_landlines_keep_their_area_code_and_lose_trunk_prefix_and_extension(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678/13987654321",
        "13812345678 / 13987654321",
        "13812345678；13987654321",
        "13812345678;13987654321",
        "13812345678，13987654321",
        "13812345678, 13987654321",
        "13812345678、13987654321",
        "13812345678或13987654321",
        "13812345678\n13987654321",
        "13812345678 13987654321",
        "手机:13812345678 电话:13987654321",
    ],
)
def test_several_numbers_in_one_cell_take_the_first_and_note_the_others(raw):
    assert normalise_phone(raw) == _ok("+8613812345678", "mobile", ("+8613987654321",))


def test_several_numbers_skip_invalid_ones_and_drop_repeats():
    result = normalise_phone("12345；13812345678；010-12345678；13812345678")
    assert result == _ok("+8613812345678", "mobile", ("+861012345678",))


def test_several_numbers_none_valid_report_the_first_error():
    assert normalise_phone("4008123123/95588123").error == "invalid"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (None, "empty"),
        ("", "empty"),
        ("   ", "empty"),
        ("\u3000", "empty"),
        ("N/A", "not_a_number"),
        ("无", "not_a_number"),
        ("-", "not_a_number"),
        ("abc", "not_a_number"),
        ("138abc12345678", "not_a_number"),
        ("138****1234", "not_a_number"),
        ("++8613812345678", "not_a_number"),
        (True, "not_a_number"),
        (-13812345678, "not_a_number"),
        (13812345678.5, "not_a_number"),
        (float("nan"), "not_a_number"),
        (float("inf"), "not_a_number"),
        (Decimal("NaN"), "not_a_number"),
        (b"13812345678", "not_a_number"),
        (["13812345678"], "not_a_number"),
        ("1234", "too_short"),
        ("0", "too_short"),
        ("+86", "too_short"),
        ("1381234567", "too_short"),
        ("88881234", "too_short"),  # a landline without its area code
        ("8888123", "too_short"),
        ("138123456789", "too_long"),
        ("13812345678901234567890", "too_long"),
        ("1" * 500, "too_long"),
        (1e300, "too_long"),
        (Decimal("1E+5000"), "lost_digits"),
        ("17406123456", "invalid"),  # not an allocated mobile block
        ("12345678901", "invalid"),
        ("4008123123", "invalid"),  # 400 shared-cost service number
        ("400-812-3123", "invalid"),
        ("800 810 1234", "invalid"),  # 800 toll-free
        ("95588", "invalid"),  # bank short code
        ("10086", "invalid"),  # carrier short code
        ("110", "invalid"),  # emergency
        ("12025550123", "invalid"),  # a US number without + is read as Chinese: invalid
        ("+1 202 555 0123", "unsupported_region"),
        ("001 202 555 0123", "unsupported_region"),
        ("+852 9123 4567", "unsupported_region"),
        ("+886 912 345 678", "unsupported_region"),
        ("+999 1234 5678", "invalid"),
        ("1.38123E+10", "lost_digits"),
        ("8.61381E+12", "lost_digits"),
        (Decimal("1.38123E+10"), "lost_digits"),
        (1.38123e10, "lost_digits"),
    ],
)
def test_each_error_code(raw, error):
    result = normalise_phone(raw)
    assert result.error == error
    assert result.e164 is None
    assert not result.ok
    assert result.message == str(PHONE_ERRORS[error])


def test_huge_numbers_are_too_long_not_a_crash():
    assert normalise_phone(10**5000).error == "too_long"  # str() of it would raise
    assert normalise_phone(-(10**5000)).error == "not_a_number"
    assert mask_phone(10**5000) == "****"


def test_every_error_code_has_a_message():
    assert set(PHONE_ERRORS) == {
        "empty",
        "not_a_number",
        "too_short",
        "too_long",
        "invalid",
        "unsupported_region",
        "lost_digits",
    }
    assert all(str(message) for message in PHONE_ERRORS.values())
    assert MOBILE.message == ""


def test_dots_are_separators_unless_they_end_a_spreadsheet_number():
    assert normalise_phone("130.0000.0000") == _ok("+8613000000000", "mobile")
    assert normalise_phone("130.00000000") == _ok("+8613000000000", "mobile")
    assert normalise_phone("13000000000.0") == _ok("+8613000000000", "mobile")
    assert normalise_phone("1300000.0000") == _ok("+8613000000000", "mobile")


def test_float_with_few_significant_digits_is_refused_not_guessed():
    # A spreadsheet's General format keeps six significant digits; 1.38123E+10 read back
    # as a number is 13812300000.0. An int with the same value is a real number.
    assert normalise_phone(13812300000.0).error == "lost_digits"
    assert normalise_phone(13812300000).ok
    assert normalise_phone(13812340000.0).ok


def test_foreign_number_is_refused_with_its_kind_unless_allowed():
    refused = normalise_phone("+852 9123 4567")
    assert (refused.e164, refused.kind, refused.error) == (None, "mobile", "unsupported_region")
    allowed = normalise_phone("+852 9123 4567", allow_foreign=True)
    assert allowed == _ok("+85291234567", "mobile")
    assert normalise_phone("+44 20 7946 0958", allow_foreign=True) == _ok(
        "+442079460958", "landline"
    )
    assert normalise_phone("+86 138 1234 5678", allow_foreign=True) == MOBILE


def test_default_region_reads_numbers_without_country_code_in_that_region():
    assert normalise_phone("9123 4567", default_region="HK").error == "unsupported_region"
    assert normalise_phone("9123 4567", default_region="HK", allow_foreign=True) == _ok(
        "+85291234567", "mobile"
    )
    assert normalise_phone("+86 138 1234 5678", default_region="HK") == MOBILE


def test_normalise_many_equals_normalise_phone_in_order():
    values = [
        "13812345678",
        13987654321,
        "010-12345678",
        "",
        "4008123123",
        "１３８１２３４５６７８",
    ]
    assert normalise_many(values) == [normalise_phone(v) for v in values]
    assert normalise_many(iter(values), default_region="HK") == [
        normalise_phone(v, default_region="HK") for v in values
    ]


def test_results_are_frozen():
    with pytest.raises(AttributeError):
        MOBILE.e164 = "+8613987654321"  # type: ignore[misc]
    assert normalise_phone("13812345678") == MOBILE
    assert hash(normalise_phone("13812345678")) == hash(MOBILE)
    assert normalise_phone("13812345678").masked == "138****5678"


def test_fast_path_does_not_call_phonenumbers_for_plain_mobiles(monkeypatch):
    normalise_phone("13812345678")  # fills the 1381234 block

    def forbidden(*args, **kwargs):
        raise AssertionError("phonenumbers called on the fast path")

    for name in ("parse", "number_type", "is_valid_number", "is_possible_number_with_reason"):
        monkeypatch.setattr(phonenumbers, name, forbidden)
    for raw in ["13812340000", "+86 138 1234 9999", "008613812341111", 13812342222]:
        assert normalise_phone(raw).ok


def test_block_table_mirror_agrees_with_phonenumbers_for_every_5_digit_prefix():
    for prefix in range(13000, 20000):
        national = f"{prefix}{(prefix * 7919) % 10**6:06d}"
        expected = _cn_type(national) == PhoneNumberType.MOBILE
        assert phone_numbers._is_mobile_by_metadata(national) is expected, national


# --- Properties -----------------------------------------------------------------------------

ANYTHING = st.one_of(
    st.text(),
    st.text(alphabet="0123456789+-()./ 转xX#；;,、或86０１２３＋（）：tel:手机\u3000eE"),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.none(),
    st.booleans(),
    st.binary(max_size=20),
)


@PROPERTY
@given(ANYTHING)
def test_normalise_never_raises_and_keeps_its_invariant(raw):
    result = normalise_phone(raw)
    assert isinstance(result, PhoneResult)
    assert (result.e164 is None) == (result.error is not None)
    assert result.error is None or result.error in PHONE_ERRORS
    if result.ok:
        assert result.e164 is not None and result.e164.startswith("+86")
        assert result.kind in ("mobile", "landline")
    assert normalise_many([raw]) == [result]


@PROPERTY
@given(st.data(), valid_mobiles())
def test_every_spelling_of_a_valid_mobile_gives_the_same_e164(data, national):
    raw = data.draw(mobile_spellings(national))
    assert normalise_phone(raw) == _ok("+86" + national, "mobile"), raw


@PROPERTY
@given(st.data(), valid_landlines())
def test_every_spelling_of_a_valid_landline_gives_the_same_e164(data, national):
    area_length = 2 if national[0] in "12" else 3
    area, subscriber = national[:area_length], national[area_length:]
    separator = data.draw(st.sampled_from(["", " ", "-"]))
    spelling = data.draw(
        st.sampled_from(
            [
                f"0{area}{separator}{subscriber}",
                f"(0{area}){separator}{subscriber}",
                f"+86 {area} {subscriber}",
                f"+86 (0){area} {subscriber}",
                f"0086{separator}{area}{separator}{subscriber}",
                f"电话：0{area}-{subscriber}",
                f"0{area}-{subscriber}转801",
                f"0{area}-{subscriber}-801",
            ]
        )
    )
    if data.draw(st.booleans()):
        spelling = spelling.translate(FULL_WIDTH)
    assert normalise_phone(spelling) == _ok("+86" + national, "landline"), spelling


@PROPERTY
@given(st.one_of(valid_mobiles(), valid_landlines(), ANYTHING))
def test_normalisation_is_idempotent(raw):
    first = normalise_phone(raw)
    if first.ok:
        assert first.e164 is not None
        again = normalise_phone(first.e164)
        assert (again.e164, again.kind, again.error) == (first.e164, first.kind, None)


@PROPERTY
@given(
    st.one_of(
        st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        st.from_regex(r"[0-9]{11}", fullmatch=True),
    ),
    st.sampled_from(["", "+86", "+86 ", "0086", "86", "86 "]),
)
def test_fast_path_and_slow_path_agree(digits, prefix):
    raw = prefix + digits
    assert normalise_phone(raw) == phone_numbers._normalise_slow(raw, cached=False)
    assert normalise_phone(int(digits)) == phone_numbers._normalise_slow(int(digits), cached=False)


@PROPERTY
@given(st.one_of(valid_mobiles(), valid_landlines()))
def test_mask_of_a_valid_number_shows_no_run_of_seven_digits(national):
    e164 = "+86" + national
    for value in (e164, national, "0" + national if national[0] != "1" else national):
        masked = mask_phone(value)
        assert not re.search(r"\d{5}", masked), masked
        assert PHONE_LIKE.search(masked) is None, masked
        assert re.fullmatch(r"1\d\d\*{4}\d{4}|0\d{2,3}-\*{4}\d{4}", masked), masked
        assert masked.endswith(national[-4:])


@PROPERTY
@given(ANYTHING)
def test_mask_never_raises_and_never_shows_five_digits_in_a_row(raw):
    masked = mask_phone(raw)
    assert isinstance(masked, str)
    assert not re.search(r"\d{5}", masked), masked
    assert PHONE_LIKE.search(masked) is None


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+8613812345678", "138****5678"),
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("+861012345678", "010-****5678"),
        ("010-12345678", "010-****5678"),
        ("+8675588881234", "0755-****1234"),
        ("+852 9123 4567", "+852 ****4567"),
        ("+12025550123", "+1 ****0123"),
        ("garbage 12345678", "****5678"),
        ("1234", "****"),
        ("", "****"),
        (None, "****"),
        ("138****5678", "****"),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


def _spellings(number: phonenumbers.PhoneNumber) -> list[str]:
    national = str(number.national_number)
    spellings = [
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.RFC3966),
        "0086" + national,
    ]
    if national[0] == "1" and national[1] != "0":
        spellings += [national, "86" + national]
    else:
        spellings += ["0" + national]
    # Typed on a Chinese keyboard in full-width mode (QA: these were shown in full).
    return spellings + [s.translate(_FULL_WIDTH) for s in spellings]


_FULL_WIDTH = str.maketrans(
    {**{str(d): chr(0xFF10 + d) for d in range(10)}, "+": "＋", "-": "－", "(": "（", ")": "）"}
)


@PROPERTY
@given(
    st.one_of(valid_mobiles(), valid_landlines()),
    st.sampled_from(["{}", "客户{}请回拨", '"phone": "{}"', "<td>{}</td>", "?p={}&x=1"]),
)
def test_phone_like_finds_every_spelling_of_a_valid_number(national, context):
    number = PhoneNumber(country_code=86, national_number=int(national))
    for spelling in _spellings(number):
        match = PHONE_LIKE.search(context.format(spelling))
        assert match, spelling
        found = unicodedata.normalize("NFKC", match.group())
        assert re.sub(r"\D", "", found).endswith(national), (spelling, match.group())


def test_phone_like_finds_url_encoded_e164():
    assert PHONE_LIKE.search("/leads/?phone=%2B8613812345678")


@pytest.mark.parametrize(
    "text",
    [
        "138****5678",
        "010-****5678",
        "0755-****1234",
        "+86 138****5678",
        "2026-11-26",
        "2026/11/26",
        "2026年11月26日 13:45",
        "2026-11-26T13:45:12.123456+08:00",
        "13:45:12",
        "¥13,812.00",
        "13812345.67",
        "1,380,000.00",
        "13812345678.00",
        "E00012",
        "工号 100234",
        "A1001234",
        "110105194912310021",
        "11010519491231002X",
        "身份证 110105 19491231 0021",
        "20261126134512",
        "1764140000000",
        "550e8400-e29b-41d4-a716-446655440000",
        "v13.8.1234",
        "page 1 of 13",
        "a13812345678",
        "13812345678b",
        "batch 2026-000123",
    ],
)
def test_phone_like_ignores_what_is_not_a_full_number(text):
    assert PHONE_LIKE.search(text) is None, PHONE_LIKE.search(text)


@st.composite
def valid_id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(sorted(PROVINCE_CODES))) + f"{draw(st.integers(0, 9999)):04d}"
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=1)))
    first17 = region + born.strftime("%Y%m%d") + f"{draw(st.integers(0, 999)):03d}"
    return first17 + id_number_check_character(first17)


@PROPERTY
@given(valid_id_numbers(), st.sampled_from(["{}", "身份证号：{}", '"id_number": "{}"', "{} "]))
def test_phone_like_never_matches_an_id_number(id_number, context):
    assert PHONE_LIKE.search(context.format(id_number)) is None


# --- Hashing --------------------------------------------------------------------------------

KEY = "k" * 40


@pytest.fixture
def configured_key(settings):
    settings.TELESALES_PHONE_HASH_KEY = KEY


@pytest.fixture
def key_file_in(settings, tmp_path):
    settings.TELESALES_PHONE_HASH_KEY = None
    settings.DATA_DIR = tmp_path
    return tmp_path


@PROPERTY
@given(valid_mobiles(), valid_mobiles())
def test_phone_hash_is_deterministic_and_tells_numbers_apart(first, second):
    a, b = "+86" + first, "+86" + second
    assert phone_hash(a) == phone_hash(a)
    assert (phone_hash(a) == phone_hash(b)) is (a == b)
    assert re.fullmatch(r"[0-9a-f]{64}", phone_hash(a))
    assert PHONE_LIKE.search(phone_hash(a)) is None


def test_phone_hash_is_hmac_sha256_with_the_configured_key(configured_key):
    expected = hmac.new(KEY.encode(), b"+8613812345678", hashlib.sha256).hexdigest()
    assert phone_hash("+8613812345678") == expected


def test_phone_hash_refuses_a_short_configured_key(settings):
    settings.TELESALES_PHONE_HASH_KEY = "short"
    with pytest.raises(ImproperlyConfigured, match="TELESALES_PHONE_HASH_KEY"):
        phone_hash("+8613812345678")


@pytest.mark.parametrize("value", ["13812345678", "8613812345678", "+86 138 1234 5678", ""])
def test_phone_hash_takes_only_e164(configured_key, value):
    with pytest.raises(ValueError, match=r"E\.164"):
        phone_hash(value)


def test_phone_hash_key_file_is_created_once_private_and_survives_restarts(key_file_in, settings):
    first = phone_hash("+8613812345678")
    path = key_file_in / "phone_hash_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    assert len(content) >= 32
    phone_numbers._hash_key.cache_clear()  # a restart
    settings.SECRET_KEY = "another secret key, rotated, at least fifty characters long......"
    assert phone_hash("+8613812345678") == first
    assert path.read_text() == content
    assert [p.name for p in key_file_in.iterdir()] == ["phone_hash_key"]


def test_phone_hash_differs_between_installations(key_file_in, settings, tmp_path_factory):
    here = phone_hash("+8613812345678")
    settings.DATA_DIR = tmp_path_factory.mktemp("other-installation")
    assert phone_hash("+8613812345678") != here


def test_phone_hash_configured_key_wins_over_the_file(key_file_in, settings):
    from_file = phone_hash("+8613812345678")
    settings.TELESALES_PHONE_HASH_KEY = KEY
    assert phone_hash("+8613812345678") != from_file


def test_key_file_is_created_without_hard_links(key_file_in, monkeypatch):
    def no_links(*args, **kwargs):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(phone_numbers.os, "link", no_links)
    path = key_file_in / "phone_hash_key"
    key = phone_numbers._key_from_file(path)
    assert path.read_text() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in key_file_in.iterdir()] == ["phone_hash_key"]


def test_damaged_key_file_stops_with_a_message_and_is_not_replaced(key_file_in):
    path = key_file_in / "phone_hash_key"
    path.write_text("short")
    with pytest.raises(ImproperlyConfigured, match="restore it from a backup"):
        phone_hash("+8613812345678")
    assert path.read_text() == "short"


def test_concurrent_first_use_agrees_on_one_key(key_file_in):
    path = key_file_in / "phone_hash_key"
    keys: list[str] = []
    threads = [
        threading.Thread(target=lambda: keys.append(phone_numbers._key_from_file(path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1
    assert keys[0] == path.read_text()
