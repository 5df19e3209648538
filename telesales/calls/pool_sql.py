"""Dispatch's candidate reads in hand-written SQL (ADR 0015).

"Next lead" reads its candidates — due follow-ups, the private pool, the public pool — with the
compliance conditions the database can evaluate, a few rows at a time, locked ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL (ADR 0011). Built with the ORM, each such query carried a dozen
correlated subqueries whose compilation cost more than the database spent running them (about
60 % of a dispatch on the reference machine); written once here, as text, it costs nothing to
build. This module is the one place those conditions are stated in SQL: ``dialable_sql`` is
used by every candidate read, and the guards (``calls.guards``) still confirm each candidate in
Python, so the SQL only has to be never stricter than the guards (a lead it drops is one the
guards would block) — ``tests/test_pool_sql.py`` holds both to that, case by case.

The text is plain SQL both engines accept; values go as parameters (datetimes adapted for the
engine), and rows read back are turned into model instances through Django's own converters,
so a lead read here is the lead the ORM would have read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from telesales.calls.choices import FollowUpStatus
from telesales.calls.guards import MAINLAND
from telesales.calls.models import CallAttempt, FollowUp
from telesales.core.rawsql import adapt_datetime, instance, select_list, value_as, width
from telesales.leads.choices import OPEN_STATES, LeadState
from telesales.leads.models import Customer, Lead

#: Placeholders for ``OPEN_STATES`` (as many as there are open states).
_OPEN = ", ".join(["%s"] * len(OPEN_STATES))


@dataclass
class _Sql:
    """SQL text under construction, with its parameters in order."""

    text: str = ""
    params: list = field(default_factory=list)

    def add(self, text: str, *params) -> _Sql:
        self.text += text
        self.params.extend(params)
        return self


# --- Facts the guards read, per lead --------------------------------------------------------
def _facts_columns(q: _Sql, at: dt.datetime) -> None:
    """What the guards read of each lead (``guards._facts``, the DNC list), as five columns
    after the model columns: attempts without a disposition, the last start, the last refused
    start, whether a call started within 48 hours, whether the number is on the active DNC
    list at ``at``."""
    q.add(
        ", (SELECT COUNT(*) FROM calls_callattempt a WHERE a.lead_id = l.id"
        " AND a.disposition_id IS NULL)"
        ", (SELECT MAX(a.started_at) FROM calls_callattempt a WHERE a.lead_id = l.id)"
        ", (SELECT MAX(a.started_at) FROM calls_callattempt a"
        " JOIN calls_disposition d ON d.id = a.disposition_id"
        " WHERE a.lead_id = l.id AND d.refusal)"
        ", EXISTS (SELECT 1 FROM calls_callattempt a WHERE a.lead_id = l.id"
        " AND a.started_at > %s AND a.started_at <= %s)",
        adapt_datetime(at - timedelta(hours=48)),
        adapt_datetime(at),
    )
    q.add(", ").add(*_on_dnc(at))


def _on_dnc(at: dt.datetime) -> tuple:
    return (
        "EXISTS (SELECT 1 FROM leads_dncentry n WHERE n.phone_hash = c.mobile_hash"
        " AND n.removed_at IS NULL AND (n.expires_at IS NULL OR n.expires_at > %s))",
        adapt_datetime(at),
    )


# --- The conditions ---------------------------------------------------------------------------
def dialable_sql(q: _Sql, *, agent, at: dt.datetime, rules) -> None:
    """Append the conditions under which the guards could let ``agent`` dial lead ``l``
    (customer ``c``) at ``at``: consent, no-marketing, DNC, grade, and — for mainland numbers,
    whose local time is Asia/Shanghai — the calling window, the cool-downs and the attempt
    caps. Never stricter than the guards: they confirm every lead read."""
    q.add(
        " AND l.consent_at IS NOT NULL AND l.consent_source <> '' AND NOT c.no_marketing"
        " AND l.required_grade <= %s",
        agent.capability_grade or 1,
    )
    q.add(" AND NOT ").add(*_on_dnc(at))
    local = at.astimezone(MAINLAND)
    if not (rules.window_start <= local.time().replace(tzinfo=None) < rules.window_end):
        q.add(" AND NOT (c.mobile_e164 LIKE '+86%%')")
    if rules.min_minutes_between_attempts:
        since = adapt_datetime(at - timedelta(minutes=rules.min_minutes_between_attempts))
        q.add(
            " AND NOT EXISTS (SELECT 1 FROM calls_callattempt a WHERE a.lead_id = l.id"
            " AND a.started_at > %s AND a.started_at <= %s)"
            " AND NOT (l.last_dialled_at IS NOT NULL"
            " AND l.last_dialled_at > %s AND l.last_dialled_at <= %s)",
            since,
            adapt_datetime(at),
            since,
            adapt_datetime(at),
        )
    if rules.refusal_cooldown_days:
        q.add(
            " AND NOT EXISTS (SELECT 1 FROM calls_callattempt a"
            " JOIN calls_disposition d ON d.id = a.disposition_id"
            " WHERE a.lead_id = l.id AND d.refusal AND a.started_at > %s)",
            adapt_datetime(at - timedelta(days=rules.refusal_cooldown_days)),
        )
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    q.add(
        " AND ((SELECT COUNT(*) FROM calls_callattempt a WHERE a.lead_id = l.id"
        " AND a.started_at >= %s AND a.started_at <= %s) < %s"
        " OR NOT (c.mobile_e164 LIKE '+86%%'))"
        " AND (SELECT COUNT(*) FROM calls_callattempt a WHERE a.lead_id = l.id"
        " AND a.started_at > %s AND a.started_at <= %s) < %s"
        " AND l.dial_count + (SELECT COUNT(*) FROM calls_callattempt a WHERE a.lead_id = l.id"
        " AND a.disposition_id IS NULL) < %s",
        adapt_datetime(day_start),
        adapt_datetime(at),
        rules.max_attempts_per_day,
        adapt_datetime(at - timedelta(hours=24)),
        adapt_datetime(at),
        rules.max_attempts_24h,
        rules.max_attempts_lifetime,
    )


def _private_pool(q: _Sql, *, agent, at: dt.datetime) -> None:
    """The agent's open leads, except those waiting for a follow-up booked for later."""
    q.add(
        f" AND l.owner_id = %s AND l.state IN ({_OPEN})"  # noqa: S608 - placeholders only
        " AND NOT EXISTS (SELECT 1 FROM calls_followup f WHERE f.lead_id = l.id"
        " AND f.status = %s AND f.due_at > %s)",
        agent.pk,
        *OPEN_STATES,
        FollowUpStatus.OPEN,
        adapt_datetime(at),
    )


