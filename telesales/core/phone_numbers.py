"""Chinese phone numbers: normalise, validate, hash, mask and detect them.

Every phone number that enters the system (lead import, DNC import, forms, the API) goes
through :func:`normalise_phone`, which returns a :class:`PhoneResult` holding the E.164 form
(``+8613812345678``), the kind (``"mobile"`` or ``"landline"``) or a stable error code.
Numbers are stored as E.164 plus :func:`phone_hash`, and shown as :func:`mask_phone`.
:data:`PHONE_LIKE` finds full numbers in text, for tests that assert nothing leaks.

Speed matters: an import of a million rows calls :func:`normalise_phone` a million times.
A plain mobile (``13812345678``, ``+86 138 1234 5678``) takes a fast path: one precompiled
regular expression and a table lookup that caches phonenumbers' verdict per 7-digit number
block (号段, the unit in which Chinese mobile numbers are allocated, so the verdict cannot
depend on the last four digits). Everything else takes the slow path: Unicode NFKC, junk and
extension stripping, several numbers in one cell, spreadsheet numbers, and phonenumbers'
own validation.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from hashlib import sha256
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Literal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberType, shortnumberinfo
from phonenumbers.phonenumberutil import NumberParseException, ValidationResult

__all__ = [
    "E164_PATTERN",
    "FAST_MOBILE_PATTERN",
    "PHONE_ERRORS",
    "PHONE_LIKE",
    "PhoneKind",
    "PhoneResult",
    "mask_numbers_in",
    "mask_phone",
    "mobile_blocks",
    "normalise_many",
    "normalise_phone",
    "phone_hash",
    "phone_hashes",
]

PhoneKind = Literal["mobile", "landline"]

#: Stable error codes and what they tell the person who supplied the number.
PHONE_ERRORS: dict[str, Any] = {
    "empty": _("No phone number."),
    "not_a_number": _("Not a phone number."),
    "too_short": _("Too short for a phone number (a landline needs its area code)."),
    "too_long": _("Too long for a phone number."),
    "invalid": _(
        "Not a valid Chinese mobile or landline number "
        "(service numbers such as 400/800 and short codes cannot be called)."
    ),
    "unsupported_region": _("A number outside mainland China: only Chinese numbers are called."),
    "lost_digits": _(
        "The spreadsheet shortened this number (scientific notation such as 1.38123E+10); "
        "format the column as text and export the file again."
    ),
}


@dataclass(frozen=True)
class PhoneResult:
    """The outcome of normalising one value.

    ``e164`` is set exactly when ``error`` is None. ``kind`` is set for valid numbers and,
    for information, for valid foreign numbers refused with ``unsupported_region``.
    ``other_numbers`` lists the E.164 forms of further valid numbers found in the same value
    (``"13812345678/13987654321"``); the first valid one is the result.
    """

    e164: str | None
    kind: PhoneKind | None
    error: str | None
    other_numbers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        """A sentence for people (rejection reports, form errors); empty when valid."""
        return "" if self.error is None else str(PHONE_ERRORS[self.error])

    @property
    def masked(self) -> str:
        return mask_phone(self.e164) if self.e164 else "****"


# --- Per-block cache of phonenumbers' verdict on 11-digit numbers 1[3-9]xxxxxxxxx ------------

_BLOCK_BASE = 1_300_000  # int("1300000"): the first 7-digit block the table covers
_BLOCK_COUNT = 700_000  # 1300000 … 1999999
_BLOCK_TABLE = bytearray(_BLOCK_COUNT)  # 0 = not asked yet; else 1 + index into _VERDICTS
_VERDICTS: list[tuple[PhoneKind | None, str | None]] = [("mobile", None)]
_MOBILE = 1  # the table's code for ("mobile", None)


def _block_code(national: str) -> int:
    """Fill the table entry of an 11-digit ``1[3-9]…`` number's 7-digit block; return it."""
    index = int(national[:7]) - _BLOCK_BASE
    code = _BLOCK_TABLE[index]
    if not code:
        probe = national[:7] + "0000"
        verdict = ("mobile", None) if _is_mobile_by_metadata(probe) else _classify_cn(probe)
        if verdict not in _VERDICTS:
            _VERDICTS.append(verdict)
        code = _BLOCK_TABLE[index] = _VERDICTS.index(verdict) + 1
    return code


