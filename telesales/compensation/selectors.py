"""Reads of compensation data, scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from telesales.compensation import permissions
from telesales.compensation.choices import PayLineKind, PayRunStatus, RuleSetStatus
from telesales.compensation.models import (
    PayAdjustment,
    PayLine,
    PayRun,
    PayRunJob,
    PolicyPay,
    RuleSet,
)
from telesales.compensation.paybasis import expand_lines
from telesales.compensation.rules_format import rule_title, rule_titles
from telesales.core.dates import YEAR_MAX, YEAR_MIN, date_out_of_range
from telesales.core.errors import NotFound, PermissionDenied, ValidationFailed
from telesales.operations.selectors import premium_periods
from telesales.org.models import Person, Team
from telesales.policies.models import Policy
from telesales.policies.selectors import policy_numbers

ZERO = Decimal("0")
CENT = Decimal("0.01")


def _cents(total: Decimal | None) -> Decimal:
    """A sum of amounts in cents, as cents: SQLite's ``SUM`` of decimals comes back with its
    floating-point tail (``72996.02000000000``), PostgreSQL's exact."""
    return (total or ZERO).quantize(CENT)


def ruleset_list(*, user) -> QuerySet[RuleSet]:
    """Every version, newest first, for the HR admin, the manager and the planner; nothing
    for others."""
    if not permissions.can_read_rulesets(user):
        return RuleSet.objects.none()
    return RuleSet.objects.all()


def ruleset_in_force(*, on: dt.date) -> RuleSet | None:
    """The approved version in force on a day (pay runs use it for the period's last day)."""
    return (
        RuleSet.objects.filter(status=RuleSetStatus.APPROVED, effective_from__lte=on)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        .order_by("-effective_from")
        .first()
    )


def ruleset_predecessor(ruleset: RuleSet) -> RuleSet | None:
    """The approved version ``ruleset`` takes over from: for a draft, the one in force on its
    effective date; for an approved one, the one in force the day before it started; else the
    last approved version that starts before it. None for the first version."""
    day = ruleset.effective_from
    if ruleset.status == RuleSetStatus.APPROVED:
        day -= dt.timedelta(days=1)
    found = ruleset_in_force(on=day)
    if found is None or found.pk == ruleset.pk:
        found = (
            RuleSet.objects.filter(
                status=RuleSetStatus.APPROVED, effective_from__lt=ruleset.effective_from
            )
            .exclude(pk=ruleset.pk)
            .order_by("-effective_from")
            .first()
        )
    return found


@dataclass(frozen=True)
class Payslip:
    run: PayRun
    person: Person
    lines: list[PayLine]
    total: Decimal


@dataclass(frozen=True)
class TeamTotals:
    run: PayRun
    team: Team
    #: (person, total) of each member with lines in the run, by name.
    people: list[tuple[Person, Decimal]]
    total: Decimal


def payrun_list(*, user) -> QuerySet[PayRun]:
    """Every run (newest first) for HR and the manager; approved runs for everyone else
    (they then read their own payslip or their team's totals)."""
    if permissions.can_read_all_payslips(user):
        return PayRun.objects.all()
    if not getattr(user, "is_authenticated", False):
        return PayRun.objects.none()
    return PayRun.objects.filter(status=PayRunStatus.APPROVED)


def payslip_get(*, user, run: PayRun, person: Person) -> Payslip:
    """A person's lines in a run, in payslip order. A person reads only their own (once
    approved); HR and the manager read all; a team lead reads team totals, not lines."""
    if not permissions.can_read_payslip(user, person=person, run=run):
        raise PermissionDenied(_("You may only read your own payslip"))
    lines = list(run.lines.filter(person=person).order_by("position"))
    _attach_sources(lines, user=user, person=person)
    _attach_member_fyc(lines, run=run)
    attach_rule_titles(lines)
    return Payslip(
        run=run, person=person, lines=lines, total=sum((ln.amount for ln in lines), ZERO)
    )


@dataclass(frozen=True)
class SourceLabel:
    """A line's source as a payslip shows it: the policy's number, the person's name, the
    adjustment's number, a renewal premium's period ("premium 2"), or the record itself when it
    names nothing known. ``policy_id``:
    set when the reader may open the policy's pay history (``can_read_policy_pay``)."""

    source: str
    label: str
    policy_id: int | None = None


