"""Reads of organisation data, always scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.db.models.lookups import IContains
from django.utils.translation import gettext as _

from telesales.core.errors import NotFound
from telesales.core.roles import Role, has_role
from telesales.org import permissions
from telesales.org.choices import PersonStatus, SeatStatus, TeamKind
from telesales.org.models import Center, Level, Person, Seat, Team


def person_for_user(user) -> Person | None:
    """The employee record linked to a login, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_telesales_person", False)
    if cached is not False:
        return cached
    person = Person.objects.select_related("team", "level").filter(user_id=user.pk).first()
    user._telesales_person = person
    return person


def _led_team_ids(person: Person | None) -> list[int]:
    """Ids of the teams ``person`` leads (cached on the person for the request)."""
    if person is None:
        return []
    cached = getattr(person, "_led_team_ids", None)
    if cached is None:
        cached = list(Team.objects.filter(leader=person).values_list("id", flat=True))
        person._led_team_ids = cached
    return list(cached)


def person_visible_q(user) -> Q:
    """A filter on Person that keeps exactly the people ``user`` may see."""
    if permissions.sees_all_people(user):
        return Q()
    me = person_for_user(user)
    q = Q(pk=me.pk) if me else Q(pk__in=[])
    if permissions.sees_sales_people(user):
        q |= Q(team__kind=TeamKind.SALES)
        if me:
            q |= Q(team_id=me.team_id)
    led = _led_team_ids(me)
    if led:
        q |= Q(team_id__in=led)
    return q


def person_list(
    *,
    user,
    team_id: int | None = None,
    status: str | None = None,
    level_id: int | None = None,
    search: str = "",
    include_left: bool = False,
    team_kind: str | None = None,
    left_since: dt.date | None = None,
    left_until: dt.date | None = None,
) -> QuerySet[Person]:
    """The people ``user`` may see, current staff only unless ``status`` or a leaving period
    (``left_since``–``left_until``, days included; either end may be open) asks for leavers.
    ``team_kind`` keeps the people of sales (or back-office) teams: the attrition card
    (``org.dashboard``) links here with the sales force and its period, and the list then
    holds exactly the leavers the card counts."""
    qs = Person.objects.filter(person_visible_q(user)).select_related(
        "team", "level", "leader", "user"
    )
    if team_id:
        qs = qs.filter(team_id=team_id)
    if team_kind:
        qs = qs.filter(team__kind=team_kind)
    if status:
        qs = qs.filter(status=status)
    elif not include_left and not (left_since or left_until):
        qs = qs.exclude(status=PersonStatus.LEFT)
    if left_since:
        qs = qs.filter(left_on__gte=left_since)
    if left_until:
        qs = qs.filter(left_on__lte=left_until)
    if level_id:
        qs = qs.filter(level_id=level_id)
    # Full-width letters, digits and spaces (typed with a Chinese input method) read as the
    # half-width ones the codes are stored in. Whitespace is no part of a code, nor of a
    # name: "魏 艳" (surname and given name typed apart) finds 魏艳, and 魏艳 finds a name
    # stored as "魏 艳".
    search = unicodedata.normalize("NFKC", search or "")
    compact = re.sub(r"\s+", "", search)
    if compact:
        qs = qs.filter(
            IContains(_without_spaces("name"), compact)
            | Q(employee_no__icontains=compact)
            | Q(practice_reg_no__icontains=compact)
        )
    return qs.order_by("team__name", "name", "id")


def _without_spaces(field: str):
    """``field`` without its spaces, half-width and full-width (U+3000), in the database."""
    return Replace(Replace(F(field), Value(" "), Value("")), Value("\u3000"), Value(""))


def person_get(*, user, person_id: int) -> Person:
    person = (
        Person.objects.filter(person_visible_q(user))
        .select_related("team", "level", "leader", "recruiter", "mentor", "user", "center")
        .filter(pk=person_id)
        .first()
    )
    if person is None:
        raise NotFound(_("No such person, or you may not see them"))
    return person


def team_visible_q(user) -> Q:
    if permissions.sees_all_teams(user):
        return Q()
    me = person_for_user(user)
    ids = _led_team_ids(me) + ([me.team_id] if me else [])
    return Q(pk__in=ids)


def team_list(*, user, kind: str | None = None, include_inactive: bool = False) -> QuerySet[Team]:
    qs = (
        Team.objects.filter(team_visible_q(user))
        .select_related("leader", "center")
        .annotate(
            headcount=Count("members", filter=~Q(members__status=PersonStatus.LEFT), distinct=True)
        )
    )
    if kind:
        qs = qs.filter(kind=kind)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("kind", "name")


