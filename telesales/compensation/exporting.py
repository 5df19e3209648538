"""The xlsx export of a pay run: every line with its person, rule, version and sources.
HR admin and center manager only; audited. Cells that a spreadsheet would run as a formula
(a name starting with ``=`` …) are neutralised by the shared spreadsheet writer.

Sheet names, headers and the kinds of line are in the requesting user's language (the
active one: zh-Hans by default); each kind also keeps its code (``commission`` …) in a
"Kind code" column for a program reading the file. Rule ids, sources and notes are data,
written as stored."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from telesales.compensation import permissions
from telesales.compensation.choices import PayLineKind
from telesales.compensation.models import PayRun
from telesales.core.audit import audit_record
from telesales.core.errors import PermissionDenied
from telesales.leads.exporting import CONTENT_TYPES, ExportFile, spreadsheet_bytes
from telesales.policies.selectors import policy_numbers


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
        _("Policy"),
        _("Amount"),
        _("Basis"),
        _("Policy number"),
        _("Kind code"),
    )


def total_headers() -> tuple[str, ...]:
    return (_("Period"), _("Employee no."), _("Name"), _("Total"))


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


@transaction.atomic
def payrun_export_xlsx(*, run: PayRun, actor) -> ExportFile:
    """Three sheets: the lines in payslip order; each policy of the per-policy kinds with its
    own amount and basis (a rate-cell line holds many, ADR 0014); each person's total."""
    if not permissions.can_run_pay(actor):
        raise PermissionDenied(_("Only the HR admin or the center manager may export pay runs"))
    lines = list(
        run.lines.select_related("person")
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
            "person__employee_no",
            "person__name",
        )
    )
    ids = {
        int(source[7:])
        for ln in lines
        if ln.kind in POLICY_KINDS
        for source in ln.sources
        if source.startswith("policy:") and source[7:].isdigit()
    }
    numbers = {f"policy:{pk}": number for pk, (number, _agent) in policy_numbers(ids).items()}
    kinds = {code: str(label) for code, label in PayLineKind.choices}
    totals: dict[int, list] = {}
    for line in lines:
        row = totals.setdefault(
            line.person_id, [run.label, line.person.employee_no, line.person.name, 0]
        )
        row[3] += line.amount
    content = spreadsheet_bytes(
        fmt="xlsx",
        sheets=[
            (
                pgettext("pay export sheet", "Lines"),
                line_headers(),
                (
                    (
                        run.label,
                        ln.person.employee_no,
                        ln.person.name,
                        kinds.get(ln.kind, ln.kind),
                        ln.amount,
                        ln.basis,
                        ln.rate,
                        ln.rule_id,
                        ln.rule_version,
                        " ".join(ln.modifiers),
                        " ".join(ln.sources),
                        ln.note,
                        ln.kind,
                    )
                    for ln in lines
                ),
            ),
            (
                pgettext("pay export sheet", "Policies"),
                policy_headers(),
                (
                    (
                        run.label,
                        ln.person.employee_no,
                        ln.person.name,
                        ln.position,
                        kinds.get(ln.kind, ln.kind),
                        ln.rule_id,
                        ln.rate,
                        source,
                        amount,
                        basis,
                        numbers.get(source, ""),
                        ln.kind,
                    )
                    for ln in lines
                    if ln.kind in POLICY_KINDS
                    for source, amount, basis in ln.source_parts
                ),
            ),
            (
                pgettext("pay export sheet", "Totals"),
                total_headers(),
                [totals[k] for k in sorted(totals)],
            ),
        ],
    )
    audit_record(
        actor=actor,
        action="compensation.payrun_export",
        instance=run,
        after={"format": "xlsx", "rows": len(lines), "status": run.status},
    )
    return ExportFile(
        filename=export_filename(run),
        content_type=CONTENT_TYPES["xlsx"],
        content=content,
        rows=len(lines),
    )