_Matcher = tuple[frozenset[int], re.Pattern[str]]


@cache
def _cn_matchers() -> tuple[_Matcher, list[_Matcher], _Matcher | None]:
    metadata = PhoneMetadata.metadata_for_region("CN")

    def compiled(desc: Any) -> _Matcher | None:
        if desc is None or not desc.national_number_pattern:
            return None
        return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)

    general = compiled(metadata.general_desc)
    assert general is not None
    before_mobile = [
        m
        for name in (
            "premium_rate",
            "toll_free",
            "shared_cost",
            "voip",
            "personal_number",
            "pager",
            "uan",
            "voicemail",
            "fixed_line",
        )
        if (m := compiled(getattr(metadata, name))) is not None
    ]
    mobile = None if metadata.same_mobile_and_fixed_line_pattern else compiled(metadata.mobile)
    return general, before_mobile, mobile


def _is_mobile_by_metadata(national: str) -> bool:
    """``phonenumbers.number_type(+86 national) == MOBILE``, four times faster.

    Mirrors phonenumbers' ``_number_type_helper`` on its own CN metadata, asking only "is it
    a mobile?"; a test holds the two equal for every 5-digit prefix. Used to fill the block
    table, where a cold import of random numbers meets ~500,000 different blocks.
    """
    general, before_mobile, mobile = _cn_matchers()
    length = len(national)

    def matches(matcher: _Matcher) -> bool:
        lengths, pattern = matcher
        return (not lengths or length in lengths) and pattern.fullmatch(national) is not None

    if mobile is None or not matches(general):
        return False
    return not any(matches(m) for m in before_mobile) and matches(mobile)


def _block_verdict(national: str) -> tuple[PhoneKind | None, str | None]:
    """phonenumbers' verdict on an 11-digit ``1[3-9]…`` number, cached per 7-digit block."""
    return _VERDICTS[_block_code(national) - 1]


def _classify_cn(national: str) -> tuple[PhoneKind | None, str | None]:
    """Ask phonenumbers about a Chinese national significant number (digits, no trunk 0)."""
    if not national:
        return None, "too_short"
    if national[0] == "0" or len(national) > 17:
        return None, "invalid" if national[0] == "0" else "too_long"
    number = PhoneNumber(country_code=86, national_number=int(national))
    if len(national) <= 6:
        # 95588, 10086, 12345, 110: service short codes are no one to sell to.
        if shortnumberinfo.is_valid_short_number_for_region(number, "CN"):
            return None, "invalid"
        return None, "too_short"
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.TOO_LONG:
        return None, "too_long"
    if reason in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return None, "too_short"
    if reason != ValidationResult.IS_POSSIBLE:
        return None, "invalid"
    number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.MOBILE:
        return "mobile", None
    if number_type in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return "landline", None
    if number_type == PhoneNumberType.UNKNOWN and len(national) <= 8 and national[0] in "23456789":
        return None, "too_short"  # a local landline number without its area code
    if national[1] in "3456789" and national[0] == "1" and len(national) != 11:
        return None, "too_short" if len(national) < 11 else "too_long"  # a mistyped mobile
    return None, "invalid"  # 400/800/95xxx service numbers, premium rate, unknown


def _verdict(national: str, *, cached: bool) -> tuple[PhoneKind | None, str | None]:
    if (
        cached
        and len(national) == 11
        and national[0] == "1"
        and national[1] in "3456789"
        and national.isascii()
        and national.isdigit()
    ):
        return _block_verdict(national)
    return _classify_cn(national)


# --- Fast path --------------------------------------------------------------------------------

_FAST_MOBILE = re.compile(
    r"[ \t]*(?:(?:\+|00)?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})[ \t]*", re.ASCII
)
_new = object.__new__


def _valid(e164: str, kind: PhoneKind) -> PhoneResult:
    """``PhoneResult(e164, kind, None)`` in half the time (the frozen __init__ is the fast
    path's biggest cost)."""
    result = _new(PhoneResult)
    result.__dict__.update(e164=e164, kind=kind, error=None, other_numbers=())
    return result


