"""Post-sale fixes (QA of the sale's after-care):

- the rule set's ``extended_service_after_free_look_days`` (extended service after 稳单);
- a task status "missed" and an outcome "converted, then cancelled in free-look";
- the default scripts name the company (``{company}``): rule sets still holding exactly the
  old default text get the new one;
- existing rows are brought in line: stabilisation tasks closed as "no longer needed" when a
  kept policy's window ended become missed; suggestions closed as converted by a policy later
  cancelled in free-look read "converted, then cancelled".
Reversible (the rows go back to what they were).
"""

import django.core.validators
from django.conf import settings
from django.db import migrations, models

OLD_SCRIPTS = {
    "welcome_script": (
        "您好，{holder}，我是保险顾问{agent}（执业登记号{reg_no}）。您投保的《{product}》"
        "（保单号{policy_number}）已经生效，感谢您的信任。电子保单已发送，请您查收并确认回执。"
        "犹豫期内如有任何疑问，都可以随时联系我。"
    ),
    "checkin_script": (
        "您好，{holder}，我是保险顾问{agent}（执业登记号{reg_no}）。您的《{product}》"
        "犹豫期到{free_look_end}结束，想再跟您确认一下保障内容和缴费安排是否清楚，"
        "还有什么需要我解释的吗？"
    ),
    "extended_script": (
        "您好，{holder}，我是保险顾问{agent}（执业登记号{reg_no}）。上次您为家庭配置了保障，"
        "根据您家里现有的保单，{member}还缺少{category}方面的保障。"
        "保险是对家人责任的延续，方便的话我给您介绍一下适合的方案？"
    ),
}
OLD_PREFIX = "我是保险顾问{agent}"
NEW_PREFIX = "我是{company}的保险顾问{agent}"
STABILISATION_KINDS = ("welcome_call", "free_look_checkin")


def forwards(apps, schema_editor):
    rulesets = apps.get_model("policies", "StabilisationRuleSet")
    task = apps.get_model("policies", "ServiceTask")
    for field, old in OLD_SCRIPTS.items():
        rulesets.objects.filter(**{field: old}).update(
            **{field: old.replace(OLD_PREFIX, NEW_PREFIX)}
        )
    task.objects.filter(
        kind__in=STABILISATION_KINDS,
        status="cancelled",
        outcome="expired",
        policy__status="free_look_ended",
    ).update(status="missed", outcome="")
    task.objects.filter(
        kind="extended_service", outcome="converted", converted_policy__status="cancelled"
    ).update(outcome="conversion_cancelled")


def backwards(apps, schema_editor):
    rulesets = apps.get_model("policies", "StabilisationRuleSet")
    task = apps.get_model("policies", "ServiceTask")
    for field, old in OLD_SCRIPTS.items():
        rulesets.objects.filter(**{field: old.replace(OLD_PREFIX, NEW_PREFIX)}).update(
            **{field: old}
        )
    task.objects.filter(status="missed").update(status="cancelled", outcome="expired")
    task.objects.filter(outcome="conversion_cancelled").update(outcome="converted")


class Migration(migrations.Migration):

    dependencies = [
        ('policies', '0003_default_ruleset_name_one_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='stabilisationruleset',
            name='extended_service_after_free_look_days',
            field=models.PositiveSmallIntegerField(default=1, help_text="Stabilisation comes first: extended-service tasks never fall due before this many days after the first policy's free-look window ends (1: the day after)", validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(365)], verbose_name='extended service at the earliest (days after the free-look window)'),
        ),
        migrations.AlterField(
            model_name='servicetask',
            name='outcome',
            field=models.CharField(blank=True, choices=[('reached', 'Reached, all well'), ('concern', 'Reached, customer has concerns'), ('not_reached', 'Not reached'), ('interested', 'Interested'), ('not_interested', 'Not interested'), ('converted', 'Converted into a sale'), ('conversion_cancelled', 'Converted, then cancelled in free-look'), ('expired', 'No longer needed')], max_length=20, verbose_name='outcome'),
        ),
        migrations.AlterField(
            model_name='servicetask',
            name='status',
            field=models.CharField(choices=[('open', 'Open'), ('done', 'Done'), ('cancelled', 'Cancelled'), ('missed', 'Missed')], default='open', max_length=10, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='stabilisationruleset',
            name='checkin_script',
            field=models.TextField(default='您好，{holder}，我是{company}的保险顾问{agent}（执业登记号{reg_no}）。您的《{product}》犹豫期到{free_look_end}结束，想再跟您确认一下保障内容和缴费安排是否清楚，还有什么需要我解释的吗？', verbose_name='check-in script'),
        ),
        migrations.AlterField(
            model_name='stabilisationruleset',
            name='extended_script',
            field=models.TextField(default='您好，{holder}，我是{company}的保险顾问{agent}（执业登记号{reg_no}）。上次您为家庭配置了保障，根据您家里现有的保单，{member}还缺少{category}方面的保障。保险是对家人责任的延续，方便的话我给您介绍一下适合的方案？', verbose_name='extended-service script'),
        ),
        migrations.AlterField(
            model_name='stabilisationruleset',
            name='welcome_script',
            field=models.TextField(default='您好，{holder}，我是{company}的保险顾问{agent}（执业登记号{reg_no}）。您投保的《{product}》（保单号{policy_number}）已经生效，感谢您的信任。电子保单已发送，请您查收并确认回执。犹豫期内如有任何疑问，都可以随时联系我。', verbose_name='welcome call script'),
        ),
        migrations.AddConstraint(
            model_name='stabilisationruleset',
            constraint=models.CheckConstraint(condition=models.Q(('extended_service_after_free_look_days__gte', 1)), name='policies_ruleset_extended_after_free_look'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
