"""The demo center's customer-service tickets: about four per agent over the last six months,
of every kind and channel, most resolved and closed, some late, escalated, overdue or still
open today. Deterministic for a given seed and size; times are relative to the seed's moment.

Runs after the organisation, lead and policy demos (it uses their people, customers and, when
there are any, policies). Ticket life cycles are simulated the way the services and the
escalation task would have written them (history rows included) and written in bulk; one audit
row records the seed. Does nothing when tickets exist already.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from telesales.core.audit import audit_record
from telesales.core.phone_numbers import normalise_phone
from telesales.core.roles import Role
from telesales.leads.choices import LeadState
from telesales.leads.models import Lead
from telesales.org.choices import PersonStatus, TeamKind
from telesales.org.models import Person
from telesales.policies.models import Policy
from telesales.tickets.choices import (
    EscalationLevel,
    EscalationReason,
    TicketAction,
    TicketChannel,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from telesales.tickets.models import Ticket, TicketEvent
from telesales.tickets.rules import default_ruleset_ensure, target_matrix

DAYS = 180
PER_AGENT = 4
MAX_TICKETS = 3000
K, C, P = TicketKind, TicketChannel, TicketPriority
# Complaints are a small share of a service desk's work (policy changes and claim help lead);
# the demo book is small, so even this share gives a high rate per 1,000 policies.
KINDS = [
    (K.COMPLAINT, 8),
    (K.POLICY_CHANGE, 34),
    (K.CLAIM_HELP, 24),
    (K.CANCELLATION, 16),
    (K.OTHER, 18),
]
COMPLAINT_CHANNELS = [
    (C.PHONE, 50),
    (C.REGULATOR, 20),
    (C.ONLINE, 15),
    (C.INSURER, 10),
    (C.WALK_IN, 5),
]
OTHER_CHANNELS = [(C.PHONE, 60), (C.ONLINE, 25), (C.INSURER, 10), (C.WALK_IN, 3), (C.OTHER, 2)]
PRIORITIES = [(P.NORMAL, 60), (P.HIGH, 20), (P.LOW, 12), (P.URGENT, 8)]
TEXTS = {
    K.COMPLAINT: [
        (
            "销售人员多次来电，客户表示已明确拒绝",
            "客户称上周已明确表示不需要，仍接到同一销售人员两次来电，要求停止来电并给出说法。",
            "核实通话记录属实，已将号码加入谢绝来电名单，对销售人员进行合规提醒，并向客户致歉。",
        ),
        (
            "客户反映销售时未说明等待期",
            "客户住院后得知有90天等待期，认为销售时未提示，情绪较激动。",
            "调取销售录音，确认已提示等待期但语速过快；向客户解释条款，并对销售人员进行话术辅导。",
        ),
        (
            "投诉销售人员夸大产品收益",
            "客户称销售人员承诺年金险“保本高收益”，与合同演示利率不符。",
            "调取录音核实存在不当表述，已向客户重新说明，客户选择继续持有；销售人员记违规一次。",
        ),
        (
            "12321转办：客户反映频繁接到推销电话",
            "12321平台转来投诉，客户称一周内接到多次保险推销电话。",
            "已核实并加入永久不营销名单，按要求在期限内向平台反馈处理结果。",
        ),
        (
            "客户投诉保单寄送延迟",
            "客户投保两周仍未收到纸质保单，担心保单未生效。",
            "确认电子保单已生效，纸质保单已加急寄出并提供快递单号，客户表示认可。",
        ),
    ],
    K.POLICY_CHANGE: [
        (
            "申请变更缴费银行卡",
            "客户原扣款银行卡已注销，申请更换为新的借记卡。",
            "已提交保全申请并完成变更，下期保费将从新卡扣款。",
        ),
        (
            "申请变更通讯地址",
            "客户搬家，申请更新通讯地址以便接收续期通知。",
            "已更新通讯地址并短信告知客户。",
        ),
        (
            "申请变更受益人",
            "客户希望将身故受益人由父母变更为配偶。",
            "已指导客户线上提交受益人变更申请，保险公司审核通过。",
        ),
        (
            "申请将缴费方式改为月缴",
            "客户希望减轻一次性缴费压力，咨询改为月缴。",
            "确认产品支持月缴，已在下一保单年度生效前提交变更。",
        ),
    ],
    K.CLAIM_HELP: [
        (
            "咨询意外医疗理赔所需材料",
            "客户扭伤脚踝门诊就医，询问理赔需要哪些材料。",
            "已发送材料清单（病历、发票、费用清单），协助客户线上提交。",
        ),
        (
            "协助提交住院理赔申请",
            "客户住院五天，需要协助整理理赔资料并提交。",
            "资料齐全已提交保险公司，三个工作日后赔款到账，客户确认收到。",
        ),
        (
            "理赔进度查询",
            "客户两周前提交理赔，尚未收到结果。",
            "联系保险公司理赔部，补充一份检查报告后已结案赔付。",
        ),
    ],
    K.CANCELLATION: [
        (
            "犹豫期内申请退保",
            "客户表示家人反对，在犹豫期内申请全额退保。",
            "已按规定在犹豫期内办理退保，保费全额退还，未设置任何障碍。",
        ),
        (
            "客户因经济原因申请退保",
            "客户近期收入下降，申请退保。",
            "向客户说明退保损失及减额缴清等选择，客户选择减额缴清。",
        ),
        (
            "客户认为保障重复申请退保",
            "客户已有单位团体医疗，认为百万医疗险重复。",
            "解释保障差异后客户仍坚持，已协助办理退保。",
        ),
    ],
    K.OTHER: [
        (
            "电子保单无法打开",
            "客户手机打不开电子保单链接。",
            "重新发送电子保单PDF至客户邮箱，客户已确认可以查看。",
        ),
        ("咨询发票开具", "客户需要保费发票用于报销。", "已申请电子发票并发送给客户。"),
        ("要求邮寄纸质保单", "客户年纪较大，希望收到纸质保单。", "已申请纸质保单并寄出。"),
    ],
}
NUMBER_NOTE = "客户要求改用新号码 {number} 联系，请勿再拨打旧号码。"
WAIT_NOTES = ["已联系客户，等待客户补充材料。", "已电话回复，客户需与家人商量后再决定。"]
RESPONSE_NOTES = [
    "已电话联系客户，了解具体情况，正在核实。",
    "已回电客户并致歉，承诺尽快处理。",
    "已联系客户确认需求。",
]


def _pick(rng: random.Random, weighted) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def _working(qs):
    return qs.exclude(status__in=[PersonStatus.LEFT, PersonStatus.SUSPENDED])


def _people(role: Role) -> list[Person]:
    return list(
        _working(Person.objects.filter(user__groups__name=role.value))
        .select_related("team", "team__leader", "user")
        .order_by("id")
    )


def _random_mobile(rng: random.Random) -> str:
    while True:
        result = normalise_phone(f"139{rng.randrange(10**8):08d}")
        if result.e164:
            return result.e164[3:]


@transaction.atomic
def seed_tickets_demo(*, agents: int = 66, seed: int = 20261101, stdout=None) -> dict:
    """Create the demo tickets unless tickets exist. Returns what was created."""
    if Ticket.objects.exists():
        if stdout:
            stdout.write("  tickets exist already; nothing to do")
        return {"created": False}
    ops = _people(Role.RENEWAL_OPS)
    managers = _people(Role.MANAGER)
    sellers = [
        p for p in _people(Role.AGENT) if p.team_id and p.team.kind == TeamKind.SALES and p.user_id
    ]
    if not (ops or managers) or not sellers:
        if stdout:
            stdout.write("  no demo center (renewal operations and agents) yet; nothing to do")
        return {"created": False}
    rng = random.Random(seed + 60)  # noqa: S311  (deterministic demo data)
    now = timezone.now().replace(microsecond=0)
    ruleset = default_ruleset_ensure()
    matrix = target_matrix(ruleset)
    manager_hours = ruleset.manager_escalation_hours
    manager = managers[0] if managers else None
    desk = ops or managers
    by_id = {p.pk: p for p in [*ops, *managers, *sellers]}
    policies = list(
        Policy.objects.filter(issued_at__isnull=False)
        .select_related("holder", "agent")
        .order_by("id")
    )
    leads = list(
        Lead.objects.filter(
            owner__isnull=False, state__in=[LeadState.IN_PROGRESS, LeadState.WON, LeadState.LOST]
        )
        .select_related("customer", "owner")
        .order_by("id")[:5000]
    )
    total = min(max(40, PER_AGENT * max(agents, 1)), MAX_TICKETS)

    tickets: list[Ticket] = []
    plans: list[list[tuple]] = []
    for i in range(total):
        kind = _pick(rng, KINDS)
        channel = _pick(rng, COMPLAINT_CHANNELS if kind == K.COMPLAINT else OTHER_CHANNELS)
        priority = (
            rng.choice([P.HIGH, P.URGENT]) if channel == C.REGULATOR else _pick(rng, PRIORITIES)
        )
        recent = i % 7 == 0  # one in seven arrived in the last three days
        age = (
            dt.timedelta(hours=rng.uniform(1, 72))
            if recent
            else dt.timedelta(days=DAYS * rng.random() ** 1.2, hours=rng.uniform(0, 23))
        )
        opened = now - age
        customer = policy = agent = None
        if policies and rng.random() < 0.7:
            policy = rng.choice(policies)
            customer, agent = policy.holder, policy.agent
        elif leads:
            lead = rng.choice(leads)
            customer, agent = lead.customer, lead.owner
        else:
            agent = rng.choice(sellers)
        if kind not in (K.COMPLAINT, K.CANCELLATION) and rng.random() < 0.4:
            agent = agent if policy else None
        subject, description, resolution = rng.choice(TEXTS[kind])
        if i == 3:
            description = f"{description}{NUMBER_NOTE.format(number=_random_mobile(rng))}"
        # Who owns it: renewal operations mostly; the agent's team lead for some complaints;
        # the selling agent for some requests about their own customer.
        leader = agent.team.leader if agent and agent.team_id else None
        roll = rng.random()
        if kind == K.COMPLAINT and leader and leader.pk != agent.pk and roll < 0.3:
            owner = leader
        elif kind != K.COMPLAINT and agent and roll < 0.35 and agent.pk in by_id:
            owner = by_id[agent.pk]
        else:
            owner = rng.choice(desk)
        if recent and rng.random() < 0.25:
            owner = None  # waiting in the queue for someone to take it
        response_h, resolution_h = matrix[(kind, priority)]
        response_due = opened + dt.timedelta(hours=response_h)
        resolution_due = opened + dt.timedelta(hours=resolution_h)
        late_response = rng.random() < 0.1
        late_resolution = rng.random() < 0.14
        response_at = opened + dt.timedelta(
            hours=response_h * (rng.uniform(1.05, 3.0) if late_response else rng.uniform(0.05, 0.9))
        )
        resolved_at = opened + dt.timedelta(
            hours=resolution_h
            * (rng.uniform(1.05, 2.5) if late_resolution else rng.uniform(0.2, 0.95))
        )
        if response_at > resolved_at:  # answered before it was solved
            response_at = opened + (resolved_at - opened) * rng.uniform(0.2, 0.8)
        if owner is None or response_at > now:
            response_at = None
        if owner is None or response_at is None or resolved_at > now:
            resolved_at = None
        closed_at = None
        if resolved_at is not None:
            closed_at = resolved_at + dt.timedelta(days=rng.uniform(1, 4))
            if closed_at > now or rng.random() < 0.1:
                closed_at = None
        waiting = resolved_at is None and response_at is not None and rng.random() < 0.35
        if closed_at:
            status = TicketStatus.CLOSED
        elif resolved_at:
            status = TicketStatus.RESOLVED
        elif response_at:
            status = TicketStatus.WAITING_CUSTOMER if waiting else TicketStatus.IN_PROGRESS
        else:
            status = TicketStatus.OPEN
        creator = (
            owner if owner and owner.user_id and rng.random() < 0.5 else rng.choice(desk)
        ).user
        events: list[tuple] = [
            (opened, TicketAction.OPEN, creator, "", TicketStatus.OPEN, None, "", "")
        ]
        if owner is not None:
            events.append(
                (
                    opened + dt.timedelta(minutes=rng.randint(2, 40)),
                    TicketAction.ASSIGN,
                    desk[0].user,
                    TicketStatus.OPEN,
                    TicketStatus.OPEN,
                    owner,
                    "",
                    "",
                )
            )
        worker = owner.user if owner and owner.user_id else None
        if response_at:
            to = TicketStatus.WAITING_CUSTOMER if waiting else TicketStatus.IN_PROGRESS
            events.append(
                (
                    response_at,
                    TicketAction.RESPOND,
                    worker,
                    TicketStatus.OPEN,
                    to,
                    None,
                    "",
                    rng.choice(WAIT_NOTES if waiting else RESPONSE_NOTES),
                )
            )
        if resolved_at:
            events.append(
                (
                    resolved_at,
                    TicketAction.RESOLVE,
                    worker,
                    TicketStatus.IN_PROGRESS,
                    TicketStatus.RESOLVED,
                    None,
                    "",
                    resolution,
                )
            )
        if closed_at:
            events.append(
                (
                    closed_at,
                    TicketAction.CLOSE,
                    worker,
                    TicketStatus.RESOLVED,
                    TicketStatus.CLOSED,
                    None,
                    "",
                    "客户确认，无其他诉求。",
                )
            )

        # Escalation, as the periodic task would have done it (a few minutes after the miss).
        def status_at(moment: dt.datetime, response_at=response_at, waiting=waiting) -> str:
            if response_at is None or moment < response_at:
                return TicketStatus.OPEN
            return TicketStatus.WAITING_CUSTOMER if waiting else TicketStatus.IN_PROGRESS

        level, escalated_at, escalated_to = 0, None, None
        end = resolved_at or now
        misses = []
        if (response_at or now) > response_due:
            misses.append((response_due, EscalationReason.RESPONSE_MISSED))
        if end > resolution_due:
            misses.append((resolution_due, EscalationReason.RESOLUTION_MISSED))
        if misses:
            missed_at, reason = min(misses)
            at = missed_at + dt.timedelta(minutes=rng.randint(1, 5))
            if at < end:
                team_lead = owner.team.leader if owner and owner.team_id else None
                if team_lead is not None and team_lead.pk != owner.pk:
                    level, escalated_to = EscalationLevel.TEAM_LEAD, team_lead
                else:
                    level, escalated_to = EscalationLevel.MANAGER, manager
                escalated_at = at
                events.append(
                    (
                        at,
                        TicketAction.ESCALATE,
                        None,
                        status_at(at),
                        status_at(at),
                        escalated_to,
                        reason,
                        "",
                    )
                )
                later = at + dt.timedelta(hours=manager_hours, minutes=rng.randint(1, 5))
                if level == EscalationLevel.TEAM_LEAD and later < end:
                    level, escalated_at, escalated_to = EscalationLevel.MANAGER, later, manager
                    events.append(
                        (
                            later,
                            TicketAction.ESCALATE,
                            None,
                            status_at(later),
                            status_at(later),
                            manager,
                            EscalationReason.STILL_UNRESOLVED,
                            "",
                        )
                    )
        tickets.append(
            Ticket(
                kind=kind,
                channel=channel,
                priority=priority,
                status=status,
                customer=customer,
                policy=policy,
                agent=agent,
                owner=owner,
                external_ref=f"12321-{opened:%Y%m}-{rng.randint(1000, 9999)}"
                if channel == C.REGULATOR
                else "",
                subject=subject,
                description=description,
                resolution=resolution if resolved_at else "",
                opened_at=opened,
                first_response_at=response_at or (resolved_at if resolved_at else None),
                resolved_at=resolved_at,
                closed_at=closed_at,
                response_due_at=response_due,
                resolution_due_at=resolution_due,
                sla_ruleset=ruleset,
                escalation_level=level,
                escalated_at=escalated_at,
                escalated_to=escalated_to,
                created_by=creator,
            )
        )
        plans.append(events)

    created = Ticket.objects.bulk_create(tickets, batch_size=500)
    if any(
        t.pk is None for t in created
    ):  # pragma: no cover - every supported database returns ids
        created = list(Ticket.objects.order_by("id"))
    for ticket in created:
        ticket.number = f"KF{timezone.localdate(ticket.opened_at):%Y%m%d}{ticket.pk:05d}"
    Ticket.objects.bulk_update(created, ["number"], batch_size=500)
    rows = []
    for ticket, events in zip(created, plans, strict=True):
        for at, action, actor, from_status, to_status, to_person, reason, note in sorted(
            events, key=lambda e: e[0]
        ):
            rows.append(
                TicketEvent(
                    ticket=ticket,
                    at=at,
                    actor=actor,
                    action=action,
                    from_status=from_status,
                    to_status=to_status,
                    to_person=to_person,
                    escalation_reason=reason,
                    # the first escalation goes to the team lead unless it went to the manager
                    escalation_level=(
                        None
                        if action != TicketAction.ESCALATE
                        else EscalationLevel.MANAGER
                        if to_person is None or to_person == manager
                        else EscalationLevel.TEAM_LEAD
                    ),
                    note=note,
                )
            )
    TicketEvent.objects.bulk_create(rows, batch_size=2000)
    summary = {
        "tickets": len(created),
        "events": len(rows),
        "active": sum(
            1
            for t in created
            if t.status
            in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER)
        ),
        "escalated": sum(1 for t in created if t.escalation_level),
    }
    audit_record(
        actor="cli", action="tickets.demo_seed", object_type="tickets.ticket", after=summary
    )
    if stdout:
        stdout.write(
            f"  tickets: {summary['tickets']} ({summary['active']} active, "
            f"{summary['escalated']} escalated), {summary['events']} history rows"
        )
    return {"created": True, **summary}