def _fast_mobile(raw: object) -> PhoneResult | None:
    """The result for a plain valid mobile (str or int), or None: take the slow path."""
    cls = raw.__class__
    if cls is str:
        if len(raw) == 11 and raw.isdigit() and raw.isascii():  # type: ignore[arg-type]
            national: str = raw  # type: ignore[assignment]
        else:
            match = _FAST_MOBILE.fullmatch(raw)  # type: ignore[arg-type]
            if match is None:
                return None
            national = match[1] + match[2] + match[3]
    elif cls is int:
        if not 13_000_000_000 <= raw < 20_000_000_000:  # type: ignore[operator]
            return None
        national = str(raw)
    else:
        return None
    index = int(national[:7]) - _BLOCK_BASE
    if 0 <= index < _BLOCK_COUNT and (_BLOCK_TABLE[index] or _block_code(national)) == _MOBILE:
        return _valid("+86" + national, "mobile")
    return None


def normalise_phone(
    raw: object, *, default_region: str = "CN", allow_foreign: bool = False
) -> PhoneResult:
    """Normalise one cell or field to E.164, or say precisely why it is not a usable number.

    Accepts str, int, float and Decimal (spreadsheet cells). Only Chinese numbers are valid
    unless ``allow_foreign``; a number outside China is only recognised when written with
    its country code (``+852 …``, ``00852 …``). ``default_region`` is the region assumed for
    numbers without a country code. Never raises.
    """
    if default_region == "CN" and (result := _fast_mobile(raw)) is not None:
        return result
    return _normalise_slow(raw, default_region=default_region, allow_foreign=allow_foreign)


def normalise_many(
    values: Iterable[object], *, default_region: str = "CN", allow_foreign: bool = False
) -> list[PhoneResult]:
    """:func:`normalise_phone` for a column of values, in order."""
    slow = _normalise_slow
    if default_region != "CN":
        return [slow(v, default_region=default_region, allow_foreign=allow_foreign) for v in values]
    fast = _fast_mobile
    return [
        fast(v) or slow(v, default_region=default_region, allow_foreign=allow_foreign)
        for v in values
    ]


#: The fast path's pattern for engines that work on whole columns (polars, a database): a
#: plain mobile, its three groups joined make the national number. A match is a valid mobile
#: exactly when its 7-digit block passes :func:`mobile_blocks`; anything else must go through
#: :func:`normalise_phone`.
FAST_MOBILE_PATTERN = _FAST_MOBILE.pattern


def mobile_blocks(blocks: Iterable[int]) -> set[int]:
    """Of the 7-digit number blocks given (``int(national[:7])``), those in which
    phonenumbers calls every number a mobile: the fast path's verdict, for a column at once
    (pass the distinct blocks). Blocks not seen before are judged together: each metadata
    pattern scans them all in one regular-expression search."""
    table, base, count = _BLOCK_TABLE, _BLOCK_BASE, _BLOCK_COUNT
    wanted = [b for b in set(blocks) if 0 <= b - base < count]
    new = [b for b in wanted if not table[b - base]]
    if new:
        for block, mobile in zip(new, _mobile_by_metadata([f"{b}0000" for b in new]), strict=True):
            if mobile:
                table[block - base] = _MOBILE
            else:
                _block_code(f"{block}0000")
    return {b for b in wanted if table[b - base] == _MOBILE}


