"""The team lead's live board (/calls/board/) and the call reports (/calls/reports/).

**Live board.** One row per agent of the teams the user leads (the manager and the planner:
every sales team, with a team filter): the agent's state now and for how long (from
``AgentPresence``), today's dials, connects, talk time, effective calls, sales and premium, and
the floor's productivity per occupied seat (every occupied seat of those teams, the team lead's
included, as the "premium per seat" card counts them); below it the overdue follow-ups escalated
to the team lead. The ``#live`` partial refreshes itself every five seconds (htmx polling) and
costs a fixed number of queries whatever the number of agents: one for the people (with team,
seat and presence), one aggregate of today's calls, one for the sales, one count of the occupied
seats, one for the escalations, and the call rule set of each team stage.

**Reports.** Per agent and per team over a date range, every figure with its numerator and
denominator (DOMAIN.md §4): dials; call-level connect rate (answered ÷ dials); lead-level
connect rate (leads with an answered call ÷ leads dialled); effective-call rate (effective ÷
answered, effective = answered and talk ≥ the rule set's ``effective_call_seconds``); talk
time and average talk per answered call; follow-ups done and overdue; conversion (sales ÷
leads connected; sales net of free-look cancellations and declines, as the center counts
them); premium (annualised, net of free-look cancellations); stabilisation rate
(``policies.selectors.stabilisation_rate``: kept ÷ settled, for the policies issued in the
period). A chart (ECharts, vendored) and an Excel export, which is audited because it holds
people's figures.

Reads go through the calls, policies and org selectors (scoped to what the user may see) and
aggregate in the database. Agents have no access (403). Without a period the report covers
the month to date, the days of the dashboard cards.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.calls import permissions, selectors
from telesales.calls.choices import AgentState, FollowUpStatus
from telesales.calls.models import open_call_limit
from telesales.calls.rules import callrules_in_force
from telesales.core import formatting
from telesales.core.audit import audit_record
from telesales.core.dates import validate_center_year
from telesales.core.errors import PermissionDenied as DomainPermissionDenied
from telesales.core.pages import require
from telesales.leads import permissions as lead_permissions
from telesales.leads import selectors as lead_selectors
from telesales.leads.exporting import CONTENT_TYPES, spreadsheet_bytes
from telesales.org import selectors as org_selectors
from telesales.org.choices import PersonStatus, SeatStatus, TeamKind
from telesales.org.models import Person
from telesales.policies import selectors as policy_selectors
from telesales.policies.choices import NOT_SOLD_STATUSES, PolicyStatus

#: The board polls its live part this often (htmx ``every``).
POLL_SECONDS = 5
#: Escalated follow-ups listed under the board (the count says how many there are).
ESCALATIONS_SHOWN = 50
#: A report covers at most this many days.
MAX_REPORT_DAYS = 366
ZERO = Decimal("0.00")
BOARD_SUMS = ("dials", "connects", "effective", "talk", "sales")
#: The board's state badges (Bootstrap colours), in the order of the counts.
STATE_STYLE = {
    AgentState.TALKING: "success",
    AgentState.DIALLING: "primary",
    AgentState.WRAP_UP: "info",
    AgentState.IDLE: "secondary",
    AgentState.BREAK: "warning",
    AgentState.OFFLINE: "light",
}


def _ratio(part: int | Decimal, whole: int | Decimal) -> float | None:
    return round(float(part) / float(whole), 4) if whole else None


def _duration(seconds: float | None) -> str:
    """A talk time on the board and the reports: ``H:MM:SS``, the hours running on past a
    day (``0:01:30``, ``25:03:50``), as the seats page shows it (QA: the report said "1天1小时"
    for the month's 25:03:50 on the seats page, dropping the minutes)."""
    return formatting.hours_minutes_seconds(seconds)


def _elapsed(seconds: float | None) -> str:
    """How long a state has lasted or a follow-up is overdue: ``H:MM:SS`` under a day, from a
    day on days and hours (``1天11小时``, "1d 11h" in English); a dash for none."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds >= 86400:
        days, rest = divmod(seconds, 86400)
        return _("%(days)dd %(hours)dh") % {"days": days, "hours": rest // 3600}
    return formatting.hours_minutes_seconds(seconds)


def _day_bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(since, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    return start, end


def _effective_q(stages: set[str], on: dt.date, prefix: str = "") -> Q:
    """Answered calls at least as long as the effective-call threshold of the agent's rule
    set (one rule set per team stage: a fixed number of lookups, whatever the agents)."""
    q = Q(pk__in=[])
    for stage in sorted(stages):
        seconds = callrules_in_force(stage=stage, on=on).effective_call_seconds
        q |= Q(**{f"{prefix}agent__team__stage": stage, f"{prefix}talk_seconds__gte": seconds})
    return Q(**{f"{prefix}answered_at__isnull": False}) & q


# --- Scope --------------------------------------------------------------------------------------
def _teams(user) -> QuerySet:
    """The sales teams on the user's board: all (manager, planner) or those they lead."""
    teams = org_selectors.team_list(user=user, kind=TeamKind.SALES)
    if permissions.sees_all_calls(user):
        return teams
    me = org_selectors.person_for_user(user)
    return teams.filter(leader=me) if me else teams.none()


class TeamFilterForm(forms.Form):
    team = forms.ModelChoiceField(queryset=None, required=False, label=gettext_lazy("Team"))

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["team"].empty_label = _("All teams")
        self.fields["team"].widget.attrs["class"] = "form-select form-select-sm"


def _team_filter(request: HttpRequest, teams) -> tuple[TeamFilterForm, Any]:
    """The team filter; an unknown or foreign team is a form error, never someone else's data."""
    form = TeamFilterForm(request.GET or None, teams=teams)
    team = None
    if form.is_bound and form.is_valid():
        team = form.cleaned_data.get("team")
    return form, team


# --- The live board ------------------------------------------------------------------------------
def _board_people(user, team) -> list[Person]:
    """The agents on the board: working members of the user's teams (not their leaders),
    with team, seat and presence in the same query."""
    qs = (
        selectors.board_agents(user=user)
        .filter(status__in=(PersonStatus.TRAINEE, PersonStatus.ACTIVE, PersonStatus.WARNING))
        .filter(led_teams__isnull=True)
        .select_related("team", "seat", "presence", "presence__attempt", "presence__lead__customer")
    )
    if team is not None:
        qs = qs.filter(team=team)
    return list(qs)


def _leads_in_sight(user, people: list[Person]) -> set[int]:
    """The leads in the board's agents' hands that ``user`` may open (one query): the board
    names a lead only to those who may see it."""
    ids = {
        p.presence.lead_id
        for p in people
        if getattr(p, "presence", None) is not None and p.presence.lead_id
    }
    if not ids or not lead_permissions.can_view_leads(user):
        return set()
    return set(lead_selectors.lead_list(user=user).filter(pk__in=ids).values_list("pk", flat=True))


def board_data(*, user, team=None, now: dt.datetime | None = None) -> dict:
    """The live board's figures for ``user`` (a fixed number of queries). An agent whose
    presence has not changed since before today's start reads offline
    (``selectors.presence_stale``): yesterday evening's "ready" or call is not today's."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    people = _board_people(user, team)
    in_sight = _leads_in_sight(user, people)
    ids = [p.pk for p in people]
    start, end = _day_bounds(today, today)
    stages = {p.team.stage for p in people}
    calls = (
        {
            row["agent_id"]: row
            for row in selectors.attempt_list(user=user)
            .filter(agent_id__in=ids, started_at__gte=start, started_at__lt=end)
            .order_by()
            .values("agent_id")
            .annotate(
                dials=Count("id"),
                connects=Count("id", filter=Q(answered_at__isnull=False)),
                effective=Count("id", filter=_effective_q(stages, today)),
                talk=Sum("talk_seconds"),
            )
        }
        if ids
        else {}
    )
    sales = policy_selectors.policies_summary_for_day(agent_ids=ids, day=today) if ids else {}
    rows = []
    states: Counter = Counter()
    limit = open_call_limit()
    for person in people:
        presence = getattr(person, "presence", None)
        call = selectors.presence_open_call(presence, now=now)
        last_seen = presence.since if presence else None
        if selectors.presence_stale(presence, now=now):
            presence = None  # last seen on an earlier day: offline now
        state = presence.state if presence else AgentState.OFFLINE
        states[state] += 1
        figures = calls.get(person.pk, {})
        sold = sales.get(person.pk, {"count": 0, "premium": ZERO})
        seat = getattr(person, "seat", None)
        since = presence.since if presence else None
        dials = figures.get("dials", 0)
        connects = figures.get("connects", 0)
        call_open = now - call.started_at if call is not None else None
        lead = presence.lead if presence and presence.lead_id in in_sight else None
        rows.append(
            {
                "person": person,
                "team": person.team,
                "seat": seat,
                "state": state,
                "state_label": AgentState(state).label,
                "state_style": STATE_STYLE[AgentState(state)],
                "since": since,
                "last_seen": last_seen,
                "for": _elapsed((now - since).total_seconds()) if since else "—",
                # The lead in hand, for those who may see it (its page, the masked name).
                "lead": lead,
                # A call open past the limit: most likely the agent forgot to hang up.
                "call_open_too_long": call_open is not None and call_open > limit,
                "call_open_for": _elapsed(call_open.total_seconds()) if call_open else "",
                "dials": dials,
                "connects": connects,
                "connect_rate": _ratio(connects, dials),
                "effective": figures.get("effective", 0),
                "talk": figures.get("talk") or 0,
                "talk_display": _duration(figures.get("talk") or 0),
                "sales": sold["count"],
                "premium": sold["premium"],
            }
        )
    totals = {key: sum(r[key] for r in rows) for key in BOARD_SUMS}
    totals["premium"] = sum((r["premium"] for r in rows), ZERO)
    totals["connect_rate"] = _ratio(totals["connects"], totals["dials"])
    totals["talk_display"] = _duration(totals["talk"])
    # Per seat as the "premium per seat" card counts seats (DOMAIN §6: FYP ÷ seats): every
    # occupied seat of the teams on the board, the team lead's included, so that the board
    # and the card divide by the same number.
    team_ids = (
        [team.pk]
        if team is not None
        else selectors.board_agents(user=user).values_list("team_id", flat=True)
    )
    seats = (
        org_selectors.seat_list(user=user, status=SeatStatus.OCCUPIED)
        .filter(person__team_id__in=team_ids)
        .count()
    )
    per_seat = {
        "seats": seats,
        "dials": round(totals["dials"] / seats, 1) if seats else None,
        "talk": _duration(totals["talk"] / seats) if seats else "—",
        "premium": (totals["premium"] / seats).quantize(Decimal("0.01")) if seats else None,
    }
    escalated = selectors.escalated_followup_list(user=user)
    if team is not None:
        escalated = escalated.filter(agent__team=team)
    escalated_total = escalated.count()
    escalated = list(escalated[: ESCALATIONS_SHOWN + 1])
    return {
        "now": now,
        "today": today,
        "rows": rows,
        "totals": totals,
        "per_seat": per_seat,
        "states": [
            {
                "state": s.value,
                "label": s.label,
                "style": STATE_STYLE[s],
                "count": states[s.value],
            }
            for s in AgentState
        ],
        "escalated": [
            {"followup": fu, "overdue": _elapsed((now - fu.due_at).total_seconds())}
            for fu in escalated[:ESCALATIONS_SHOWN]
        ],
        "escalated_more": len(escalated) > ESCALATIONS_SHOWN,
        # All of them, as the home card counts them (QA: the card said 68, the list 50).
        "escalated_total": escalated_total,
    }


@login_required
def board_view(request: HttpRequest) -> HttpResponse:
    """The live board; ``?part=live`` (the poll) answers only the live partial."""
    user = request.user
    require(permissions.can_view_board(user))
    teams = _teams(user)
    form, team = _team_filter(request, teams)
    context = {
        "form": form,
        "team": team,
        "many_teams": teams.count() > 1,
        "poll_seconds": POLL_SECONDS,
        "query": request.GET.urlencode(),
        **board_data(user=user, team=team),
    }
    if request.GET.get("part") == "live":
        response = render(request, "calls/board.html#live", context)
    else:
        response = render(request, "calls/board.html", context, status=422 if form.errors else 200)
    add_never_cache_headers(response)
    return response


# --- Reports --------------------------------------------------------------------------------------
class ReportForm(forms.Form):
    since = forms.DateField(
        validators=[validate_center_year],
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        validators=[validate_center_year],
        label=gettext_lazy("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    team = forms.ModelChoiceField(queryset=None, required=False, label=gettext_lazy("Team"))

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["team"].empty_label = _("All teams")
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{css} form-control-sm"

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until:
            today = timezone.localdate()
            if since > until:
                raise forms.ValidationError(
                    _("The period starts (%(since)s) after it ends (%(until)s): swap the dates.")
                    % {"since": since.isoformat(), "until": until.isoformat()},
                    code="reversed",
                )
            if until > today:
                self.add_error(
                    "until",
                    _("The period cannot end after today (%(today)s).")
                    % {"today": today.isoformat()},
                )
            days = (until - since).days + 1
            if days > MAX_REPORT_DAYS:
                raise forms.ValidationError(
                    _(
                        "The period has %(days)d days; a report covers at most %(max)d. "
                        "Choose a shorter period."
                    )
                    % {"days": days, "max": MAX_REPORT_DAYS},
                    code="too_long",
                )
        return data


def _report_form(request: HttpRequest, teams) -> ReportForm:
    """The report's period: the one asked for, else the month to date — the days of the
    dashboard cards, so that the conversion card and the report's total read the same. The
    defaults go into the form's data, so that its boxes show the period in effect."""
    today = timezone.localdate()
    data = request.GET.copy()
    if "until" not in data:
        data["until"] = today.isoformat()
    if "since" not in data:
        try:
            end = min(dt.date.fromisoformat(data["until"]), today)
        except ValueError:
            end = today
        data["since"] = end.replace(day=1).isoformat()
    return ReportForm(data, teams=teams)


def _kpi_row(key, name: str, calls: dict, fus: dict, sold: dict, stab: dict | None) -> dict:
    dials = calls.get("dials", 0)
    answered = calls.get("answered", 0)
    leads_dialled = calls.get("leads_dialled", 0)
    leads_connected = calls.get("leads_connected", 0)
    effective = calls.get("effective", 0)
    talk = calls.get("talk") or 0
    sales = sold.get("sales", 0)
    stab = stab or {"numerator": 0, "denominator": 0, "rate": None, "issued": 0}
    return {
        "key": key,
        "name": name,
        "dials": dials,
        "answered": answered,
        "connect_rate": _ratio(answered, dials),
        "leads_dialled": leads_dialled,
        "leads_connected": leads_connected,
        "lead_connect_rate": _ratio(leads_connected, leads_dialled),
        "effective": effective,
        "effective_rate": _ratio(effective, answered),
        "talk": talk,
        "talk_display": _duration(talk),
        "avg_talk": round(talk / answered) if answered else None,
        "avg_talk_display": _duration(talk / answered) if answered else "—",
        "followups_done": fus.get("done", 0),
        "followups_overdue": fus.get("overdue", 0),
        "sales": sales,
        "cancelled": sold.get("cancelled", 0),
        "conversion": _ratio(sales, leads_connected),
        "premium": Decimal(sold.get("premium") or 0).quantize(Decimal("0.01")),
        "issued": stab["issued"],
        "kept": stab["numerator"],
        "settled": stab["denominator"],
        "stabilisation": stab["rate"],
    }


def _stabilisation(user, by: str, since: dt.date, until: dt.date) -> dict:
    rows = policy_selectors.stabilisation_rate(user=user, by=by, since=since, until=until)
    return {r["key"]: r for r in rows}


def report_data(*, user, since: dt.date, until: dt.date, team=None) -> dict:
    """Per agent and per team, and the totals, for the visible agents (see the module doc)."""
    now = timezone.now()
    start, end = _day_bounds(since, until)
    scope = _teams(user)
    if team is not None:
        scope = scope.filter(pk=team.pk)
    team_ids = list(scope.values_list("pk", flat=True))
    stages = set(scope.values_list("stage", flat=True))
    attempts = selectors.attempt_list(user=user).filter(
        started_at__gte=start, started_at__lt=end, agent__team_id__in=team_ids
    )
    answered = Q(answered_at__isnull=False)
    call_figures = {
        "dials": Count("id"),
        "answered": Count("id", filter=answered),
        "leads_dialled": Count("lead_id", distinct=True),
        "leads_connected": Count("lead_id", distinct=True, filter=answered),
        "effective": Count("id", filter=_effective_q(stages, until)),
        "talk": Sum("talk_seconds"),
    }
    followups = selectors.followup_list(user=user, status=None).filter(agent__team_id__in=team_ids)
    done = Q(status=FollowUpStatus.DONE, done_at__gte=start, done_at__lt=end)
    overdue = Q(status=FollowUpStatus.OPEN, due_at__gte=start, due_at__lt=min(end, now))
    fu_figures = {"done": Count("id", filter=done), "overdue": Count("id", filter=overdue)}
    policies = policy_selectors.policy_list(user=user, since=since, until=until).exclude(
        status=PolicyStatus.DECLINED  # declined by underwriting: never a sale
    )
    # Sales as the center counts them (the sales panel, the board, the conversion card): net
    # of the policies cancelled in free look (``NOT_SOLD_STATUSES``); the cancelled apart.
    kept = ~Q(status__in=NOT_SOLD_STATUSES)
    sale_figures = {
        "sales": Count("id", filter=kept),
        "cancelled": Count("id", filter=Q(status=PolicyStatus.CANCELLED)),
        "premium": Sum("annualised_premium", filter=kept),
    }

    def grouped(qs, key: str, figures: dict) -> dict:
        return {r[key]: r for r in qs.order_by().values(key).annotate(**figures)}

    # Per agent ---------------------------------------------------------------------------
    by_agent_calls = grouped(attempts, "agent_id", call_figures)
    by_agent_fus = grouped(followups, "agent_id", fu_figures)
    agent_policies = policies.filter(agent__team_id__in=team_ids)
    by_agent_sales = grouped(agent_policies, "agent_id", sale_figures)
    by_agent_stab = {
        r["key"]: r
        for r in policy_selectors.stabilisation_rate(
            user=user, by="agent", since=since, until=until
        )
    }
    # The current agents of the teams, and anyone else of them with figures (who left since)
    active = set(by_agent_calls) | set(by_agent_fus) | set(by_agent_sales)
    current = ~Q(status=PersonStatus.LEFT) & Q(led_teams__isnull=True)
    people = {
        p.pk: p
        for p in org_selectors.person_list(user=user, include_left=True)
        .filter(team_id__in=team_ids)
        .filter(current | Q(pk__in=active))
    }
    agents = [
        {
            **_kpi_row(
                pk,
                p.name,
                by_agent_calls.get(pk, {}),
                by_agent_fus.get(pk, {}),
                by_agent_sales.get(pk, {}),
                by_agent_stab.get(pk),
            ),
            "team_name": p.team.name,
        }
        for pk, p in people.items()
    ]
    agents.sort(key=lambda r: (r["team_name"], r["name"], r["key"]))

    # Per team ----------------------------------------------------------------------------
    by_team_calls = grouped(attempts, "agent__team_id", call_figures)
    by_team_fus = grouped(followups, "agent__team_id", fu_figures)
    by_team_sales = grouped(policies.filter(team_id__in=team_ids), "team_id", sale_figures)
    by_team_stab = _stabilisation(user, "team", since, until)
    teams = [
        _kpi_row(
            t.pk,
            t.name,
            by_team_calls.get(t.pk, {}),
            by_team_fus.get(t.pk, {}),
            by_team_sales.get(t.pk, {}),
            by_team_stab.get(t.pk),
        )
        for t in scope.order_by("name")
    ]

    # Totals --------------------------------------------------------------------------------
    stab_rows = [by_team_stab[t] for t in team_ids if t in by_team_stab]
    total_stab = policy_selectors.stabilisation_total(stab_rows)
    total = _kpi_row(
        None,
        _("Total"),
        attempts.order_by().aggregate(**call_figures),
        followups.order_by().aggregate(**fu_figures),
        policies.filter(team_id__in=team_ids).order_by().aggregate(**sale_figures),
        total_stab,
    )
    return {"since": since, "until": until, "agents": agents, "teams": teams, "total": total}


def _chart(rows: list[dict]) -> dict:
    def pct(value):
        return round(value * 100, 1) if value is not None else None

    return {
        "names": [r["name"] for r in rows],
        "dials": [r["dials"] for r in rows],
        "answered": [r["answered"] for r in rows],
        "effective": [r["effective"] for r in rows],
        "connect_rate": [pct(r["connect_rate"]) for r in rows],
        "conversion": [pct(r["conversion"]) for r in rows],
        "labels": {
            "dials": _("Dials"),
            "answered": _("Answered"),
            "effective": _("Effective calls"),
            "connect_rate": _("Connect rate %"),
            "conversion": _("Conversion %"),
        },
    }


@login_required
def report_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_board(user))
    teams = _teams(user)
    form = _report_form(request, teams)
    context: dict[str, Any] = {"form": form, "query": ""}
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        report = report_data(
            user=user, since=data["since"], until=data["until"], team=data.get("team")
        )
        by_agent = bool(data.get("team")) or len(report["teams"]) <= 1
        chart_rows = report["agents"] if by_agent else report["teams"]
        context.update(
            report=report,
            chart=_chart(chart_rows),
            chart_by=_("agent") if by_agent else _("team"),
            has_calls=report["total"]["dials"] > 0 or report["total"]["sales"] > 0,
            query=form.data.urlencode() if hasattr(form.data, "urlencode") else "",
        )
    else:
        status = 422
    return render(request, "calls/report.html", context, status=status)


