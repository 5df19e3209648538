"""Helpers for services that create and update models: validation and change tracking."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from telesales.core.errors import Conflict, ValidationFailed


def validate_instance(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    """Run the model's own validation (fields, choices, constraints) as a ``ValidationFailed``."""
    try:
        instance.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        fields = {
            ("__all__" if k == NON_FIELD_ERRORS else k): [str(m) for m in v]
            for k, v in exc.message_dict.items()
        }
        raise ValidationFailed(_("Invalid input"), fields=fields) from exc


def save_or_conflict(instance: models.Model, **kwargs: Any) -> None:
    """Save; a unique or check constraint the database enforces becomes a ``Conflict``."""
    try:
        with transaction.atomic():
            instance.save(**kwargs)
    except IntegrityError as exc:
        raise Conflict(_("This change conflicts with an existing record")) from exc


def apply_changes(instance: models.Model, data: dict[str, Any], *, allowed: set[str]) -> list[str]:
    """Set the allowed attributes that differ; return the names of those that changed."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(
            _("Unknown fields"), fields={name: [_("cannot be changed here")] for name in unknown}
        )
    changed = []
    for name, value in data.items():
        field = instance._meta.get_field(name)
        attname = field.attname if isinstance(field, models.ForeignKey) else name
        current = getattr(instance, attname)
        new = value.pk if isinstance(value, models.Model) and attname != name else value
        if current != new:
            setattr(instance, attname, new)
            changed.append(name)
    return changed
