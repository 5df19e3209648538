"""Writes to lead source channels: create and edit (data officer and manager).

A channel's code is its stable identifier (imports name it with ``--channel``), so it cannot
change once leads carry it; the name, the default cost per lead, the consent wording and
whether new imports may use it can.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from telesales.core.audit import audit_record, model_snapshot
from telesales.core.errors import Conflict, PermissionDenied, ValidationFailed
from telesales.leads import permissions
from telesales.leads.models import Channel

EDITABLE = ("name", "default_cost_per_lead", "consent_wording", "is_active")
MAX_COST = Decimal("100000")


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out = dict(data)
    if "name" in out:
        out["name"] = (out["name"] or "").replace("\x00", "").strip()
        if not out["name"]:
            errors["name"] = [_("a name is required")]
        elif len(out["name"]) > 100:
            errors["name"] = [_("at most 100 characters")]
    if "default_cost_per_lead" in out:
        try:
            cost = Decimal(str(out["default_cost_per_lead"] or "0"))
        except InvalidOperation:
            cost = None
        if cost is None or not cost.is_finite():
            errors["default_cost_per_lead"] = [_("not a number")]
        elif cost < 0 or cost > MAX_COST:
            errors["default_cost_per_lead"] = [_("between 0 and 100,000")]
        else:
            out["default_cost_per_lead"] = cost.quantize(Decimal("0.01"))
    if "consent_wording" in out:
        out["consent_wording"] = (out["consent_wording"] or "").replace("\x00", "").strip()
        if len(out["consent_wording"]) > 2000:
            errors["consent_wording"] = [_("at most 2,000 characters")]
    if "is_active" in out:
        out["is_active"] = bool(out["is_active"])
    if errors:
        raise ValidationFailed(_("The channel has errors"), fields=errors)
    return out


@transaction.atomic
def channel_create(*, code: str, name: str, actor, **data: Any) -> Channel:
    if not permissions.can_manage_leads(actor):
        raise PermissionDenied(_("You may not manage lead channels"))
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(
            _("Unknown fields"), fields={k: [_("unknown field")] for k in unknown}
        )
    raw_code = (code or "").strip()
    clean_code = slugify(raw_code)[:40]
    if not clean_code or clean_code != raw_code:
        raise ValidationFailed(
            _("The code may hold only letters, digits, hyphens and underscores"),
            fields={"code": [_("letters, digits, hyphens and underscores only")]},
        )
    if Channel.objects.filter(code=clean_code).exists():
        raise Conflict(
            _("A channel with code %(code)s exists already") % {"code": clean_code},
            details={"fields": {"code": [_("already used")]}},
        )
    values = _clean({"name": name, **data})
    channel = Channel.objects.create(code=clean_code, **values)
    audit_record(
        actor=actor, action="leads.channel_create", instance=channel, after=model_snapshot(channel)
    )
    return channel


@transaction.atomic
def channel_update(*, channel: Channel, actor, **data: Any) -> Channel:
    if not permissions.can_manage_leads(actor):
        raise PermissionDenied(_("You may not manage lead channels"))
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(
            _("Unknown fields"), fields={k: [_("unknown field")] for k in unknown}
        )
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    before = model_snapshot(channel)
    for field, value in _clean(data).items():
        setattr(channel, field, value)
    channel.save()
    audit_record(
        actor=actor,
        action="leads.channel_update",
        instance=channel,
        before=before,
        after=model_snapshot(channel),
    )
    return channel
