"""Writing and reading the audit log. Every service that writes calls ``audit_record``."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import uuid
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import (
    FieldDoesNotExist,
    FieldError,
    ImproperlyConfigured,
    ObjectDoesNotExist,
)
from django.db import models
from django.utils.translation import gettext as _

from telesales.core.actors import user_or_none
from telesales.core.models import AuditEntry

# --- What actions are called ---------------------------------------------------------------
#: Action code ("leads.phone_reveal") → its label, registered by each app's ``audit_actions``
#: module when the app is ready.
_ACTION_LABELS: dict[str, Any] = {}
#: Actions recorded only by tests of the audit log itself.
_TEST_ACTION_PREFIX = "test."


def register_action_labels(labels: dict[str, Any]) -> None:
    """Name an app's audit actions as people read them (lazy translations)."""
    _ACTION_LABELS.update(labels)


def action_label(action: str) -> str:
    """An action code as people read it, in the current language ("查看完整号码" for
    ``leads.phone_reveal``); the code itself when no app names it (an action since
    removed)."""
    label = _ACTION_LABELS.get(action)
    return action if label is None else str(label)


def actions_labelled(text: str) -> list[str]:
    """The action codes whose label, in the current language, contains ``text``."""
    wanted = text.casefold()
    return [code for code, label in _ACTION_LABELS.items() if wanted in str(label).casefold()]


def _require_label(action: str) -> None:
    """With ``TELESALES_AUDIT_LABELS_REQUIRED`` (the test settings), an action nobody named is
    an error at once, so that the audit log never shows a bare code."""
    if (
        getattr(settings, "TELESALES_AUDIT_LABELS_REQUIRED", False)
        and action not in _ACTION_LABELS
        and not action.startswith(_TEST_ACTION_PREFIX)
    ):
        raise ImproperlyConfigured(
            f"The audit action {action!r} has no label: add it to its app's audit_actions.py"
        )


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def model_snapshot(instance: models.Model, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The concrete field values of a model instance as JSON-safe data (foreign keys by id)."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in exclude or field.name in {"created_at", "updated_at"}:
            continue
        data[field.name] = _plain(getattr(instance, field.attname))
    return data


def audit_record(
    *,
    actor,
    action: str,
    instance: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Record one write. Call inside the service's transaction so both land or neither does."""
    _require_label(action)
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = object_id or str(instance.pk)
        object_repr = object_repr or str(instance)[:200]
    user = user_or_none(actor)
    return AuditEntry.objects.create(
        actor=user,
        actor_name=(user.get_username() if user else str(actor or "system"))[:150],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        reason=reason[:500],
    )


def audit_entry_list(
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    text: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
    prefixes: tuple[str, ...] | None = None,
):
    """Search the log, within the actions starting with ``prefixes`` (None: all of them). The
    caller decides who reads what (``core.permissions.audit_action_scope``)."""
    qs = AuditEntry.objects.select_related("actor")
    if prefixes is not None:
        scope = models.Q(pk__in=[])
        for prefix in prefixes:
            scope |= models.Q(action__startswith=prefix)
        qs = qs.filter(scope)
    if actor:
        qs = qs.filter(actor_name__icontains=actor)
    if action:
        # The code ("phone_reveal") or the label as read ("查看完整号码", "Number revealed").
        qs = qs.filter(
            models.Q(action__icontains=action) | models.Q(action__in=actions_labelled(action))
        )
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if text:
        qs = qs.filter(models.Q(object_repr__icontains=text) | models.Q(reason__icontains=text))
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs


def object_type_label(object_type: str) -> str:
    """An audit entry's ``object_type`` ("compensation.payrun") as people read it: the
    model's verbose name in the current language ("工资核算"); the code itself when it names
    no model (an object that is not a model, or a model since removed)."""
    app_label, _, model_name = object_type.partition(".")
    try:
        model = apps.get_model(app_label, model_name)
    except (LookupError, ValueError):
        return object_type
    name = str(model._meta.verbose_name)
    return name[:1].upper() + name[1:]


# --- Reading entries as people do -----------------------------------------------------------
def _model_of(object_type: str):
    app_label, _sep, model_name = object_type.partition(".")
    try:
        return apps.get_model(app_label, model_name)
    except (LookupError, ValueError):
        return None


def _field_of(model, key: str):
    if model is None:
        return None
    for name in (key, key.removesuffix("_id")):
        try:
            return model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
    return None


def _shown_plain(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list | tuple):
        return "、".join(_shown_plain(v) for v in value) or "—"
    if isinstance(value, dict):
        return "、".join(f"{k}: {_shown_plain(v)}" for k, v in value.items()) or "—"
    return str(value)


def audit_changes_attach(entries) -> None:
    """Give each entry ``changes``: ``[(label, before, after)]`` as people read them — the
    field's name in the current language (the key itself when the object type names no model
    or the model no such field), a related record's name instead of its id (one query per
    related model for the whole page; ``#id`` for one since deleted), a choice's label,
    yes/no for a flag (QA: the log read ``level: 2 → 3``, ``team: 3 → 7``, ``True``)."""
    entries = list(entries)
    wanted: dict = {}  # related model → ids
    plans = []
    for entry in entries:
        model = _model_of(entry.object_type)
        rows = []
        for key, old, new in entry.changed_fields:
            field = _field_of(model, key)
            related = None
            if field is not None and (field.many_to_one or field.one_to_one):
                related = field.related_model
                for value in (old, new):
                    if value not in (None, ""):
                        wanted.setdefault(related, set()).add(value)
            rows.append((key, field, related, old, new))
        plans.append((entry, rows))
    names: dict = {}
    for related, ids in wanted.items():
        clean = {v for v in ids if isinstance(v, int) or (isinstance(v, str) and v.isdigit())}
        found = related._default_manager.in_bulk([int(v) for v in clean]) if clean else {}
        names[related] = {pk: str(obj) for pk, obj in found.items()}
    for entry, rows in plans:
        changes = []
        for key, field, related, old, new in rows:
            label = str(getattr(field, "verbose_name", "") or key)

            def shown(value, field=field, related=related):
                if value in (None, ""):
                    return "—"
                if related is not None:
                    try:
                        pk = int(value)
                    except (TypeError, ValueError):
                        return _shown_plain(value)
                    return names.get(related, {}).get(pk) or f"#{pk}"
                choices = dict(field.flatchoices) if getattr(field, "choices", None) else {}
                if isinstance(value, str | int) and value in choices:
                    return str(choices[value])
                return _shown_plain(value)

            changes.append((label, shown(old), shown(new)))
        entry.changes = changes


def audit_actor_names_attach(entries) -> None:
    """Give each entry ``actor_display``: the name of the person behind the login, with the
    login (``韩明晓 (hr)``), or the recorded login name alone (the command line, a login with
    no person record, a deleted one)."""
    entries = list(entries)
    ids = {e.actor_id for e in entries if e.actor_id}
    people: dict[int, str] = {}
    if ids:
        users = get_user_model().objects.filter(pk__in=ids)
        with contextlib.suppress(FieldError):
            users = users.select_related("person")
        for user in users:
            try:
                person = user.person
            except (ObjectDoesNotExist, AttributeError):
                person = None
            name = getattr(person, "name", "") or ""
            if name:
                people[user.pk] = name
    for entry in entries:
        name = people.get(entry.actor_id or 0)
        if name:
            entry.actor_display = f"{name} ({entry.actor_name})"
        elif entry.actor_id is None and entry.actor_name in ("system", ""):
            entry.actor_display = str(_("system"))  # a periodic task, in the page's language
        else:
            entry.actor_display = entry.actor_name
