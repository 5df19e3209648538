"""The demo center's lead data: channels, batches, customers, leads in every state, history,
the do-not-call list and two rule set versions. Deterministic for a given seed and size.

About 60 leads per agent, written with bulk inserts. Times are relative to the moment of the
seed (so protection periods are live when someone opens the demo), everything else follows
the seed. Runs after the organisation's demo (it gives the leads to the demo agents) and does
nothing when the demo channels exist already. One audit row records the whole seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from telesales.core.audit import audit_record
from telesales.core.id_numbers import id_number_check_character
from telesales.core.phone_numbers import mask_phone, normalise_phone, phone_hash
from telesales.core.roles import Role
from telesales.leads.choices import (
    BatchStatus,
    DncSource,
    Gender,
    LeadAction,
    LeadGrade,
    LeadState,
    RejectReason,
    Relation,
)
from telesales.leads.models import (
    BatchRejection,
    Channel,
    Customer,
    DncEntry,
    Household,
    Lead,
    LeadBatch,
    LeadEvent,
    LeadRuleSet,
)
from telesales.org.choices import PersonStatus, TeamKind, TeamStage
from telesales.org.demo import GIVEN, SURNAMES
from telesales.org.models import Person

LEADS_PER_AGENT = 60
CHANNELS = [
    # code, name, cost per lead, consent wording
    (
        "demo-gift",
        "赠险活动",
        Decimal("8.00"),
        "本人自愿领取赠险，同意保险公司及其合作机构致电介绍保险产品。",
    ),
    (
        "demo-partner",
        "合作渠道",
        Decimal("12.00"),
        "本人同意合作方将联系方式提供给保险公司，用于保险产品咨询回访。",
    ),
    ("demo-web", "官网留资", Decimal("20.00"), "本人在官网提交信息，同意接听保险顾问来电。"),
    ("demo-referral", "老客户转介绍", Decimal("0.00"), "经老客户推荐，本人同意接听保险顾问来电。"),
]
# name, channel code, share of the leads, default grade, required grade, days ago
BATCHES = [
    ("2026年10月赠险活动第1批", "demo-gift", 0.30, LeadGrade.C, 1, 40),
    ("2026年11月赠险活动第2批", "demo-gift", 0.25, LeadGrade.C, 1, 12),
    ("合作渠道-银行客户名单", "demo-partner", 0.20, LeadGrade.B, 2, 25),
    ("官网留资-11月", "demo-web", 0.15, LeadGrade.A, 1, 6),
    ("老客户转介绍-第四季度", "demo-referral", 0.10, LeadGrade.A, 1, 18),
]
FAILED_BATCH = "合作渠道-补充名单（格式错误）"
PLACES = [
    ("四川", "成都", "510104"),
    ("四川", "绵阳", "510703"),
    ("重庆", "重庆", "500103"),
    ("广东", "广州", "440106"),
    ("广东", "深圳", "440305"),
    ("北京", "北京", "110105"),
    ("上海", "上海", "310115"),
    ("湖北", "武汉", "420106"),
    ("浙江", "杭州", "330106"),
    ("陕西", "西安", "610113"),
]
# fmt: off
PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
    "176", "177", "178", "180", "181", "182", "183", "184", "185", "186",
    "187", "188", "189", "198", "199",
)
# fmt: on
# state, share of the leads (the rest is public)
STATE_SHARES = [
    (LeadState.OWNED, 0.26),
    (LeadState.IN_PROGRESS, 0.16),
    (LeadState.WON, 0.06),
    (LeadState.LOST, 0.08),
    (LeadState.INVALID, 0.04),
    (LeadState.DNC, 0.02),
    (LeadState.NEW, 0.01),
]
WORKING = (PersonStatus.TRAINEE, PersonStatus.ACTIVE, PersonStatus.WARNING)
CHUNK = 2000


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def _mobiles(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct valid mainland mobiles in E.164, not already customers."""
    taken = set(Customer.objects.values_list("mobile_e164", flat=True))
    found: list[str] = []
    seen: set[str] = set()
    while len(found) < count:
        national = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
        if national in seen:
            continue
        seen.add(national)
        result = normalise_phone(national)
        if result.e164 and result.kind == "mobile" and result.e164 not in taken:
            found.append(result.e164)
    return found


