"""HTML pages of the organisation app: role home pages and the people/team/level/seat screens."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telesales.core import dashboard
from telesales.core.errors import DomainError, PermissionDenied
from telesales.core.form_errors import add_domain_error
from telesales.core.navigation import home_url_name
from telesales.core.pages import get_or_404, page_of, require
from telesales.core.roles import BACK_OFFICE_ROLES, Role, has_role, primary_role
from telesales.org import permissions, selectors, services
from telesales.org.choices import PersonStatus, SeatStatus, TeamKind, TeamStage
from telesales.org.forms import (
    CenterForm,
    LevelForm,
    LoginCreateForm,
    PersonFilterForm,
    PersonForm,
    RolesForm,
    SeatForm,
    SeatPeriodForm,
    TeamForm,
)

# --- Role home pages ---------------------------------------------------------------------
#: The life-cycle stages' colours on the dashboard's pie (ECharts' first four).
STAGE_COLOURS = {
    TeamStage.START_UP: "#5470c6",
    TeamStage.RAPID_GROWTH: "#91cc75",
    TeamStage.PLATEAU: "#fac858",
    TeamStage.STEADY_GROWTH: "#ee6666",
}


@login_required
def manager_dashboard_view(request: HttpRequest) -> HttpResponse:
    require(has_role(request.user, Role.MANAGER))
    user = request.user
    teams = selectors.headcount_by_team(user=user)
    sales_ids = set(
        selectors.team_list(user=user, kind=TeamKind.SALES).values_list("id", flat=True)
    )
    sales = [t for t in teams if t["team_id"] in sales_ids]
    people = selectors.person_list(user=user)
    totals = {s.value: 0 for s in PersonStatus}
    for t in teams:
        for s in PersonStatus:
            totals[s.value] += t[s.value]
    stage_counts = {s.value: 0 for s in TeamStage}
    for t in sales:
        stage_counts[t["stage"]] += 1
    chart = {
        "teams": [t["name"] for t in sales],
        "series": [
            {"name": str(label), "data": [t[value] for t in sales]}
            for value, label in PersonStatus.choices
            if value != PersonStatus.LEFT
        ],
        # Each stage keeps its colour whether or not the others have teams (QA: with no team
        # in one stage the pie's colours shifted, the same colour naming another stage).
        "stages": [
            {
                "name": str(label),
                "value": stage_counts[value],
                "itemStyle": {"color": STAGE_COLOURS[value]},
            }
            for value, label in TeamStage.choices
        ],
    }
    context = {
        "headcount": people.count(),
        "totals": totals,
        "seats": selectors.seat_summary(user=user),
        "sales_teams": sales,
        "chart": chart,
        "stage_labels": dict(TeamStage.choices),
        **_cards_and_panels(request),
    }
    return render(request, "org/manager_dashboard.html", context)


@login_required
def team_home_view(request: HttpRequest) -> HttpResponse:
    require(has_role(request.user, Role.TEAM_LEAD, Role.MANAGER))
    me = selectors.person_for_user(request.user)
    teams = list(selectors.team_list(user=request.user).filter(leader=me)) if me else []
    rosters = [
        {"team": t, "people": selectors.person_list(user=request.user, team_id=t.pk)} for t in teams
    ]
    context = {"rosters": rosters, "me": me, **_cards_and_panels(request)}
    return render(request, "org/team_home.html", context)


def _indicators(user) -> dict:
    """The registered dashboard indicators ``user`` may see, for the month to date."""
    period = dashboard.Period.month_to_date()
    return {"period": period, "indicators": dashboard.indicators_for(user=user, period=period)}


def _month_chosen(request: HttpRequest) -> tuple[dashboard.Period, str, str]:
    """The month the home page's cards cover: ``?month=YYYY-MM`` (a past month whole, this
    one to date), else this month to date (QA: on the 1st every card covered one day and the
    month just closed could not be shown). Returns the period, the month's value for the
    picker and a problem to say ("" when none); a bad or future month falls back."""
    today = timezone.localdate()
    this_month = f"{today:%Y-%m}"
    raw = (request.GET.get("month") or "").strip()
    if not raw:
        return dashboard.Period.month_to_date(today), this_month, ""
    try:
        first = dt.date.fromisoformat(f"{raw}-01") if len(raw) == 7 else None
    except ValueError:
        first = None
    if first is None or first.year < 2000 or first > today:
        problem = _("“%(month)s” is not a month up to this one (YYYY-MM); this month is shown.")
        return dashboard.Period.month_to_date(today), this_month, problem % {"month": raw[:20]}
    next_first = (first + dt.timedelta(days=32)).replace(day=1)
    until = min(next_first - dt.timedelta(days=1), today)
    return dashboard.Period(since=first, until=until), f"{first:%Y-%m}", ""


def _cards_and_panels(request: HttpRequest) -> dict:
    """``_indicators`` and the registered panels (charts, rankings) for the same days: the
    month chosen (``_month_chosen``)."""
    period, month, problem = _month_chosen(request)
    context = {
        "period": period,
        "indicators": dashboard.indicators_for(user=request.user, period=period),
        "month_value": month,
        "month_max": f"{timezone.localdate():%Y-%m}",
        "month_problem": problem,
    }
    context["panels"] = dashboard.panels_for(request=request, period=period)
    return context


@login_required
def agent_home_view(request: HttpRequest) -> HttpResponse:
    """The agent's profile card, where their calls are (the page an app registered as the
    agent's home, the workspace, named through the navigation registry so that org imports no
    sales-floor app) and their own cards (``core.dashboard``, ``personal``): today's calls,
    follow-ups due, conversion, the promotion early warning."""
    me = selectors.person_for_user(request.user)
    home = home_url_name(Role.AGENT)
    calls_url = reverse(home) if home and home != "org:agent_home" else None
    period = dashboard.Period.month_to_date()
    indicators = (
        dashboard.indicators_for(user=request.user, period=period, personal=True) if me else []
    )
    return render(
        request,
        "org/agent_home.html",
        {"me": me, "calls_url": calls_url, "period": period, "indicators": indicators},
    )


@login_required
def backoffice_home_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(has_role(user, *BACK_OFFICE_ROLES))
    role = primary_role(user)
    if role not in BACK_OFFICE_ROLES:
        role = next(r for r in Role if r in BACK_OFFICE_ROLES and has_role(user, r))
    people = selectors.person_list(user=user)
    trainees = people.filter(status=PersonStatus.TRAINEE)
    warnings = people.filter(status=PersonStatus.WARNING)
    context = {
        "role": role,
        "role_label": role.label,
        # The lists show the first 20; the counts say how many there are, and the page links
        # the full list on the people page when there are more.
        "trainees": trainees[:20],
        "trainee_count": trainees.count(),
        "warnings": warnings[:20],
        "warning_count": warnings.count(),
        "recent_hires": people.order_by("-hire_date")[:10],
        "teams": selectors.headcount_by_team(user=user),
        **_indicators(user),
    }
    return render(request, "org/backoffice_home.html", context)


@login_required
def profile_view(request: HttpRequest) -> HttpResponse:
    me = selectors.person_for_user(request.user)
    if me is None:
        return render(request, "org/profile.html", {"person": None})
    return redirect("org:person_detail", person_id=me.pk)


# --- People ------------------------------------------------------------------------------
@login_required
def person_list_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_view_org_pages(request.user))
    teams = selectors.team_list(user=request.user)
    form = PersonFilterForm(request.GET or None, teams=teams)
    people = selectors.person_list(user=request.user, **form.selector_filters())
    page = page_of(request, people)
    template = "org/person_list.html#table" if request.htmx else "org/person_list.html"
    return render(
        request,
        template,
        {
            "page": page,
            "form": form,
            "filtered": form.has_filters(),
            "can_edit": permissions.can_edit_person(request.user),
        },
    )


@login_required
def person_detail_view(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_or_404(selectors.person_get, user=request.user, person_id=person_id)
    return _person_detail(request, person)


def _person_detail(request, person, *, login_form=None, roles_form=None, status=200):
    # HR may not change a center manager's record or login (only a center manager may).
    locked = permissions.can_edit_person(request.user) and selectors.person_login_locked(
        user=request.user, person=person
    )
    can_edit = permissions.can_edit_person(request.user) and not locked
    roles = selectors.person_roles(person=person)
    if can_edit and login_form is None and not person.user_id:
        login_form = LoginCreateForm()
    if can_edit and roles_form is None and person.user_id:
        roles_form = RolesForm(initial={"roles": roles})
    return render(
        request,
        "org/person_detail.html",
        {
            "person": person,
            "seat": getattr(person, "seat", None) if _has_seat(person) else None,
            "can_edit": can_edit,
            "locked": locked,
            "roles": roles,
            "login_form": login_form,
            "roles_form": roles_form,
        },
        status=status,
    )


@login_required
@require_POST
def person_login_view(request: HttpRequest, person_id: int) -> HttpResponse:
    """Create the login, change its roles, or reset its password (``action`` field)."""
    require(permissions.can_edit_person(request.user))
    person = get_or_404(selectors.person_get, user=request.user, person_id=person_id)
    action = request.POST.get("action", "")
    login_form = roles_form = None
    try:
        if action == "create":
            login_form = LoginCreateForm(request.POST)
            if login_form.is_valid():
                _person, password = services.person_login_create(
                    person=person, actor=request.user, **login_form.cleaned_data
                )
                messages.success(
                    request,
                    _("Login %(username)s created. One-time password: %(password)s")
                    % {"username": login_form.cleaned_data["username"], "password": password},
                )
                return redirect("org:person_detail", person_id=person.pk)
        elif action == "roles":
            roles_form = RolesForm(request.POST)
            if roles_form.is_valid():
                services.person_roles_set(
                    person=person, actor=request.user, roles=roles_form.cleaned_data["roles"]
                )
                messages.success(request, _("Roles saved."))
                return redirect("org:person_detail", person_id=person.pk)
        elif action == "reset_password":
            password = services.person_password_reset(person=person, actor=request.user)
            messages.success(
                request, _("New one-time password: %(password)s") % {"password": password}
            )
            return redirect("org:person_detail", person_id=person.pk)
        else:
            messages.error(request, _("Unknown action."))
            return redirect("org:person_detail", person_id=person.pk)
    except DomainError as exc:
        form = login_form or roles_form
        if form is None or isinstance(exc, PermissionDenied):
            messages.error(request, exc.message)
            return redirect("org:person_detail", person_id=person.pk)
        add_domain_error(form, exc)
    person = get_or_404(selectors.person_get, user=request.user, person_id=person_id)
    return _person_detail(request, person, login_form=login_form, roles_form=roles_form, status=422)


def _has_seat(person) -> bool:
    try:
        return person.seat is not None
    except Exception:
        return False


def _edit_view(request, *, form_class, instance, save, template, success_url, form_kwargs):
    # An empty POST is still a submission: bind it so that the required fields say so.
    data = request.POST if request.method == "POST" else None
    form = form_class(data, instance=instance, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(success_url(obj))
    status = 422 if request.method == "POST" else 200
    return render(request, template, {"form": form, "object": instance}, status=status)


@login_required
def person_create_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_edit_person(request.user))
    center = selectors.center_default()
    return _edit_view(
        request,
        form_class=PersonForm,
        instance=None,
        save=lambda data: services.person_create(center=center, actor=request.user, **data),
        template="org/person_form.html",
        success_url=lambda p: reverse("org:person_detail", args=[p.pk]),
        form_kwargs={"center": center, "user": request.user},
    )


@login_required
def person_edit_view(request: HttpRequest, person_id: int) -> HttpResponse:
    require(permissions.can_edit_person(request.user))
    person = get_or_404(selectors.person_get, user=request.user, person_id=person_id)
    return _edit_view(
        request,
        form_class=PersonForm,
        instance=person,
        save=lambda data: services.person_update(person=person, actor=request.user, **data),
        template="org/person_form.html",
        success_url=lambda p: reverse("org:person_detail", args=[p.pk]),
        form_kwargs={"center": person.center, "user": request.user},
    )


# --- Teams -------------------------------------------------------------------------------
@login_required
def team_list_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_view_org_pages(request.user))
    teams = selectors.team_list(user=request.user, include_inactive=True)
    return render(
        request,
        "org/team_list.html",
        {
            "teams": teams,
            "can_edit": permissions.can_edit_team(request.user),
            "can_edit_center": permissions.can_edit_center(request.user),
        },
    )


@login_required
def team_detail_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_or_404(selectors.team_get, user=request.user, team_id=team_id)
    people = selectors.person_list(user=request.user, team_id=team.pk)
    return render(
        request,
        "org/team_detail.html",
        {"team": team, "people": people, "can_edit": permissions.can_edit_team(request.user)},
    )


@login_required
def team_create_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_edit_team(request.user))
    center = selectors.center_default()
    return _edit_view(
        request,
        form_class=TeamForm,
        instance=None,
        save=lambda data: services.team_create(center=center, actor=request.user, **data),
        template="org/team_form.html",
        success_url=lambda t: reverse("org:team_detail", args=[t.pk]),
        form_kwargs={"center": center},
    )


@login_required
def team_edit_view(request: HttpRequest, team_id: int) -> HttpResponse:
    require(permissions.can_edit_team(request.user))
    team = get_or_404(selectors.team_get, user=request.user, team_id=team_id)
    stage_before = team.stage

    def save(data):
        updated = services.team_update(team=team, actor=request.user, **data)
        if updated.stage != stage_before:
            # What follows from a stage: the rule sets chosen by it (QA: only "Saved." was
            # said, and the team's lead protection and quotas changed silently).
            messages.info(
                request,
                _(
                    "%(team)s is now in the %(stage)s stage: the lead rules and call rules of "
                    "that stage apply to it from now on (lead protection, claim limits, "
                    "new-hire quota, calling cadence)."
                )
                % {"team": updated.name, "stage": updated.get_stage_display()},
            )
        return updated

    return _edit_view(
        request,
        form_class=TeamForm,
        instance=team,
        save=save,
        template="org/team_form.html",
        success_url=lambda t: reverse("org:team_detail", args=[t.pk]),
        form_kwargs={"center": team.center},
    )


# --- Levels ------------------------------------------------------------------------------
@login_required
def level_list_view(request: HttpRequest) -> HttpResponse:
    can_edit = permissions.can_edit_level(request.user)
    levels = selectors.level_list(user=request.user, include_inactive=can_edit)
    return render(request, "org/level_list.html", {"levels": levels, "can_edit": can_edit})


@login_required
def level_create_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_edit_level(request.user))
    return _edit_view(
        request,
        form_class=LevelForm,
        instance=None,
        save=lambda data: services.level_create(actor=request.user, **data),
        template="org/level_form.html",
        success_url=lambda _level: reverse("org:level_list"),
        form_kwargs={},
    )


@login_required
def level_edit_view(request: HttpRequest, level_id: int) -> HttpResponse:
    require(permissions.can_edit_level(request.user))
    level = get_or_404(selectors.level_get, user=request.user, level_id=level_id)
    return _edit_view(
        request,
        form_class=LevelForm,
        instance=level,
        save=lambda data: services.level_update(level=level, actor=request.user, **data),
        template="org/level_form.html",
        success_url=lambda _level: reverse("org:level_list"),
        form_kwargs={},
    )


# --- Seats -------------------------------------------------------------------------------
@login_required
def seat_list_view(request: HttpRequest) -> HttpResponse:
    require(has_role(request.user, Role.MANAGER, Role.HR_ADMIN, Role.PLANNER, Role.TEAM_LEAD))
    status = request.GET.get("status", "")
    if status not in SeatStatus.values:
        status = ""  # an unknown status filters nothing
    seats = list(selectors.seat_list(user=request.user, status=status or None))
    form = SeatPeriodForm(request.GET or None, today=timezone.localdate())
    since, until = form.period()
    if not form.is_bound or not form.data.get("month") or "month" not in form.errors:
        form = SeatPeriodForm({"month": f"{since:%Y-%m}"}, today=timezone.localdate())
        form.is_valid()  # the box shows the month in effect
    productivity = selectors.seat_productivity(user=request.user, since=since, until=until)
    for seat in seats:
        seat.figures = productivity["per_seat"].get(seat.pk, {})
    return render(
        request,
        "org/seat_list.html",
        {
            "seats": seats,
            "summary": selectors.seat_summary(user=request.user),
            "can_edit": permissions.can_edit_seat(request.user),
            "status": status,
            "period_form": form,
            "productivity": productivity,
        },
    )


@login_required
def seat_create_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_edit_seat(request.user))
    center = selectors.center_default()
    return _edit_view(
        request,
        form_class=SeatForm,
        instance=None,
        save=lambda data: services.seat_create(center=center, actor=request.user, **data),
        template="org/seat_form.html",
        success_url=lambda _seat: reverse("org:seat_list"),
        form_kwargs={"center": center},
    )


@login_required
def seat_edit_view(request: HttpRequest, seat_id: int) -> HttpResponse:
    require(permissions.can_edit_seat(request.user))
    seat = get_or_404(selectors.seat_get, user=request.user, seat_id=seat_id)
    return _edit_view(
        request,
        form_class=SeatForm,
        instance=seat,
        save=lambda data: services.seat_update(seat=seat, actor=request.user, **data),
        template="org/seat_form.html",
        success_url=lambda _seat: reverse("org:seat_list"),
        form_kwargs={"center": seat.center},
    )


# --- Center ------------------------------------------------------------------------------
@login_required
def center_edit_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_edit_center(request.user))
    center = selectors.center_default()
    if center is None:
        raise Http404("No center; run 'telesales bootstrap'")
    return _edit_view(
        request,
        form_class=CenterForm,
        instance=center,
        save=lambda data: services.center_update(center=center, actor=request.user, **data),
        template="org/center_form.html",
        success_url=lambda _center: reverse("org:team_list"),
        form_kwargs={},
    )
