"""``CallRuleSet.overdue_escalate_hours`` counts calling hours now (only the time inside the
calling window), no longer hours by the clock. The default becomes 12, one calling day of the
default window 09:00–21:00, as 24 clock hours were.

The hours each stored version holds are converted so that a follow-up due at the window's
opening escalates when it did before: the calling time those clock hours held from the
opening (whole days give a whole window each, the rest counts up to the window's length;
24 → 12 and 48 → 24 with the default window, 2 → 2). Reversible for the values it writes."""

from django.db import migrations, models

DAY = 24 * 60


def _window_minutes(rules) -> int:
    start = rules.window_start.hour * 60 + rules.window_start.minute
    end = rules.window_end.hour * 60 + rules.window_end.minute
    return max(end - start, 1)


def calling_hours(clock_hours: int, window: int) -> int:
    """Clock hours from the window's opening → the calling hours they held (at least 1)."""
    days, rest = divmod(clock_hours * 60, DAY)
    return max(1, round((days * window + min(rest, window)) / 60))


def clock_hours(calling: int, window: int) -> int:
    """The inverse: calling hours → clock hours from the window's opening."""
    days, rest = divmod(calling * 60, window)
    return max(1, round((days * DAY + rest) / 60))


def _convert(apps, how) -> None:
    model = apps.get_model("calls", "CallRuleSet")
    for rules in model.objects.all():
        hours = how(rules.overdue_escalate_hours, _window_minutes(rules))
        if hours != rules.overdue_escalate_hours:
            model.objects.filter(pk=rules.pk).update(overdue_escalate_hours=hours)


def to_calling_hours(apps, schema_editor):
    _convert(apps, calling_hours)


def to_clock_hours(apps, schema_editor):
    _convert(apps, clock_hours)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0006_callattempt_talk_capped"),
    ]

    operations = [
        migrations.AlterField(
            model_name="callruleset",
            name="overdue_escalate_hours",
            field=models.PositiveIntegerField(
                default=12,
                help_text=(
                    "Calling hours: only the time inside the calling window counts, so a "
                    "follow-up due 20:30 with 2 hours escalates at 10:30 the next day"
                ),
                verbose_name="escalate an overdue follow-up after (hours)",
            ),
        ),
        migrations.RunPython(to_calling_hours, to_clock_hours),
    ]