def _public_pool(q: _Sql, *, agent, at: dt.datetime) -> None:
    """Public leads, except those this agent gave up while the former-owner bar lasts."""
    q.add(
        " AND l.state = %s AND l.owner_id IS NULL"
        " AND NOT (l.former_owner_id IS NOT NULL AND l.former_owner_id = %s"
        " AND l.former_owner_bar_until IS NOT NULL AND l.former_owner_bar_until > %s)",
        LeadState.PUBLIC,
        agent.pk,
        adapt_datetime(at),
    )


#: How each pool is walked (ADR 0011): the private pool never-dialled first, then grade A→D,
#: then the longest since the last dial; the public pool grade A→D, oldest first.
_ORDER = {
    "private": " ORDER BY CASE WHEN l.dial_count = 0 AND l.last_dialled_at IS NULL THEN 0"
    " ELSE 1 END, l.grade, (l.last_dialled_at IS NOT NULL), l.last_dialled_at, l.id",
    "public": " ORDER BY l.grade, l.id",
}
_POOL = {"private": _private_pool, "public": _public_pool}


def _exclude(q: _Sql, column: str, ids) -> None:
    if ids:
        q.add(f" AND {column} NOT IN ({', '.join(['%s'] * len(ids))})", *ids)


def _lock(q: _Sql, alias: str) -> None:
    if connection.features.has_select_for_update_skip_locked:
        q.add(f" FOR UPDATE OF {alias} SKIP LOCKED")


def work_due_flags(at: dt.datetime) -> dict[str, RawSQL]:
    """Annotations for a ``Person`` query: whether the person may have a follow-up due by
    ``at``, a post-sale service task due by ``at`` (on a lead), an open renewal task on a lead
    they own — supersets of what dispatch's first three sources look for."""
    from telesales.operations.choices import TaskStatus as RenewalTaskStatus
    from telesales.policies.choices import TaskStatus as ServiceTaskStatus

    def flag(sql: str, *params) -> RawSQL:
        return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - constant text

    return {
        "_due_followups": flag(
            "EXISTS (SELECT 1 FROM calls_followup f WHERE f.agent_id = org_person.id"
            " AND f.status = %s AND f.due_at <= %s)",
            FollowUpStatus.OPEN,
            adapt_datetime(at),
        ),
        "_due_service": flag(
            "EXISTS (SELECT 1 FROM policies_servicetask s WHERE s.agent_id = org_person.id"
            " AND s.status = %s AND s.due_at <= %s AND s.lead_id IS NOT NULL)",
            ServiceTaskStatus.OPEN,
            adapt_datetime(at),
        ),
        "_due_renewals": flag(
            "EXISTS (SELECT 1 FROM operations_renewaltask r"
            " JOIN policies_policy p ON p.id = r.policy_id JOIN leads_lead l ON l.id = p.lead_id"
            " WHERE r.owner_id = org_person.id AND r.status = %s AND l.owner_id = org_person.id)",
            RenewalTaskStatus.OPEN,
        ),
    }


