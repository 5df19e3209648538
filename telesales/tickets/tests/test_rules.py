"""SLA targets as data: versions with effective dates, the defaults, and the new-version
service with its checks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.tickets import rules
from telesales.tickets.models import SlaRuleSet, SlaTarget
from telesales.tickets.rulesets import sla_ruleset_create

pytestmark = pytest.mark.django_db


def test_the_default_version_has_every_kind_and_priority(world):
    assert world.ruleset.targets.count() == 20
    assert rules.default_ruleset_ensure() == world.ruleset  # idempotent
    for (kind, priority), hours in rules.DEFAULT_TARGETS.items():
        row = SlaTarget.objects.get(ruleset=world.ruleset, kind=kind, priority=priority)
        assert (row.response_hours, row.resolution_hours) == hours


def test_without_any_version_the_documented_defaults_apply(db):
    assert not SlaRuleSet.objects.exists()
    targets = rules.targets_for(kind="complaint", priority="urgent", opened_at=timezone.now())
    assert (targets.response_hours, targets.resolution_hours) == (2, 24)
    assert targets.ruleset is None and targets.manager_escalation_hours == 24


def test_the_version_in_force_on_the_opening_day_gives_the_targets(world, open_ticket):
    today = timezone.localdate()
    newer = sla_ruleset_create(
        actor=world.boss.user,
        name="2026 收紧投诉时限",
        effective_from=today,
        targets={"complaint": {"urgent": {"response_hours": 1, "resolution_hours": 12}}},
    )
    yesterday = timezone.now() - dt.timedelta(days=1)
    old = open_ticket(priority="urgent", opened_at=yesterday)
    new = open_ticket(priority="urgent")
    assert old.sla_ruleset == world.ruleset
    assert old.response_due_at - old.opened_at == dt.timedelta(hours=2)
    assert new.sla_ruleset == newer
    assert new.response_due_at - new.opened_at == dt.timedelta(hours=1)
    assert new.resolution_due_at - new.opened_at == dt.timedelta(hours=12)
    # unchanged targets were copied from the defaults
    other = open_ticket(priority="low")
    assert other.resolution_due_at - other.opened_at == dt.timedelta(hours=120)


def test_a_new_version_never_changes_the_due_times_of_open_tickets(world, open_ticket):
    ticket = open_ticket(priority="high")
    due = (ticket.response_due_at, ticket.resolution_due_at)
    sla_ruleset_create(
        actor=world.boss.user,
        name="更宽松",
        effective_from=timezone.localdate(),
        targets={"complaint": {"high": {"response_hours": 48, "resolution_hours": 400}}},
    )
    ticket.refresh_from_db()
    assert (ticket.response_due_at, ticket.resolution_due_at) == due


def test_a_version_copies_its_base_and_is_audited(world):
    base = sla_ruleset_create(
        actor=world.boss.user,
        name="基础",
        effective_from=timezone.localdate(),
        targets={"other": {"low": {"response_hours": 72, "resolution_hours": 300}}},
        manager_escalation_hours=12,
    )
    copy = sla_ruleset_create(
        actor=world.boss.user,
        name="副本",
        effective_from=timezone.localdate() + dt.timedelta(days=3),
        based_on=base,
        targets={"other": {"low": {"resolution_hours": 280}}},
        reason="调整",
    )
    assert rules.target_matrix(copy)[("other", "low")] == (72, 280)
    assert copy.manager_escalation_hours == 12
    entry = AuditEntry.objects.get(action="tickets.sla_ruleset_create", object_id=str(copy.pk))
    assert entry.after["based_on"] == base.pk and entry.reason == "调整"
    assert rules.ruleset_in_force() == base
    assert rules.ruleset_in_force(on=timezone.localdate() + dt.timedelta(days=3)) == copy


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "a\x00"}, "name"),
        ({"effective_from": dt.date(2020, 1, 1)}, "effective_from"),
        ({"effective_from": "2030-01-01"}, "effective_from"),
        ({"manager_escalation_hours": 0}, "manager_escalation_hours"),
        ({"manager_escalation_hours": 721}, "manager_escalation_hours"),
        ({"targets": {"praise": {"low": {"response_hours": 1}}}}, "targets"),
        ({"targets": {"complaint": {"critical": {"response_hours": 1}}}}, "targets"),
        ({"targets": {"complaint": {"low": {"response_hours": 0}}}}, "complaint__low__response"),
        (
            {"targets": {"complaint": {"low": {"resolution_hours": 8761}}}},
            "complaint__low__resolution",
        ),
        ({"targets": {"complaint": {"low": {"response_hours": "x"}}}}, "complaint__low__response"),
        (
            {"targets": {"complaint": {"low": {"response_hours": 50, "resolution_hours": 40}}}},
            "complaint__low__resolution",
        ),
        ({"targets": {"complaint": {"low": {"minutes": 5}}}}, "targets"),
    ],
)
def test_a_version_with_a_broken_rule_is_refused_with_a_field_message(world, kwargs, field):
    args = {"actor": world.boss.user, "name": "新版本", "effective_from": timezone.localdate()}
    args.update(kwargs)
    count = SlaRuleSet.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        sla_ruleset_create(**args)
    assert field in exc.value.fields, exc.value.fields
    assert SlaRuleSet.objects.count() == count


def test_only_the_manager_changes_the_targets(world):
    for person in (world.ops, world.lead_a, world.alice):
        with pytest.raises(PermissionDenied):
            sla_ruleset_create(actor=person.user, name="x", effective_from=timezone.localdate())
