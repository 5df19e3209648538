"""Writes of operations and renewal: each step a service that checks the rules and the actor's
rights, writes, and records an audit row in one transaction. A refusal raises a
``DomainError`` before anything is written, so nothing is ever half-done.

Delivery::

    pending ─delivery_send→ sent ─delivery_mark_delivered→ delivered
    pending | sent ─delivery_mark_failed→ failed
    sent | delivered ─delivery_mark_returned→ returned
    failed | returned ─delivery_send→ sent (again)
    sent | delivered ─delivery_receipt_confirm→ delivered + receipt (policy_receipt_confirm)

Premiums (the calendar moves them, see ``scheduling.py``)::

    due | in grace ─premium_payment_record→ paid        due | in grace ─premium_due_waive→ waived
    lapsed, paid inside the grace period (a late receipt) ─premium_payment_record→ paid

In force::

    in force | reinstated ─(a premium lapses)→ lapsed ─policy_reinstate (≤ reinstatement_days)→
    reinstated;  in force | reinstated | lapsed ─policy_servicing_end→ surrendered |
    claim terminated | transferred out
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.actors import is_user, user_or_none
from telesales.core.audit import audit_record, model_snapshot
from telesales.core.errors import ValidationFailed, deny_unless
from telesales.core.model_updates import save_or_conflict, validate_instance
from telesales.core.roles import Role, has_role
from telesales.leads.services import WORKING_STATUSES
from telesales.operations import permissions
from telesales.operations.choices import (
    ACTIVE_SERVICING,
    UNPAID,
    ContactOutcome,
    DeliveryMethod,
    DeliveryStatus,
    ExitReassign,
    NoticeChannel,
    NoticeStatus,
    PremiumStatus,
    RenewalOutcome,
    ServicingStatus,
    TaskStatus,
    VisitOutcome,
    VisitStatus,
)
from telesales.operations.errors import (
    AmountMismatch,
    NoticeClosed,
    NotServiced,
    OwnerNotWorking,
    PolicyNotInForce,
    ReinstatementExpired,
    TaskClosed,
    VisitClosed,
    WrongDeliveryStatus,
    WrongPremiumStatus,
)
from telesales.operations.models import (
    Delivery,
    ExitNotice,
    OperationsRuleSet,
    PolicyServicing,
    PremiumDue,
    ReceiptBatch,
    RenewalTask,
    ReturnVisit,
)
from telesales.operations.rules import ruleset_in_force
from telesales.operations.scheduling import close_open_work, issue_day, receipt_follow
from telesales.org.choices import PersonStatus
from telesales.org.models import Person
from telesales.org.selectors import person_for_user
from telesales.policies.models import Policy

NOTE_MAX = 1000
#: A required note (or reason) says at least this much.
NOTE_MIN = 2
TRACKING_MAX = 100
#: A time entered by a person may lie this far in the future (clock skew).
CLOCK_SKEW = dt.timedelta(minutes=5)


# --- Helpers -----------------------------------------------------------------------------
def _check_operator(actor) -> None:
    """Renewal operations or the manager (or the system: a command, a task, a hook)."""
    if actor is None or isinstance(actor, str):
        return
    deny_unless(
        permissions.can_operate(actor),
        _("Only renewal operations or the center manager may do this"),
    )


def _note(value: str, *, required: bool = False, field: str = "note") -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationFailed(_("Invalid text"), fields={field: [_("must not contain NUL")]})
    if required and not value:
        raise ValidationFailed(_("Please add a note"), fields={field: [_("a note is required")]})
    if required and len(value) < NOTE_MIN:
        raise ValidationFailed(
            _("The note is too short: at least %(min)d characters") % {"min": NOTE_MIN},
            fields={field: [_("at least %(min)d characters") % {"min": NOTE_MIN}]},
        )
    if len(value) > NOTE_MAX:
        raise ValidationFailed(
            _("The note is too long"), fields={field: [_("at most 1000 characters")]}
        )
    return value


def _day(value: Any, field: str, *, not_before: dt.date | None = None, before_label="") -> dt.date:
    """A calendar day, not in the future and not before ``not_before``."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationFailed(_("Not a date"), fields={field: [_("a date")]})
    if value > timezone.localdate():
        raise ValidationFailed(
            _("The date cannot lie in the future"), fields={field: [_("in the future")]}
        )
    if not_before and value < not_before:
        raise ValidationFailed(
            before_label or _("The date is too early"),
            fields={field: [_("before %(day)s") % {"day": not_before.isoformat()}]},
        )
    return value


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("Not an amount"), fields={field: [_("an amount")]}) from None
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("10000000000"):
        raise ValidationFailed(_("Not an amount"), fields={field: [_("more than zero")]})
    return amount


def _servicing(policy: Policy, *, lock: bool = True) -> PolicyServicing:
    qs = PolicyServicing.objects.select_related("policy", "servicing_owner")
    if lock:
        qs = qs.select_for_update(of=("self",))
    servicing = qs.filter(policy_id=policy.pk).first()
    if servicing is None:
        raise NotServiced(
            _("This policy is not in servicing yet (it is not issued, or the sync has not run)")
        )
    return servicing


def _me(actor) -> Person | None:
    return person_for_user(actor) if is_user(actor) else None


# --- Delivery ------------------------------------------------------------------------------
def _lock_delivery(delivery: Delivery) -> Delivery:
    return (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("policy")
        .get(pk=delivery.pk)
    )


def _delivery_audit(actor, delivery: Delivery, action: str, before: dict) -> None:
    audit_record(
        actor=actor,
        action=f"operations.delivery_{action}",
        instance=delivery,
        before=before,
        after=model_snapshot(delivery),
    )


