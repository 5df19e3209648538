"""Rejected rows keep their number's hash; one do-not-call entry in force per number.

Before the constraint, numbers that have more than one open entry (``removed_at`` empty) keep
the one that blocks longest (permanent first, then the latest expiry, then the newest); the
others are closed: an entry that had lapsed at its expiry, any other one now (it is covered
by the entry kept, so nothing that was blocked becomes callable).
"""

from django.db import migrations, models
from django.db.models import Count
from django.utils import timezone


def close_duplicate_open_entries(apps, schema_editor):
    DncEntry = apps.get_model("leads", "DncEntry")
    now = timezone.now()
    open_entries = DncEntry.objects.filter(removed_at__isnull=True)
    repeated = (
        open_entries.values("phone_hash")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("phone_hash", flat=True)
    )
    for digest in list(repeated.iterator()):
        entries = list(open_entries.filter(phone_hash=digest))
        entries.sort(
            key=lambda e: (
                e.expires_at is None,
                e.expires_at or now,
                e.created_at,
                e.pk,
            ),
            reverse=True,
        )
        for entry in entries[1:]:
            lapsed = entry.expires_at is not None and entry.expires_at <= now
            DncEntry.objects.filter(pk=entry.pk).update(
                removed_at=entry.expires_at if lapsed else now, updated_at=now
            )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0003_customer_relation"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchrejection",
            name="phone_hash",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.RunPython(close_duplicate_open_entries, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="dncentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("removed_at__isnull", True)),
                fields=("phone_hash",),
                name="leads_dnc_one_open_entry_per_number",
            ),
        ),
    ]