def _mobile_by_metadata(numbers: list[str]) -> list[bool]:
    """:func:`_is_mobile_by_metadata` of many numbers of one length, a pattern at a time."""
    if not numbers:
        return []
    length = len(numbers[0])
    if any(len(n) != length for n in numbers):
        return [_is_mobile_by_metadata(n) for n in numbers]
    general, before_mobile, mobile = _cn_matchers()
    if mobile is None:
        return [False] * len(numbers)
    text = "\n".join(numbers)
    step = length + 1

    def lines(matcher: _Matcher) -> set[int]:
        lengths, pattern = matcher
        if lengths and length not in lengths:
            return set()
        found = re.compile(f"^(?:{pattern.pattern})$", re.MULTILINE | pattern.flags)
        return {m.start() // step for m in found.finditer(text)}

    candidates = lines(general) & lines(mobile)
    for matcher in before_mobile:
        candidates -= lines(matcher)
    return [i in candidates for i in range(len(numbers))]


# --- Slow path --------------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"\+?[0-9]+(?:\.[0-9]*)?[eE]\+?[0-9]+", re.ASCII)
_DECIMAL_ZEROS = re.compile(r"(\+?[0-9]{7,})\.0{0,2}", re.ASCII)  # not 130.00000000
_STRONG_SEPARATOR = re.compile(r"[;|\n\r\t、]|或")
_WEAK_SEPARATORS = (re.compile(r"[/,]"), re.compile(r"\s+"))
_EXTENSION = re.compile(
    r"(?:转|分机号?|[eE][xX][tT](?:ension)?\.?|[xX]|#)\s*:?\s*[0-9]{1,6}\s*\)?\s*$"
)
_START = re.compile(r"[(+]*[0-9]", re.ASCII)
_DIGIT = re.compile(r"[0-9]", re.ASCII)
_NON_DIGITS = re.compile(r"[^0-9]+", re.ASCII)
_MAX_LENGTH = 160  # characters in one cell; longer is no phone cell (and bounds regex work)
_ALLOWED = re.compile(r"\(?\+?[0-9 ,./()\-]*", re.ASCII)
_DIGIT_GROUPS = re.compile(r"[0-9]+", re.ASCII)
_FLOAT_MIN_SIGNIFICANT = 7  # a spreadsheet's General format keeps 6: 1.38123E+10

_FOREIGN_KINDS: dict[int, PhoneKind] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
}
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}


_ERRORS = {code: PhoneResult(None, None, code) for code in PHONE_ERRORS}


def _error(code: str, kind: PhoneKind | None = None) -> PhoneResult:
    return PhoneResult(None, kind, code) if kind else _ERRORS[code]


def _normalise_slow(
    raw: object, *, default_region: str = "CN", allow_foreign: bool = False, cached: bool = True
) -> PhoneResult:
    try:
        text = _as_text(raw)
        if isinstance(text, PhoneResult):
            return text
        results: list[PhoneResult] = []
        for piece in _split_strong(text):
            whole = _normalise_piece(
                piece, default_region=default_region, allow_foreign=allow_foreign, cached=cached
            )
            parts = [] if whole.ok else _split_weak(piece)
            # "13812345678/13987654321" is two numbers, "0086130 00000000" is one: split on
            # a slash, comma or space only when the whole is no number.
            part_results = [
                _normalise_piece(
                    part, default_region=default_region, allow_foreign=allow_foreign, cached=cached
                )
                for part in parts
            ]
            results.extend(part_results or [whole])
    except Exception:  # a normaliser of untrusted input must never raise
        return _error("not_a_number")
    if not results:
        return _error("not_a_number")
    valid = [r for r in results if r.ok]
    if not valid:
        return results[0]
    first = valid[0]
    others = tuple(dict.fromkeys(r.e164 for r in valid[1:] if r.e164 and r.e164 != first.e164))
    return replace(first, other_numbers=others) if others else first


def _as_text(raw: object) -> str | PhoneResult:
    """The value as text of digits and punctuation, or the error that ends it here."""
    if raw is None:
        return _error("empty")
    if isinstance(raw, str):
        text = (raw if raw.isascii() else unicodedata.normalize("NFKC", raw)).strip()
        if not text:
            return _error("empty")
        if len(text) > _MAX_LENGTH:
            return _error("too_long")
        if _SCIENTIFIC.fullmatch(text):
            return _decimal_text(Decimal(text))
        if match := _DECIMAL_ZEROS.fullmatch(text):
            return match[1]
        return text
    if isinstance(raw, bool):
        return _error("not_a_number")
    if isinstance(raw, Integral):
        if raw < 0:
            return _error("not_a_number")
        return str(int(raw)) if raw < 10**20 else _error("too_long")
    if isinstance(raw, Decimal):
        return _decimal_text(raw)
    if isinstance(raw, Real):
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            return _error("not_a_number")
        if not value.is_integer():
            return _error("not_a_number")
        digits = str(int(value))
        if len(digits) > _FLOAT_MIN_SIGNIFICANT and len(digits.rstrip("0")) < (
            _FLOAT_MIN_SIGNIFICANT
        ):
            return _error("lost_digits")
        return digits
    return _error("not_a_number")


