"""Writes of the monthly pay run: compute (and recompute) a period, approve it, record the
attendance it needs and the adjustments that correct an approved period.

- ``payrun_compute`` builds the inputs from the database (``payinputs.py``), runs the pure
  engine (``engine.py``) under the rule set in force on the period's last day, merges the
  per-policy lines into one line per rate cell (``engine.group_by_cell``, ADR 0014: each
  policy's amount kept in ``parts``) and replaces the lines of the period's OPEN run. Same
  inputs → the same lines in the same order (each line has a ``position``);
  ``input_fingerprint`` tells whether the inputs changed.
- ``payrun_approve`` locks the period (computing it again is ``InvalidState``) and writes
  its per-policy ledger (``PolicyPay``), which later clawbacks and releases read. A correction
  is a ``PayAdjustment`` (``payadjustment_create``), paid as an ``adjustment`` line by the
  next run computed, and locked with that run's approval.
- Missing data raises ``PayInputInvalid`` (a ``ValidationFailed``) listing every problem;
  nothing is saved and nobody is paid zero silently.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from telesales.compensation import permissions
from telesales.compensation.assessment_inputs import period_containing
from telesales.compensation.choices import PayLineKind, PayRunStatus
from telesales.compensation.engine import (
    CENT,
    KINDS,
    PayInputInvalid,
    Period,
    compute_pay,
    group_by_cell,
    period_for,
)
from telesales.compensation.engine import PayLine as EngineLine
from telesales.compensation.models import (
    Attendance,
    PayAdjustment,
    PayBasisState,
    PayLine,
    PayRun,
    PolicyPay,
    PolicyPayBasis,
    RuleSet,
)
from telesales.compensation.paybasis import forget_period, purge, visible
from telesales.compensation.payinputs import pay_basis_refresh, pay_inputs
from telesales.compensation.rules_format import RuleBook
from telesales.compensation.rulesets import ruleset_rulebook
from telesales.compensation.selectors import ruleset_in_force
from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.memory import without_cyclic_gc
from telesales.core.model_updates import save_or_conflict
from telesales.org.models import Person
from telesales.policies.models import Policy

ADJUSTMENT_RULE = "adjustment"
# ``progress(stage, done, total)``: stage "reading" (the inputs), "computing" (``total`` people)
# or "writing" (``done`` of ``total`` lines); called inside the compute's transaction.
ProgressCallback = Callable[[str, int, int], None]
_WRITE_CHUNK = 1000
_KIND_ORDER = {kind: i for i, kind in enumerate((*KINDS, PayLineKind.ADJUSTMENT))}


def _require_pay_admin(actor) -> None:
    if not permissions.can_run_pay(actor):
        raise PermissionDenied(_("Only the HR admin or the center manager may run the pay"))


def _period_starting(book: RuleBook, day: dt.date) -> Period | None:
    """The period of the rule set's calendar that starts on ``day``, if one does."""
    year, month = day.year, day.month
    for y, m in ((year, month), (year + (month == 12), month % 12 + 1)):
        period = period_for(book, year=y, month=m)
        if period.start == day:
            return period
    return None


def payrun_period(*, period_start: dt.date) -> tuple[RuleSet, RuleBook, Period]:
    """The rule set (in force on the period's last day), its rule book and the period that
    starts on ``period_start``. ``ValidationFailed`` when there is none."""
    first = ruleset_in_force(on=period_start)
    if first is None:
        raise ValidationFailed(
            _("No approved rule set is in force on %(day)s") % {"day": period_start.isoformat()},
            fields={"period_start": [_("Approve a rule set for this period first.")]},
        )
    ruleset, book = first, ruleset_rulebook(first)
    period = _period_starting(book, period_start)
    if period is not None:
        last = ruleset_in_force(on=period.end)
        if last is not None and last.pk != first.pk:
            ruleset, book = last, ruleset_rulebook(last)
            period = _period_starting(book, period_start)
    if period is None:
        raise ValidationFailed(
            _("%(day)s is not the first day of a pay period of rule set version %(v)d")
            % {"day": period_start.isoformat(), "v": ruleset.version},
            fields={"period_start": [_("Give the first day of a pay period.")]},
        )
    return ruleset, book, period


def payrun_period_started(period: Period, *, today: dt.date | None = None) -> None:
    """Refuse a pay period that has not started yet (its first day after today, the
    center's date): nobody has worked it, so nothing could be computed but missing
    attendance. ``ValidationFailed`` on ``period_start``."""
    today = today or timezone.localdate()
    if period.start > today:
        raise ValidationFailed(
            _("The pay period %(p)s has not started yet: it starts on %(day)s")
            % {"p": period.label, "day": period.start.isoformat()},
            fields={
                "period_start": [
                    _("Choose a period that has started (today is %(today)s).")
                    % {"today": today.isoformat()}
                ]
            },
        )