def _record(source: str) -> tuple[str, int | None]:
    """``policy:17`` → ("policy", 17); anything else → (its kind, None)."""
    kind, _sep, key = source.partition(":")
    return kind, int(key) if key.isdigit() else None


def record_labels(records) -> dict[str, str]:
    """The records of data problems (``PayInputInvalid``) as people know them:
    ``person:12`` → the person's name, ``policy:17`` → the policy's number, in two queries
    at most. A record naming nothing known is left out: show it as it is. For the pay
    pages of the HR admin and the manager, who read all pay."""
    wanted: dict[str, set[int]] = {"policy": set(), "person": set()}
    for record in records:
        kind, key = _record(str(record))
        if kind in wanted and key is not None and key <= 2**63 - 1:
            wanted[kind].add(key)
    labels: dict[str, str] = {}
    if wanted["person"]:
        people = Person.objects.filter(pk__in=wanted["person"]).values_list("pk", "name")
        labels.update((f"person:{pk}", name) for pk, name in people)
    for pk, (number, _agent) in policy_numbers(wanted["policy"]).items():
        if number:
            labels[f"policy:{pk}"] = number
    return labels


def _attach_sources(lines: list[PayLine], *, user, person: Person) -> None:
    """Give each line ``source_labels`` (``SourceLabel`` of each source; empty for a rate
    cell) and each rate-cell line ``policy_parts``: (source, policy id, policy number,
    amount, basis) of each of its policies. Policy numbers (``policies.selectors.policy_numbers``)
    and names are read in a query or a few. The payslip is the reader's own unless they read all pay
    (``payslip_get``), so a policy links to its pay history when it is the payslip person's,
    or for HR."""
    expand_lines(lines)  # the cell lines' policies, from the pay basis
    wanted: dict[str, set[int]] = {
        "policy": set(),
        "person": set(),
        "premium": set(),
        "payrun": set(),
    }
    for line in lines:
        for source in line.sources:
            kind, key = _record(source)
            if key is not None and kind in wanted:
                wanted[kind].add(key)
    policies = policy_numbers(wanted["policy"])
    names = (
        dict(Person.objects.filter(pk__in=wanted["person"]).values_list("pk", "name"))
        if wanted["person"]
        else {}
    )
    periods = premium_periods(wanted["premium"]) if wanted["premium"] else {}
    # An adjustment names the approved run it corrects: "pay run 2026-10", as the export says.
    runs = (
        dict(PayRun.objects.filter(pk__in=wanted["payrun"]).values_list("pk", "label"))
        if wanted["payrun"]
        else {}
    )
    reads_all = permissions.can_read_all_payslips(user)

    def label(source: str) -> SourceLabel:
        kind, key = _record(source)
        if kind == "policy" and key in policies:
            number, agent_id = policies[key]
            link = key if reads_all or agent_id == person.pk else None
            return SourceLabel(source, number or source, link)
        if kind == "person" and key in names:
            return SourceLabel(source, names[key])
        if kind == "adjustment" and key is not None:
            return SourceLabel(source, _("adjustment #%(n)d") % {"n": key})
        if kind == "payrun" and key in runs:
            return SourceLabel(source, _("pay run %(p)s") % {"p": runs[key]})
        if kind == "premium" and key in periods:  # a renewal's premium: "第 2 期保费"
            return SourceLabel(source, _("premium %(n)s") % {"n": periods[key]})
        return SourceLabel(source, source)

    for line in lines:
        line.source_labels = [] if line.parts else [label(s) for s in line.sources]
        parts = []
        for source, amount, basis in line.source_parts if line.parts else ():
            kind, key = _record(source)
            policy_id = key if kind == "policy" else None
            number = policies[key][0] if policy_id in policies else None
            parts.append((source, policy_id, number, amount, basis))
        line.policy_parts = parts


#: The lines paid on a group's FYC: each member's share is shown under them.
GROUP_KINDS = (PayLineKind.MANAGEMENT_ALLOWANCE, PayLineKind.DEVELOPMENT_BONUS)