def _decimal_text(value: Decimal) -> str | PhoneResult:
    try:
        if not value.is_finite() or value < 0 or value != value.to_integral_value():
            return _error("not_a_number")
    except InvalidOperation:
        return _error("not_a_number")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return _error("lost_digits")  # 1.38123E+10: the digits after 3 were never written
    return str(int(value))


def _split_strong(text: str) -> list[str]:
    """Split a cell on separators that always separate numbers (; 、 或 | new line)."""
    if not _STRONG_SEPARATOR.search(text):
        return [text] if _DIGIT.search(text) else []
    return [p for p in _STRONG_SEPARATOR.split(text) if _DIGIT.search(p)]


def _split_weak(piece: str) -> list[str]:
    """Split on slashes, commas, then spaces, into parts of at least 7 digits each."""
    parts = [piece]
    for weak in _WEAK_SEPARATORS:
        split = [p for part in parts for p in weak.split(part) if _DIGIT.search(p)]
        if len(split) > 1 and all(len(_NON_DIGITS.sub("", p)) >= 7 for p in split):
            parts = split
    return parts if len(parts) > 1 else []


def _normalise_piece(
    piece: str, *, default_region: str, allow_foreign: bool, cached: bool
) -> PhoneResult:
    extension = _EXTENSION.search(piece)
    text = piece[: extension.start()] if extension else piece
    start = _START.search(text)
    last = _DIGIT.search(text[::-1])
    if start is None or last is None:
        return _error("not_a_number")
    text = text[start.start() : len(text) - last.start()]
    if not _ALLOWED.fullmatch(text):
        return _error("not_a_number")
    groups = _DIGIT_GROUPS.findall(text)
    digits = "".join(groups)
    international = "+" in text
    result = _interpret(digits, international, default_region, allow_foreign, cached)
    if result.ok:
        return result
    # "010-12345678-8001": a trailing group after a complete landline is an extension.
    if len(groups) >= 3 and len(groups[-1]) <= 6:
        shorter = _interpret(
            digits[: -len(groups[-1])], international, default_region, allow_foreign, cached
        )
        if shorter.ok and shorter.kind == "landline":
            return shorter
    return result


def _interpret(
    digits: str, international: bool, region: str, allow_foreign: bool, cached: bool
) -> PhoneResult:
    if not digits:
        return _error("not_a_number")
    if international or digits.startswith("00"):
        rest = digits if international else digits[2:]
        if rest.startswith("86") and region == "CN":
            national = rest[2:]
            if national.startswith("0"):  # +86 (0)10 1234 5678
                national = national[1:]
            return _cn_result(national, cached)
        return _parse_with_phonenumbers("+" + rest, None, allow_foreign)
    if region != "CN":
        return _parse_with_phonenumbers(digits, region, allow_foreign)
    national = digits[1:] if digits[0] == "0" else digits  # trunk prefix of landlines
    result = _cn_result(national, cached)
    if not result.ok and digits.startswith("86") and len(digits) > 9:
        rest = digits[2:]
        rest = rest[1:] if rest.startswith("0") else rest
        without_country = _cn_result(rest, cached)
        if without_country.ok or result.error == "too_long":
            return without_country
    return result


def _cn_result(national: str, cached: bool) -> PhoneResult:
    kind, error = _verdict(national, cached=cached)
    if error is not None:
        return _error(error)
    return _valid("+86" + national, kind)  # type: ignore[arg-type]


def _parse_with_phonenumbers(text: str, region: str | None, allow_foreign: bool) -> PhoneResult:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return _error(_PARSE_ERRORS.get(exc.error_type, "invalid"))
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.TOO_LONG:
        return _error("too_long")
    if reason in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return _error("too_short")
    if reason != ValidationResult.IS_POSSIBLE or not phonenumbers.is_valid_number(number):
        return _error("invalid")
    kind = _FOREIGN_KINDS.get(phonenumbers.number_type(number))
    if kind is None:
        return _error("invalid")
    if phonenumbers.region_code_for_number(number) != "CN" and not allow_foreign:
        return _error("unsupported_region", kind)
    return PhoneResult(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind, None
    )