def adjustment_lines(adjustments, *, version: int) -> list[EngineLine]:
    """The ``adjustment`` lines that pay ``adjustments`` (a run's; the what-if adds the same
    lines to both of its sides)."""
    lines = []
    for adj in adjustments:
        sources = [f"adjustment:{adj.pk}"]
        if adj.corrects_run_id is not None:
            sources.append(f"payrun:{adj.corrects_run_id}")
        lines.append(
            EngineLine(
                person_id=adj.person_id,
                kind=PayLineKind.ADJUSTMENT,
                rule_id=ADJUSTMENT_RULE,
                rule_version=version,
                amount=adj.amount,
                basis=adj.amount,
                rate=None,
                sources=tuple(sources),
                note=adj.reason,
            )
        )
    return lines


def _policy_id(line: EngineLine) -> int | None:
    """The policy of a clawback line (one policy each); other lines name theirs in
    ``sources`` (a commission line covers a rate cell of many, ADR 0014)."""
    if line.kind != PayLineKind.CLAWBACK:
        return None
    for source in line.sources:
        if source.startswith("policy:"):
            return int(source.split(":", 1)[1])
    return None


#: The columns ``_lines_write`` fills from an engine line; any other column of ``PayLine``
#: gets its field's default.
_LINE_COLUMNS = (
    "cell",
    "run_id",
    "position",
    "person_id",
    "kind",
    "amount",
    "basis",
    "rate",
    "rule_id",
    "rule_version",
    "modifiers",
    "sources",
    "policy_id",
    "note",
    "parts",
)


def _json_strings(items: tuple[str, ...]) -> str:
    """``json.dumps(list(items))``, built directly when every item is printable ASCII with
    no quote or backslash (nothing to escape: ``policy:17``, ``fyc.protection``)."""
    if not items:
        return "[]"
    try:
        body = " ".join(items)
    except TypeError:  # not all text
        return json.dumps(list(items))
    if body.isascii() and body.isprintable() and '"' not in body and "\\" not in body:
        return '["' + '", "'.join(items) + '"]'
    return json.dumps(list(items))


def _json_parts(parts: tuple[tuple[Decimal, Decimal], ...]) -> str:
    """``parts`` as JSON: ``[["12.30", "41.00"], …]``, to the cent as the line's own amount
    and basis are stored (an amount is already in cents, each line's being rounded on its
    own; a basis such as an FYC may carry more places, which the payslip does not show). A
    number in cents prints as ``12.30`` with ``str`` (never in exponent form), which is
    quicker than a format."""
    if not parts:
        return "[]"
    cent, up = CENT, ROUND_HALF_UP
    return (
        '[["' + '"], ["'.join([f'{a}", "{b.quantize(cent, rounding=up)}' for a, b in parts]) + '"]]'
    )


def _bulk_insert(
    model, columns: list[str], rows, *, total: int, progress=None, stage: str = "writing"
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) the fast way: ``executemany``
    in chunks or, on PostgreSQL, one ``COPY``; ``progress(stage, done, total)`` after each
    chunk. Table and column names come from the model, not from input."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    rows = iter(rows)
    done = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for chunk in iter(lambda: list(islice(rows, _WRITE_CHUNK)), []):
                    for row in chunk:
                        copy.write_row(row)
                    done += len(chunk)
                    if progress is not None:
                        progress(stage, done, total)
            return
        placeholders = ", ".join("%s" for _c in columns)
        sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
        for chunk in iter(lambda: list(islice(rows, _WRITE_CHUNK)), []):
            cursor.executemany(sql, chunk)
            done += len(chunk)
            if progress is not None:
                progress(stage, done, total)


def _lines_write(run: PayRun, lines: list[EngineLine], progress=None) -> None:
    """Insert the run's lines (position 1, 2 …) without building a model instance per line:
    the values ``bulk_create`` would write (decimals as they are, the JSON fields as
    ``json.dumps`` text)."""
    fields = [f for f in PayLine._meta.concrete_fields if not f.primary_key]
    extra = [f for f in fields if f.attname not in _LINE_COLUMNS]
    columns = [*_LINE_COLUMNS, *(f.column for f in extra)]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extra)
    if connection.vendor == "postgresql":
        defaults = tuple(getattr(v, "obj", v) for v in defaults)  # Jsonb → its value
        defaults = tuple(json.dumps(v) if isinstance(v, list | dict) else v for v in defaults)
    modifiers: dict[tuple[str, ...], str] = {}  # a few distinct ones: dumped once each
    run_id = run.pk
    rows = (
        (
            line.cell,
            run_id,
            i,
            line.person_id,
            line.kind,
            line.amount,
            line.basis,
            line.rate,
            line.rule_id,
            line.rule_version,
            modifiers.get(line.modifiers)
            or modifiers.setdefault(line.modifiers, _json_strings(line.modifiers)),
            _json_strings(line.sources),
            _policy_id(line),
            line.note[:500],
            _json_parts(line.parts),
            *defaults,
        )
        for i, line in enumerate(lines, start=1)
    )
    _bulk_insert(PayLine, columns, rows, total=len(lines), progress=progress)


