"""The demo center's organisation: teams, people, logins, seats. Deterministic for a given size.

Written with bulk inserts so that ``seed-demo --agents 2000`` stays quick; one audit row
records the whole seed.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from telesales.core.audit import audit_record
from telesales.core.roles import Role
from telesales.org.choices import (
    CapabilityGrade,
    ContractType,
    PersonStatus,
    SeatStatus,
    TeamKind,
    TeamStage,
)
from telesales.org.models import Center, Level, Person, Seat, Team
from telesales.org.reference_data import load_reference_data

DEMO_CENTER = {"name": "星河人寿电销中心", "code": "demo", "city": "成都"}
DEMO_PASSWORD = "demo"
DEMO_TODAY = dt.date(2026, 11, 1)
#: Demo data only: how long a new hire sits in the pre-job class before registration.
PRE_JOB_CLASS_DAYS = 14

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
    "萍红鹏辉玲晨欣怡宇浩然子涵思雨佳琪梓轩诗婷俊杰雪梅建国志强晓东"
)
TEAM_NAMES = ["启航", "雄鹰", "精英", "卓越", "先锋", "腾飞", "超越", "凌云", "星火", "破晓"]
STAGES = [
    TeamStage.START_UP,
    TeamStage.RAPID_GROWTH,
    TeamStage.RAPID_GROWTH,
    TeamStage.PLATEAU,
    TeamStage.STEADY_GROWTH,
    TeamStage.STEADY_GROWTH,
]
BACK_OFFICE = [
    (Role.RECRUITER, "recruiter", "招募岗"),
    (Role.HR_ADMIN, "hr", "人管岗"),
    (Role.TRAINER, "trainer", "培训岗"),
    (Role.PLANNER, "planner", "企划督导岗"),
    (Role.DATA_OFFICER, "data", "数据岗"),
    (Role.RENEWAL_OPS, "renewal", "运营续期岗"),
]


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def _team_sizes(agents: int, rng: random.Random) -> list[int]:
    """Split the agents over teams of 8 to 15 (at least six teams)."""
    teams = max(6, round(agents / 11.5))
    sizes = [agents // teams] * teams
    for i in range(agents - sum(sizes)):
        sizes[i % teams] += 1
    return sizes


#: The smallest demo center: enough agents for its teams.
MIN_DEMO_AGENTS = 6


@transaction.atomic
def seed_org_demo(*, agents: int = 66, seed: int = 20261101, stdout=None) -> dict:
    """Create the demo center unless it exists. Returns counts of what was created."""
    if Center.objects.filter(code=DEMO_CENTER["code"]).exists():
        if stdout:
            stdout.write("  the demo center exists already; nothing to do")
        return {"created": False}
    if agents < MIN_DEMO_AGENTS:
        raise ValueError(f"the demo center needs at least {MIN_DEMO_AGENTS} agents")
    load_reference_data()
    rng = random.Random(seed)  # noqa: S311  (deterministic demo data)
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)
    groups = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}
    levels = {lvl.code: lvl for lvl in Level.objects.all()}

    # Take over the empty center that bootstrap made, or add one beside a real center.
    center = Center.objects.filter(teams__isnull=True).order_by("id").first()
    if center is None:
        center = Center.objects.create(**DEMO_CENTER)
    else:
        for key, value in DEMO_CENTER.items():
            setattr(center, key, value)
        center.save()
    # The manager and the back office ------------------------------------------------
    office = Team.objects.create(
        center=center, name="中心办公室", kind=TeamKind.BACK_OFFICE, stage=TeamStage.STEADY_GROWTH
    )
    back = Team.objects.create(
        center=center, name="后援支持部", kind=TeamKind.BACK_OFFICE, stage=TeamStage.STEADY_GROWTH
    )
    users: list = []
    memberships: list[tuple[str, str]] = []
    people: list[Person] = []
    emp_no = iter(range(1, 10**7))

    def add_person(username, team, role, *, level, status=PersonStatus.ACTIVE, hired, **extra):
        users.append(User(username=username, password=password, is_active=True))
        memberships.append((username, role.value))
        person = Person(
            center=center,
            team=team,
            employee_no=f"E{next(emp_no):05d}",
            name=_name(rng),
            hire_date=hired,
            status=status,
            level=level,
            contract_type=ContractType.LABOUR,
            capability_grade=extra.pop("grade", CapabilityGrade.GRADE_2),
            **extra,
        )
        person._username = username
        people.append(person)
        return person

    add_person(
        "manager",
        office,
        Role.MANAGER,
        level=levels.get("M2"),
        hired=dt.date(2019, 3, 1),
        grade=CapabilityGrade.GRADE_4,
    )
    for role, username, _label in BACK_OFFICE:
        add_person(
            username,
            back,
            role,
            level=None,
            hired=DEMO_TODAY - dt.timedelta(days=rng.randint(300, 2000)),
        )

    # Sales teams ---------------------------------------------------------------------
    sizes = _team_sizes(agents, rng)
    agent_no = 0
    sales_teams = []
    for t, size in enumerate(sizes):
        stage = STAGES[t % len(STAGES)]
        name = TEAM_NAMES[t % len(TEAM_NAMES)] + ("组" if t < len(TEAM_NAMES) else f"{t + 1}组")
        team = Team.objects.create(
            center=center,
            name=name,
            kind=TeamKind.SALES,
            stage=stage,
            founded_on=DEMO_TODAY - dt.timedelta(days=90 + 200 * (t % 6)),
        )
        sales_teams.append(team)
        lead = add_person(
            f"teamlead{t + 1}",
            team,
            Role.TEAM_LEAD,
            level=levels.get("M1"),
            hired=DEMO_TODAY - dt.timedelta(days=rng.randint(500, 2500)),
            grade=CapabilityGrade.GRADE_3,
        )
        team._lead = lead
        for _ in range(size):
            agent_no += 1
            tenure = rng.choice([20, 45, 80, 150, 300, 500, 800, 1200])
            tenure = max(5, tenure + rng.randint(-15, 15))
            if tenure < 90:
                status, level, grade = (
                    PersonStatus.TRAINEE,
                    levels.get("T0"),
                    CapabilityGrade.GRADE_1,
                )
            else:
                status = PersonStatus.WARNING if rng.random() < 0.08 else PersonStatus.ACTIVE
                level = levels.get("S1" if tenure < 400 else ("S2" if tenure < 900 else "S3"))
                grade = CapabilityGrade.GRADE_2 if tenure < 700 else CapabilityGrade.GRADE_3
            person = add_person(
                f"agent{agent_no}",
                team,
                Role.AGENT,
                level=level,
                status=status,
                hired=DEMO_TODAY - dt.timedelta(days=tenure),
                grade=grade,
            )
            person._team_obj = team

    # A few people who left (no login), for retention figures later ---------------------
    left = []
    for i in range(max(2, agents // 20)):
        team = sales_teams[i % len(sales_teams)]
        hired = DEMO_TODAY - dt.timedelta(days=rng.randint(120, 600))
        left.append(
            Person(
                center=center,
                team=team,
                employee_no=f"E{next(emp_no):05d}",
                name=_name(rng),
                hire_date=hired,
                status=PersonStatus.LEFT,
                left_on=hired + dt.timedelta(days=rng.randint(30, 110)),
                level=levels.get("T0"),
            )
        )

    User.objects.bulk_create(users, batch_size=500)
    by_name = dict(
        User.objects.filter(username__in=[u.username for u in users]).values_list("username", "id")
    )
    through = User.groups.through
    through.objects.bulk_create(
        [through(user_id=by_name[u], group_id=groups[g].pk) for u, g in memberships],
        batch_size=1000,
    )
    for person in people:
        person.user_id = by_name[person._username]
        # Registered once the pre-job class is over: trainees hired before that sell (their
        # commission × the trainee factor); the newest are still in class and may not dial.
        in_class = (
            person.status == PersonStatus.TRAINEE
            and (DEMO_TODAY - person.hire_date).days < PRE_JOB_CLASS_DAYS
        )
        if person.team.kind == TeamKind.SALES and not in_class:
            person.practice_reg_no = f"2026{center.pk:03d}{next(emp_no):09d}"
    Person.objects.bulk_create(people + left, batch_size=500)
    saved = {p.employee_no: p for p in Person.objects.filter(center=center)}

    # Leaders, recruiters, mentors ----------------------------------------------------
    updates = []
    # The center's manager (M2) leads the team leads (M1): the management series is a chain,
    # and her allowance, assessment and early warning read the team under her.
    head = next((saved[p.employee_no] for p in people if p._username == "manager"), None)
    for team in sales_teams:
        lead = saved[team._lead.employee_no]
        team.leader = lead
        if head is not None:
            lead.leader = head
            updates.append(lead)
        members = [saved[p.employee_no] for p in people if getattr(p, "_team_obj", None) is team]
        seniors = [m for m in members if m.status == PersonStatus.ACTIVE] or [lead]
        for m in members:
            m.leader = lead
            m.recruiter = lead if rng.random() < 0.6 else rng.choice(seniors)
            if m.status == PersonStatus.TRAINEE:
                m.mentor = rng.choice(seniors)
            updates.append(m)
    Team.objects.bulk_update(sales_teams, ["leader"])
    Person.objects.bulk_update(updates, ["leader", "recruiter", "mentor"], batch_size=500)

    # Seats: every current sales person seated, 8% spare, a few in maintenance ----------
    seated = [saved[p.employee_no] for p in people if p.team.kind == TeamKind.SALES]
    spare = max(4, len(seated) * 8 // 100)
    seats = []
    for i, person in enumerate(seated + [None] * spare):
        status = (
            SeatStatus.OCCUPIED
            if person
            else (SeatStatus.MAINTENANCE if i % 5 == 0 else SeatStatus.VACANT)
        )
        seats.append(
            Seat(
                center=center,
                code=f"A{i + 1:04d}",
                site=f"{3 + i // 60}楼",
                status=status,
                monthly_cost=Decimal("1850.00"),
                phone_line=f"line-{i + 1:04d}",
                person=person,
            )
        )
    Seat.objects.bulk_create(seats, batch_size=500)

    counts = {
        "created": True,
        "teams": len(sales_teams),
        "agents": agents,
        "people": len(people) + len(left),
        "seats": len(seats),
    }
    audit_record(
        actor=None,
        action="org.demo_seed",
        object_type="org.center",
        object_id=str(center.pk),
        object_repr=center.name,
        after=counts,
        reason="telesales seed-demo",
    )
    if stdout:
        stdout.write(
            f"  {len(sales_teams)} sales teams, {agents} agents, {len(seats)} seats, "
            f"{len(BACK_OFFICE)} back-office roles"
        )
    return counts