@transaction.atomic
def delivery_send(
    *,
    delivery: Delivery,
    sent_on: dt.date,
    actor,
    method: str | None = None,
    tracking_ref: str = "",
) -> Delivery:
    """The policy document went out (again, after a failure or a return), electronically or
    on paper; a paper policy needs a tracking reference."""
    _check_operator(actor)
    delivery = _lock_delivery(delivery)
    before = model_snapshot(delivery)
    if delivery.status not in (
        DeliveryStatus.PENDING,
        DeliveryStatus.FAILED,
        DeliveryStatus.RETURNED,
    ):
        raise WrongDeliveryStatus(
            _("Only a delivery not sent yet, failed or returned can be sent; this one is %(s)s")
            % {"s": delivery.get_status_display()}
        )
    method = method or delivery.method
    if method not in DeliveryMethod.values:
        raise ValidationFailed(_("Unknown delivery method"), fields={"method": [_("unknown")]})
    tracking_ref = (tracking_ref or "").strip()
    if len(tracking_ref) > TRACKING_MAX or "\x00" in tracking_ref:
        raise ValidationFailed(
            _("The tracking reference is too long"),
            fields={"tracking_ref": [_("at most 100 characters")]},
        )
    if method == DeliveryMethod.PAPER and not tracking_ref:
        raise ValidationFailed(
            _("A paper policy needs the courier's tracking reference"),
            fields={"tracking_ref": [_("required for a paper policy")]},
        )
    delivery.sent_on = _day(
        sent_on,
        "sent_on",
        not_before=issue_day(delivery.policy),
        before_label=_("A policy cannot be sent before it is issued"),
    )
    delivery.method = method
    delivery.tracking_ref = tracking_ref
    delivery.status = DeliveryStatus.SENT
    delivery.attempts += 1
    delivery.overdue_since = None
    delivery.save()
    _delivery_audit(actor, delivery, "send", before)
    return delivery


@transaction.atomic
def delivery_mark_delivered(*, delivery: Delivery, delivered_on: dt.date, actor) -> Delivery:
    _check_operator(actor)
    delivery = _lock_delivery(delivery)
    before = model_snapshot(delivery)
    if delivery.status != DeliveryStatus.SENT:
        raise WrongDeliveryStatus(
            _("Only a sent delivery can be delivered; this one is %(s)s")
            % {"s": delivery.get_status_display()}
        )
    delivery.delivered_on = _day(
        delivered_on,
        "delivered_on",
        not_before=delivery.sent_on,
        before_label=_("A policy cannot arrive before it was sent"),
    )
    delivery.status = DeliveryStatus.DELIVERED
    delivery.overdue_since = None
    delivery.save()
    _delivery_audit(actor, delivery, "delivered", before)
    return delivery


@transaction.atomic
def delivery_mark_failed(
    *, delivery: Delivery, failed_on: dt.date, problem: str, actor
) -> Delivery:
    """The document could not be delivered (wrong address, e-mail bounced…)."""
    _check_operator(actor)
    delivery = _lock_delivery(delivery)
    before = model_snapshot(delivery)
    if delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.SENT):
        raise WrongDeliveryStatus(
            _("Only a delivery under way can fail; this one is %(s)s")
            % {"s": delivery.get_status_display()}
        )
    delivery.failed_on = _day(
        failed_on, "failed_on", not_before=delivery.sent_on or issue_day(delivery.policy)
    )
    delivery.problem = _note(problem, required=True, field="problem")[:300]
    delivery.status = DeliveryStatus.FAILED
    delivery.save()
    _delivery_audit(actor, delivery, "failed", before)
    return delivery


@transaction.atomic
def delivery_mark_returned(
    *, delivery: Delivery, returned_on: dt.date, problem: str, actor
) -> Delivery:
    """The courier brought the paper policy back (refused, nobody at the address)."""
    _check_operator(actor)
    delivery = _lock_delivery(delivery)
    before = model_snapshot(delivery)
    if delivery.status not in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
        raise WrongDeliveryStatus(
            _("Only a sent delivery can come back; this one is %(s)s")
            % {"s": delivery.get_status_display()}
        )
    if delivery.receipt_confirmed_on:
        raise WrongDeliveryStatus(_("The customer has confirmed the receipt already"))
    delivery.returned_on = _day(returned_on, "returned_on", not_before=delivery.sent_on)
    delivery.problem = _note(problem, required=True, field="problem")[:300]
    delivery.status = DeliveryStatus.RETURNED
    delivery.save()
    _delivery_audit(actor, delivery, "returned", before)
    return delivery


@transaction.atomic
def delivery_receipt_confirm(*, delivery: Delivery, receipt_date: dt.date, actor) -> Delivery:
    """The customer confirmed receipt (回执): the policies app starts the free-look window
    (``policy_receipt_confirm``), the delivery is done and the return visit falls due."""
    from telesales.policies.services import policy_receipt_confirm

    _check_operator(actor)
    delivery = _lock_delivery(delivery)
    before = model_snapshot(delivery)
    if delivery.receipt_confirmed_on:
        raise WrongDeliveryStatus(
            _("The receipt was confirmed on %(day)s")
            % {"day": delivery.receipt_confirmed_on.isoformat()}
        )
    if delivery.status not in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
        raise WrongDeliveryStatus(
            _("A receipt needs the policy sent or delivered; this one is %(s)s")
            % {"s": delivery.get_status_display()}
        )
    receipt_date = _day(
        receipt_date,
        "receipt_date",
        not_before=delivery.sent_on,
        before_label=_("The receipt cannot come before the policy was sent"),
    )
    policy_receipt_confirm(policy=delivery.policy, receipt_date=receipt_date, actor=actor)
    receipt_follow(delivery=delivery, receipt_date=receipt_date, now=timezone.now())
    _delivery_audit(actor, delivery, "receipt_confirm", before)
    return delivery