# --- Hashing ----------------------------------------------------------------------------------

_E164 = re.compile(r"\+[1-9][0-9]{6,16}", re.ASCII)
#: What :func:`phone_hash` accepts, as a pattern for column-wise checks.
E164_PATTERN = _E164.pattern
_MIN_KEY_LENGTH = 32


def phone_hash(e164: str) -> str:
    """Keyed HMAC-SHA256 (hex) of an E.164 number: dedupe and DNC lookups without the number.

    The key is ``settings.TELESALES_PHONE_HASH_KEY`` when set, else the file
    ``DATA_DIR/phone_hash_key`` (created once, mode 0600, never rewritten). It does not
    depend on SECRET_KEY, so rotating that leaves every stored hash valid.
    """
    if not _E164.fullmatch(e164):
        raise ValueError("phone_hash() takes a normalised E.164 number such as +8613812345678")
    mac = _hash_key().mac.copy()
    mac.update(e164.encode("ascii"))
    return mac.hexdigest()


_E164_LINES = re.compile(r"(?:\+[1-9][0-9]{6,16}\n)*", re.ASCII)


def phone_hashes(numbers: Iterable[str], *, checked: bool = False) -> list[str]:
    """:func:`phone_hash` of many E.164 numbers, in order: the same digests in about 60 %
    of the time (HMAC's inner and outer key blocks are hashed once, not per number).
    ``checked=True`` skips the E.164 check for a caller that made it on the whole column."""
    numbers = numbers if isinstance(numbers, list) else list(numbers)
    if not checked and numbers and not _E164_LINES.fullmatch("\n".join(numbers) + "\n"):
        raise ValueError("phone_hashes() takes normalised E.164 numbers such as +8613812345678")
    state = _hash_key()
    inner, outer = state.inner.copy, state.outer.copy
    digests: list[str] = []
    append = digests.append
    for number in numbers:
        step = inner()
        step.update(number.encode("ascii"))
        mac = outer()
        mac.update(step.digest())
        append(mac.hexdigest())
    return digests


@dataclass(frozen=True)
class _HashKey:
    mac: hmac.HMAC
    inner: Any  # sha256 state after the key XOR ipad block (RFC 2104)
    outer: Any  # sha256 state after the key XOR opad block


@cache
def _hash_key() -> _HashKey:
    configured = getattr(settings, "TELESALES_PHONE_HASH_KEY", None)
    if configured:
        key = str(configured).strip()
        if len(key) < _MIN_KEY_LENGTH:
            raise ImproperlyConfigured(
                f"TELESALES_PHONE_HASH_KEY is shorter than {_MIN_KEY_LENGTH} characters"
            )
    else:
        key = _key_from_file(Path(settings.DATA_DIR) / "phone_hash_key")
    raw = key.encode("utf-8")
    block = sha256().block_size
    padded = (sha256(raw).digest() if len(raw) > block else raw).ljust(block, b"\0")
    return _HashKey(
        mac=hmac.new(raw, digestmod=sha256),
        inner=sha256(bytes(b ^ 0x36 for b in padded)),
        outer=sha256(bytes(b ^ 0x5C for b in padded)),
    )


def _key_from_file(path: Path) -> str:
    """Read the key file, creating it atomically (0600) if it does not exist yet.

    An existing file is never replaced: a new key would orphan every stored hash, so a
    damaged file stops the program with a message instead.
    """
    if not path.exists():
        new_key = secrets.token_urlsafe(48)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        _write_new(temporary, new_key)
        try:
            os.link(temporary, path)  # fails if another process won the race: use theirs
        except FileExistsError:
            pass
        except OSError:  # no hard links on this file system: exclusive create instead
            with contextlib.suppress(FileExistsError):
                _write_new(path, new_key)
        finally:
            temporary.unlink()
    key = path.read_text().strip()
    if len(key) < _MIN_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"{path} holds no usable phone hash key; restore it from a backup "
            "(a new key would change every stored phone hash)"
        )
    return key