REPORT_HEADERS = [
    ("name", gettext_lazy("Name")),
    ("dials", gettext_lazy("Dials")),
    ("answered", gettext_lazy("Answered calls")),
    ("connect_rate", gettext_lazy("Connect rate (calls)")),
    ("leads_dialled", gettext_lazy("Leads dialled")),
    ("leads_connected", gettext_lazy("Leads connected")),
    ("lead_connect_rate", gettext_lazy("Connect rate (leads)")),
    ("effective", gettext_lazy("Effective calls")),
    ("effective_rate", gettext_lazy("Effective-call rate")),
    ("talk", gettext_lazy("Talk time (seconds)")),
    ("avg_talk", gettext_lazy("Average talk per answered call (seconds)")),
    ("followups_done", gettext_lazy("Follow-ups done")),
    ("followups_overdue", gettext_lazy("Follow-ups overdue")),
    ("sales", gettext_lazy("Sales")),
    ("cancelled", gettext_lazy("Cancelled in free-look")),
    ("conversion", gettext_lazy("Conversion (sales ÷ leads connected)")),
    ("premium", gettext_lazy("Premium (net of free-look cancellations)")),
    ("issued", gettext_lazy("Policies issued")),
    ("kept", gettext_lazy("Kept past free-look")),
    ("settled", gettext_lazy("Settled (kept + cancelled)")),
    ("stabilisation", gettext_lazy("Stabilisation rate")),
]