def team_get(*, user, team_id: int) -> Team:
    team = Team.objects.filter(team_visible_q(user)).select_related("leader", "center")
    team = team.filter(pk=team_id).first()
    if team is None:
        raise NotFound(_("No such team, or you may not see it"))
    return team


def seat_visible_q(user) -> Q:
    if permissions.sees_all_seats(user):
        return Q()
    me = person_for_user(user)
    q = Q(person_id=me.pk) if me else Q(pk__in=[])
    led = _led_team_ids(me)
    if led:
        q |= Q(person__team_id__in=led)
    return q


def seat_list(*, user, status: str | None = None, site: str = "") -> QuerySet[Seat]:
    qs = Seat.objects.filter(seat_visible_q(user)).select_related("person", "person__team")
    if status:
        qs = qs.filter(status=status)
    if site:
        qs = qs.filter(site=site)
    return qs.order_by("site", "code")


def seat_get(*, user, seat_id: int) -> Seat:
    seat = Seat.objects.filter(seat_visible_q(user)).select_related("person").filter(pk=seat_id)
    seat = seat.first()
    if seat is None:
        raise NotFound(_("No such seat, or you may not see it"))
    return seat


def level_list(*, user, include_inactive: bool = False) -> QuerySet[Level]:
    """The ladder is public to every employee: it is how they are paid and promoted."""
    qs = Level.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("series", "rank")


def level_get(*, user, level_id: int) -> Level:
    level = Level.objects.filter(pk=level_id).first()
    if level is None:
        raise NotFound(_("No such level"))
    return level


def center_default() -> Center | None:
    return Center.objects.order_by("id").first()


def seat_summary(*, user) -> dict:
    """Seat counts by status and utilisation (occupied ÷ total) for the visible seats."""
    rows = dict(seat_list(user=user).order_by().values_list("status").annotate(n=Count("id")))
    total = sum(rows.values())
    occupied = rows.get(SeatStatus.OCCUPIED, 0)
    return {
        "total": total,
        "occupied": occupied,
        "vacant": rows.get(SeatStatus.VACANT, 0),
        "maintenance": rows.get(SeatStatus.MAINTENANCE, 0),
        "utilisation": (occupied / total) if total else None,
    }


def seat_people_q(user) -> Q:
    """A filter on Person: the people whose work at the seats ``user`` sees counts on the seats
    page — everyone for those who see every seat, else themselves and their led teams."""
    if permissions.sees_all_seats(user):
        return Q()
    me = person_for_user(user)
    q = Q(pk=me.pk) if me else Q(pk__in=[])
    led = _led_team_ids(me)
    if led:
        q |= Q(team_id__in=led)
    return q


_AVERAGE_PLACES = {"count": Decimal("0.1"), "money": Decimal("0.01"), "seconds": Decimal("1")}


def seat_productivity(*, user, since: dt.date, until: dt.date) -> dict:
    """Per-seat productivity over the days ``since``–``until`` (both included) for the seats
    ``user`` may see, from the providers registered with ``hooks.register_seat_figures``.

    ``figures``: the columns; ``per_seat``: ``{seat id: {key: value}}``; ``seats_total``: the
    seats' rows added up; ``elsewhere``: work of the people in scope at no seat listed, with
    its ``elsewhere_labels``; ``total`` = seats + elsewhere; ``occupied``: the occupied
    seats; ``per_occupied_seat``: ``total`` ÷ ``occupied`` (每工位产能, DOMAIN.md §6: the
    premium (FYP) ÷ the occupied seats, as the dashboard's premium-per-seat card divides
    it), None without an occupied seat; ``notes``: how the providers count."""
    from telesales.org.hooks import seat_figures

    seats = list(seat_list(user=user))
    people = Person.objects.filter(seat_people_q(user))
    found = seat_figures(user=user, seats=seats, people=people, since=since, until=until)
    figures = [f for part in found for f in part.figures]

    def zero(kind: str):
        return Decimal("0.00") if kind == "money" else 0

    # every seat has every figure: a seat with nothing done in the period shows zeros
    per_seat: dict[int, dict] = {seat.pk: {f.key: zero(f.kind) for f in figures} for seat in seats}
    elsewhere: dict = {}
    for part in found:
        for seat_id, values in part.per_seat.items():
            if seat_id in per_seat:
                per_seat[seat_id].update(values)
        elsewhere.update(part.elsewhere)

    seats_total = {
        f.key: sum((per_seat[pk].get(f.key) or zero(f.kind) for pk in per_seat), zero(f.kind))
        for f in figures
    }
    total = {f.key: seats_total[f.key] + (elsewhere.get(f.key) or zero(f.kind)) for f in figures}
    occupied = sum(1 for seat in seats if seat.status == SeatStatus.OCCUPIED)
    per_occupied_seat = {
        f.key: (
            (Decimal(total[f.key]) / occupied).quantize(_AVERAGE_PLACES.get(f.kind, Decimal("0.1")))
            if occupied
            else None
        )
        for f in figures
    }
    return {
        "since": since,
        "until": until,
        "figures": figures,
        "per_seat": per_seat,
        "seats_total": seats_total,
        "elsewhere": elsewhere if any(elsewhere.values()) else {},
        "elsewhere_labels": [p.elsewhere_label for p in found if p.elsewhere_label],
        "total": total,
        "occupied": occupied,
        "per_occupied_seat": per_occupied_seat,
        "notes": [p.note for p in found if p.note],
    }


