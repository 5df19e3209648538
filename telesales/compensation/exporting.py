"""The xlsx export of a pay run: a summary with the run's status (approved, or open and
provisional), every line with its person, rule, version and sources, every policy of the
per-policy lines and each person's total. HR admin and center manager only; audited. Cells
that a spreadsheet would run as a formula (a name starting with ``=`` …) are neutralised.

Sheet names, headers and the kinds of line are in the requesting user's language (the
active one: zh-Hans by default); each kind also keeps its code (``commission`` …) in a
"Kind code" column for a program reading the file. Sources are written as people know them
(a policy's number, a person's name); rule ids and notes as stored. Headers are bold and
frozen, each table has an autofilter, rates are percentages and money has two decimals."""

from __future__ import annotations

import io
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from telesales.compensation import permissions, selectors
from telesales.compensation.choices import PayLineKind, PayRunStatus
from telesales.compensation.models import PayRun
from telesales.compensation.notes import note_text
from telesales.compensation.paybasis import expand_lines
from telesales.core.audit import audit_record
from telesales.core.errors import PermissionDenied
from telesales.leads.exporting import (
    CONTENT_TYPES,
    MONEY_FORMAT,
    ExportFile,
    neutralise,
    xlsx_safe,
)
from telesales.operations.selectors import premium_periods
from telesales.policies.selectors import policy_numbers

ZERO = Decimal("0")


# The headers are read at export time, in the language of whoever exports; the last column
# of "Lines" and "Policies" is the kind's code, the same in every language.
def line_headers() -> tuple[str, ...]:
    return (
        _("Period"),
        _("Employee no."),
        _("Name"),
        _("Kind"),
        _("Amount"),
        _("Basis"),
        _("Rate"),
        _("Rule"),
        _("Rule version"),
        _("Modifiers"),
        _("Sources"),
        _("Note"),
        _("Kind code"),
    )


def policy_headers() -> tuple[str, ...]:
    return (
        _("Period"),
        _("Employee no."),
        _("Name"),
        pgettext("pay export", "Line"),
        _("Kind"),
        _("Rule"),
        _("Rate"),
        _("Amount"),
        _("Basis"),
        _("Policy number"),
        _("Kind code"),
    )


def total_headers() -> tuple[str, ...]:
    return (_("Period"), _("Employee no."), _("Name"), _("Team"), _("Total"))


def run_status_text(run: PayRun) -> str:
    """The run's status as the export's summary states it: approved; open and provisional
    (the month in progress: figures so far); or open (to be approved)."""
    if run.status == PayRunStatus.APPROVED:
        return _("Approved")
    if run.provisional:
        return _("Open · in progress, provisional (figures so far)")
    return _("Open · not approved yet")


def export_filename(run: PayRun) -> str:
    """The file's name in the exporter's language (``工资单-2026-03.xlsx``); send it with
    ``core.downloads.attachment_disposition`` and ``export_fallback_filename`` for clients
    that only read an ASCII name."""
    name = pgettext("pay export file name", "payrun-%(period)s") % {"period": run.label}
    return f"{name}.xlsx"


def export_fallback_filename(run: PayRun) -> str:
    """The ASCII name of the file for clients that cannot read a non-ASCII one."""
    return f"payrun-{run.label}.xlsx"


#: The kinds whose lines are per policy or per rate cell of policies (sheet "Policies").
POLICY_KINDS = frozenset(("commission", "withheld", "released", "clawback"))


#: Column widths (characters) of each sheet, in the order of its headers.
_LINE_WIDTHS = (9, 12, 14, 18, 14, 14, 10, 22, 9, 16, 30, 40, 14)
_POLICY_WIDTHS = (9, 12, 14, 10, 18, 22, 10, 14, 14, 22, 14)
_TOTAL_WIDTHS = (9, 12, 16, 16, 16)
_SUMMARY_WIDTHS = (22, 40)
RATE_FORMAT = "0.00%"