# --- Return visits -------------------------------------------------------------------------
def _lock_visit(visit: ReturnVisit) -> ReturnVisit:
    visit = (
        ReturnVisit.objects.select_for_update(of=("self",))
        .select_related("policy__agent__team__leader", "policy__team__leader")
        .get(pk=visit.pk)
    )
    return visit


def _team_lead_of(agent: Person) -> Person | None:
    team = agent.team if agent.team_id else None
    leader = team.leader if team is not None else None
    if leader is None or leader.pk == agent.pk:
        return None
    return leader


@transaction.atomic
def return_visit_record(
    *, visit: ReturnVisit, outcome: str, note: str, actor, at: dt.datetime | None = None
) -> ReturnVisit:
    """Record a return visit's outcome. *Confirmed* completes it. *Unreachable* counts an
    attempt; the visit stays open until the rule set's attempts are used up (then it fails).
    *Misunderstanding found* completes it and flags it to the selling agent's team lead (it
    counts against the agent until resolved). *Cancel requested* completes it; operations then
    process the cancellation. The last two need a note."""
    _check_operator(actor)
    if outcome not in VisitOutcome.values:
        raise ValidationFailed(_("Choose an outcome"), fields={"outcome": [_("unknown outcome")]})
    note = _note(
        note,
        required=outcome in (VisitOutcome.MISUNDERSTANDING, VisitOutcome.CANCEL_REQUESTED),
    )
    now = timezone.now()
    at = at or now
    if at > now + CLOCK_SKEW:
        raise ValidationFailed(_("The time lies in the future"), fields={"at": [_("future")]})
    visit = _lock_visit(visit)
    if visit.status != VisitStatus.OPEN:
        raise VisitClosed(
            _("This return visit is %(s)s already") % {"s": visit.get_status_display()}
        )
    before = model_snapshot(visit)
    rules = ruleset_in_force(on=timezone.localdate(at))
    visit.attempts += 1
    visit.last_attempt_at = at
    visit.outcome = outcome
    if note:
        stamp = timezone.localtime(at).strftime("%Y-%m-%d %H:%M")
        visit.notes = (f"{visit.notes}\n" if visit.notes else "") + f"[{stamp}] {note}"
    if outcome == VisitOutcome.UNREACHABLE:
        if visit.attempts >= rules.return_visit_max_attempts:
            visit.status = VisitStatus.FAILED
            visit.done_at, visit.done_by = at, user_or_none(actor)
    else:
        # Done when the call was made (``at``, which may be recorded afterwards): the
        # withholding of the selling agent's commission counts from that day.
        visit.status = VisitStatus.DONE
        visit.done_at, visit.done_by = at, user_or_none(actor)
        if outcome == VisitOutcome.MISUNDERSTANDING:
            visit.flagged_to = _team_lead_of(visit.policy.agent)
            visit.flagged_at = now
    visit.save()
    audit_record(
        actor=actor,
        action="operations.return_visit_record",
        instance=visit,
        before=before,
        after=model_snapshot(visit),
        reason=note,
    )
    return visit


@transaction.atomic
def return_visit_misunderstanding_resolve(*, visit: ReturnVisit, note: str, actor) -> ReturnVisit:
    """The team lead (or operations) cleared up the misunderstanding with the customer; the
    visit then counts as done for the commission rules (the count per agent keeps it). A team
    lead resolves one flagged to them or one of an agent of a team they lead now
    (``permissions.can_resolve_visit``)."""
    deny_unless(
        permissions.can_resolve_misunderstanding(actor) or not is_user(actor),
        _("Only the team lead or renewal operations resolve a misunderstanding"),
    )
    note = _note(note, required=True)
    visit = _lock_visit(visit)
    if is_user(actor):
        deny_unless(
            permissions.can_resolve_visit(actor, visit, me=_me(actor)),
            _("This misunderstanding is flagged to someone else"),
        )
    if visit.outcome != VisitOutcome.MISUNDERSTANDING or visit.resolved_at is not None:
        raise VisitClosed(_("There is no open misunderstanding on this visit"))
    visit.resolved_at = timezone.now()
    visit.resolved_by = user_or_none(actor)
    visit.resolution_note = note
    visit.save(update_fields=["resolved_at", "resolved_by", "resolution_note", "updated_at"])
    audit_record(
        actor=actor,
        action="operations.return_visit_resolve",
        instance=visit,
        after={"resolved_at": visit.resolved_at},
        reason=note,
    )
    return visit


# --- Premiums and renewal tasks ------------------------------------------------------------
def _lock_due(due: PremiumDue) -> PremiumDue:
    return (
        PremiumDue.objects.select_for_update(of=("self",)).select_related("policy").get(pk=due.pk)
    )


def grace_end(due: PremiumDue) -> dt.date:
    """The last day of the grace period of a premium (stored once it is in grace)."""
    if due.grace_until:
        return due.grace_until
    return due.due_date + dt.timedelta(days=ruleset_in_force(on=due.due_date).grace_days)


def _reopen_tasks(dues, *, now: dt.datetime) -> int:
    """Renewal tasks closed by a lapse that turned out premature open again."""
    return RenewalTask.objects.filter(
        premium_due__in=dues, status=TaskStatus.DONE, outcome=RenewalOutcome.LAPSED
    ).update(status=TaskStatus.OPEN, outcome="", done_at=None, done_by=None, updated_at=now)


def _close_task(due: PremiumDue, *, outcome: str, actor, now: dt.datetime) -> None:
    RenewalTask.objects.filter(premium_due=due, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE,
        outcome=outcome,
        done_at=now,
        done_by=user_or_none(actor),
        updated_at=now,
    )


