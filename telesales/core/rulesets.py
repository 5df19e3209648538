"""Which version of a rule set is in force: one plain SQL statement, shared by every app.

Each app keeps its rule sets as versioned rows (``is_active``, ``effective_from`` and, for the
lead and call rules, a team ``stage``; ADR 0013 for the basic law). Dispatch, dialling and
recording a call read two or three of them each; built with the ORM, the stage-first ordering
cost more to compile than to run (ADR 0015), so the read is SQL text here, through
``Model.objects.raw`` (Django's converters still apply)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection
from django.utils import translation


def default_name(text) -> str:
    """A shipped default's name as stored data (a default rule set's name, which the center
    then edits): one language, the center's (``LANGUAGE_CODE``), whoever's language is active."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def version_in_force(model, *, on: dt.date, stage: str | None = None):
    """The active row of ``model`` effective on ``on`` with the latest ``effective_from``
    (then the highest id); with ``stage``, that stage's own rows before the stage-less ones
    (``stage=""``). ``None`` when there is none."""
    table = connection.ops.quote_name(model._meta.db_table)
    day = connection.ops.adapt_datefield_value(on)
    if stage is None:
        sql = (
            f"SELECT * FROM {table} WHERE is_active AND effective_from <= %s"  # noqa: S608
            " ORDER BY effective_from DESC, id DESC LIMIT 1"
        )
        params = [day]
    else:
        sql = (
            f"SELECT * FROM {table} WHERE is_active AND effective_from <= %s"  # noqa: S608
            " AND stage IN (%s, '')"
            " ORDER BY CASE WHEN stage = %s THEN 0 ELSE 1 END, effective_from DESC, id DESC"
            " LIMIT 1"
        )
        params = [day, stage, stage]
    for row in model.objects.raw(sql, params):
        return row
    return None