def _attach_member_fyc(lines: list[PayLine], *, run: PayRun) -> None:
    """Give each line paid on a group's FYC (management allowance, development bonus)
    ``member_fyc``: (name, FYC) of each member, their commission lines' basis in this run,
    and ``fyc_taken_back``: what the group's free-look cancellations and early surrenders took
    off (the line's basis less the members' FYC). QA (session 20): a team lead saw 23 sources
    and a basis of 26,865.00 with no way to tell that a cancellation took 1,365.00 off, and
    may not open the members' policies. One query for the payslip."""
    groups = [ln for ln in lines if ln.kind in GROUP_KINDS]
    if not groups:
        return
    members: set[int] = set()
    for line in groups:
        members.update(key for kind, key in map(_record, line.sources) if kind == "person")
    fyc = dict(
        run.lines.filter(kind=PayLineKind.COMMISSION, person_id__in=members)
        .values("person_id")
        .annotate(total=Sum("basis"))
        .values_list("person_id", "total")
    )
    names = dict(Person.objects.filter(pk__in=members).values_list("pk", "name"))
    for line in groups:
        ids = [key for kind, key in map(_record, line.sources) if kind == "person"]
        line.member_fyc = [(names.get(i, f"#{i}"), fyc.get(i) or ZERO) for i in ids]
        taken = line.basis - sum((f for _n, f in line.member_fyc), ZERO)
        line.fyc_taken_back = taken if taken != ZERO else None


def attach_rule_titles(lines: list[PayLine]) -> None:
    """Give each line ``rule_title`` (what its rule set calls its rule: "Base pay", "FYC
    commission rates: Accident, …"; "" for an adjustment or a rule no longer named) and
    ``modifier_titles``: (modifier, title) of each of its modifiers. One query for the rule
    sets the lines were computed under."""
    versions = {line.rule_version for line in lines}
    documents = dict(
        RuleSet.objects.filter(version__in=versions).values_list("version", "document")
    )
    titles = {version: rule_titles(doc or {}) for version, doc in documents.items()}
    for line in lines:
        known = titles.get(line.rule_version, {})
        line.rule_title = rule_title(known, line.rule_id)
        line.modifier_titles = [(m, rule_title(known, m)) for m in line.modifiers]


@dataclass(frozen=True)
class PolicyPayHistory:
    policy: Policy
    #: The policy's ledger rows (``PolicyPay``), one per approved run, oldest first.
    rows: list[PolicyPay]
    commission: Decimal
    withheld: Decimal
    released: Decimal
    clawback: Decimal

    @property
    def outstanding(self) -> Decimal:
        """Withheld and not released yet."""
        return self.withheld - self.released

    @property
    def paid(self) -> Decimal:
        """What the policy's agent was paid for it: commission − withheld + released −
        clawback."""
        return self.commission - self.withheld + self.released - self.clawback


def policy_pay_history(*, user, policy_id: int) -> PolicyPayHistory:
    """What each approved run paid, withheld, released and took back for one policy (its
    ledger): HR, the manager and the policy's selling agent."""
    policy = Policy.objects.select_related("agent", "product").filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("No such policy"))
    if not permissions.can_read_policy_pay(user, policy=policy):
        raise PermissionDenied(_("You may only read the pay of the policies you sold"))
    rows = list(
        PolicyPay.objects.filter(policy=policy, run__status=PayRunStatus.APPROVED)
        .select_related("run")
        .order_by("run__period_start", "pk")
    )
    return PolicyPayHistory(
        policy=policy,
        rows=rows,
        **{
            field: sum((getattr(row, field) for row in rows), ZERO)
            for field in ("commission", "withheld", "released", "clawback")
        },
    )