def _header_cell(sheet, value):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(sheet, value=xlsx_safe(neutralise(str(value))))
    cell.font = Font(bold=True)
    return cell


def _rate_cell(sheet, value):
    """A rate as a percentage (0.2 → 20.00 %), the number kept (a program reads 0.2)."""
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = RATE_FORMAT
    return cell


def _money_cell(sheet, value, *, bold=False):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = MONEY_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell


def _sheet(book, title: str, headers, widths, *, table: bool = True):
    """A write-only sheet with its column widths, a bold header row frozen at the top and
    (``table``) an autofilter over the rows added (``_close_sheet``)."""
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title=xlsx_safe(str(title))[:31])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    if table:
        sheet.freeze_panes = "A2"
    sheet.append([_header_cell(sheet, h) for h in headers])
    return sheet


def _close_sheet(sheet, columns: int, rows: int) -> None:
    """The autofilter over the header and the ``rows`` data rows."""
    from openpyxl.utils import get_column_letter

    sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{rows + 1}"


def _cell(sheet, value):
    if isinstance(value, Decimal):
        return _money_cell(sheet, value)
    if isinstance(value, str):
        return xlsx_safe(neutralise(value))
    return value


def source_labels(lines: list) -> dict[str, str]:
    """Each source record of ``lines`` as people know it: a person's name, a policy's
    number, "adjustment #3", a pay run's period, "premium 2"; a record naming nothing known
    stays as stored."""
    records = {source for line in lines for source in line.sources}
    labels = selectors.record_labels(records)
    runs = {int(r[7:]) for r in records if r.startswith("payrun:") and r[7:].isdigit()}
    premiums = {int(r[8:]) for r in records if r.startswith("premium:") and r[8:].isdigit()}
    for pk, label in PayRun.objects.filter(pk__in=runs).values_list("pk", "label"):
        labels[f"payrun:{pk}"] = _("pay run %(p)s") % {"p": label}
    for pk, period in (premium_periods(premiums) if premiums else {}).items():
        labels[f"premium:{pk}"] = _("premium %(n)s") % {"n": period}
    for record in records:
        if record.startswith("adjustment:") and record[11:].isdigit():
            labels[record] = _("adjustment #%(n)d") % {"n": int(record[11:])}
    return labels


