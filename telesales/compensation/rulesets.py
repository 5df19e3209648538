"""Writes to the basic-law rule sets: import a file as a new draft version, approve it, discard a
draft.

A version that is or was in force is never edited: the pay lines computed under it name its
id and version and must stay explainable. Importing always creates a NEW draft version;
approving puts it in force from its ``effective_from`` and closes the version in force before
it (``effective_to`` = the day before).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import IO

from django.db import transaction
from django.db.models import Max, ProtectedError, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from telesales.compensation import permissions
from telesales.compensation.choices import PayRunStatus, RuleSetStatus
from telesales.compensation.models import AssessmentRun, AssessmentRunStatus, PayRun, RuleSet
from telesales.compensation.rules_format import (
    RuleBook,
    detect_format,
    document_to_json,
    ruleset_check,
    ruleset_parse,
)
from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import Conflict, InvalidState, PermissionDenied, ValidationFailed
from telesales.core.model_updates import save_or_conflict
from telesales.org.models import Level

DEFAULT_RULESET_PATH = Path(__file__).resolve().parent / "defaults" / "basic_law.yaml"
#: A rule file larger than this is a mistake, not a basic law.
MAX_FILE_BYTES = 1_000_000


def _org_level_codes() -> set[str]:
    return set(Level.objects.values_list("code", flat=True))


def _require_manager(actor) -> None:
    if not permissions.can_manage_rulesets(actor):
        raise PermissionDenied(_("Only the HR admin or the center manager may manage pay rules"))


def _read_upload(file: IO) -> str:
    raw = file.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationFailed(
            _("The rule file is too large"),
            fields={"file": [_("At most %(n)d bytes.") % {"n": MAX_FILE_BYTES}]},
        )
    if isinstance(raw, str):
        return raw
    text = decode_rule_file(raw)
    if text is None:
        raise ValidationFailed(
            _("The rule file is neither UTF-8 nor GBK text"),
            fields={"file": [_("Save it as UTF-8 (or GBK).")]},
        )
    return text


def decode_rule_file(raw: bytes) -> str | None:
    """A rule file's text: UTF-8 (with or without a BOM), else GBK as a Chinese Windows editor
    saves it (decoded as GB18030, its superset); None when it is neither."""
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return None


@transaction.atomic
def ruleset_import(
    *,
    actor,
    effective_from: dt.date,
    text: str | None = None,
    file: IO | None = None,
    filename: str = "",
    reason: str = "",
) -> RuleSet:
    """Check a YAML or JSON rule file and save it as a new DRAFT version.

    Give either ``text`` or an open ``file``. The level codes it uses must exist in the
    organisation's ladder. Raises ``RuleSetInvalid`` (a ``ValidationFailed``) listing every
    problem with its path, line and reason. Idempotent: the same text for the same day as the
    latest version, still a draft, returns that draft (a form or request submitted twice).
    """
    _require_manager(actor)
    if text is not None and file is not None:
        both = _("Give the rules as a file or as text, not both.")
        raise ValidationFailed(both, fields={"file": [both], "text": [both]})
    if text is None and file is None:
        raise ValidationFailed(
            _("Give the rules as text or as a file"), fields={"file": [_("Required.")]}
        )
    if file is not None:
        filename = filename or getattr(file, "name", "") or ""
        text = _read_upload(file)
    assert text is not None
    if not text.strip():
        # A file: the words of the page's file field (Django's own), in the API too.
        empty = (
            _("The submitted file is empty.")
            if file is not None
            else _("The rules are empty: paste a rule file's text.")
        )
        raise ValidationFailed(empty, fields={"file" if file is not None else "text": [empty]})
    if not isinstance(effective_from, dt.date):
        raise ValidationFailed(
            _("Invalid input"), fields={"effective_from": [_("A date is required.")]}
        )
    # A version that could never be approved is refused now, not kept as a draft nobody can
    # use or remove (QA, session 20: seven such drafts cluttered the list).
    locked = ruleset_locked_periods(effective_from)
    if locked:
        locked = locked[:1].upper() + locked[1:]
        raise ValidationFailed(locked, fields={"effective_from": [locked]})
    filename = Path(filename).name[:200] if filename else ""
    fmt = detect_format(text=text, filename=filename)
    book, raw = ruleset_parse(text, fmt=fmt, filename=filename, known_levels=_org_level_codes())
    previous = RuleSet.objects.order_by("-version").first()
    if (
        previous is not None
        and previous.status == RuleSetStatus.DRAFT
        and previous.effective_from == effective_from
        and previous.source_text == text
    ):
        return previous  # the same import submitted twice: the draft it made stands
    latest = RuleSet.objects.aggregate(latest=Max("version"))["latest"] or 0
    ruleset = RuleSet(
        version=latest + 1,
        name=book.name[:200],
        status=RuleSetStatus.DRAFT,
        effective_from=effective_from,
        document=document_to_json(raw),
        source_text=text,
        source_format=fmt,
        source_name=filename,
        created_by=user_or_none(actor),
    )
    save_or_conflict(ruleset)
    audit_record(
        actor=actor,
        action="compensation.ruleset_import",
        instance=ruleset,
        after={
            "version": ruleset.version,
            "name": ruleset.name,
            "effective_from": ruleset.effective_from,
            "source_name": filename,
            "format": fmt,
        },
        reason=reason,
    )
    return ruleset


@transaction.atomic
def ruleset_approve(*, ruleset: RuleSet, actor, reason: str = "") -> RuleSet:
    """Put a draft version in force from its ``effective_from``.

    The approved version in force on that day gets ``effective_to`` = the day before. An
    approved version that starts on or after that day is a conflict: approve versions in the
    order they take effect. The document is checked again against today's ladder.
    """
    _require_manager(actor)
    ruleset = RuleSet.objects.select_for_update().get(pk=ruleset.pk)
    if ruleset.status != RuleSetStatus.DRAFT:
        raise InvalidState(_("Only a draft rule set can be approved"))
    ruleset_check(ruleset.document, known_levels=_org_level_codes(), source_name=str(ruleset))
    day = ruleset.effective_from
    approved = RuleSet.objects.select_for_update().filter(status=RuleSetStatus.APPROVED)
    if later := ruleset_overtaken(day, approved=approved):
        raise Conflict(later)
    if locked := ruleset_locked_periods(day):
        raise Conflict(locked)
    previous = (
        approved.filter(effective_from__lt=day)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day))
        .order_by("-effective_from")
        .first()
    )
    if previous is not None:
        before_to = previous.effective_to
        previous.effective_to = day - dt.timedelta(days=1)
        previous.save(update_fields=["effective_to", "updated_at"])
        audit_record(
            actor=actor,
            action="compensation.ruleset_close",
            instance=previous,
            before={"effective_to": before_to},
            after={"effective_to": previous.effective_to, "replaced_by": ruleset.version},
            reason=reason,
        )
    ruleset.status = RuleSetStatus.APPROVED
    ruleset.approved_by = user_or_none(actor)
    ruleset.approved_at = timezone.now()
    ruleset.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    audit_record(
        actor=actor,
        action="compensation.ruleset_approve",
        instance=ruleset,
        before={"status": RuleSetStatus.DRAFT},
        after={"status": ruleset.status, "effective_from": ruleset.effective_from},
        reason=reason,
    )
    return ruleset


@transaction.atomic
def ruleset_discard(*, ruleset: RuleSet, actor, reason: str = "") -> int:
    """Delete a draft version nobody will approve (a mistaken import, a what-if that lost).
    The audit entry keeps its text, so that it can be imported again. An approved version is
    never deleted: a later version replaces it. Returns the discarded version's number."""
    _require_manager(actor)
    ruleset = RuleSet.objects.select_for_update().filter(pk=ruleset.pk).first()
    if ruleset is None:
        raise InvalidState(_("This rule set no longer exists"))
    if ruleset.status != RuleSetStatus.DRAFT:
        raise InvalidState(
            _("Only a draft can be discarded; a later version replaces an approved one")
        )
    version = ruleset.version
    audit_record(
        actor=actor,
        action="compensation.ruleset_discard",
        instance=ruleset,
        before={
            "version": version,
            "name": ruleset.name,
            "effective_from": ruleset.effective_from,
            "source_name": ruleset.source_name,
            "format": ruleset.source_format,
            "source_text": ruleset.source_text,
        },
        after={"status": "discarded"},
        reason=reason,
    )
    try:
        with transaction.atomic():
            ruleset.delete()
    except ProtectedError:
        raise Conflict(
            _("Version %(v)d is used by a pay or assessment run and cannot be discarded")
            % {"v": version}
        ) from None
    return version