def _sheet_rows(rows: list[dict], *, team: bool = False) -> list[list]:
    out = []
    for r in rows:
        values = [r[key] if r[key] is not None else "" for key, _label in REPORT_HEADERS]
        if team:
            values.insert(1, r.get("team_name", ""))
        out.append(values)
    return out


@transaction.atomic
def report_export(*, user, since: dt.date, until: dt.date, team=None) -> tuple[str, bytes, int]:
    """The report as an Excel workbook (per agent, per team), with an audit row: it holds
    people's figures."""
    if not permissions.can_view_board(user):
        raise DomainPermissionDenied(_("You may not export the call reports"))
    report = report_data(user=user, since=since, until=until, team=team)
    headers = [str(label) for _key, label in REPORT_HEADERS]
    agent_headers = [headers[0], str(_("Team")), *headers[1:]]
    # The team sheet's first column holds teams (and the total), not people's names.
    team_headers = [str(_("Team")), *headers[1:]]
    content = spreadsheet_bytes(
        fmt="xlsx",
        sheets=[
            (
                _("By agent"),
                agent_headers,
                _sheet_rows([*report["agents"]], team=True),
            ),
            (_("By team"), team_headers, _sheet_rows([*report["teams"], report["total"]])),
        ],
    )
    rows = len(report["agents"]) + len(report["teams"])
    audit_record(
        actor=user,
        action="calls.report_export",
        object_type="calls.callattempt",
        object_repr=_("Call report %(since)s – %(until)s")
        % {"since": since.isoformat(), "until": until.isoformat()},
        after={
            "since": since,
            "until": until,
            "team": team.pk if team is not None else None,
            "format": "xlsx",
            "agents": len(report["agents"]),
            "teams": len(report["teams"]),
        },
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"call-report-{since:%Y%m%d}-{until:%Y%m%d}-{stamp}.xlsx", content, rows


@login_required
def report_export_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_board(user))
    form = _report_form(request, _teams(user))
    if not form.is_valid():
        return render(request, "calls/report.html", {"form": form, "query": ""}, status=422)
    data = form.cleaned_data
    filename, content, _rows = report_export(
        user=user, since=data["since"], until=data["until"], team=data.get("team")
    )
    response = HttpResponse(content, content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response


# --- The call rules in force ------------------------------------------------------------------
def _rule_rows(rulesets: list) -> list[tuple[str, list[str]]]:
    """(what, the value in each version) for every threshold the guards and the cadence read."""
    from telesales.calls.models import CallRuleSet
    from telesales.org.choices import TeamStage

    stages = dict(TeamStage.choices)

    def label(name: str) -> str:
        text = str(CallRuleSet._meta.get_field(name).verbose_name)
        return text[:1].upper() + text[1:]

    def yes(value: bool) -> str:
        return _("yes") if value else _("no")

    rows: list[tuple[str, list[str]]] = [
        (label("stage"), [str(stages.get(r.stage, r.stage)) or _("every team") for r in rulesets]),
        (
            _("Calling window (the customer's local time)"),
            [f"{r.window_start:%H:%M}–{r.window_end:%H:%M}" for r in rulesets],
        ),
    ]
    # The service's list of a version's thresholds (the window is shown above as one row), so
    # that a threshold added there is shown here too.
    from telesales.calls.services import CALLRULE_FIELDS

    for name in (f for f in CALLRULE_FIELDS if f not in ("window_start", "window_end")):
        values = []
        for r in rulesets:
            value = getattr(r, name)
            if isinstance(value, bool):
                values.append(yes(value))
            elif isinstance(value, list):
                values.append(_(", ").join(str(v) for v in value))
            else:
                values.append(str(value))
        rows.append((label(name), values))
    return rows


@login_required
def callrules_view(request: HttpRequest) -> HttpResponse:
    """The calling rules, version by version, read-only: the window, the attempt caps, the
    cool-downs, the cadence, escalation and recording retention, with the version in force
    today marked (QA, session 20: the compliance thresholds could be seen only through the
    API). The manager changes them through ``POST /api/v1/calls/rulesets``."""
    require(permissions.can_manage_call_rules(request.user))
    rulesets = list(selectors.callrules_list(user=request.user)[:12])
    in_force = callrules_in_force()
    return render(
        request,
        "calls/callrules.html",
        {
            "rulesets": rulesets,
            "rows": _rule_rows(rulesets),
            "in_force_id": in_force.pk,
        },
    )


urlpatterns = [
    path("rules/", callrules_view, name="callrules"),
    path("board/", board_view, name="board"),
    path("reports/", report_view, name="report"),
    path("reports/export/", report_export_view, name="report_export"),
]
