"""``telesales persistency --month YYYY-MM [--team T] [--agent A] [--json]``: 13- and 25-month
persistency measured at a month, for the center, a team or an agent.

With ``--json`` the last line is one JSON object: ``month``, ``team``, ``agent`` and ``13m`` /
``25m``, each with ``numerator`` and ``denominator`` (premium amounts), ``rate`` (null
without a denominator), ``cohort``, ``policies``, ``persisting``, ``excluded`` and ``final``.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils.translation import gettext as _

from telesales.core.commands import JsonErrors
from telesales.core.errors import DomainError
from telesales.operations.selectors import PERSISTENCY, persistency
from telesales.org.models import Person, Team


def _one(model, value: str, label: str):
    q = Q(name=value)
    if value.isascii() and value.isdigit():
        q |= Q(pk=int(value))
    if model is Person:
        q |= Q(employee_no=value) | Q(user__username=value)
    found = list(model.objects.filter(q)[:2])
    if len(found) != 1:
        raise CommandError(
            (_("No %(what)s “%(value)s”") if not found else _("Several %(what)s match “%(value)s”"))
            % {"what": label, "value": value}
        )
    return found[0]


def _number(value):
    return float(value) if value is not None else None


class Command(JsonErrors, BaseCommand):
    help = "13- and 25-month persistency by cohort (DOMAIN.md §4)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month measured, YYYY-MM.")
        parser.add_argument("--team", help="A team (name or id): the team credited at the sale.")
        parser.add_argument("--agent", help="An agent (username, employee number, name or id).")
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")

    def handle(self, *args, **options):
        team = _one(Team, options["team"], _("team")) if options["team"] else None
        agent = _one(Person, options["agent"], _("agent")) if options["agent"] else None
        try:
            result = persistency(month=options["month"], team=team, agent=agent)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        scope = agent.name if agent else (team.name if team else _("the center"))
        for figure in PERSISTENCY:
            f = result[figure]
            rate = f"{f['rate'] * 100:.2f}%" if f["rate"] is not None else "—"
            self.stdout.write(
                _(
                    "%(figure)s persistency of %(scope)s at %(month)s (cohort %(cohort)s): "
                    "%(rate)s = %(num)s / %(den)s; %(n)s policies, %(kept)s kept%(final)s"
                )
                % {
                    "figure": figure,
                    "scope": scope,
                    "month": result["month"],
                    "cohort": f["cohort"],
                    "rate": rate,
                    "num": f["numerator"],
                    "den": f["denominator"],
                    "n": f["policies"],
                    "kept": f["persisting"],
                    "final": "" if f["final"] else _(" (provisional: grace not over)"),
                }
            )
        if options["json"]:
            out = {
                "month": result["month"],
                "team": team.pk if team else None,
                "agent": agent.pk if agent else None,
            }
            for figure in PERSISTENCY:
                f = result[figure]
                out[figure] = {
                    "numerator": _number(f["numerator"]),
                    "denominator": _number(f["denominator"]),
                    "rate": _number(f["rate"]),
                    "cohort": f["cohort"],
                    "policies": f["policies"],
                    "persisting": f["persisting"],
                    "excluded": f["excluded"],
                    "final": f["final"],
                }
            self.stdout.write(json.dumps(out, ensure_ascii=False))