def _id_number(rng: random.Random, region: str, birth: dt.date, gender: str) -> str:
    sequence = rng.randrange(0, 100) * 10 + rng.choice(
        (1, 3, 5, 7, 9) if gender == "M" else (0, 2, 4, 6, 8)
    )
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_character(first17)


def _demo_agents() -> list[Person]:
    return list(
        Person.objects.filter(
            team__kind=TeamKind.SALES,
            status__in=WORKING,
            user__groups__name=Role.AGENT.value,
        )
        .select_related("team", "user")
        .order_by("id")
    )


@transaction.atomic
def _relation(head: Customer, member: Customer) -> str:
    """A plausible relation of ``member`` to ``head`` from their genders and ages."""
    if head.birth_date and member.birth_date:
        gap = head.birth_date.year - member.birth_date.year
        if gap >= 20:
            return Relation.CHILD
        if gap <= -20:
            return Relation.PARENT
    if head.gender != member.gender:
        return Relation.SPOUSE
    return Relation.OTHER


def seed_leads_demo(*, agents: int = 66, seed: int = 20261101, stdout=None) -> dict:
    """Create the demo lead data unless the demo channels exist. Returns what was created."""
    if Channel.objects.filter(code__in=[c[0] for c in CHANNELS]).exists():
        if stdout:
            stdout.write("  the demo lead data exists already; nothing to do")
        return {"created": False}
    rng = random.Random(seed + 20)  # noqa: S311  (deterministic demo data)
    now = timezone.now().replace(microsecond=0)
    User = get_user_model()
    officer = (
        User.objects.filter(username="data").first()
        or User.objects.filter(groups__name=Role.DATA_OFFICER.value).order_by("id").first()
    )
    people = _demo_agents()
    total = max(LEADS_PER_AGENT * max(agents, 1), 120)

    # Rule sets: the general version and one for start-up teams -----------------------------
    general = LeadRuleSet.objects.create(
        name="默认规则 2026", stage="", effective_from=dt.date(2026, 1, 1)
    )
    LeadRuleSet.objects.create(
        name="草创期团队：新人保护加强",
        stage=TeamStage.START_UP,
        effective_from=dt.date(2026, 6, 1),
        new_hire_weeks=12,
        new_hire_ab_share=Decimal("0.50"),
        daily_allocation_quota=22,
        protection_days=12,
        protection_max_days=30,
    )

    # Channels and batches -------------------------------------------------------------------
    channels = {
        code: Channel.objects.create(
            code=code, name=name, default_cost_per_lead=cost, consent_wording=wording
        )
        for code, name, cost, wording in CHANNELS
    }
    batches: list[tuple[LeadBatch, int]] = []
    for name, code, share, grade, required, days_ago in BATCHES:
        count = max(1, round(total * share))
        channel = channels[code]
        created = now - dt.timedelta(days=days_ago, hours=rng.randint(1, 8))
        batch = LeadBatch.objects.create(
            name=name,
            channel=channel,
            file_name=f"{name}.xlsx",
            file_sha256=hashlib.sha256(f"{seed}:{name}".encode()).hexdigest(),
            cost=(channel.default_cost_per_lead * count).quantize(Decimal("0.01")),
            uploader=officer,
            status=BatchStatus.DONE,
            default_grade=grade,
            required_grade=required,
            started_at=created,
            finished_at=created + dt.timedelta(seconds=rng.randint(4, 40)),
        )
        LeadBatch.objects.filter(pk=batch.pk).update(created_at=created)
        batch.created_at = created
        batches.append((batch, count))
    failed = LeadBatch.objects.create(
        name=FAILED_BATCH,
        channel=channels["demo-partner"],
        file_name="补充名单.doc",
        file_sha256=hashlib.sha256(f"{seed}:failed".encode()).hexdigest(),
        uploader=officer,
        status=BatchStatus.FAILED,
        error=(
            "无法读取该旧版 Excel（.xls）或其他 Office 文件："
            "请另存为 .xlsx 或 .csv（UTF-8）后重新上传。"
        ),
        started_at=now - dt.timedelta(days=3),
        finished_at=now - dt.timedelta(days=3),
    )

    # Customers and households ---------------------------------------------------------------
    numbers = _mobiles(rng, sum(count for _b, count in batches))
    customers: list[Customer] = []
    for e164 in numbers:
        gender = rng.choice((Gender.MALE, Gender.FEMALE))
        province, city, region = rng.choice(PLACES)
        birth = dt.date(rng.randint(1962, 2000), rng.randint(1, 12), rng.randint(1, 28))
        customers.append(
            Customer(
                name=_name(rng),
                mobile_e164=e164,
                mobile_hash=phone_hash(e164),
                gender=gender,
                birth_date=birth if rng.random() < 0.7 else None,
                province=province,
                city=city,
                id_number=_id_number(rng, region, birth, gender) if rng.random() < 0.3 else "",
            )
        )
    households = []
    for i in range(0, len(customers) // 10):
        households.append(Household(name=f"{customers[i * 7].name[0]}家"))
    Household.objects.bulk_create(households, batch_size=CHUNK)
    families = []
    for i, household in enumerate(households):
        family = customers[i * 7 : i * 7 + rng.randint(2, 3)]
        for member in family:
            member.household = household
        families.append(family)
    Customer.objects.bulk_create(customers, batch_size=CHUNK)
    # Most families say how the others are related to the first (the customer the agent
    # talks to); a few say nothing, and extended service reads those from age and gender.
    related = []
    for family in families:
        head, others = family[0], family[1:]
        if rng.random() < 0.2:
            continue
        spouse = False
        for member in others:
            relation = _relation(head, member)
            if relation == Relation.SPOUSE and spouse:
                relation = Relation.OTHER  # one spouse: a second one is a sibling, say
            spouse = spouse or relation == Relation.SPOUSE
            member.relation, member.relation_to_id = relation, head.pk
            related.append(member)
    Customer.objects.bulk_update(related, ["relation", "relation_to"], batch_size=CHUNK)

    # Leads ------------------------------------------------------------------------------------
    states: list[str] = []
    for state, share in STATE_SHARES:
        states += [state] * round(len(customers) * share)
    states += [LeadState.PUBLIC] * (len(customers) - len(states))
    states = states[: len(customers)]
    rng.shuffle(states)
    grades_pool = [LeadGrade.A] * 2 + [LeadGrade.B] * 3 + [LeadGrade.C] * 4 + [LeadGrade.D] * 2
    leads: list[Lead] = []
    owners = people or []
    turn = 0
    position = 0
    for batch, count in batches:
        for customer in customers[position : position + count]:
            state = states[position]
            position += 1
            grade = batch.default_grade if rng.random() < 0.5 else rng.choice(grades_pool)
            no_consent = state == LeadState.PUBLIC and rng.random() < 0.03
            lead = Lead(
                customer=customer,
                channel=batch.channel,
                batch=batch,
                grade=grade,
                required_grade=batch.required_grade,
                state=state,
                consent_source="" if no_consent else batch.channel.name,
                consent_at=None if no_consent else batch.created_at - dt.timedelta(hours=2),
                consent_wording="" if no_consent else batch.channel.consent_wording,
                consent_evidence=""
                if no_consent
                else f"{batch.channel.code}-{customer.mobile_hash[:10]}",
            )
            if state in (LeadState.OWNED, LeadState.IN_PROGRESS, LeadState.WON, LeadState.LOST):
                eligible = [p for p in owners if p.capability_grade >= lead.required_grade]
                if not eligible:
                    lead.state = LeadState.PUBLIC
                else:
                    owner = eligible[turn % len(eligible)]
                    turn += 1
                    if lead.state == LeadState.WON and not owner.practice_reg_no:
                        # Nobody without a practice registration may sell: still being worked.
                        lead.state = LeadState.IN_PROGRESS
                    _own(lead, owner, batch, rng, now)
            elif state == LeadState.INVALID:
                lead.dial_count = rng.randint(1, 3)
                lead.first_dialled_at = batch.created_at + dt.timedelta(days=1)
                lead.last_dialled_at = lead.first_dialled_at
            elif state == LeadState.PUBLIC and rng.random() < 0.18 and owners:
                # Recycled: worked by someone who let it go; barred for a while.
                former = owners[rng.randrange(len(owners))]
                lead.former_owner = former
                lead.former_owner_bar_until = now + dt.timedelta(days=rng.randint(-3, 6))
                lead.dial_count = rng.randint(0, 7)
                if lead.dial_count:
                    lead.first_dialled_at = batch.created_at + dt.timedelta(days=2)
                    lead.last_dialled_at = lead.first_dialled_at + dt.timedelta(days=2)
            leads.append(lead)
    Lead.objects.bulk_create(leads, batch_size=CHUNK)

    # History ---------------------------------------------------------------------------------
    users = {p.pk: p.user_id for p in owners}
    events: list[LeadEvent] = []
    for lead in leads:
        _history(lead, events, officer, users, rng, now)
    LeadEvent.objects.bulk_create(events, batch_size=CHUNK)

    # Do-not-call list ------------------------------------------------------------------------
    dnc_leads = [x for x in leads if x.state == LeadState.DNC]
    entries = []
    for i, lead in enumerate(dnc_leads):
        permanent = i % 4 == 0
        entries.append(
            DncEntry(
                phone_hash=lead.customer.mobile_hash,
                phone_masked=mask_phone(lead.customer.mobile_e164),
                source=DncSource.COMPLAINT if permanent else DncSource.CUSTOMER_REQUEST,
                reason="客户投诉，要求永不来电" if permanent else "客户明确拒绝，要求不再来电",
                expires_at=None if permanent else now + dt.timedelta(days=180 - i),
                created_by=officer,
            )
        )
    extra = _mobiles(rng, 6)
    for i, e164 in enumerate(extra):
        entries.append(
            DncEntry(
                phone_hash=phone_hash(e164),
                phone_masked=mask_phone(e164),
                source=DncSource.IMPORT,
                reason="运营商投诉号码清单",
                expires_at=now + dt.timedelta(days=365) if i % 3 else None,
                created_by=officer,
            )
        )
    DncEntry.objects.bulk_create(entries, batch_size=CHUNK)
    Customer.objects.filter(
        mobile_hash__in=[e.phone_hash for e in entries if e.expires_at is None]
    ).update(no_marketing=True)

    # Batch counts and rejected rows ------------------------------------------------------------
    per_batch = Counter(lead.batch_id for lead in leads)
    rejections = []
    for batch, _count in batches:
        imported = per_batch[batch.pk]
        duplicate = rng.randint(2, 12)
        invalid = rng.randint(1, 8)
        blocked = rng.randint(0, 3)
        row = 1
        for reason, n in (
            (RejectReason.DUPLICATE_IN_FILE, duplicate),
            (RejectReason.INVALID_PHONE, invalid),
            (RejectReason.DNC, blocked),
        ):
            for _ in range(n):
                row += rng.randint(3, 40)
                detail = {
                    RejectReason.DUPLICATE_IN_FILE: str(max(2, row - rng.randint(1, row - 1))),
                    RejectReason.INVALID_PHONE: "too_short",
                    RejectReason.DNC: "",
                }[reason]
                raw = [_name(rng), "1" + f"{rng.randrange(10**6):06d}"]
                rejections.append(
                    BatchRejection(
                        batch=batch, row_number=row, reason=reason, detail=detail, raw=raw
                    )
                )
        rows = imported + duplicate + invalid + blocked
        LeadBatch.objects.filter(pk=batch.pk).update(
            rows=rows,
            processed=rows,
            imported=imported,
            duplicate=duplicate,
            invalid=invalid,
            dnc_blocked=blocked,
            mapping={"headers": ["姓名", "手机号码", "性别", "省份", "城市"], "demo": True},
        )
    BatchRejection.objects.bulk_create(rejections, batch_size=CHUNK)

    counts = {
        "created": True,
        "channels": len(channels),
        "batches": len(batches) + 1,
        "customers": len(customers),
        "households": len(households),
        "leads": len(leads),
        "states": dict(Counter(lead.state for lead in leads)),
        "events": len(events),
        "dnc_entries": len(entries),
        "rulesets": 2,
        "failed_batch": failed.pk,
    }
    audit_record(
        actor=None,
        action="leads.demo_seed",
        object_type="leads.leadruleset",
        object_id=str(general.pk),
        object_repr="demo lead data",
        after=counts,
        reason="telesales seed-demo",
    )
    if stdout:
        stdout.write(
            f"  {len(leads)} leads in {len(batches)} batches from {len(channels)} channels, "
            f"{len(entries)} do-not-call entries"
        )
    return counts


def _in_working_hours(at: dt.datetime, now: dt.datetime, rng: random.Random) -> dt.datetime:
    """``at`` moved forward into the floor's hours (09:00–20:00 local), to a random hour of
    the same day when it is before 09:00, of the next when it is 20:00 or later — nobody
    claims a lead at half past midnight. Never earlier than ``at``; left as it is when the
    move would pass ``now``."""
    local = timezone.localtime(at)
    if 9 <= local.hour < 20:
        return at
    day = local + dt.timedelta(days=1) if local.hour >= 20 else local
    moved = day.replace(hour=rng.randint(9, 19))
    return moved if moved <= now else at


def _own(lead: Lead, owner: Person, batch: LeadBatch, rng: random.Random, now: dt.datetime):
    """Give a lead to ``owner`` with protection dates and activity that fit its state."""
    lead.owner = owner
    state = lead.state
    if state in (LeadState.WON, LeadState.LOST):
        since = now - dt.timedelta(days=rng.randint(8, 30))
    else:
        since = now - dt.timedelta(days=rng.randint(0, 9), hours=rng.randint(1, 20))
    since = _in_working_hours(max(since, batch.created_at + dt.timedelta(hours=3)), now, rng)
    lead.owned_since = since
    lead.protect_until = since + dt.timedelta(days=10)
    if state == LeadState.OWNED:
        if rng.random() < 0.3:
            lead.dial_count = rng.randint(1, 3)
            lead.first_dialled_at = since + dt.timedelta(hours=rng.randint(1, 30))
            lead.last_dialled_at = lead.first_dialled_at
        if lead.protect_until - now < dt.timedelta(days=2):
            lead.recycle_warned_at = now - dt.timedelta(hours=rng.randint(1, 20))
        return
    dials = rng.randint(2, 9)
    lead.dial_count = dials
    lead.connect_count = rng.randint(1, max(1, dials // 2))
    lead.first_dialled_at = since + dt.timedelta(hours=rng.randint(1, 20))
    lead.last_dialled_at = min(now, lead.first_dialled_at + dt.timedelta(days=rng.randint(0, 6)))
    lead.last_contact_at = lead.last_dialled_at
    lead.last_followup_at = lead.last_contact_at
    if state == LeadState.IN_PROGRESS:
        lead.protect_until = min(
            since + dt.timedelta(days=30), lead.last_contact_at + dt.timedelta(days=10)
        )
        if lead.protect_until < now:
            lead.protect_until = now + dt.timedelta(days=rng.randint(1, 5))
        if rng.random() < 0.15:
            lead.recycle_warned_at = now - dt.timedelta(hours=rng.randint(1, 30))
    elif state == LeadState.WON:
        lead.won_at = lead.last_contact_at
        lead.premium = Decimal(rng.choice((1200, 1880, 2400, 3600, 4980, 6800, 12000)))
        lead.protect_until = None
    else:
        lead.protect_until = None


def _history(lead, events, officer, users, rng, now) -> None:
    """The transitions of a lead, oldest first (public leads that were never owned: none)."""

    def add(
        at,
        action,
        *,
        from_state="",
        to_state="",
        from_owner=None,
        to_owner=None,
        actor=None,
        reason="",
    ):
        events.append(
            LeadEvent(
                lead_id=lead.pk,
                at=min(at, now),
                actor_id=actor,
                action=action,
                from_state=from_state,
                to_state=to_state,
                from_owner_id=from_owner,
                to_owner_id=to_owner,
                reason=reason,
            )
        )

    officer_id = officer.pk if officer else None
    if lead.former_owner_id and lead.state == LeadState.PUBLIC:
        taken = lead.batch.created_at + dt.timedelta(days=1)
        add(
            taken,
            LeadAction.ALLOCATE,
            from_state="public",
            to_state="owned",
            to_owner=lead.former_owner_id,
            actor=officer_id,
            reason="按轮询分配",
        )
        add(
            (lead.former_owner_bar_until or now) - dt.timedelta(days=7),
            LeadAction.RECYCLE,
            from_state="owned",
            to_state="public",
            from_owner=lead.former_owner_id,
            reason="超过3天未拨打，自动回收",
        )
        return
    if lead.owner_id and lead.owned_since:
        claimed = rng.random() < 0.35
        add(
            lead.owned_since,
            LeadAction.CLAIM if claimed else LeadAction.ALLOCATE,
            from_state="public",
            to_state="owned",
            to_owner=lead.owner_id,
            actor=users.get(lead.owner_id) if claimed else officer_id,
            reason="" if claimed else "按轮询分配",
        )
        actor = users.get(lead.owner_id)
        if lead.state in (LeadState.IN_PROGRESS, LeadState.WON, LeadState.LOST):
            add(
                lead.first_dialled_at or lead.owned_since,
                LeadAction.STATE,
                from_state="owned",
                to_state="in_progress",
                actor=actor,
                reason="首次接通，客户有意向",
            )
        if lead.state == LeadState.WON:
            add(
                lead.won_at or now,
                LeadAction.STATE,
                from_state="in_progress",
                to_state="won",
                actor=actor,
                reason="成交，保单已承保",
            )
        elif lead.state == LeadState.LOST:
            add(
                lead.last_contact_at or now,
                LeadAction.STATE,
                from_state="in_progress",
                to_state="lost",
                actor=actor,
                reason="客户已在他处投保",
            )
        if lead.recycle_warned_at:
            add(
                lead.recycle_warned_at,
                LeadAction.RECYCLE_WARNING,
                reason="保护期即将到期，请尽快跟进",
            )
        return
    if lead.state == LeadState.INVALID:
        add(
            lead.last_dialled_at or now,
            LeadAction.STATE,
            from_state="public",
            to_state="invalid",
            actor=officer_id,
            reason="空号",
        )
    elif lead.state == LeadState.DNC:
        add(
            now - dt.timedelta(days=rng.randint(1, 20)),
            LeadAction.DNC,
            to_state="dnc",
            actor=officer_id,
            reason="客户要求不再来电",
        )


#: The channel and the batch of the customers the demo's older sales were made to: the
#: center's existing customers (存量客户), imported before the book's first sale, each handed to
#: the agent who sold to them a few days before the sale (see ``SaleLeads``).
SALE_CHANNEL = (
    "demo-existing",
    "存量客户",
    Decimal("0.00"),
    "本人为本公司存量客户，同意保险顾问致电介绍保险产品。",
)
SALE_BATCH = "存量客户名单（历史成交）"


class SaleLeads:
    """Leads for the demo sales dated before the imported leads could have been worked (the
    in-force book goes back three years; the demo batches are weeks old): for each, a customer
    and a lead in ``SALE_BATCH``, imported at ``imported_at``, allocated to the seller a few
    days before the sale and reached (owned → in progress) after that, so that the sale that
    follows (``policies.services.sale_record``) ends its history. Call ``finish`` at the end
    for the batch's counts."""

    def __init__(self, *, seed: int, imported_at: dt.datetime):
        self.rng = random.Random(seed + 21)  # noqa: S311  (deterministic demo data)
        self.imported_at = imported_at
        self.batch: LeadBatch | None = None
        self.numbers: list[str] = []
        self.users: dict[int, int | None] = {}
        self.count = 0

    def _batch(self) -> LeadBatch:
        if self.batch is None:
            code, name, cost, wording = SALE_CHANNEL
            channel, _new = Channel.objects.get_or_create(
                code=code,
                defaults={"name": name, "default_cost_per_lead": cost, "consent_wording": wording},
            )
            officer = get_user_model().objects.filter(username="data").first()
            self.batch = LeadBatch.objects.create(
                name=SALE_BATCH,
                channel=channel,
                file_name=f"{SALE_BATCH}.xlsx",
                file_sha256=hashlib.sha256(SALE_BATCH.encode()).hexdigest(),
                uploader=officer,
                status=BatchStatus.DONE,
                default_grade=LeadGrade.B,
                required_grade=1,
                started_at=self.imported_at,
                finished_at=self.imported_at + dt.timedelta(seconds=12),
                mapping={"headers": ["姓名", "手机号码", "性别", "省份", "城市"], "demo": True},
            )
            LeadBatch.objects.filter(pk=self.batch.pk).update(created_at=self.imported_at)
            self.officer_id = officer.pk if officer else None
        return self.batch

    def lead(self, *, owner: Person, at: dt.datetime) -> Lead:
        """A lead owned by ``owner`` and in progress before ``at``, ready to be sold at it."""
        rng, batch = self.rng, self._batch()
        if not self.numbers:
            self.numbers = _mobiles(rng, 100)
        e164 = self.numbers.pop()
        gender = rng.choice((Gender.MALE, Gender.FEMALE))
        province, city, region = rng.choice(PLACES)
        birth = dt.date(rng.randint(1962, 2000), rng.randint(1, 12), rng.randint(1, 28))
        customer = Customer.objects.create(
            name=_name(rng),
            mobile_e164=e164,
            mobile_hash=phone_hash(e164),
            gender=gender,
            birth_date=birth,
            province=province,
            city=city,
            id_number=_id_number(rng, region, birth, gender),
        )
        since = max(
            at - dt.timedelta(days=rng.randint(3, 20), hours=rng.randint(0, 6)),
            batch.created_at + dt.timedelta(hours=3),
        )
        since = min(_in_working_hours(since, at, rng), at - dt.timedelta(hours=2))
        reached = since + (at - since) * rng.uniform(0.1, 0.7)
        lead = Lead.objects.create(
            customer=customer,
            channel=batch.channel,
            batch=batch,
            grade=rng.choice((LeadGrade.A, LeadGrade.B, LeadGrade.B, LeadGrade.C)),
            required_grade=batch.required_grade,
            state=LeadState.IN_PROGRESS,
            owner=owner,
            owned_since=since,
            protect_until=since + dt.timedelta(days=30),
            dial_count=rng.randint(2, 6),
            connect_count=rng.randint(1, 2),
            first_dialled_at=reached,
            last_dialled_at=reached,
            last_contact_at=reached,
            last_followup_at=reached,
            consent_source=batch.channel.name,
            consent_at=batch.created_at - dt.timedelta(hours=2),
            consent_wording=batch.channel.consent_wording,
            consent_evidence=f"{batch.channel.code}-{customer.mobile_hash[:10]}",
        )
        Customer.objects.filter(pk=customer.pk).update(created_at=batch.created_at)
        Lead.objects.filter(pk=lead.pk).update(created_at=batch.created_at)
        if owner.pk not in self.users:
            self.users[owner.pk] = owner.user_id
        LeadEvent.objects.bulk_create(
            [
                LeadEvent(
                    lead=lead,
                    at=since,
                    actor_id=self.officer_id,
                    action=LeadAction.ALLOCATE,
                    from_state=LeadState.PUBLIC,
                    to_state=LeadState.OWNED,
                    to_owner=owner,
                    reason="按轮询分配",
                ),
                LeadEvent(
                    lead=lead,
                    at=reached,
                    actor_id=self.users[owner.pk],
                    action=LeadAction.STATE,
                    from_state=LeadState.OWNED,
                    to_state=LeadState.IN_PROGRESS,
                    reason="首次接通，客户有意向",
                ),
            ]
        )
        self.count += 1
        return lead

    def finish(self) -> int:
        """The batch's counts (rows, imported); the number of leads made."""
        if self.batch is not None:
            LeadBatch.objects.filter(pk=self.batch.pk).update(
                rows=self.count, processed=self.count, imported=self.count
            )
        return self.count