def _lines_check(lines: list[EngineLine]) -> None:
    """Refuse the run when a person or policy its lines name is gone: the line table has no
    per-row reference checks (ADR 0018), so the run makes them once, for all its lines, in
    two statements. Only a person or policy deleted by hand (no service deletes either; the
    ORM refuses once lines name them) between reading the inputs and writing the lines
    fails here."""
    people = sorted({line.person_id for line in lines})
    policies = sorted({p for p in map(_policy_id, lines) if p is not None})
    missing = []
    with connection.cursor() as cursor:
        for model, ids in ((Person, people), (Policy, policies)):
            if not ids:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            if connection.vendor == "postgresql":
                sql = f"SELECT id FROM {table} WHERE id = ANY(%s)"  # noqa: S608
                cursor.execute(sql, [ids])
            else:
                sql = f"SELECT id FROM {table} WHERE id IN (SELECT value FROM json_each(%s))"  # noqa: S608
                cursor.execute(sql, [json.dumps(ids)])
            found = {row[0] for row in cursor.fetchall()}
            missing += [f"{model._meta.model_name}:{i}" for i in ids if i not in found]
    if missing:
        raise InvalidState(
            _("Deleted while the pay run was computed: %(records)s. Compute it again.")
            % {"records": ", ".join(missing[:20])}
        )


#: The kinds of line the per-policy ledger (``PolicyPay``) records: commission and releases
#: as they are, withheld and clawback amounts (negative lines) as positive amounts.
_LEDGER_KINDS = (
    PayLineKind.COMMISSION,
    PayLineKind.WITHHELD,
    PayLineKind.RELEASED,
    PayLineKind.CLAWBACK,
)

# Each (line, policy) of the run's ledger kinds with the policy's own amount: a rate-cell
# line's ``parts[i][0]`` for its i-th source, a line of one policy its amount. PostgreSQL
# walks sources and parts side by side (``ROWS FROM``: indexing a large ``jsonb`` array
# element by element would read it whole each time).
_EXPAND = {
    "postgresql": """
        SELECT l.person_id, l.kind, CAST(substr(x.source, 8) AS bigint) AS policy_id,
               COALESCE(CAST(x.part ->> 0 AS numeric), l.amount) AS amount
        FROM {lines} l
        CROSS JOIN LATERAL ROWS FROM (
            jsonb_array_elements_text(l.sources), jsonb_array_elements(l.parts)
        ) AS x(source, part)
        WHERE l.run_id = %s AND l.kind IN ({kinds}) AND x.source LIKE 'policy:%%'
    """,
    "sqlite": """
        SELECT l.person_id, l.kind, CAST(substr(s.value, 8) AS INTEGER) AS policy_id,
               COALESCE(CAST(json_extract(l.parts, '$[' || s.key || '][0]') AS NUMERIC),
                        l.amount) AS amount
        FROM {lines} l, json_each(l.sources) s
        WHERE l.run_id = %s AND l.kind IN ({kinds}) AND s.value LIKE 'policy:%%'
    """,
}
#: Whole cents as a number of yuan, exact on each engine.
_CENTS = {
    "postgresql": "CAST({} AS numeric) / 100",
    "sqlite": "CAST({} AS REAL) / 100",
}
_BASIS_EXPAND = """
        UNION ALL
        SELECT b.agent_id, 'commission', b.policy_id, {cents_amount}
        FROM {basis} b WHERE b.period_start = %s AND {visible} AND b.cell IS NOT NULL
        UNION ALL
        SELECT b.agent_id, 'withheld', b.policy_id, -{cents_withheld}
        FROM {basis} b WHERE b.period_start = %s AND {visible} AND b.withheld IS NOT NULL
"""
_LEDGER_INSERT = """
    INSERT INTO {ledger} (run_id, policy_id, person_id, commission, withheld, released, clawback)
    SELECT %s, policy_id, MIN(person_id),
           SUM(CASE WHEN kind = 'commission' THEN amount ELSE 0 END),
           SUM(CASE WHEN kind = 'withheld' THEN -amount ELSE 0 END),
           SUM(CASE WHEN kind = 'released' THEN amount ELSE 0 END),
           SUM(CASE WHEN kind = 'clawback' THEN -amount ELSE 0 END)
    FROM ({expand}) expanded
    GROUP BY policy_id
    ORDER BY policy_id
"""