def payment_problem(
    *,
    due: PremiumDue,
    servicing: PolicyServicing | None,
    paid_date: dt.date,
    amount: Decimal,
    paid_before: Iterable[int] = (),
) -> tuple[str, str] | None:
    """Why this payment cannot be recorded, as (reason code, message), or ``None``. The reason
    codes are ``ReceiptRejectReason`` values; the receipt import reports them per row.
    ``paid_before``: premiums (ids) paid by earlier rows of the same file."""
    if servicing is None:
        return "not_in_force", _("The policy is not in servicing (not issued yet)")
    if due.status == PremiumStatus.PAID:
        return "already_paid", _("This premium was recorded as paid on %(day)s") % {
            "day": due.paid_date.isoformat() if due.paid_date else "—"
        }
    if due.status == PremiumStatus.WAIVED:
        return "not_in_force", _("This premium was waived")
    issued = issue_day(due.policy)
    if paid_date < issued:
        return "before_issue", _(
            "A premium cannot be paid before the policy was issued (%(day)s)"
        ) % {"day": issued.isoformat()}
    if paid_date > timezone.localdate():
        return "future_date", _("The paid date lies in the future")
    if amount != due.amount:
        return "wrong_amount", _("%(paid)s paid, %(due)s due") % {
            "paid": amount,
            "due": due.amount,
        }
    end = grace_end(due)
    if paid_date > end:
        return "after_grace", _(
            "Paid after the grace period ended on %(day)s: record a reinstatement instead"
        ) % {"day": end.isoformat()}
    if servicing.status == ServicingStatus.LAPSED:
        if due.status != PremiumStatus.LAPSED:
            return "not_in_force", _("The policy has lapsed: record a reinstatement instead")
    elif servicing.status not in ACTIVE_SERVICING:
        return "not_in_force", _("The policy is %(s)s; nothing can be paid on it") % {
            "s": servicing.get_status_display()
        }
    # Premiums are paid in their order: a later one recorded while an earlier one is unpaid
    # would read paid ahead while the earlier one runs on into grace and lapse (QA: period 4
    # recorded paid with periods 2 and 3 due). A lapsed policy's arrears are a reinstatement.
    earlier = (
        PremiumDue.objects.filter(
            policy_id=due.policy_id,
            period__lt=due.period,
            status__in=(PremiumStatus.DUE, PremiumStatus.IN_GRACE),
        )
        .exclude(pk__in=list(paid_before))
        .order_by("period")
        .first()
    )
    if earlier is not None:
        return "earlier_unpaid", _(
            "Premium %(period)s (due %(day)s) is not paid yet: record it first"
        ) % {"period": earlier.period, "day": earlier.due_date.isoformat()}
    return None


def payment_check(
    *, due: PremiumDue, servicing: PolicyServicing, paid_date: Any, amount: Any
) -> tuple[dt.date, Decimal]:
    """The clean date and amount of a payment, or the ``DomainError`` that says why not."""
    if not isinstance(paid_date, dt.date) or isinstance(paid_date, dt.datetime):
        raise ValidationFailed(_("Not a date"), fields={"paid_date": [_("a date")]})
    amount = _money(amount, "amount")
    problem = payment_problem(due=due, servicing=servicing, paid_date=paid_date, amount=amount)
    if problem is None:
        return paid_date, amount
    reason, message = problem
    if reason == "wrong_amount":
        raise AmountMismatch(
            message, fields={"amount": [_("must be %(due)s") % {"due": due.amount}]}
        )
    if reason in ("before_issue", "future_date"):
        raise ValidationFailed(message, fields={"paid_date": [message]})
    if reason == "not_in_force":
        raise PolicyNotInForce(message)
    raise WrongPremiumStatus(message)


def payment_apply(
    *,
    due: PremiumDue,
    servicing: PolicyServicing,
    paid_date: dt.date,
    amount: Decimal,
    actor,
    batch: ReceiptBatch | None = None,
    note: str = "",
) -> PremiumDue:
    """Write a checked payment (see :func:`payment_check`); the caller holds the locks and the
    transaction. A lapsed premium paid inside its grace (a receipt that arrived late) undoes
    the lapse when it was the policy's only lapsed premium."""
    now = timezone.now()
    was_lapsed = due.status == PremiumStatus.LAPSED
    due.status = PremiumStatus.PAID
    due.paid_date = paid_date
    due.paid_amount = amount
    due.batch = batch
    due.recorded_by = user_or_none(actor)
    due.note = note[:300]
    due.save(
        update_fields=[
            "status",
            "paid_date",
            "paid_amount",
            "batch",
            "recorded_by",
            "note",
            "updated_at",
        ]
    )
    _close_task(due, outcome=RenewalOutcome.PAID, actor=actor, now=now)
    if was_lapsed:
        # The lapse was premature: the premiums that lapsed with it go back into grace when
        # their own grace has not ended, and the policy is back in force when none is left
        # whose grace has ended.
        today = timezone.localdate()
        lapsed = PremiumDue.objects.filter(policy_id=due.policy_id, status=PremiumStatus.LAPSED)
        back_in_grace = list(lapsed.filter(grace_until__gte=today).values_list("pk", flat=True))
        PremiumDue.objects.filter(pk__in=back_in_grace).update(
            status=PremiumStatus.IN_GRACE, updated_at=now
        )
        _reopen_tasks(back_in_grace, now=now)
        if not lapsed.exists():
            back = (
                ServicingStatus.REINSTATED if servicing.reinstated_on else ServicingStatus.IN_FORCE
            )
            PolicyServicing.objects.filter(pk=servicing.pk).update(
                status=back, lapsed_on=None, reinstatement_until=None, updated_at=now
            )
            servicing.status = back
    return due