# --- Reading rows back as the ORM would (core.rawsql) ------------------------------------
def _lead_with_facts(row: tuple) -> Lead:
    """A lead (customer selected) from ``l.*, c.*, facts`` with the ``_g_*`` attributes that
    ``guards.prefetched_facts`` reads."""
    n_lead, n_customer = width(Lead), width(Customer)
    lead = instance(Lead, row[:n_lead])
    customer = instance(Customer, row[n_lead : n_lead + n_customer])
    Lead._meta.get_field("customer").set_cached_value(lead, customer)
    undisposed, last_start, last_refusal, recent, dnc = row[n_lead + n_customer :]
    lead._g_undisposed = int(undisposed or 0)
    lead._g_last_start = value_as(CallAttempt, "started_at", last_start)
    lead._g_last_refusal = value_as(CallAttempt, "started_at", last_refusal)
    lead._g_recent = bool(recent)
    lead._g_dnc = bool(dnc)
    return lead


def _leads_query(at: dt.datetime) -> _Sql:
    q = _Sql().add(f"SELECT {select_list(Lead, 'l')}, {select_list(Customer, 'c')}")
    _facts_columns(q, at)
    return q.add(" FROM leads_lead l JOIN leads_customer c ON c.id = l.customer_id WHERE 1 = 1")


def _fetch(q: _Sql) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(q.text, q.params)
        return cursor.fetchall()


# --- The reads -------------------------------------------------------------------------------
def pool_candidates(pool: str, *, agent, at: dt.datetime, rules, seen=(), limit: int) -> list[Lead]:
    """Up to ``limit`` leads of ``pool`` (``"private"`` or ``"public"``) the database finds
    dialable by ``agent`` at ``at``, in the pool's order, skipping ``seen``; locked ``FOR
    UPDATE SKIP LOCKED`` where the engine has it. Each lead has its customer selected and the
    guards' facts prefetched (``lead_blocks_many(prefetched=True)``)."""
    q = _leads_query(at)
    _POOL[pool](q, agent=agent, at=at)
    dialable_sql(q, agent=agent, at=at, rules=rules)
    _exclude(q, "l.id", seen)
    q.add(_ORDER[pool]).add(" LIMIT %s", limit)
    _lock(q, "l")
    return [_lead_with_facts(row) for row in _fetch(q)]


def pool_has_more(pool: str, *, agent, at: dt.datetime, rules, seen=()) -> bool:
    """Whether ``pool`` still holds a lead the database finds dialable, locked or not (the
    public pool's last leads may all be in other agents' hands for a moment)."""
    q = _Sql().add(
        "SELECT 1 FROM leads_lead l JOIN leads_customer c ON c.id = l.customer_id WHERE 1 = 1"
    )
    _POOL[pool](q, agent=agent, at=at)
    dialable_sql(q, agent=agent, at=at, rules=rules)
    _exclude(q, "l.id", seen)
    return bool(_fetch(q.add(" LIMIT 1")))


def followup_candidates(*, agent, at: dt.datetime, rules, seen=(), limit: int) -> list[FollowUp]:
    """Up to ``limit`` of the agent's open follow-ups due by ``at`` on leads they own that the
    database finds dialable, earliest due first, locked ``FOR UPDATE SKIP LOCKED`` where the
    engine has it; each with its lead (customer selected, facts prefetched)."""
    q = _Sql().add(f"SELECT {select_list(FollowUp, 'f')}, {select_list(Lead, 'l')}")
    q.add(f", {select_list(Customer, 'c')}")
    _facts_columns(q, at)
    q.add(
        " FROM calls_followup f JOIN leads_lead l ON l.id = f.lead_id"
        " JOIN leads_customer c ON c.id = l.customer_id"
        " WHERE f.agent_id = %s AND f.status = %s AND f.due_at <= %s"
        f" AND l.owner_id = %s AND l.state IN ({_OPEN})",
        agent.pk,
        FollowUpStatus.OPEN,
        adapt_datetime(at),
        agent.pk,
        *OPEN_STATES,
    )
    dialable_sql(q, agent=agent, at=at, rules=rules)
    _exclude(q, "f.id", seen)
    q.add(" ORDER BY f.due_at, f.id LIMIT %s", limit)
    _lock(q, "f")
    n = width(FollowUp)
    out = []
    for row in _fetch(q):
        followup = instance(FollowUp, row[:n])
        FollowUp._meta.get_field("lead").set_cached_value(followup, _lead_with_facts(row[n:]))
        out.append(followup)
    return out