def headcount_by_team(*, user) -> list[dict]:
    """Current headcount per visible team, split by status."""
    people = person_list(user=user).order_by()
    rows = people.values("team_id", "team__name", "team__stage", "status").annotate(n=Count("id"))
    teams: dict[int, dict] = {}
    for row in rows:
        team = teams.setdefault(
            row["team_id"],
            {
                "team_id": row["team_id"],
                "name": row["team__name"],
                "stage": row["team__stage"],
                "total": 0,
                **{s.value: 0 for s in PersonStatus},
            },
        )
        team[row["status"]] += row["n"]
        team["total"] += row["n"]
    return sorted(teams.values(), key=lambda t: t["name"])


def protected_login_exists(*, user_ids) -> bool:
    """Is one of these logins a center manager's or a superuser's? The groups are read
    directly, so that a deactivated manager login counts too."""
    from django.contrib.auth import get_user_model

    ids = [pk for pk in user_ids if pk]
    if not ids:
        return False
    return (
        get_user_model()
        .objects.filter(pk__in=ids)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.MANAGER.value))
        .exists()
    )


def person_login_locked(*, user, person: Person) -> bool:
    """True when ``user`` may not touch ``person``'s record or login (roles, password): the
    login is a center manager's or a superuser's and ``user`` is not a center manager."""
    return not has_role(user, Role.MANAGER) and protected_login_exists(user_ids=[person.user_id])


def linkable_login_list(*, user, person: Person | None = None):
    """The logins ``user`` may link to ``person``'s record (a new one when None): active logins
    no other record holds. A center manager's or a superuser's login only for a center manager
    (``person_create`` / ``person_update`` refuse it to anyone else); the login the record
    holds already stays in the list, so that the form shows it."""
    from django.contrib.auth import get_user_model

    taken = Person.objects.exclude(user=None)
    if person is not None and person.pk:
        taken = taken.exclude(pk=person.pk)
    # The record's own login stays even when disabled (someone who left): else editing a
    # leaver's record would drop the login from the form and unlink it without a word.
    own_login = Q(pk=person.user_id) if person is not None and person.user_id else Q(pk=None)
    qs = (
        get_user_model()
        .objects.filter(Q(is_active=True) | own_login)
        .exclude(pk__in=taken.values("user_id"))
    )
    if user is None or not has_role(user, Role.MANAGER):
        protected = Q(is_superuser=True) | Q(groups__name=Role.MANAGER.value)
        own = person.user_id if person is not None else None
        qs = qs.exclude(
            pk__in=get_user_model().objects.filter(protected).exclude(pk=own).values("pk")
        )
    return qs.order_by("username")


def person_roles(*, person: Person) -> list[str]:
    """The role group names held by the person's login (empty without a login)."""
    if not person.user_id:
        return []
    names = [r.value for r in Role]
    return sorted(person.user.groups.filter(name__in=names).values_list("name", flat=True))


def sales_manpower(*, user, since: dt.date, until: dt.date) -> dict:
    """The sales force the user may see over the days ``since``–``until`` (DOMAIN.md §4):
    ``opening`` (on the books when the period began: hired before ``since`` and not left
    before it), ``closing`` (on the books at the end of ``until``), ``average`` = (opening +
    closing) ÷ 2 (平均人力), ``leavers`` (left on a day of the period) and ``hires`` (hired on
    one), so that closing = opening + hires − leavers. People of sales teams only; a leaver
    counts in their last team."""
    people = Person.objects.filter(person_visible_q(user), team__kind=TeamKind.SALES).order_by()
    figures = people.aggregate(
        opening=Count(
            "id",
            filter=Q(hire_date__lt=since) & (Q(left_on__isnull=True) | Q(left_on__gte=since)),
        ),
        closing=Count(
            "id",
            filter=Q(hire_date__lte=until) & (Q(left_on__isnull=True) | Q(left_on__gt=until)),
        ),
        leavers=Count("id", filter=Q(left_on__gte=since, left_on__lte=until)),
        hires=Count("id", filter=Q(hire_date__gte=since, hire_date__lte=until)),
    )
    figures["average"] = Decimal(figures["opening"] + figures["closing"]) / 2
    return figures