def payrun_totals(*, user, run: PayRun) -> dict[int, Decimal]:
    """Each person's total in a run (person id → amount): HR and the manager only."""
    if not permissions.can_read_all_payslips(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may read all pay"))
    rows = run.lines.values("person_id").annotate(total=Sum("amount")).order_by("person_id")
    return {row["person_id"]: _cents(row["total"]) for row in rows}


def payrun_team_totals(*, user, run: PayRun, team: Team) -> TeamTotals:
    """The totals of a team's members in a run (no lines): the lead of the team once the run
    is approved, HR and the manager always."""
    if not permissions.can_read_team_totals(user, team=team, run=run):
        raise PermissionDenied(_("You may only read the totals of the team you lead"))
    rows = (
        run.lines.filter(person__team=team)
        .values("person_id")
        .annotate(total=Sum("amount"))
        .order_by("person_id")
    )
    totals = {row["person_id"]: _cents(row["total"]) for row in rows}
    members = Person.objects.filter(pk__in=totals).order_by("name", "id")
    people = [(p, totals[p.pk]) for p in members]
    return TeamTotals(run=run, team=team, people=people, total=sum(totals.values(), ZERO))


def payrun_get(*, user, pk: int) -> PayRun:
    """One run the user may list (``payrun_list``), or ``NotFound``."""
    run = payrun_list(user=user).filter(pk=pk).first()
    if run is None:
        raise NotFound(_("No such pay run"))
    return run


# --- pages of the pay run (totals per person and team, background computations) -------------


@dataclass(frozen=True)
class PersonTotal:
    person: Person
    total: Decimal
    lines: int


@dataclass(frozen=True)
class TeamTotal:
    team: Team | None
    total: Decimal
    people: int


def payrun_person_total_list(*, user, run: PayRun) -> list[PersonTotal]:
    """Each person's total and line count in a run, by team then name: HR and the manager."""
    if not permissions.can_read_all_payslips(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may read all pay"))
    rows = run.lines.values("person_id").annotate(total=Sum("amount"), n=Count("id")).order_by()
    by_id = {row["person_id"]: row for row in rows}
    people = Person.objects.select_related("team").filter(pk__in=by_id)
    people = people.order_by("team__name", "name", "id")
    return [
        PersonTotal(person=p, total=_cents(by_id[p.pk]["total"]), lines=by_id[p.pk]["n"])
        for p in people
    ]


def payrun_negative_list(*, user, run: PayRun) -> list[PersonTotal]:
    """The people whose total in a run is below zero, by team then name: HR and the
    manager (the run's page warns about them; approving needs an acknowledgement)."""
    return [row for row in payrun_person_total_list(user=user, run=run) if row.total < 0]


def payrun_team_total_list(*, user, run: PayRun) -> list[TeamTotal]:
    """Each team's total in a run (people without a team last): HR and the manager."""
    if not permissions.can_read_all_payslips(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may read all pay"))
    rows = (
        run.lines.values("person__team_id")
        .annotate(total=Sum("amount"), people=Count("person_id", distinct=True))
        .order_by()
    )
    teams = Team.objects.in_bulk([r["person__team_id"] for r in rows if r["person__team_id"]])
    result = [
        TeamTotal(
            team=teams.get(r["person__team_id"]), total=_cents(r["total"]), people=r["people"]
        )
        for r in rows
    ]
    return sorted(result, key=lambda t: (t.team is None, t.team.name if t.team else ""))


def payrun_teams_led(*, user) -> QuerySet[Team]:
    """The teams whose totals the user may read as their lead (led by the user's person)."""
    if not getattr(user, "is_authenticated", False):
        return Team.objects.none()
    return Team.objects.select_related("leader").filter(leader__user_id=user.pk).order_by("name")


def payrun_job_list(*, user, period_start: dt.date | None = None) -> QuerySet[PayRunJob]:
    """Background computations, newest first: HR and the manager only."""
    if not permissions.can_run_pay(user):
        return PayRunJob.objects.none()
    jobs = PayRunJob.objects.select_related("run", "requested_by")
    if period_start is not None:
        jobs = jobs.filter(period_start=period_start)
    return jobs


def payadjustment_pending_list(*, user) -> QuerySet[PayAdjustment]:
    """Adjustments recorded and not paid by any run yet (the next run computed pays them),
    oldest first: HR and the manager only."""
    if not permissions.can_run_pay(user):
        return PayAdjustment.objects.none()
    return (
        PayAdjustment.objects.filter(applied_run__isnull=True, cancelled_at__isnull=True)
        .select_related("person", "corrects_run", "created_by__person")
        .order_by("id")
    )


def payadjustment_get(*, user, pk: int) -> PayAdjustment:
    """One adjustment (HR and the manager), or ``NotFound``."""
    adjustment = None
    if permissions.can_run_pay(user):
        adjustment = (
            PayAdjustment.objects.select_related("person", "applied_run", "corrects_run")
            .filter(pk=pk)
            .first()
        )
    if adjustment is None:
        raise NotFound(_("No such adjustment"))
    return adjustment


def user_display_name(user) -> str:
    """Who a login is, as people know them (who recorded an adjustment …): the name of the
    login's employee record, else the user's full name, else the login name; "" for nobody.
    Reads ``user.person`` (select ``created_by__person`` with the rows to avoid a query
    each)."""
    if user is None:
        return ""
    try:
        person = user.person
    except ObjectDoesNotExist:
        person = None
    if person is not None and person.name.strip():
        return person.name.strip()
    return user.get_full_name().strip() or user.get_username()


def payrun_job_get(*, user, pk: int) -> PayRunJob:
    job = payrun_job_list(user=user).filter(pk=pk).first()
    if job is None:
        raise NotFound(_("No such pay run computation"))
    return job


# --- assessment (考核) and early warning (晋升预警) ----------------------------------------------


def assessment_run_list(*, user):
    """Every assessment run, newest first, for HR and the manager; nothing for others."""
    from telesales.compensation.models import AssessmentRun

    if not permissions.can_run_assessment(user):
        return AssessmentRun.objects.none()
    return AssessmentRun.objects.all()


def assessment_run_get(*, user, pk: int):
    """One assessment run (HR and the manager), or ``NotFound``."""
    if not permissions.can_run_assessment(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may read assessments"))
    run = assessment_run_list(user=user).filter(pk=pk).first()
    if run is None:
        raise NotFound(_("No such assessment run"))
    return run


def exits_approved_before(run) -> dict[int, tuple[str, dt.date]]:
    """The people of ``run`` whose exit an earlier, approved assessment approved: person id →
    (that run's label, the exit's effective date). The assessment does not end anyone's
    employment (HR does, through the leaving process), so until then each period proposes the
    exit again; the pages say it was decided already."""
    from telesales.compensation.models import (
        AssessmentOutcome,
        AssessmentOutcomeKind,
        AssessmentRunStatus,
        HRDecision,
    )

    rows = (
        AssessmentOutcome.objects.filter(
            person_id__in=run.outcomes.values("person_id"),
            outcome=AssessmentOutcomeKind.EXIT,
            decision=HRDecision.APPROVED,
            run__status=AssessmentRunStatus.APPROVED,
            run__period_end__lt=run.period_end,
        )
        .order_by("person_id", "run__period_end")
        .values_list("person_id", "run__label", "effective_date")
    )
    found: dict[int, tuple[str, dt.date]] = {}
    for person_id, label, effective in rows:
        found.setdefault(person_id, (label, effective))
    return found


def assessment_outcome_get(*, user, pk: int):
    """One assessment outcome (HR and the manager), or ``NotFound``."""
    from telesales.compensation.models import AssessmentOutcome

    if not permissions.can_run_assessment(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may decide outcomes"))
    outcome = AssessmentOutcome.objects.select_related("run").filter(pk=pk).first()
    if outcome is None:
        raise NotFound(_("No such assessment outcome"))
    return outcome


def early_warning_scope(*, user) -> set[int] | None:
    """The people whose early warning ``user`` may read: None (everyone) for HR and the
    manager; a team lead their own and the members of the teams they lead; anyone else their
    own. ``NotFound`` for a login without an employee record."""
    from telesales.core.roles import Role, has_role
    from telesales.org.selectors import _led_team_ids, person_for_user

    if permissions.can_run_assessment(user):
        return None
    me = person_for_user(user)
    if me is None:
        raise NotFound(_("Your login is not linked to an employee record"))
    ids = {me.pk}
    if has_role(user, Role.TEAM_LEAD):
        led = _led_team_ids(me)
        ids |= set(Person.objects.filter(team_id__in=led).values_list("pk", flat=True))
    return ids


def early_warning_list(*, user, day: dt.date, person_id: int | None = None) -> list[dict]:
    """The early warning on ``day`` of the people ``user`` may see (or of one of them:
    ``NotFound`` when out of sight), under the rule set in force on that day. A day outside
    the center's years (1900–2200) is ``ValidationFailed`` on ``day``, as on the page."""
    from telesales.compensation.early_warning import early_warning
    from telesales.compensation.rulesets import ruleset_rulebook

    if date_out_of_range(day):  # the page's check: far years overflow the windows' dates
        message = _("Enter a date between %(a)d and %(b)d.") % {"a": YEAR_MIN, "b": YEAR_MAX}
        raise ValidationFailed(message, fields={"day": [message]})
    scope = early_warning_scope(user=user)
    if person_id is not None:
        if scope is not None and person_id not in scope:
            raise NotFound(_("No such person, or you may not see them"))
        if not Person.objects.filter(pk=person_id).exists():
            raise NotFound(_("No such person, or you may not see them"))
        scope = {person_id}
    ruleset = ruleset_in_force(on=day)
    if ruleset is None:
        return []
    book = ruleset_rulebook(ruleset)
    if book.section("assessment") is None:
        return []
    return early_warning(book, day=day, person_ids=scope)