def _policy_pay_write(run: PayRun) -> int:
    """Write the run's per-policy ledger from its lines in one statement: the database
    expands each line's sources (and a rate-cell line's ``parts``) with its JSON functions
    and sums them per policy, so that approving a run of a million policies moves no policy
    through Python. Returns the policies written."""
    quote = connection.ops.quote_name
    expand = _EXPAND[connection.vendor].format(
        lines=quote(PayLine._meta.db_table), kinds=", ".join(["%s"] * len(_LEDGER_KINDS))
    )
    params = [run.pk, run.pk, *[str(kind) for kind in _LEDGER_KINDS]]
    if run.basis_seq is not None:
        # The cell lines' policies: the pay basis rows the run read (ADR 0017).
        cents = _CENTS[connection.vendor]
        expand += _BASIS_EXPAND.format(
            basis=quote(PolicyPayBasis._meta.db_table),
            visible=visible(),
            cents_amount=cents.format("b.amount"),
            cents_withheld=cents.format("b.withheld"),
        )
        at = [run.period_start, run.basis_seq, run.basis_seq]
        params += [*at, *at]
    # Table names come from the models, the kinds from the code: nothing from input.
    sql = _LEDGER_INSERT.format(ledger=quote(PolicyPay._meta.db_table), expand=expand)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _compute(
    book: RuleBook,
    ruleset: RuleSet,
    period: Period,
    progress: ProgressCallback | None = None,
    *,
    plain: bool = True,
):
    """The period's inputs and the engine's lines; ``PayInputInvalid`` lists the problems of
    both the database records and the engine's checks."""
    if progress is not None:
        progress("reading", 0, 0)
    inputs = pay_inputs(period, book, plain=plain, basis=plain)
    if progress is not None:
        progress("computing", 0, len(inputs.people))
    try:
        lines = compute_pay(
            book,
            version=ruleset.version,
            period=period,
            people=inputs.people,
            policies=inputs.policies,
            cells=inputs.cells,
        )
    except PayInputInvalid as exc:
        raise PayInputInvalid(inputs.problems + exc.problems) from None
    if inputs.problems:
        raise PayInputInvalid(inputs.problems)
    return inputs, lines


@transaction.atomic
# The whole compute, not only its big steps: a collection of the oldest generation in any
# step walks every object the run holds (0.2 s for 10,000 ids read after the lines).
@without_cyclic_gc()
def payrun_compute(
    *,
    period_start: dt.date,
    actor,
    reason: str = "",
    progress: ProgressCallback | None = None,
    plain_policies: bool = True,
) -> PayRun:
    """Compute every person's pay for the period starting on ``period_start`` and replace
    the lines of its open run (created on the first compute). Raises ``ValidationFailed``
    for a period that has not started, ``InvalidState`` for an approved period and
    ``PayInputInvalid`` listing any missing data (nothing saved).
    ``plain_policies`` False passes every policy to the engine as a ``PolicyIn`` (the same
    lines, slower: the property test compares the two)."""
    _require_pay_admin(actor)
    ruleset, book, period = payrun_period(period_start=period_start)
    payrun_period_started(period)
    run = PayRun.objects.select_for_update().filter(period_start=period.start).first()
    if run is not None and run.status != PayRunStatus.OPEN:
        raise InvalidState(
            _("The pay run for %(p)s is approved; correct it with an adjustment in a later period")
            % {"p": run.label}
        )
    # The notes stored on the lines are written in the center's language, whoever computes,
    # so that a re-run gives identical lines; the problems are reported in the user's.
    try:
        with translation.override(settings.LANGUAGE_CODE):
            inputs, lines = _compute(book, ruleset, period, progress, plain=plain_policies)
    except PayInputInvalid:
        _compute(book, ruleset, period, plain=plain_policies)
        raise
    if run is None:
        run = PayRun(
            label=period.label,
            period_start=period.start,
            period_end=period.end,
            ruleset=ruleset,
            ruleset_version=ruleset.version,
        )
        save_or_conflict(run)
    adjustments = list(
        PayAdjustment.objects.select_for_update()
        .filter(Q(applied_run__isnull=True) | Q(applied_run=run), cancelled_at__isnull=True)
        .order_by("person_id", "id")
    )
    lines = group_by_cell(lines)
    if adjustments:
        # The engine's lines come by person, then kind (``_KIND_ORDER``); the adjustments
        # join each person's. Stable: the engine's order inside a person and kind is kept.
        lines += adjustment_lines(adjustments, version=ruleset.version)
        lines.sort(key=lambda line: (line.person_id, _KIND_ORDER[line.kind]))
    before = {
        "run_count": run.run_count,
        "fingerprint": run.input_fingerprint,
        "total": run.total,
        "lines": run.line_count,
    }
    run.lines.all().delete()
    _lines_write(run, lines, progress)
    _lines_check(lines)
    PayAdjustment.objects.filter(applied_run=run).exclude(
        pk__in=[a.pk for a in adjustments]
    ).update(applied_run=None)
    PayAdjustment.objects.filter(pk__in=[a.pk for a in adjustments]).update(applied_run=run)
    run.ruleset = ruleset
    run.ruleset_version = ruleset.version
    run.period_end = period.end
    run.run_count += 1
    run.computed_at = timezone.now()
    run.computed_by = user_or_none(actor)
    run.input_fingerprint = inputs.fingerprint(
        extra={"version": ruleset.version, "adjustments": [(a.pk, a.amount) for a in adjustments]}
    )
    run.total = sum((line.amount for line in lines), Decimal("0"))
    run.line_count = len(lines)
    run.basis_seq = inputs.basis_seq
    run.save()
    if run.basis_seq is not None:
        # The run read the basis at ``basis_seq``: what was replaced before is not shown.
        purge(run.period_start, run.basis_seq)
    audit_record(
        actor=actor,
        action="compensation.payrun_compute",
        instance=run,
        before=before,
        after={
            "period": run.label,
            "ruleset_version": run.ruleset_version,
            "run_count": run.run_count,
            "fingerprint": run.input_fingerprint,
            "total": run.total,
            "lines": run.line_count,
        },
        reason=reason,
    )
    return run