@transaction.atomic
def payrun_export_xlsx(*, run: PayRun, actor) -> ExportFile:
    """Four sheets: a summary (the run's status — approved, or open and provisional —, its
    rule-set version, total, people and negative totals); the lines in payslip order; each
    policy of the per-policy kinds with its own amount and basis (a rate-cell line holds
    many, ADR 0014); each person's total with their team and a grand total. Headers bold and
    frozen, an autofilter on each table, rates as percentages, sources as people know them."""
    from openpyxl import Workbook

    if not permissions.can_run_pay(actor):
        raise PermissionDenied(_("Only the HR admin or the center manager may export pay runs"))
    lines = list(
        run.lines.select_related("person__team")
        .order_by("position")
        .only(
            "position",
            "kind",
            "amount",
            "basis",
            "rate",
            "rule_id",
            "rule_version",
            "modifiers",
            "sources",
            "note",
            "parts",
            "cell",
            "run",
            "person__employee_no",
            "person__name",
            "person__team__name",
        )
    )
    expand_lines(lines)  # the cell lines' policies, from the pay basis (ADR 0017)
    ids = {
        int(source[7:])
        for ln in lines
        if ln.kind in POLICY_KINDS
        for source in ln.sources
        if source.startswith("policy:") and source[7:].isdigit()
    }
    numbers = {f"policy:{pk}": number for pk, (number, _agent) in policy_numbers(ids).items()}
    labels = source_labels(lines)
    kinds = {code: str(label) for code, label in PayLineKind.choices}
    totals: dict[int, list] = {}
    for line in lines:
        team = line.person.team.name if line.person.team_id else ""
        row = totals.setdefault(
            line.person_id, [run.label, line.person.employee_no, line.person.name, team, ZERO]
        )
        row[4] += line.amount
    negatives = sum(1 for row in totals.values() if row[4] < 0)
    grand_total = sum((row[4] for row in totals.values()), ZERO)

    book = Workbook(write_only=True)
    summary = _sheet(
        book,
        pgettext("pay export sheet", "Summary"),
        (_("Pay run"), run.label),
        _SUMMARY_WIDTHS,
        table=False,
    )
    for label, value in (
        (_("Status"), run_status_text(run)),
        (_("Dates"), f"{run.period_start:%Y-%m-%d} – {run.period_end:%Y-%m-%d}"),
        (_("Rule set version"), f"v{run.ruleset_version}"),
        (_("Number of people"), len(totals)),
        (_("Total"), _money_cell(summary, grand_total, bold=True)),
        (_("Negative totals"), negatives),
        (_("Lines"), len(lines)),
        (
            _("Exported at"),
            timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        ),
    ):
        summary.append([_header_cell(summary, label), _cell(summary, value)])

    sheet = _sheet(book, pgettext("pay export sheet", "Lines"), line_headers(), _LINE_WIDTHS)
    for ln in lines:
        sheet.append(
            [
                run.label,
                _cell(sheet, ln.person.employee_no),
                _cell(sheet, ln.person.name),
                kinds.get(ln.kind, ln.kind),
                _money_cell(sheet, ln.amount),
                _money_cell(sheet, ln.basis),
                _rate_cell(sheet, ln.rate),
                _cell(sheet, ln.rule_id),
                ln.rule_version,
                _cell(sheet, " ".join(ln.modifiers)),
                _cell(sheet, _(", ").join(labels.get(s, s) for s in ln.sources)),
                _cell(sheet, note_text(ln.note)),
                ln.kind,
            ]
        )
    _close_sheet(sheet, len(line_headers()), len(lines))

    sheet = _sheet(book, pgettext("pay export sheet", "Policies"), policy_headers(), _POLICY_WIDTHS)
    count = 0
    for ln in lines:
        if ln.kind not in POLICY_KINDS:
            continue
        for source, amount, basis in ln.source_parts:
            count += 1
            sheet.append(
                [
                    run.label,
                    _cell(sheet, ln.person.employee_no),
                    _cell(sheet, ln.person.name),
                    ln.position,
                    kinds.get(ln.kind, ln.kind),
                    _cell(sheet, ln.rule_id),
                    _rate_cell(sheet, ln.rate),
                    _money_cell(sheet, amount),
                    _money_cell(sheet, basis),
                    _cell(sheet, numbers.get(source, source)),
                    ln.kind,
                ]
            )
    _close_sheet(sheet, len(policy_headers()), count)

    sheet = _sheet(book, pgettext("pay export sheet", "Totals"), total_headers(), _TOTAL_WIDTHS)
    people = [totals[k] for k in sorted(totals)]
    for period, employee_no, name, team, total in people:
        sheet.append(
            [
                period,
                _cell(sheet, employee_no),
                _cell(sheet, name),
                _cell(sheet, team),
                _money_cell(sheet, total),
            ]
        )
    _close_sheet(sheet, len(total_headers()), len(people))
    # The grand total below the filtered rows (outside the autofilter's range).
    sheet.append(
        [
            _header_cell(sheet, _("Total")),
            None,
            None,
            None,
            _money_cell(sheet, grand_total, bold=True),
        ]
    )
    out = io.BytesIO()
    book.save(out)
    audit_record(
        actor=actor,
        action="compensation.payrun_export",
        instance=run,
        after={"format": "xlsx", "rows": len(lines), "status": run.status},
    )
    return ExportFile(
        filename=export_filename(run),
        content_type=CONTENT_TYPES["xlsx"],
        content=out.getvalue(),
        rows=len(lines),
    )