@transaction.atomic
def premium_payment_record(
    *, due: PremiumDue, paid_date: dt.date, amount: Any, actor, note: str = ""
) -> PremiumDue:
    """A renewal premium was received: the amount must be the premium due, the date between
    the issue and today, and no later than the end of the grace period. Closes the renewal
    task. Agents never record payments (2023 rule Art. 32)."""
    _check_operator(actor)
    note = _note(note)
    due = _lock_due(due)
    servicing = _servicing(due.policy)
    paid_date, amount = payment_check(
        due=due, servicing=servicing, paid_date=paid_date, amount=amount
    )
    before = model_snapshot(due)
    payment_apply(
        due=due, servicing=servicing, paid_date=paid_date, amount=amount, actor=actor, note=note
    )
    audit_record(
        actor=actor,
        action="operations.premium_payment_record",
        instance=due,
        before=before,
        after=model_snapshot(due),
        reason=note,
    )
    return due


def waive_refusal(servicing: PolicyServicing) -> str:
    """Why no premium of this policy can be waived now ("" when it can: in force or
    reinstated). The page shows it instead of the waiver forms; the service refuses with it."""
    if servicing.status in ACTIVE_SERVICING:
        return ""
    number = servicing.policy.number
    if servicing.status == ServicingStatus.LAPSED:
        return _(
            "Policy %(number)s lapsed on %(day)s: a premium of a lapsed policy cannot be "
            "waived. Reinstate the policy first; its unpaid premiums are the arrears."
        ) % {
            "number": number,
            "day": servicing.lapsed_on.isoformat() if servicing.lapsed_on else "—",
        }
    return _(
        "Policy %(number)s has ended (%(status)s on %(day)s): its premiums can no longer be waived."
    ) % {
        "number": number,
        "status": servicing.get_status_display(),
        "day": servicing.terminated_on.isoformat() if servicing.terminated_on else "—",
    }


@transaction.atomic
def premium_due_waive(*, due: PremiumDue, reason: str, actor) -> PremiumDue:
    """A premium the customer does not owe (a waiver-of-premium benefit, a correction) on a
    policy in force (or reinstated). A lapsed policy's premiums are not forgiven: they are the
    arrears a reinstatement collects; an ended policy owes nothing more (its unpaid premiums
    were closed when it ended)."""
    _check_operator(actor)
    reason = _note(reason, required=True, field="reason")
    due = _lock_due(due)
    servicing = _servicing(due.policy)
    refusal = waive_refusal(servicing)
    if refusal:
        raise PolicyNotInForce(refusal)
    if due.status not in (PremiumStatus.DUE, PremiumStatus.IN_GRACE):
        raise WrongPremiumStatus(
            _("Only a premium due or in grace can be waived; this one is %(s)s")
            % {"s": due.get_status_display()}
        )
    if due.period == 1:
        raise WrongPremiumStatus(_("The first premium cannot be waived"))
    before = model_snapshot(due)
    due.status = PremiumStatus.WAIVED
    due.note = reason[:300]
    due.recorded_by = user_or_none(actor)
    due.save(update_fields=["status", "note", "recorded_by", "updated_at"])
    _close_task(due, outcome=RenewalOutcome.WAIVED, actor=actor, now=timezone.now())
    audit_record(
        actor=actor,
        action="operations.premium_due_waive",
        instance=due,
        before=before,
        after=model_snapshot(due),
        reason=reason,
    )
    return due


def _lock_task(task: RenewalTask) -> RenewalTask:
    return (
        RenewalTask.objects.select_for_update(of=("self",))
        .select_related("policy__agent__team", "policy__team", "premium_due", "owner")
        .get(pk=task.pk)
    )


def _may_work_task(actor, task: RenewalTask) -> bool:
    if not is_user(actor) or permissions.can_operate(actor):
        return True
    me = _me(actor)
    if me is None or not permissions.can_work_renewals(actor):
        return False
    if task.owner_id == me.pk:
        return True
    if has_role(actor, Role.TEAM_LEAD):
        owner_team_lead = task.owner.team.leader_id if task.owner and task.owner.team_id else None
        return me.pk in (owner_team_lead, task.policy.team.leader_id)
    return False


@transaction.atomic
def renewal_task_contact_record(
    *,
    task: RenewalTask,
    outcome: str,
    note: str = "",
    actor,
    at: dt.datetime | None = None,
) -> RenewalTask:
    """A renewal call (or message) was made: count it with its outcome. The calls workspace
    calls this after a renewal call, so the same guards apply to renewal and sales calls."""
    if outcome not in ContactOutcome.values:
        raise ValidationFailed(_("Choose an outcome"), fields={"outcome": [_("unknown outcome")]})
    note = _note(note, required=outcome == ContactOutcome.REFUSED)
    now = timezone.now()
    at = at or now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + CLOCK_SKEW:
        raise ValidationFailed(_("The time lies in the future"), fields={"at": [_("future")]})
    task = _lock_task(task)
    deny_unless(_may_work_task(actor, task), _("This renewal task belongs to someone else"))
    if task.status != TaskStatus.OPEN:
        raise TaskClosed(_("This renewal task is closed"))
    task.contact_count += 1
    task.last_contact_at = at
    task.last_contact_outcome = outcome
    if note:
        stamp = timezone.localtime(at).strftime("%Y-%m-%d %H:%M")
        task.note = (f"{task.note}\n" if task.note else "") + f"[{stamp}] {note}"
    task.save(
        update_fields=[
            "contact_count",
            "last_contact_at",
            "last_contact_outcome",
            "note",
            "updated_at",
        ]
    )
    audit_record(
        actor=actor,
        action="operations.renewal_task_contact",
        instance=task,
        after={"outcome": outcome, "at": at, "contacts": task.contact_count},
        reason=note,
    )
    return task