def paybasis_upkeep(*, today: dt.date | None = None) -> list[dt.date]:
    """Bring up to date the pay basis (ADR 0017) of the period that contains ``today`` and
    of every earlier period that has one (computed, not yet approved), each in its own
    transaction: the periodic task's work, so that a run computes only what changed since.
    Returns the first days of the periods brought up to date."""
    today = today or timezone.localdate()
    starts = set(PayBasisState.objects.values_list("period_start", flat=True))
    current = ruleset_in_force(on=today)
    if current is not None:
        starts.add(period_containing(ruleset_rulebook(current), today).start)
    approved = dict(
        PayRun.objects.filter(period_start__in=starts, status=PayRunStatus.APPROVED).values_list(
            "period_start", "basis_seq"
        )
    )
    done = []
    for start in sorted(starts):
        if start in approved:
            forget_period(start, approved[start])
            continue
        try:
            _ruleset, book, period = payrun_period(period_start=start)
        except ValidationFailed:
            continue
        with transaction.atomic():
            pay_basis_refresh(period, book)
            # Keep what the period's run shows; without one, only the current rows.
            run = PayRun.objects.filter(period_start=start).values_list("basis_seq").first()
            seq = run[0] if run and run[0] is not None else None
            if seq is None:
                seq = PayBasisState.objects.get(period_start=start).seq
            purge(start, seq)
        done.append(start)
    return done


def payrun_too_early(run: PayRun) -> str:
    """Why ``run`` may not be approved yet, or "": its period has not ended (sales,
    cancellations and attendance of the days left would be locked out of it), or it was last
    computed before the period ended (its figures stop at that day). Approval locks the
    period, so it waits for a run computed after the period end."""
    if timezone.localdate() <= run.period_end:
        return _(
            "The pay period %(p)s has not ended: it ends on %(end)s. It can be approved from "
            "%(day)s, once it has been computed again with the whole period's records."
        ) % {
            "p": run.label,
            "end": run.period_end.isoformat(),
            "day": (run.period_end + dt.timedelta(days=1)).isoformat(),
        }
    if run.computed_at is not None and timezone.localdate(run.computed_at) <= run.period_end:
        return _(
            "This pay run was computed on %(on)s, before the period %(p)s ended on %(end)s: "
            "compute it again with the whole period's records, then approve it."
        ) % {
            "on": timezone.localdate(run.computed_at).isoformat(),
            "p": run.label,
            "end": run.period_end.isoformat(),
        }
    return ""


@transaction.atomic
def payrun_approve(
    *, run: PayRun, actor, reason: str = "", negatives_acknowledged: bool = False
) -> PayRun:
    """Approve an open, computed run: its period is locked from now on, and what it paid,
    withheld, released and took back for each policy goes into the ledger (``PolicyPay``).
    A run in which someone's total is negative is approved only with
    ``negatives_acknowledged`` (``payrun_approval_checks``); nothing carries a negative total
    into the next month."""
    _require_pay_admin(actor)
    run = PayRun.objects.select_for_update().get(pk=run.pk)
    if run.status != PayRunStatus.OPEN:
        raise InvalidState(_("The pay run for %(p)s is already approved") % {"p": run.label})
    if run.run_count == 0:
        raise InvalidState(_("Compute the pay run before approving it"))
    if too_early := payrun_too_early(run):
        raise InvalidState(too_early)
    payrun_approval_checks(run, negatives_acknowledged=negatives_acknowledged)
    run.status = PayRunStatus.APPROVED
    run.approved_by = user_or_none(actor)
    run.approved_at = timezone.now()
    run.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    policies = _policy_pay_write(run)
    # The period is locked: its pay basis will not be read again (ADR 0017).
    forget_period(run.period_start, run.basis_seq)
    audit_record(
        actor=actor,
        action="compensation.payrun_approve",
        instance=run,
        before={"status": PayRunStatus.OPEN},
        after={
            "status": run.status,
            "fingerprint": run.input_fingerprint,
            "total": run.total,
            "lines": run.line_count,
            "policies": policies,
        },
        reason=reason,
    )
    return run


def payrun_negative_totals(run: PayRun) -> list[tuple[int, Decimal]]:
    """(person id, total) of each person whose total in ``run`` is below zero, by person id:
    a clawback or a negative adjustment larger than the month's pay. Nothing carries it into
    the next month: the pay admin settles it (a deduction next month is an adjustment)."""
    rows = (
        run.lines.values("person_id")
        .annotate(total=Sum("amount"))
        .filter(total__lt=0)
        .order_by("person_id")
    )
    return [(row["person_id"], row["total"].quantize(CENT)) for row in rows]


