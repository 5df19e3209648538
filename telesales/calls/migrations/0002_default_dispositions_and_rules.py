"""The default disposition set (DOMAIN.md §5.1) and the default call rule set.

Names are data, stored in Chinese; codes are stable English identifiers. The same set is
ensured again by the ``calls.reference_data`` bootstrap step (``telesales bootstrap``).
"""

import datetime as dt

from django.db import migrations

# code, name, order, flags
DISPOSITIONS = [
    ("no_answer", "无人接听", 10, {}),
    ("busy", "忙线", 20, {}),
    ("powered_off", "关机", 30, {}),
    ("invalid_number", "空号/停机", 40, {"invalid_number": True, "final": True}),
    (
        "wrong_person",
        "非本人",
        50,
        {"human_answered": True, "invalid_number": True, "final": True},
    ),
    ("voicemail", "语音信箱", 60, {}),
    ("refused", "拒绝", 70, {"human_answered": True, "contact": True, "refusal": True}),
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


def create_defaults(apps, schema_editor):
    Disposition = apps.get_model("calls", "Disposition")
    CallRuleSet = apps.get_model("calls", "CallRuleSet")
    for code, name, order, flags in DISPOSITIONS:
        values = {"name": name, "order": order, **{f: bool(flags.get(f)) for f in FLAGS}}
        Disposition.objects.get_or_create(code=code, defaults=values)
    if not CallRuleSet.objects.exists():
        CallRuleSet.objects.create(
            name="默认外呼规则 / Default call rules",
            effective_from=dt.date(2020, 1, 1),
        )


class Migration(migrations.Migration):
    dependencies = [("calls", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
