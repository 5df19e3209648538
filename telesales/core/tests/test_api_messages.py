"""The API's field messages are in the user's language, filled with the limit that was broken."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import pytest
from django.utils import translation
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from telesales.core.api_messages import field_message
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.core.tests.factories import UserFactory


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int
    name: str = Field(min_length=2, max_length=4)
    day: dt.date
    premium: Decimal = Field(gt=0, max_digits=6, decimal_places=2)
    mode: Literal["annual", "monthly"]
    note: str = ""

    @field_validator("note")
    @classmethod
    def _no_shouting(cls, value: str) -> str:
        if value.isupper():
            raise ValueError("keep it calm")
        return value


def _messages(data: dict, language: str) -> dict[str, str]:
    try:
        Sample(**data)
    except ValidationError as exc:
        with translation.override(language):
            return {str(e["loc"][0]): field_message(e) for e in exc.errors()}
    raise AssertionError("the sample was valid")


GOOD = {"count": 1, "name": "abc", "day": "2026-05-01", "premium": "10.00", "mode": "annual"}


@pytest.mark.parametrize(
    ("field", "value", "english", "chinese"),
    [
        ("count", "many", "Enter a whole number.", "请输入整数。"),
        ("name", "abcdef", "Enter at most 4 characters.", "最多输入 4 个字符。"),
        ("name", "a", "Enter at least 2 character(s).", "至少输入 2 个字符。"),
        ("day", "2026-02-30", "Enter a valid date (YYYY-MM-DD).", "请输入有效日期（YYYY-MM-DD）。"),
        ("premium", "-5", "Enter a value greater than 0.", "请输入大于 0 的值。"),
        (
            "premium",
            "1.234",
            "Enter a number with at most 2 decimal places.",
            "小数位数不能超过 2 位。",
        ),
        (
            "mode",
            "weekly",
            "Choose one of: 'annual', 'monthly'.",
            "请从以下选项中选择：'annual', 'monthly'。",
        ),
        ("note", "LOUD", "keep it calm", "keep it calm"),  # our own message, prefix removed
        ("extra", 1, "This field is not accepted here.", "这里不接受此字段。"),
    ],
)
def test_each_kind_of_error_reads_in_the_users_language(field, value, english, chinese):
    data = {**GOOD, field: value}
    assert _messages(data, "en")[field] == english
    assert _messages(data, "zh-hans")[field] == chinese


def test_a_missing_field_and_an_unlisted_kind():
    data = {k: v for k, v in GOOD.items() if k != "count"}
    assert _messages(data, "zh-hans")["count"] == "此字段为必填项。"
    unlisted = {"type": "some_future_type", "msg": "Something pydantic says", "loc": ("x",)}
    assert field_message(unlisted) == "Something pydantic says"


@pytest.mark.django_db
def test_the_api_answers_field_messages_in_the_callers_language():
    client = JsonClient()
    client.force_login(UserFactory(username="speaker", roles=["agent"]))

    missing = assert_error_shape(client.post_json("/api/v1/me/language", {}), 422)
    assert missing["details"]["fields"]["language"] == ["此字段为必填项。"]

    assert client.post_json("/api/v1/me/language", {"language": "en"}).status_code == 200
    missing = assert_error_shape(client.post_json("/api/v1/me/language", {}), 422)
    assert missing["details"]["fields"]["language"] == ["This field is required."]
    assert missing["message"] == "Invalid input"


@pytest.mark.django_db
def test_the_shared_input_checks_speak_the_callers_language():
    client = JsonClient()
    client.force_login(UserFactory(username="nul-sender", roles=["agent"]))

    body = assert_error_shape(
        client.post_json("/api/v1/me/language", {"language": "e\u0000n"}), 422
    )

    assert body["details"]["fields"]["language"] == ["不能包含 NUL 字符"]


def test_a_decimal_in_exponent_form_is_refused_and_plain_digits_pass():
    from decimal import Decimal

    from telesales.core.http_api import InputSchema

    class Amount(InputSchema):
        amount: Decimal

    assert Amount(amount="1000").amount == Decimal("1000")
    assert Amount(amount="120.50").amount == Decimal("120.50")
    assert Amount(amount=1000.0).amount == Decimal("1000")  # a JSON number is a number
    for text in ("1e3", "2.5E2", "1E+3"):
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            Amount(amount=text)
        assert field_message(refused.value.errors()[0]).startswith("write the number")


def test_a_text_checked_after_a_validator_is_counted_in_characters():
    """QA: a note over its limit said "give at most 2000 items" (pydantic reports a text
    whose validator ran first as a sequence that is too long)."""
    from typing import Annotated

    from pydantic import BeforeValidator

    class Noted(BaseModel):
        note: Annotated[str, BeforeValidator(str.strip), Field(max_length=5)] = ""

    try:
        Noted(note="abcdefgh")
    except ValidationError as exc:
        [error] = exc.errors()
    assert error["type"] == "too_long"  # what pydantic says, which the message corrects
    with translation.override("zh-hans"):
        assert field_message(error) == "最多输入 5 个字符。"
    with translation.override("en"):
        assert field_message(error) == "Enter at most 5 characters."