@transaction.atomic
def renewal_task_assign(
    *, task: RenewalTask, owner: Person | None, actor, reason: str = ""
) -> RenewalTask:
    """Give an open renewal task to a working person, or to the pool (``None``)."""
    _check_operator(actor)
    reason = _note(reason, field="reason")
    task = _lock_task(task)
    if task.status != TaskStatus.OPEN:
        raise TaskClosed(_("This renewal task is closed"))
    if owner is not None and owner.status not in WORKING_STATUSES:
        raise OwnerNotWorking(_("%(name)s is not working") % {"name": owner.name})
    before = task.owner_id
    task.owner = owner
    task.save(update_fields=["owner", "updated_at"])
    audit_record(
        actor=actor,
        action="operations.renewal_task_assign",
        instance=task,
        before={"owner": before},
        after={"owner": owner.pk if owner else None},
        reason=reason,
    )
    return task


# --- In force --------------------------------------------------------------------------------
@transaction.atomic
def policy_reinstate(*, policy: Policy, on: dt.date, actor, note: str = "") -> PolicyServicing:
    """Reinstatement (复效) of a lapsed policy within the reinstatement window: the arrears
    (every unpaid premium due on or before ``on``) are recorded as paid that day."""
    _check_operator(actor)
    note = _note(note)
    servicing = _servicing(policy)
    if servicing.status != ServicingStatus.LAPSED:
        raise PolicyNotInForce(
            _("Only a lapsed policy can be reinstated; this one is %(s)s")
            % {"s": servicing.get_status_display()}
        )
    on = _day(
        on,
        "on",
        not_before=servicing.lapsed_on,
        before_label=_("A reinstatement cannot come before the lapse"),
    )
    if servicing.reinstatement_until and on > servicing.reinstatement_until:
        raise ReinstatementExpired(
            _("The reinstatement window ended on %(day)s")
            % {"day": servicing.reinstatement_until.isoformat()}
        )
    now = timezone.now()
    before = model_snapshot(servicing)
    arrears = list(
        PremiumDue.objects.select_for_update()
        .filter(policy_id=policy.pk, status__in=UNPAID, due_date__lte=on)
        .order_by("period")
    )
    for due in arrears:
        due.status = PremiumStatus.PAID
        due.paid_date = on
        due.paid_amount = due.amount
        due.recorded_by = user_or_none(actor)
        due.note = "复效补缴"
        due.updated_at = now
    PremiumDue.objects.bulk_update(
        arrears, ["status", "paid_date", "paid_amount", "recorded_by", "note", "updated_at"]
    )
    # Premiums due after the reinstatement day that the calendar had already moved (a
    # reinstatement recorded late) start over: the daily run applies their dates again.
    later = PremiumDue.objects.filter(
        policy_id=policy.pk,
        status__in=(PremiumStatus.IN_GRACE, PremiumStatus.LAPSED),
        due_date__gt=on,
    )
    later_ids = list(later.values_list("pk", flat=True))
    later.update(status=PremiumStatus.DUE, grace_until=None, updated_at=now)
    _reopen_tasks(later_ids, now=now)
    RenewalTask.objects.filter(premium_due__in=arrears, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE,
        outcome=RenewalOutcome.REINSTATED,
        done_at=now,
        done_by=user_or_none(actor),
        updated_at=now,
    )
    servicing.status = ServicingStatus.REINSTATED
    servicing.reinstated_on = on
    servicing.save(update_fields=["status", "reinstated_on", "updated_at"])
    audit_record(
        actor=actor,
        action="operations.policy_reinstate",
        instance=servicing,
        before=before,
        after={
            **model_snapshot(servicing),
            "arrears": str(sum((d.amount for d in arrears), Decimal("0"))),
            "periods": [d.period for d in arrears],
        },
        reason=note,
    )
    return servicing


ENDINGS = (
    ServicingStatus.SURRENDERED,
    ServicingStatus.CLAIM_TERMINATED,
    ServicingStatus.TRANSFERRED_OUT,
)


def _earliest_end(servicing: PolicyServicing) -> tuple[dt.date, str]:
    """The first day the policy can end on, and why not earlier: its issue, its lapse (a lapsed
    policy ends after it lapsed, so its lapsed premiums stay lapsed), its reinstatement. A
    premium received after the day the customer surrendered does not move the day: the
    surrender takes effect when it was asked for, and such a premium is refunded."""
    day, label = servicing.in_force_since, _("A policy cannot end before it started (%(day)s)")
    for later, why in (
        (servicing.lapsed_on, _("A lapsed policy cannot end before it lapsed (%(day)s)")),
        (servicing.reinstated_on, _("A policy cannot end before it was reinstated (%(day)s)")),
    ):
        if later and later > day:
            day, label = later, why
    return day, label % {"day": day.isoformat()}


@transaction.atomic
def policy_servicing_end(
    *, policy: Policy, status: str, on: dt.date, actor, note: str
) -> PolicyServicing:
    """The policy ends: surrendered (退保, no unreasonable obstacles — Art. 40), terminated by
    a claim, or transferred out to another servicing unit, on a day between its last event (the
    issue, the lapse, the reinstatement) and today. Premiums due or in
    grace are waived, lapsed ones stay lapsed, and open work is closed."""
    _check_operator(actor)
    if status not in ENDINGS:
        raise ValidationFailed(
            _("Surrendered, terminated by a claim or transferred out"),
            fields={"status": [_("not an ending")]},
        )
    note = _note(note, required=True)
    servicing = _servicing(policy)
    if servicing.status not in (*ACTIVE_SERVICING, ServicingStatus.LAPSED):
        raise PolicyNotInForce(
            _("This policy has ended already (%(s)s)") % {"s": servicing.get_status_display()}
        )
    on = _day(on, "on")
    not_before, too_early = _earliest_end(servicing)
    if on < not_before:
        raise ValidationFailed(too_early, fields={"on": [too_early]})
    before = model_snapshot(servicing)
    servicing.status = status
    servicing.terminated_on = on
    servicing.save(update_fields=["status", "terminated_on", "updated_at"])
    close_open_work(
        policy_ids=[policy.pk], now=timezone.now(), outcome=RenewalOutcome.ENDED, note=note
    )
    audit_record(
        actor=actor,
        action=f"operations.policy_{status}",
        instance=servicing,
        before=before,
        after=model_snapshot(servicing),
        reason=note,
    )
    return servicing


