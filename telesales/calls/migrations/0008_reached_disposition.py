"""The ``reached`` outcome (已接通（服务电话）): a service call — a welcome call, a free-look
check-in, an extended-service call — that reached the customer; talked, nothing to change on
the lead (the service task records what was said). Added to existing centers; a center that
has a code ``reached`` of its own keeps it."""

from django.db import migrations


def add(apps, schema_editor):
    Disposition = apps.get_model("calls", "Disposition")
    Disposition.objects.get_or_create(
        code="reached",
        defaults={
            "name": "已接通（服务电话）",
            "order": 72,
            "human_answered": True,
            "contact": True,
        },
    )


def remove(apps, schema_editor):
    Disposition = apps.get_model("calls", "Disposition")
    CallAttempt = apps.get_model("calls", "CallAttempt")
    unused = Disposition.objects.filter(code="reached").exclude(
        pk__in=CallAttempt.objects.filter(disposition__code="reached").values("disposition_id")
    )
    unused.delete()


class Migration(migrations.Migration):
    dependencies = [("calls", "0007_overdue_escalate_in_calling_hours")]

    operations = [migrations.RunPython(add, remove)]
