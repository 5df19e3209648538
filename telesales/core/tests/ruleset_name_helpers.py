"""The shared body of each app's test of its "default rule-set name in one language" data
migration (``<app>/migrations/*_default_ruleset_name_one_language.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.apps import apps as django_apps

KEPT = "本中心的规则"


def check_the_rename_migration(
    model, migration, *, old: str, new: str, between: Callable[[], None] | None = None
) -> None:
    """With a default still named ``old`` and one the center renamed: the migration renames
    the first to ``new`` and leaves the second; ``between`` runs then (a page to look at);
    going back restores ``old`` and still leaves the renamed one."""
    default = model.objects.create(name=old, effective_from=dt.date(2000, 1, 1))
    renamed = model.objects.create(name=KEPT, effective_from=dt.date(2001, 1, 1))
    migration.rename(django_apps, None)
    assert dict(model.objects.values_list("pk", "name")) == {default.pk: new, renamed.pk: KEPT}
    if between is not None:
        between()
    migration.rename_back(django_apps, None)
    assert dict(model.objects.values_list("pk", "name")) == {default.pk: old, renamed.pk: KEPT}