def policy_surrender(*, policy: Policy, on: dt.date, actor, note: str) -> PolicyServicing:
    return policy_servicing_end(
        policy=policy, status=ServicingStatus.SURRENDERED, on=on, actor=actor, note=note
    )


def policy_claim_terminate(*, policy: Policy, on: dt.date, actor, note: str) -> PolicyServicing:
    return policy_servicing_end(
        policy=policy, status=ServicingStatus.CLAIM_TERMINATED, on=on, actor=actor, note=note
    )


def policy_transfer_out(*, policy: Policy, on: dt.date, actor, note: str) -> PolicyServicing:
    return policy_servicing_end(
        policy=policy, status=ServicingStatus.TRANSFERRED_OUT, on=on, actor=actor, note=note
    )


# --- Servicing owner and agent exit ---------------------------------------------------------
def _owner_checked(owner: Person | None) -> Person | None:
    if owner is not None and owner.status not in WORKING_STATUSES:
        raise OwnerNotWorking(_("%(name)s is not working") % {"name": owner.name})
    return owner


def _move_servicing(
    *, servicing_ids: list[int], owner: Person | None, today: dt.date, now: dt.datetime
) -> tuple[int, int]:
    """Servicing and open renewal tasks (and open exit notices' new owner) to ``owner``."""
    moved = PolicyServicing.objects.filter(pk__in=servicing_ids).update(
        servicing_owner=owner, owner_since=today, updated_at=now
    )
    policy_ids = list(
        PolicyServicing.objects.filter(pk__in=servicing_ids).values_list("policy_id", flat=True)
    )
    tasks = RenewalTask.objects.filter(policy_id__in=policy_ids, status=TaskStatus.OPEN).update(
        owner=owner, updated_at=now
    )
    ExitNotice.objects.filter(policy_id__in=policy_ids, status=NoticeStatus.OPEN).update(
        new_owner=owner, updated_at=now
    )
    return moved, tasks


@transaction.atomic
def policy_servicing_owner_set(
    *, policy: Policy, owner: Person | None, actor, reason: str
) -> PolicyServicing:
    """Name the servicing owner of one policy (``None``: the renewal operations pool); its open
    renewal tasks follow."""
    _check_operator(actor)
    reason = _note(reason, required=True, field="reason")
    owner = _owner_checked(owner)
    servicing = _servicing(policy)
    before = servicing.servicing_owner_id
    _move_servicing(
        servicing_ids=[servicing.pk], owner=owner, today=timezone.localdate(), now=timezone.now()
    )
    servicing.refresh_from_db()
    audit_record(
        actor=actor,
        action="operations.servicing_owner_set",
        instance=servicing,
        before={"servicing_owner": before},
        after={"servicing_owner": owner.pk if owner else None},
        reason=reason,
    )
    return servicing


@transaction.atomic
def servicing_transfer(
    *, from_person: Person, to_person: Person | None, actor, reason: str
) -> dict[str, int]:
    """Hand every policy ``from_person`` serves (and their open renewal tasks) to a named
    successor, or to the pool; e.g. after an agent has left and the pool took them over."""
    _check_operator(actor)
    reason = _note(reason, required=True, field="reason")
    to_person = _owner_checked(to_person)
    if to_person is not None and to_person.pk == from_person.pk:
        raise ValidationFailed(_("Choose someone else"), fields={"to_person": [_("the same")]})
    ids = list(
        PolicyServicing.objects.filter(servicing_owner=from_person).values_list("pk", flat=True)
    )
    moved, tasks = _move_servicing(
        servicing_ids=ids, owner=to_person, today=timezone.localdate(), now=timezone.now()
    )
    audit_record(
        actor=actor,
        action="operations.servicing_transfer",
        instance=from_person,
        after={"to": to_person.pk if to_person else None, "policies": moved, "tasks": tasks},
        reason=reason,
    )
    return {"policies": moved, "tasks": tasks}


def servicing_on_person_stops_working(*, person: Person, actor) -> dict[str, int]:
    """Hook (org ``on_person_stops_working``), in the org service's transaction.

    Suspended: their open renewal tasks go to the successor (renewal operations, or the team
    lead when the rule set says so) so that no premium is missed; the policies stay theirs.
    Left: the policies they serve go to the successor too, and each policyholder of a policy
    with a term longer than ``exit_notice_min_term_years`` gets an exit notice to complete
    within ``exit_notice_days`` of the leaving (2023 rule Art. 36)."""
    today = timezone.localdate()
    left_on = person.left_on or today
    rules = ruleset_in_force(on=left_on)
    successor = None
    if rules.exit_reassign_to == ExitReassign.TEAM_LEAD:
        leader = _team_lead_of(person)
        if leader is not None and leader.status in WORKING_STATUSES:
            successor = leader
    now = timezone.now()
    result = {"tasks": 0, "policies": 0, "notices": 0}
    if person.status != PersonStatus.LEFT:
        result["tasks"] = RenewalTask.objects.filter(owner=person, status=TaskStatus.OPEN).update(
            owner=successor, updated_at=now
        )
    else:
        servicing = list(
            PolicyServicing.objects.select_related("policy")
            .filter(servicing_owner=person)
            .exclude(status__in=(*ENDINGS, ServicingStatus.MATURED, ServicingStatus.CANCELLED))
        )
        result["policies"], result["tasks"] = _move_servicing(
            servicing_ids=[s.pk for s in servicing], owner=successor, today=today, now=now
        )
        result["tasks"] += RenewalTask.objects.filter(owner=person, status=TaskStatus.OPEN).update(
            owner=successor, updated_at=now
        )
        due = left_on + dt.timedelta(days=rules.exit_notice_days)
        existing = set(
            ExitNotice.objects.filter(former_agent=person).values_list("policy_id", flat=True)
        )
        notices = [
            ExitNotice(
                policy_id=s.policy_id,
                former_agent=person,
                new_owner=successor,
                left_on=left_on,
                due_date=due,
            )
            for s in servicing
            if s.policy.term_years > rules.exit_notice_min_term_years
            and s.policy_id not in existing
        ]
        ExitNotice.objects.bulk_create(notices)
        result["notices"] = len(notices)
    if any(result.values()):
        audit_record(
            actor=actor,
            action="operations.servicing_on_leaving",
            instance=person,
            after={**result, "successor": successor.pk if successor else None},
        )
    return result