def payrun_approval_checks(run: PayRun, *, negatives_acknowledged: bool) -> None:
    """What must hold before ``run`` is approved besides its dates: no adjustment it pays has
    been cancelled since it was computed (``InvalidState``: compute it again), and negative
    totals are acknowledged (``ValidationFailed`` on ``acknowledge_negative``)."""
    cancelled = list(
        run.adjustments.filter(cancelled_at__isnull=False).values_list("pk", flat=True)
    )
    if cancelled:
        raise InvalidState(
            _(
                "Adjustment(s) %(ids)s were cancelled after this run was computed: compute it "
                "again, then approve it."
            )
            % {"ids": _(", ").join(f"#{pk}" for pk in cancelled)}
        )
    negatives = payrun_negative_totals(run)
    if negatives and not negatives_acknowledged:
        message = ngettext(
            "%(n)d person's total is negative in %(p)s: confirm that you approve it anyway "
            "(nothing is carried into the next month; settle it with an adjustment).",
            "%(n)d people's totals are negative in %(p)s: confirm that you approve them anyway "
            "(nothing is carried into the next month; settle them with adjustments).",
            len(negatives),
        ) % {"n": len(negatives), "p": run.label}
        raise ValidationFailed(message, fields={"acknowledge_negative": [message]})


#: The largest correction one adjustment may carry, either way (a figure beyond it is a typo,
#: such as a misplaced decimal point or an exponent, not a correction of a month's pay).
def adjustment_limit() -> Decimal:
    """The largest adjustment either way, in yuan (``TELESALES_PAY_ADJUSTMENT_LIMIT``, whole
    yuan, default 1,000,000): beyond it a figure is a typo, not a correction."""
    limit = Decimal(str(getattr(settings, "TELESALES_PAY_ADJUSTMENT_LIMIT", 1_000_000)))
    return limit.quantize(Decimal("0.01"))


#: An amount as a person writes it: an optional sign, digits, an optional decimal point and
#: decimals. No exponent (``1e5``), no spaces, no ``NaN``; thousands separators are taken out
#: first when they group the digits properly (``_GROUPED_AMOUNT``).
_PLAIN_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_GROUPED_AMOUNT = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
# What a Chinese input method types in full-width mode: the full-width forms of the ASCII
# characters (U+FF01–U+FF5E: "１００．５０", "－８０", "１，０００") and the ideographic space;
# the yuan sign before an amount ("¥120", "￥120") is dropped.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: " "}
_YUAN_SIGNS = ("¥", "￥")


def _amount_text(text: str) -> str:
    """Typed text made plain: full-width characters to ASCII, spaces at the ends and a leading
    yuan sign (after any sign) dropped, proper thousands separators ("1,000.50") taken out."""
    text = text.translate(_HALF_WIDTH).strip()
    sign = text[:1] if text[:1] in "+-" else ""
    rest = text[len(sign) :].strip()
    for yuan in _YUAN_SIGNS:
        if rest.startswith(yuan):
            rest = rest[len(yuan) :].strip()
    text = sign + rest
    if _GROUPED_AMOUNT.fullmatch(text):
        text = text.replace(",", "")
    return text


_EXPONENT_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+")


def _exponent_message() -> str:
    return _("Write the amount in plain digits, such as 120.50 or -80, not as 1e5.")


def _amount_problem(amount: Decimal) -> str | None:
    """Why ``amount`` cannot be an adjustment, or None."""
    if not amount.is_finite():
        return _("Give an amount in yuan, such as 120.50 or -80.")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:  # Decimal("1e5"): exponent notation
        return _exponent_message()
    if abs(amount) > adjustment_limit():
        return _("An adjustment is at most ¥%(limit)s either way.") % {
            "limit": f"{adjustment_limit():,}"
        }
    if amount != amount.quantize(CENT):
        return _("At most two decimals.")
    if amount == 0:
        return _("The amount must not be zero.")
    return None


def adjustment_amount_parse(raw) -> Decimal:
    """An adjustment's amount as typed (a form field) or sent (JSON: a string or a number,
    as the API's other amounts are): plain digits with an optional sign and at most two
    decimals, not zero, at most ``adjustment_limit()`` either way. Full-width characters
    ("１００．５０"), a leading yuan sign and proper thousands separators ("1,000") are read;
    ``1e5``, ``NaN`` or "1,00" are refused rather than guessed at; a JSON number is read in
    its shortest decimal form (``120.5``, ``1e5`` → 100000), then checked the same way
    (``100.555`` has too many decimals). ``ValidationFailed`` on ``amount``."""

    def refuse(message: str):
        return ValidationFailed(_("Invalid adjustment"), fields={"amount": [message]})

    if isinstance(raw, bool):
        raise refuse(_("Give an amount in yuan, such as 120.50 or -80."))
    if isinstance(raw, float):
        # A JSON number: its shortest form ("120.5"; NaN and infinity are not plain digits).
        text = repr(raw)
        if text.endswith(".0"):
            text = text[:-2]
    elif isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, str):
        text = _amount_text(raw)
    else:
        raise refuse(_("Give an amount in yuan, such as 120.50 or -80."))
    if _EXPONENT_AMOUNT.fullmatch(text):
        raise refuse(_exponent_message())
    if not _PLAIN_AMOUNT.fullmatch(text):
        if "," in text:
            raise refuse(
                _("Group the digits by thousands (1,000.50) or write them plain (1000.50).")
            )
        raise refuse(
            _("“%(text)s” is not an amount: write it in digits, such as 120.50 or -80.")
            % {"text": text[:20]}
        )
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise refuse(_("Give an amount in yuan, such as 120.50 or -80.")) from None
    problem = _amount_problem(amount)
    if problem:
        raise refuse(problem)
    return amount