def _write_new(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)


def _reset_hash_key(*, setting: str, **kwargs: object) -> None:
    if setting in {"TELESALES_PHONE_HASH_KEY", "DATA_DIR"}:
        _hash_key.cache_clear()


setting_changed.connect(_reset_hash_key)


# --- Masking ----------------------------------------------------------------------------------


def mask_phone(e164_or_national: object) -> str:
    """``138****1234`` for a Chinese mobile, ``010-****5678`` for a landline, else
    ``****`` and at most the last four digits. Never raises, never shows a full number."""
    try:
        text = e164_or_national if isinstance(e164_or_national, str) else str(e164_or_national)
        result = normalise_phone(text, allow_foreign=True)
        e164 = result.e164
        if e164 and e164.startswith("+86"):
            national = e164[3:]
            if result.kind == "mobile":
                return f"{national[:3]}****{national[-4:]}"
            area = national[:2] if national[0] in "12" else national[:3]
            return f"0{area}-****{national[-4:]}"
        if e164:
            country = phonenumbers.parse(e164).country_code
            return f"+{country} ****{e164[-4:]}"
        digits = [c for c in text if c.isdigit()]
        if len(digits) >= 8:
            return "****" + "".join(digits[-4:])
    except Exception:  # noqa: S110 - masking must never fail a page
        pass
    return "****"


# --- Detection --------------------------------------------------------------------------------

# Full-width forms count as their ASCII ones (QA: "１３８００１３８００５" and "＋８６…" in an
# imported file were shown and reported in full): ``\d`` already matches any Unicode digit,
# the literal digits, signs, separators and brackets are spelled both ways.
_SEP = r"[ .\-\u00a0\u3000\uff0d\uff0e]?"
_BEFORE = r"(?:(?<=%2B)|(?<=%2b)|(?<![A-Za-z\d])(?<!\d[.,]))"
_AFTER = r"(?![A-Za-z\d])(?![.,]\d)"
_SUBSCRIBER = rf"\d{{3,4}}{_SEP}\d{{4}}"
_AREA = r"(?:[1\uff11][0\uff10]|[2\uff12]\d|[3-9\uff13-\uff19]\d\d)"
_LIKE_PLUS_OR_00 = r"(?:[+\uff0b]|[0\uff10]{2})"
_LIKE_86 = r"[8\uff18][6\uff16]"
_LIKE_MOBILE = r"[1\uff11][3-9\uff13-\uff19]\d"
_LIKE_ZERO = r"[0\uff10]"
_LIKE_OPEN, _LIKE_CLOSE = r"[(\uff08]", r"[)\uff09]"

#: Finds anything that looks like a full Chinese phone number: 11-digit mobiles (with
#: optional 3-4-4 separators and +86/0086/86), landlines with their area code (national
#: ``010-12345678``, ``(0755) 8888 1234`` or international ``+86 10 1234 5678``). A match
#: must not touch another digit or an ASCII letter, so masked numbers, dates, times, money,
#: 18-digit ID numbers, hex digests and tokens do not match; ``%2B86…`` in URLs does.
PHONE_LIKE = re.compile(
    rf"{_BEFORE}(?:"
    rf"(?:{_LIKE_PLUS_OR_00}?{_LIKE_86}{_SEP})?{_LIKE_MOBILE}{_SEP}\d{{4}}{_SEP}\d{{4}}"
    rf"|{_LIKE_OPEN}?{_LIKE_ZERO}{_AREA}{_LIKE_CLOSE}?{_SEP}{_SUBSCRIBER}"
    rf"|{_LIKE_PLUS_OR_00}{_LIKE_86}{_SEP}"
    rf"(?:{_LIKE_OPEN}{_LIKE_ZERO}{_LIKE_CLOSE}{_SEP})?{_AREA}{_SEP}{_SUBSCRIBER}"
    rf"){_AFTER}"
)


def mask_numbers_in(text: object) -> str:
    """``"call 13812345678 after 6"`` → ``"call 138****5678 after 6"``: every full number in
    free text people typed (a reason, a note, an object's name) masked."""
    if text in (None, ""):
        return ""
    return PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)), str(text))