@transaction.atomic
def exit_notice_complete(
    *, notice: ExitNotice, channel: str, note: str, actor, at: dt.datetime | None = None
) -> ExitNotice:
    """The policyholder was told that their agent left and who serves them now."""
    _check_operator(actor)
    if channel not in NoticeChannel.values:
        raise ValidationFailed(_("Choose a channel"), fields={"channel": [_("unknown channel")]})
    note = _note(note)
    now = timezone.now()
    at = at or now
    if at > now + CLOCK_SKEW:
        raise ValidationFailed(_("The time lies in the future"), fields={"at": [_("future")]})
    notice = ExitNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.status != NoticeStatus.OPEN:
        raise NoticeClosed(_("This notice is %(s)s already") % {"s": notice.get_status_display()})
    notice.status = NoticeStatus.DONE
    notice.channel = channel
    notice.note = note
    notice.done_at = at
    notice.done_by = user_or_none(actor)
    notice.save()
    audit_record(
        actor=actor,
        action="operations.exit_notice_complete",
        instance=notice,
        after={"channel": channel, "done_at": at, "late": timezone.localdate(at) > notice.due_date},
        reason=note,
    )
    return notice


# --- Rule set versions -----------------------------------------------------------------------
RULESET_PARAMETERS = (
    "grace_days",
    "reinstatement_days",
    "reminder_days_before",
    "schedule_years_ahead",
    "renewal_recontact_days",
    "default_delivery_method",
    "delivery_overdue_days",
    "return_visit_categories",
    "return_visit_products",
    "return_visit_excluded_products",
    "return_visit_due_days",
    "return_visit_max_attempts",
    "exit_notice_days",
    "exit_notice_min_term_years",
    "exit_reassign_to",
)


def _check_lists(version: OperationsRuleSet) -> dict[str, list[str]]:
    from telesales.policies.choices import ProductCategory
    from telesales.policies.models import Product

    errors: dict[str, list[str]] = {}
    reminders = version.reminder_days_before
    if not isinstance(reminders, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 365 for d in reminders
    ):
        errors["reminder_days_before"] = [_("a list of whole days from 0 to 365, e.g. [30, 7, 1]")]
    categories = version.return_visit_categories
    if not isinstance(categories, list) or not set(map(str, categories)) <= set(
        ProductCategory.values
    ):
        errors["return_visit_categories"] = [_("a list of product categories")]
    codes = set(Product.objects.values_list("code", flat=True))
    for name in ("return_visit_products", "return_visit_excluded_products"):
        value = getattr(version, name)
        if not isinstance(value, list) or not set(map(str, value)) <= codes:
            errors[name] = [_("a list of known product codes")]
    return errors


@transaction.atomic
def operations_ruleset_create(
    *,
    actor,
    name: str,
    effective_from: dt.date,
    based_on: OperationsRuleSet | None = None,
    reason: str = "",
    **params: Any,
) -> OperationsRuleSet:
    """A new version of the operations rules, effective from today or later (a version in force
    is never edited: the grace periods and lapses it decided must stay explainable)."""
    deny_unless(permissions.can_manage_rules(actor), _("Only the center manager changes the rules"))
    unknown = sorted(set(params) - set(RULESET_PARAMETERS))
    if unknown:
        raise ValidationFailed(
            _("Unknown fields"), fields={k: [_("cannot be changed here")] for k in unknown}
        )
    if not isinstance(effective_from, dt.date) or effective_from < timezone.localdate():
        raise ValidationFailed(
            _("A new version applies from today or later"),
            fields={"effective_from": [_("today or later")]},
        )
    base = based_on or ruleset_in_force()
    version = OperationsRuleSet(
        name=(name or "").strip(),
        effective_from=effective_from,
        created_by=user_or_none(actor),
        **{f: getattr(base, f) for f in RULESET_PARAMETERS},
    )
    for key, value in params.items():
        setattr(version, key, value)
    errors = _check_lists(version)
    if errors:
        raise ValidationFailed(_("Invalid rules"), fields=errors)
    validate_instance(version)
    save_or_conflict(version)
    audit_record(
        actor=actor,
        action="operations.ruleset_create",
        instance=version,
        after=model_snapshot(version),
        reason=reason,
    )
    return version


__all__ = [
    "delivery_mark_delivered",
    "delivery_mark_failed",
    "delivery_mark_returned",
    "delivery_receipt_confirm",
    "delivery_send",
    "exit_notice_complete",
    "operations_ruleset_create",
    "policy_claim_terminate",
    "policy_reinstate",
    "policy_servicing_end",
    "policy_servicing_owner_set",
    "policy_surrender",
    "policy_transfer_out",
    "premium_due_waive",
    "premium_payment_record",
    "renewal_task_assign",
    "renewal_task_contact_record",
    "return_visit_misunderstanding_resolve",
    "return_visit_record",
    "servicing_on_person_stops_working",
    "servicing_transfer",
]
