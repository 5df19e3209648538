"""Reference data every center needs: the default dispositions (DOMAIN.md §5.1) and the
default call rule set. Created by migration ``0002`` and ensured again by ``telesales
bootstrap`` (the ``calls.reference_data`` step); idempotent, never overwrites a center's edits.
"""

from __future__ import annotations

import datetime as dt

from telesales.calls.models import CallRuleSet, Disposition
from telesales.calls.rules import DEFAULT_CALLRULES_NAME
from telesales.core.rulesets import default_name

FLAGS = (
    "human_answered",
    "contact",
    "effective",
    "sale",
    "callback",
    "dnc",
    "invalid_number",
    "refusal",
    "final",
)

# code, name (data, in Chinese), order, flags
DEFAULT_DISPOSITIONS: list[tuple[str, str, int, dict[str, bool]]] = [
    ("no_answer", "无人接听", 10, {}),
    ("busy", "忙线", 20, {}),
    ("powered_off", "关机", 30, {}),
    ("invalid_number", "空号/停机", 40, {"invalid_number": True, "final": True}),
    ("wrong_person", "非本人", 50, {"human_answered": True, "invalid_number": True, "final": True}),
    ("voicemail", "语音信箱", 60, {}),
    ("refused", "拒绝", 70, {"human_answered": True, "contact": True, "refusal": True}),
    # A service call that reached the customer (welcome call, free-look check-in, extended
    # service): talked, nothing to change on the lead; the service task records what was said.
    ("reached", "已接通（服务电话）", 72, {"human_answered": True, "contact": True}),
    (
        "not_interested",
        "明确无意向",
        75,
        {"human_answered": True, "contact": True, "effective": True, "final": True},
    ),
    (
        "interested",
        "有意向",
        80,
        {"human_answered": True, "contact": True, "effective": True, "callback": True},
    ),
    ("callback", "预约回拨", 90, {"human_answered": True, "contact": True, "callback": True}),
    (
        "sale",
        "成交",
        100,
        {"human_answered": True, "contact": True, "effective": True, "sale": True, "final": True},
    ),
    ("dnc", "要求勿扰", 110, {"human_answered": True, "contact": True, "dnc": True, "final": True}),
]


def calls_reference_data_ensure(**_kwargs) -> dict:
    created = 0
    for code, name, order, flags in DEFAULT_DISPOSITIONS:
        values = {"name": name, "order": order, **{f: bool(flags.get(f)) for f in FLAGS}}
        _obj, new = Disposition.objects.get_or_create(code=code, defaults=values)
        created += int(new)
    rules = 0
    if not CallRuleSet.objects.exists():
        CallRuleSet.objects.create(
            name=default_name(DEFAULT_CALLRULES_NAME), effective_from=dt.date(2020, 1, 1)
        )
        rules = 1
    return {"dispositions": created, "rule_sets": rules}