def adjustment_confirm_factor() -> Decimal:
    """An adjustment larger (either way) than this many times the person's last approved
    monthly total needs a confirmation (``TELESALES_PAY_ADJUSTMENT_CONFIRM_FACTOR``, default
    3)."""
    return Decimal(str(getattr(settings, "TELESALES_PAY_ADJUSTMENT_CONFIRM_FACTOR", 3)))


def adjustment_confirm_ceiling() -> Decimal:
    """The amount above which an adjustment needs a confirmation for a person with no
    approved pay to compare with (``TELESALES_PAY_ADJUSTMENT_CONFIRM_CEILING``, yuan, default
    20,000)."""
    ceiling = Decimal(str(getattr(settings, "TELESALES_PAY_ADJUSTMENT_CONFIRM_CEILING", 20_000)))
    return ceiling.quantize(CENT)


def adjustment_unusual(*, person, amount: Decimal) -> str:
    """Why ``amount`` is far above the person's usual pay, or "": more than
    ``adjustment_confirm_factor()`` × their total in the latest approved run that paid them,
    or, without one (or with a total of zero or less), more than
    ``adjustment_confirm_ceiling()``. A typo (¥999,999 for an agent earning ¥4,800) is then
    asked about before it is recorded."""
    latest = (
        PayRun.objects.filter(status=PayRunStatus.APPROVED, lines__person=person)
        .order_by("-period_start")
        .first()
    )
    total = None
    if latest is not None:
        total = latest.lines.filter(person=person).aggregate(t=Sum("amount"))["t"]
    if total is not None and total > 0:
        bound = (total * adjustment_confirm_factor()).quantize(CENT)
        if abs(amount) > bound:
            # A negative amount takes money back: said so, not shown as a payment (QA).
            text = (
                _(
                    "A take-back of ¥%(amount)s is more than %(factor)s times %(name)s's pay in "
                    "%(p)s (¥%(total)s): confirm that the amount is right."
                )
                if amount < 0
                else _(
                    "¥%(amount)s is more than %(factor)s times %(name)s's pay in %(p)s "
                    "(¥%(total)s): confirm that the amount is right."
                )
            )
            return text % {
                "amount": f"{abs(amount):,.2f}",
                "factor": f"{adjustment_confirm_factor().normalize():f}",
                "name": person.name,
                "p": latest.label,
                "total": f"{total.quantize(CENT):,.2f}",
            }
        return ""
    if abs(amount) > adjustment_confirm_ceiling():
        text = (
            _(
                "A take-back of ¥%(amount)s is more than ¥%(ceiling)s and %(name)s has no "
                "approved pay to compare it with: confirm that the amount is right."
            )
            if amount < 0
            else _(
                "¥%(amount)s is more than ¥%(ceiling)s and %(name)s has no approved pay to "
                "compare it with: confirm that the amount is right."
            )
        )
        return text % {
            "amount": f"{abs(amount):,.2f}",
            "ceiling": f"{adjustment_confirm_ceiling():,.2f}",
            "name": person.name,
        }
    return ""


@transaction.atomic
def payadjustment_create(
    *,
    person,
    amount: Decimal,
    reason: str,
    actor,
    corrects_run: PayRun | None = None,
    confirmed: bool = False,
) -> PayAdjustment:
    """Record a correction (positive or negative) to be paid by the next run computed.
    Only an approved run can be corrected this way; an open one is simply recomputed. The
    amount is a ``Decimal`` in cents, not zero, at most ``adjustment_limit()`` either way and
    not in exponent form (``Decimal("1e5")``); interfaces parse what was typed with
    ``adjustment_amount_parse``. An amount far above the person's usual pay
    (``adjustment_unusual``) needs ``confirmed``: ``ValidationFailed`` on ``amount`` and
    ``confirm`` saying why."""
    _require_pay_admin(actor)
    fields: dict[str, list[str]] = {}
    if not isinstance(amount, Decimal):
        fields["amount"] = [_("Give an amount in yuan, such as 120.50 or -80.")]
    elif problem := _amount_problem(amount):
        fields["amount"] = [problem]
    elif not confirmed and (unusual := adjustment_unusual(person=person, amount=amount)):
        fields["amount"] = [unusual]
        fields["confirm"] = [unusual]
    if not reason.strip():
        fields["reason"] = [_("Required.")]
    if corrects_run is not None and corrects_run.status != PayRunStatus.APPROVED:
        fields["corrects_run"] = [_("Only an approved run is corrected by an adjustment.")]
    if fields:
        raise ValidationFailed(_("Invalid adjustment"), fields=fields)
    adjustment = PayAdjustment.objects.create(
        person=person,
        amount=amount,
        reason=reason.strip()[:500],
        corrects_run=corrects_run,
        created_by=user_or_none(actor),
    )
    audit_record(
        actor=actor,
        action="compensation.adjustment_create",
        instance=adjustment,
        after={
            "person": person.pk,
            "amount": amount,
            "corrects_run": corrects_run.label if corrects_run else None,
        },
        reason=reason,
    )
    return adjustment


