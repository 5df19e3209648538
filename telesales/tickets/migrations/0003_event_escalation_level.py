"""Escalation rows keep the level they reached (``TicketEvent.escalation_level``): a reopened
ticket starts its escalation again, and its page still says how far it went before.

Existing rows are filled in from what they say: "still unresolved after the team lead's
escalation" is the manager's step; the latest escalation of a ticket not reopened since is the
ticket's own level; otherwise a first escalation went to the team lead when it names someone
who leads a team and passes nobody over (no note), else to the manager. Reversible (the
column goes)."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Max

TEAM_LEAD, MANAGER = 1, 2


def fill_levels(apps, schema_editor):
    event_model = apps.get_model("tickets", "TicketEvent")
    ticket_model = apps.get_model("tickets", "Ticket")
    team_model = apps.get_model("org", "Team")
    leaders = set(team_model.objects.exclude(leader_id=None).values_list("leader_id", flat=True))
    escalations = event_model.objects.filter(action="escalate", escalation_level=None)
    ticket_ids = set(escalations.values_list("ticket_id", flat=True))
    current = dict(
        ticket_model.objects.filter(pk__in=ticket_ids).values_list("pk", "escalation_level")
    )
    last_reopen = dict(
        event_model.objects.filter(ticket_id__in=ticket_ids, action="reopen")
        .values("ticket_id")
        .annotate(at=Max("at"))
        .values_list("ticket_id", "at")
    )
    latest: dict[int, int] = {}
    for event in escalations.order_by("ticket_id", "at", "id").only("id", "ticket_id"):
        latest[event.ticket_id] = event.pk
    for event in escalations.order_by("id"):
        reopened_after = event.ticket_id in last_reopen and last_reopen[event.ticket_id] >= event.at
        if event.escalation_reason == "still_unresolved":
            level = MANAGER
        elif (
            latest.get(event.ticket_id) == event.pk
            and not reopened_after
            and current.get(event.ticket_id)
        ):
            level = current[event.ticket_id]
        elif event.to_person_id in leaders and not event.note:
            level = TEAM_LEAD
        else:
            level = MANAGER
        event_model.objects.filter(pk=event.pk).update(escalation_level=level)


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0003_person_developed_by"),
        ("tickets", "0002_default_ruleset_name_one_language"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketevent",
            name="escalation_level",
            field=models.PositiveSmallIntegerField(
                blank=True,
                choices=[(0, "Not escalated"), (1, "Team lead"), (2, "Center manager")],
                help_text="The level an escalation reached (escalations only)",
                null=True,
                verbose_name="escalation level",
            ),
        ),
        migrations.RunPython(fill_levels, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="ticketevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("escalation_level__isnull", True),
                    models.Q(
                        ("action", "escalate"),
                        ("escalation_level__gte", 1),
                        ("escalation_level__lte", 2),
                    ),
                    _connector="OR",
                ),
                name="tickets_event_escalation_level",
            ),
        ),
    ]