def ruleset_overtaken(day: dt.date, *, approved=None) -> str:
    """Why a draft starting on ``day`` can no longer be approved because an approved version
    starts on or after it (versions are approved in the order they take effect), or ""."""
    if approved is None:
        approved = RuleSet.objects.filter(status=RuleSetStatus.APPROVED)
    later = approved.filter(effective_from__gte=day).order_by("effective_from").first()
    if later is None:
        return ""
    return _("Version %(v)d is already approved from %(day)s; a version must start later") % {
        "v": later.version,
        "day": later.effective_from.isoformat(),
    }


def ruleset_locked_periods(day: dt.date) -> str:
    """Why a version may not take effect on ``day``, or "": an approved pay run or assessment
    run of a period ending on or after ``day`` was computed under the version in force then,
    and is locked; putting another version in force over it would rewrite history (the list
    would claim a version was in force in months paid under another). The message names the
    periods, their versions and the first day allowed ("2026-09、2026-10 已按 v1 批准，生效日期须
    晚于 2026-10-31")."""
    problems = []
    last_end: dt.date | None = None
    for runs, text in (
        (
            PayRun.objects.filter(status=PayRunStatus.APPROVED, period_end__gte=day),
            _("pay runs %(periods)s are approved under %(versions)s"),
        ),
        (
            AssessmentRun.objects.filter(status=AssessmentRunStatus.APPROVED, period_end__gte=day),
            _("assessments %(periods)s are approved under %(versions)s"),
        ),
    ):
        rows = list(
            runs.order_by("period_end").values_list("label", "ruleset_version", "period_end")
        )
        if not rows:
            continue
        versions = sorted({version for _label, version, _end in rows})
        problems.append(
            text
            % {
                "periods": _(", ").join(label for label, _v, _end in rows),
                "versions": _(", ").join(f"v{v}" for v in versions),
            }
        )
        last_end = max(last_end or rows[-1][2], rows[-1][2])
    if not problems:
        return ""
    assert last_end is not None
    return _("%(problems)s; the effective date must be after %(day)s") % {
        "problems": pgettext("between two parts of a note", "; ").join(problems),
        "day": last_end.isoformat(),
    }


def ruleset_import_default(*, actor, effective_from: dt.date) -> RuleSet:
    """Import the shipped default basic law (``defaults/basic_law.yaml``) as a draft."""
    return ruleset_import(
        actor=actor,
        effective_from=effective_from,
        text=DEFAULT_RULESET_PATH.read_text(encoding="utf-8"),
        filename=DEFAULT_RULESET_PATH.name,
        reason="default basic law",
    )


def ruleset_rulebook(ruleset: RuleSet) -> RuleBook:
    """The checked rule book of a stored version (the document is checked again on load)."""
    return ruleset_check(ruleset.document, source_name=str(ruleset))