@transaction.atomic
def payadjustment_cancel(*, adjustment: PayAdjustment, actor, reason: str) -> PayAdjustment:
    """Cancel an adjustment no approved run has paid: recorded by mistake (a typo, the wrong
    person). No run pays it any more; a run that was computed with it must be computed again
    before it is approved (``payrun_approval_checks``). ``InvalidState`` once the run that
    paid it is approved (correct it with a new adjustment) or when it is cancelled already;
    a reason is required. Audited (``compensation.adjustment_cancel``)."""
    _require_pay_admin(actor)
    adjustment = (
        PayAdjustment.objects.select_for_update(of=("self",))  # the run may be none: no lock
        .select_related("applied_run")
        .get(pk=adjustment.pk)
    )
    if adjustment.cancelled_at is not None:
        raise InvalidState(_("Adjustment #%(n)d is already cancelled") % {"n": adjustment.pk})
    run = adjustment.applied_run
    if run is not None and run.status == PayRunStatus.APPROVED:
        raise InvalidState(
            _(
                "Adjustment #%(n)d was paid by the pay run %(p)s, which is approved: record a "
                "new adjustment to undo it."
            )
            % {"n": adjustment.pk, "p": run.label}
        )
    if not (reason or "").strip():
        raise ValidationFailed(
            _("Give the reason for the cancellation"), fields={"reason": [_("Required.")]}
        )
    adjustment.cancelled_at = timezone.now()
    adjustment.cancelled_by = user_or_none(actor)
    adjustment.cancel_reason = reason.strip()[:500]
    adjustment.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="compensation.adjustment_cancel",
        instance=adjustment,
        before={"cancelled": False, "applied_run": run.label if run else None},
        after={"cancelled": True, "person": adjustment.person_id, "amount": adjustment.amount},
        reason=reason,
    )
    return adjustment


@transaction.atomic
def days_employed(person, period: Period) -> int:
    """The calendar days of ``period`` from the person's hire date to their leaving day."""
    first = max(person.hire_date, period.start)
    last = min(person.left_on or period.end, period.end)
    return max((last - first).days + 1, 0)


def attendance_beyond_employment(person, period: Period, days_attended: int) -> str:
    """Why ``days_attended`` cannot be the person's in ``period`` ("" when it can): more days
    than they were employed in it (QA, session 20: someone hired on the 24th was paid 21 of 22
    days)."""
    employed = days_employed(person, period)
    if days_attended <= employed:
        return ""
    if person.left_on is not None and person.left_on <= period.end:
        return _(
            "More days than %(name)s was employed in %(p)s (left on %(left)s): at most %(n)d."
        ) % {"name": person.name, "p": period.label, "left": person.left_on, "n": employed}
    return _(
        "More days than %(name)s was employed in %(p)s (hired on %(hired)s): at most %(n)d."
    ) % {"name": person.name, "p": period.label, "hired": person.hire_date, "n": employed}


def attendance_record(
    *, person, period_start: dt.date, days_attended: int, days_required: int, actor
) -> Attendance:
    """Set a person's attendance for the period starting on ``period_start`` (audited)."""
    _require_pay_admin(actor)
    if days_required < 1 or days_attended < 0 or days_attended > days_required:
        raise ValidationFailed(
            _("Invalid attendance"),
            fields={"days_attended": [_("Between 0 and the days required (at least 1).")]},
        )
    _ruleset, _book, period = payrun_period(period_start=period_start)
    beyond = attendance_beyond_employment(person, period, days_attended)
    if beyond:
        raise ValidationFailed(beyond, fields={"days_attended": [beyond]})
    locked = PayRun.objects.filter(period_start=period_start, status=PayRunStatus.APPROVED).exists()
    if locked:
        raise InvalidState(_("The pay run of this period is approved"))
    row = Attendance.objects.filter(person=person, period_start=period_start).first()
    before = (
        {"days_attended": row.days_attended, "days_required": row.days_required} if row else None
    )
    row, _created = Attendance.objects.update_or_create(
        person=person,
        period_start=period_start,
        defaults={"days_attended": days_attended, "days_required": days_required},
    )
    audit_record(
        actor=actor,
        action="compensation.attendance_record",
        instance=row,
        before=before,
        after={"days_attended": days_attended, "days_required": days_required},
    )
    return row
