"""The pages: who may open what (and sees which rows), one happy path and one refusal per
action, the renewal-operations home, and a crawl of the demo center's pages that finds no full
phone number."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from telesales.core.phone_numbers import PHONE_LIKE
from telesales.operations.choices import PremiumStatus, TaskStatus
from telesales.operations.models import (
    Delivery,
    ExitNotice,
    PolicyServicing,
    PremiumDue,
    ReceiptBatch,
    RenewalTask,
    ReturnVisit,
)
from telesales.operations.scheduling import add_months, operations_advance, operations_sync

TODAY = timezone.localdate()
LIST_PAGES = [
    "operations:home",
    "operations:renewal_list",
    "operations:lapsed_list",
    "operations:delivery_list",
    "operations:visit_list",
    "operations:exit_list",
    "operations:receipt_list",
    "operations:persistency",
    "operations:ruleset_list",
    "operations:my_renewals",
]


@pytest.fixture
def due_now(world, policy):
    """alice's annual policy whose 2nd premium falls due today, and bob's due in 10 days."""
    mine = policy(issued_on=add_months(TODAY, -12), number="DUE-TODAY-1")
    bobs = policy(
        issued_on=add_months(TODAY, -12) + dt.timedelta(days=10), agent=world.bob, number="BOB-1"
    )
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    return mine, bobs


def task_of(policy):
    return RenewalTask.objects.get(policy=policy, premium_due__period=2)


# --- Access -----------------------------------------------------------------------------------
EXPECTED = {
    # page: roles that may open it (others get 403)
    "operations:home": {"ops", "boss", "plan"},
    "operations:receipt_list": {"ops", "boss"},
    "operations:my_renewals": {"ops", "boss", "alice", "lead_a"},
    "operations:persistency": {"ops", "boss", "plan", "alice", "lead_a"},
}


@pytest.mark.parametrize("name", LIST_PAGES)
def test_each_page_opens_for_its_roles_and_is_403_for_the_others(world, page_for, due_now, name):
    people = {
        "ops": world.ops,
        "boss": world.manager,
        "plan": world.planner,
        "alice": world.alice,
        "lead_a": world.lead_a,
        "hr1": world.hr,
    }
    default = {"ops", "boss", "plan", "alice", "lead_a"}
    allowed = EXPECTED.get(name, default)
    for key, person in people.items():
        response = page_for(person).get(reverse(name))
        expected = 200 if key in allowed else 403
        assert response.status_code == expected, (name, key, response.status_code)


def test_renewal_ops_land_on_their_home(world, page_for):
    response = page_for(world.ops).get("/")
    assert response.status_code == 302 and response["Location"] == reverse("operations:home")


def test_an_agent_sees_only_their_own_renewals(world, page_for, due_now):
    mine, bobs = due_now
    body = page_for(world.alice).get(reverse("operations:renewal_list") + "?queue=open").content
    assert b"DUE-TODAY-1" in body and b"BOB-1" not in body
    assert (
        page_for(world.alice)
        .get(reverse("operations:renewal_detail", args=[task_of(bobs).pk]))
        .status_code
        == 404
    )
    assert (
        page_for(world.lead_b)
        .get(reverse("operations:renewal_detail", args=[task_of(mine).pk]))
        .status_code
        == 404
    )
    assert (
        page_for(world.lead_a)
        .get(reverse("operations:renewal_detail", args=[task_of(mine).pk]))
        .status_code
        == 200
    )
    assert (
        page_for(world.alice)
        .get(reverse("operations:servicing_detail", args=[bobs.pk]))
        .status_code
        == 404
    )
    mine_page = page_for(world.alice).get(reverse("operations:my_renewals")).content
    assert b"DUE-TODAY-1" in mine_page and b"BOB-1" not in mine_page


# --- Renewal task actions ---------------------------------------------------------------------
def test_operations_record_a_due_renewal_as_paid_from_its_page(world, page_for, due_now):
    mine, _bobs = due_now
    task = task_of(mine)
    client = page_for(world.ops)
    queue = client.get(reverse("operations:renewal_list") + "?queue=today").content.decode()
    assert reverse("operations:renewal_detail", args=[task.pk]) in queue
    page = client.get(reverse("operations:renewal_detail", args=[task.pk]))
    assert page.status_code == 200 and b'data-testid="pay-form"' in page.content

    response = client.post(
        reverse("operations:renewal_pay", args=[task.pk]),
        {"paid_date": TODAY.isoformat(), "amount": "1200.00", "note": ""},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.premium_due.status == PremiumStatus.PAID


def test_a_wrong_amount_is_shown_on_the_form_with_422(world, page_for, due_now):
    mine, _bobs = due_now
    task = task_of(mine)
    response = page_for(world.ops).post(
        reverse("operations:renewal_pay", args=[task.pk]),
        {"paid_date": TODAY.isoformat(), "amount": "1000.00"},
    )
    assert response.status_code == 422
    assert b'data-testid="field-error-amount"' in response.content
    assert PremiumDue.objects.get(pk=task.premium_due_id).status == PremiumStatus.DUE


def test_agents_may_not_post_payments_but_record_contacts(world, page_for, due_now):
    mine, _bobs = due_now
    task = task_of(mine)
    client = page_for(world.alice)
    response = client.post(
        reverse("operations:renewal_pay", args=[task.pk]),
        {"paid_date": TODAY.isoformat(), "amount": "1200.00"},
    )
    assert response.status_code == 403
    response = client.post(
        reverse("operations:renewal_contact", args=[task.pk]),
        {"outcome": "promised", "note": "本周内缴费"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.contact_count == 1
    refused = client.post(
        reverse("operations:renewal_contact", args=[task.pk]), {"outcome": "refused", "note": ""}
    )
    assert refused.status_code == 422


def test_outcome_and_ending_choices_start_blank_and_must_be_chosen(world, page_for, due_now):
    # The contact form opened on "Reached: will pay", the return visit on "Confirmed", the
    # ending on "Surrendered": a record sent without choosing took the first option silently.
    mine, _bobs = due_now
    task = task_of(mine)
    client = page_for(world.ops)
    html = client.get(reverse("operations:renewal_detail", args=[task.pk])).content.decode()
    outcome = html[html.index('name="outcome"') :]
    assert outcome[: outcome.index("</select>")].count('<option value="" selected>') == 1
    sent = client.post(
        reverse("operations:renewal_contact", args=[task.pk]), {"note": "客户说下周缴费"}
    )
    assert sent.status_code == 422
    page = sent.content.decode()
    assert "请选择结果" in page and "客户说下周缴费" in page  # the note typed is kept
    task.refresh_from_db()
    assert task.contact_count == 0
    ended = client.post(
        reverse("operations:policy_end", args=[mine.pk]),
        {"on": TODAY.isoformat(), "note": "客户来电办理"},
    )
    assert ended.status_code == 422 and "客户来电办理" in ended.content.decode()
    assert PolicyServicing.objects.get(policy=mine).status == "in_force"


def test_a_return_visit_is_not_recorded_without_an_outcome(world, page_for, policy):
    p = policy(issued_on=TODAY - dt.timedelta(days=30))
    operations_sync(today=TODAY)
    visit = ReturnVisit.objects.get(policy=p)
    client = page_for(world.ops)
    html = client.get(reverse("operations:visit_detail", args=[visit.pk])).content.decode()
    outcome = html[html.index('name="outcome"') :]
    assert '<option value="" selected>' in outcome[: outcome.index("</select>")]
    sent = client.post(reverse("operations:visit_record", args=[visit.pk]), {"note": "已回访"})
    assert sent.status_code == 422 and "请选择结果" in sent.content.decode()
    visit.refresh_from_db()
    assert visit.status == "open" and visit.attempts == 0


def test_reassigning_a_task_to_the_pool(world, page_for, due_now):
    mine, _bobs = due_now
    task = task_of(mine)
    response = page_for(world.ops).post(
        reverse("operations:renewal_assign", args=[task.pk]), {"owner": "", "reason": "休假"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.owner is None


# --- Policy in servicing ----------------------------------------------------------------------
def test_servicing_page_and_delivery_actions(world, page_for, policy):
    p = policy(
        issued_on=TODAY - dt.timedelta(days=3),
        status="issued",
        receipt_date=None,
        free_look_end=None,
    )
    operations_sync(today=TODAY)
    client = page_for(world.ops)
    url = reverse("operations:servicing_detail", args=[p.pk])
    assert client.get(url).status_code == 200
    bad = client.post(
        reverse("operations:delivery_action", args=[p.pk, "send"]),
        {"method": "paper", "sent_on": TODAY.isoformat(), "tracking_ref": ""},
    )
    assert bad.status_code == 422 and b"field-error-tracking_ref" in bad.content
    ok = client.post(
        reverse("operations:delivery_action", args=[p.pk, "send"]),
        {"method": "electronic", "sent_on": TODAY.isoformat()},
    )
    assert ok.status_code == 302
    ok = client.post(
        reverse("operations:delivery_action", args=[p.pk, "receipt"]), {"day": TODAY.isoformat()}
    )
    assert ok.status_code == 302
    assert Delivery.objects.get(policy=p).receipt_confirmed_on == TODAY
    assert (
        client.post(reverse("operations:delivery_action", args=[p.pk, "explode"]), {}).status_code
        == 404
    )
    assert (
        page_for(world.alice)
        .post(reverse("operations:delivery_action", args=[p.pk, "send"]), {})
        .status_code
        == 403
    )


def test_a_refused_delivery_action_opens_its_section_and_shows_its_errors_only_there(
    world, page_for, policy
):
    # The forms are folded (<details>): a refused one used to come back folded, so nothing
    # visible happened, and "delivered" and "receipt" (the same kind of form) both showed
    # the error and the typed day.
    p = policy(
        issued_on=TODAY - dt.timedelta(days=3),
        status="issued",
        receipt_date=None,
        free_look_end=None,
    )
    operations_sync(today=TODAY)
    client = page_for(world.ops)
    sent = client.post(
        reverse("operations:delivery_action", args=[p.pk, "send"]),
        {"method": "electronic", "sent_on": TODAY.isoformat()},
    )
    assert sent.status_code == 302
    future = (TODAY + dt.timedelta(days=5)).isoformat()
    bad = client.post(
        reverse("operations:delivery_action", args=[p.pk, "delivered"]), {"day": future}
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert re.search(r'<details class="mb-1" open data-testid="delivery-delivered">', html)
    assert re.search(r'<details class="mb-1" data-testid="delivery-receipt">', html)
    assert html.count('data-testid="form-errors"') == 1
    assert html.count(f'value="{future}"') == 1
    section = html[html.index('data-testid="delivery-delivered"') :]
    assert section.index('data-testid="form-errors"') < section.index("</details>")


def test_a_refused_waiver_shows_its_error_on_its_own_row_opened(world, page_for, policy):
    p = policy(issued_on=TODAY - dt.timedelta(days=10), number="WAIVE-1", payment_mode="monthly")
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    dues = list(PremiumDue.objects.filter(policy=p, period__gt=1).order_by("period"))
    waivable = [d for d in dues if d.status in (PremiumStatus.DUE, PremiumStatus.IN_GRACE)]
    assert len(waivable) >= 2
    target = waivable[-1]
    client = page_for(world.ops)
    url = reverse("operations:premium_waive", args=[p.pk, target.pk])
    bad = client.post(url, {"reason": "x"})  # too short
    assert bad.status_code == 422
    html = bad.content.decode()
    # Only the row sent shows the error (it used to be repeated on every row), opened.
    assert html.count('data-testid="field-error-reason"') == 1
    assert f'<details open data-testid="waive-{target.pk}">' in html
    assert f'<details data-testid="waive-{waivable[0].pk}">' in html
    # A premium that offers no waiver any more (waived meanwhile by a colleague): the refusal
    # shows above the schedule, not on a form that is not there.
    from telesales.operations.services import premium_due_waive

    premium_due_waive(due=target, reason="客户豁免保费", actor=world.ops.user)
    stale = client.post(url, {"reason": "客户豁免保费"})
    assert stale.status_code == 409
    assert 'data-testid="waive-errors"' in stale.content.decode()


def test_a_lapsed_policy_offers_no_waiver_and_says_why(world, page_for, policy):
    p = policy(issued_on=dt.date(2022, 1, 10), number="LAPSED-W")
    operations_sync(today=dt.date(2022, 1, 11))
    operations_advance(today=dt.date(2023, 3, 12))
    later = PremiumDue.objects.get(policy=p, period=3)
    assert later.status == PremiumStatus.DUE  # fell due after the lapse
    client = page_for(world.ops)
    url = reverse("operations:servicing_detail", args=[p.pk])
    html = client.get(url).content.decode()
    assert 'data-testid="waive-' not in html.replace('data-testid="waive-refusal"', "")
    assert 'data-testid="waive-refusal"' in html and "2023-03-12" in html
    refused = client.post(
        reverse("operations:premium_waive", args=[p.pk, later.pk]), {"reason": "客户申请豁免"}
    )
    assert refused.status_code == 409
    page = refused.content.decode()
    errors = page[page.index('data-testid="waive-errors"') :]
    assert "LAPSED-W" in errors[: errors.index("</div></div>")]
    assert PremiumDue.objects.get(pk=later.pk).status == PremiumStatus.DUE
    # Reinstated: the waiver is offered again on the premiums still to come.
    client.post(
        reverse("operations:policy_reinstate", args=[p.pk]), {"on": "2023-04-01", "note": ""}
    )
    html = client.get(url).content.decode()
    assert f'data-testid="waive-{later.pk}"' in html and 'data-testid="waive-refusal"' not in html


def test_ending_and_owner_forms(world, page_for, due_now):
    mine, _bobs = due_now
    client = page_for(world.ops)
    missing = client.post(
        reverse("operations:policy_end", args=[mine.pk]),
        {"status": "surrendered", "on": TODAY.isoformat(), "note": ""},
    )
    assert missing.status_code == 422
    owner = client.post(
        reverse("operations:policy_owner", args=[mine.pk]),
        {"owner": world.amy.pk, "reason": "客户要求更换服务人员"},
    )
    assert owner.status_code == 302
    assert task_of(mine).owner == world.amy
    ended = client.post(
        reverse("operations:policy_end", args=[mine.pk]),
        {"status": "surrendered", "on": TODAY.isoformat(), "note": "客户退保"},
    )
    assert ended.status_code == 302
    assert task_of(mine).status == TaskStatus.CANCELLED


def test_the_end_form_refuses_a_day_before_the_lapse_and_keeps_what_was_typed(
    world, page_for, policy
):
    p = policy(issued_on=dt.date(2022, 1, 10))
    operations_sync(today=dt.date(2022, 1, 11))
    operations_advance(today=dt.date(2023, 3, 12))  # the 2nd premium lapses on day 61
    client = page_for(world.ops)
    url = reverse("operations:policy_end", args=[p.pk])
    early = client.post(url, {"status": "surrendered", "on": "2023-03-01", "note": "客户来电退保"})
    assert early.status_code == 422
    page = early.content.decode()
    error = re.search(r'data-testid="field-error-on">([^<]*)<', page)
    assert error and error.group(1) == "已失效保单的终止日期不能早于失效日期（2023-03-12）"
    assert "客户来电退保" in page and 'value="2023-03-01"' in page
    servicing = PolicyServicing.objects.get(policy=p)
    assert servicing.status == "lapsed" and servicing.terminated_on is None
    assert PremiumDue.objects.get(policy=p, period=2).status == PremiumStatus.LAPSED

    short = client.post(url, {"status": "surrendered", "on": "2023-03-12", "note": "退"})
    assert short.status_code == 422
    error = re.search(r'data-testid="field-error-note">([^<]*)<', short.content.decode())
    assert error and error.group(1) == "至少 2 个字符"

    ended = client.post(url, {"status": "surrendered", "on": "2023-03-12", "note": "失效后退保"})
    assert ended.status_code == 302
    assert PremiumDue.objects.get(policy=p, period=2).status == PremiumStatus.LAPSED


# --- Return visits and exit notices -----------------------------------------------------------
def test_visit_record_and_resolve_pages(world, page_for, policy):
    p = policy(issued_on=TODAY - dt.timedelta(days=30))
    operations_sync(today=TODAY)
    visit = ReturnVisit.objects.get(policy=p)
    url = reverse("operations:visit_record", args=[visit.pk])
    assert (
        page_for(world.ops).post(url, {"outcome": "misunderstanding", "note": ""}).status_code
        == 422
    )
    assert (
        page_for(world.ops)
        .post(url, {"outcome": "misunderstanding", "note": "以为是存款"})
        .status_code
        == 302
    )
    page = page_for(world.lead_a).get(reverse("operations:visit_detail", args=[visit.pk]))
    assert b'data-testid="resolve-form"' in page.content
    assert (
        page_for(world.lead_a)
        .post(reverse("operations:visit_resolve", args=[visit.pk]), {"note": "已重新说明"})
        .status_code
        == 302
    )
    visit.refresh_from_db()
    assert visit.counts_as_done


def test_exit_notice_page_completes_a_notice(world, page_for, due_now):
    from telesales.org.services import person_update

    person_update(person=world.alice, actor=world.hr.user, status="left", left_on=TODAY)
    notice = ExitNotice.objects.get()
    client = page_for(world.ops)
    assert b"DUE-TODAY-1" in client.get(reverse("operations:exit_list")).content
    response = client.post(
        reverse("operations:exit_complete", args=[notice.pk]), {"channel": "sms"}
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == "done"
    transfer = client.post(
        reverse("operations:servicing_transfer"),
        {"from_person": world.alice.pk, "to_person": world.amy.pk, "reason": ""},
    )
    assert transfer.status_code == 422


def test_the_transfer_form_names_people_not_dates(world, page_for):
    # Its fields were labelled with the date-range words "From"/"To" (起始日期/截止日期).
    html = page_for(world.ops).get(reverse("operations:exit_list")).content.decode()
    assert '<label class="form-label small mb-0" for="id_from_person">移交人' in html
    assert '<label class="form-label small mb-0" for="id_to_person">接收人' in html
    assert "起始日期" not in html and "截止日期" not in html


# --- Receipts and persistency -----------------------------------------------------------------
def test_receipt_upload_page(world, page_for, due_now):
    client = page_for(world.ops)
    content = "保单号,期次,金额,缴费日期\nDUE-TODAY-1,2,1200,{d}\nNOPE,2,1,{d}\n".format(
        d=TODAY.isoformat()
    )
    upload = io.BytesIO(content.encode())
    upload.name = "r.csv"
    response = client.post(reverse("operations:receipt_list"), {"file": upload})
    batch = ReceiptBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("operations:receipt_detail", args=[batch.pk])
    detail = client.get(response["Location"])
    assert b'data-testid="rejection-table"' in detail.content
    report = client.get(reverse("operations:receipt_report", args=[batch.pk]) + "?format=csv")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    bad = io.BytesIO(b"")
    bad.name = "empty.csv"
    refused = client.post(reverse("operations:receipt_list"), {"file": bad})
    assert refused.status_code == 422
    assert ReceiptBatch.objects.count() == 1


def test_a_bad_breakdown_does_not_change_the_month_shown(world, page_for):
    # The month asked for was dropped (the default month's figures under the month typed)
    # whenever another field of the form was invalid.
    url = reverse("operations:persistency")
    page = page_for(world.manager).get(url, {"month": "2024-05", "by": "bogus"})
    assert page.status_code == 200
    assert page.context["month"] == "2024-05"
    assert page.context["figures"]["month"] == "2024-05"
    assert page.context["form"].errors["by"]


def test_persistency_page_draws_the_trend_and_scopes_agents(world, page_for, policy):
    policy(issued_on=add_months(TODAY, -13), annualised_premium=Decimal("1000"))
    operations_sync(today=TODAY)
    page = page_for(world.manager).get(reverse("operations:persistency"))
    assert page.status_code == 200
    assert b'id="chart-persistency"' in page.content and b'id="chart-data"' in page.content
    bad = page_for(world.manager).get(reverse("operations:persistency") + "?month=2026-13")
    assert bad.status_code in (200, 422)
    agent = page_for(world.bob).get(reverse("operations:persistency"))
    assert agent.status_code == 200 and b"persistency-breakdown" not in agent.content


def test_persistency_page_refuses_a_month_that_has_not_begun(world, page_for):
    url = reverse("operations:persistency")
    current = f"{TODAY:%Y-%m}"
    following = f"{TODAY.replace(day=28) + dt.timedelta(days=7):%Y-%m}"
    client = page_for(world.manager)
    page = client.get(url, {"month": following})
    assert page.status_code == 422
    html = page.content.decode()
    error = html[html.index('data-testid="persistency-error"') :]
    assert following in error[: error.index("</div>")] and current in error[: error.index("</div>")]
    assert 'data-testid="rate-13m"' not in html  # no zeros that look like figures
    assert f'max="{current}"' in html and f'value="{following}"' in html  # kept as typed
    # The current month is measured (provisionally).
    assert client.get(url, {"month": current}).status_code == 200
    # A year out of range says so, naming the range (it used to say "YYYY-MM").
    far = client.get(url, {"month": "1999-12"})
    assert far.status_code == 422
    text = far.content.decode()
    error = text[text.index('data-testid="persistency-error"') :]
    assert "2000" in error[: error.index("</div>")] and "2100" in error[: error.index("</div>")]


def test_a_team_lead_is_offered_only_their_team_and_told_what_they_see(world, page_for, policy):
    month = add_months(TODAY, -1)
    issued = add_months(month, -12)
    policy(issued_on=issued, annualised_premium=Decimal("1000"), number="A-OWN")
    # Sold by alice (now in team A) while credited to team B: in lead_a's sight, but part of
    # team B's figures, not team A's.
    policy(issued_on=issued, annualised_premium=Decimal("500"), team=world.team_b, number="A-B")
    operations_sync(today=TODAY)
    url = reverse("operations:persistency")
    page = page_for(world.lead_a).get(url, {"month": f"{month:%Y-%m}"})
    assert page.status_code == 200
    html = page.content.decode()
    select = html[html.index('name="team"') : html.index("</select>", html.index('name="team"'))]
    assert '<option value=""' not in select  # no "whole center": they cannot see it
    assert select.count("<option") == 1 and "A组" in select
    scope = html[html.index('data-testid="persistency-scope"') :]
    assert "A组" in scope[: scope.index("</p>")]
    assert page.context["figures"]["team_id"] == world.team_a.pk
    rows = {row["name"]: row for row in page.context["breakdown"]}
    assert list(rows) == ["A组"]  # B组 is not theirs, even with a policy of theirs in sight
    assert rows["A组"]["13m"]["denominator"] == page.context["figures"]["13m"]["denominator"]
    agents = page_for(world.lead_a).get(url, {"month": f"{month:%Y-%m}", "by": "agent"})
    assert [r["name"] for r in agents.context["breakdown"]] == ["alice"]
    # The manager is offered the whole center, and told that is what they see.
    boss = page_for(world.manager).get(url, {"month": f"{month:%Y-%m}"}).content.decode()
    select = boss[boss.index('name="team"') : boss.index("</select>", boss.index('name="team"'))]
    assert '<option value=""' in select
    scope = boss[boss.index('data-testid="persistency-scope"') :]
    assert "A组" not in scope[: scope.index("</p>")]
    # An agent: their own policies, no team choice.
    mine = page_for(world.alice).get(url, {"month": f"{month:%Y-%m}"}).content.decode()
    assert 'name="team"' not in mine
    scope = mine[mine.index('data-testid="persistency-scope"') :]
    assert "alice" in scope[: scope.index("</p>")]


def test_a_rule_version_is_named_not_given_a_persons_name(world, page_for):
    # "Name" alone is a person's name (姓名) in the catalogue; a rule version has a 名称.
    client = page_for(world.manager)
    form = client.get(reverse("operations:ruleset_create")).content.decode()
    assert '<label class="form-label small mb-0" for="id_name">名称' in form
    listing = client.get(reverse("operations:ruleset_list")).content.decode()
    assert "<th>名称</th>" in listing and "<th>姓名</th>" not in listing


def test_rule_versions_page(world, page_for):
    client = page_for(world.manager)
    assert client.get(reverse("operations:ruleset_create")).status_code == 200
    assert page_for(world.ops).get(reverse("operations:ruleset_create")).status_code == 403
    data = {
        "name": "新规则",
        "effective_from": TODAY.isoformat(),
        "grace_days": "45",
        "reinstatement_days": "730",
        "reminder_days_before": "15, 3",
        "schedule_years_ahead": "3",
        "renewal_recontact_days": "7",
        "default_delivery_method": "electronic",
        "delivery_overdue_days": "7",
        "return_visit_categories": ["life"],
        "return_visit_products": "",
        "return_visit_excluded_products": "",
        "return_visit_due_days": "10",
        "return_visit_max_attempts": "3",
        "exit_notice_days": "30",
        "exit_notice_min_term_years": "1",
        "exit_reassign_to": "pool",
    }
    assert (
        client.post(
            reverse("operations:ruleset_create"), {**data, "reminder_days_before": "x"}
        ).status_code
        == 422
    )
    assert client.post(reverse("operations:ruleset_create"), data).status_code == 302
    from telesales.operations.rules import ruleset_in_force

    assert ruleset_in_force().grace_days == 45
    assert ruleset_in_force().reminder_offsets == [15, 3]
    # The categories that need a return visit are named, not shown as codes.
    page = client.get(reverse("operations:ruleset_list")).content.decode()
    assert "寿险" in page and ">life<" not in page


# --- Crawl of the demo center -----------------------------------------------------------------
NATIONAL = re.compile(r"(?=(1[3-9]\d{9}))")


def test_demo_pages_show_no_full_phone_number(ops_demo, client_for):
    """The renewal officer, a team lead and an agent open the operations pages of the demo
    (seeded once for the three: a seeding costs seconds)."""
    from telesales.leads.models import Customer

    numbers = {c.mobile_e164[3:] for c in Customer.objects.all() if c.mobile_e164.startswith("+86")}
    urls = [reverse(name) for name in LIST_PAGES]
    urls += [reverse("operations:renewal_list") + f"?queue={q}" for q in ("open", "grace", "done")]
    urls += [reverse("operations:visit_list") + f"?queue={q}" for q in ("open", "flagged", "done")]
    urls += [reverse("operations:delivery_list") + "?queue=all"]
    for task in RenewalTask.objects.all()[:10]:
        urls.append(reverse("operations:renewal_detail", args=[task.pk]))
        urls.append(reverse("operations:servicing_detail", args=[task.policy_id]))
    for visit in ReturnVisit.objects.all()[:5]:
        urls.append(reverse("operations:visit_detail", args=[visit.pk]))
    for batch in ReceiptBatch.objects.all():
        urls.append(reverse("operations:receipt_detail", args=[batch.pk]))
    for username in ("renewal", "teamlead1", "agent1"):
        client = client_for(username)
        opened = 0
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 403, 404), (username, url, response.status_code)
            if response.status_code != 200:
                continue
            opened += 1
            body = response.content.decode()
            found = PHONE_LIKE.search(body)
            assert not found, (username, url, found.group(0) if found else "")
            assert not set(NATIONAL.findall(body)) & numbers, (username, url)
        assert opened >= 5, username


def test_queues_keep_a_query_ceiling(world, page_for, policy, django_assert_max_num_queries):
    for n in range(8):
        policy(issued_on=add_months(TODAY, -12), number=f"Q-{n}")
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    client = page_for(world.ops)
    client.get(reverse("operations:home"))  # warm the session and the caches
    for name in ("operations:renewal_list", "operations:home", "operations:delivery_list"):
        with django_assert_max_num_queries(25):
            assert client.get(reverse(name)).status_code == 200


def test_a_team_leads_misunderstanding_tab_lists_every_one_of_their_teams(world, page_for, policy):
    """The 理解偏差 tab of a team lead lists every unresolved misunderstanding on their teams'
    policies — also one flagged to their predecessor — and the visit page lets them resolve
    those of the agents they lead now."""
    from telesales.core.roles import Role
    from telesales.operations.tests.factories import PersonFactory, UserFactory

    p = policy(issued_on=TODAY - dt.timedelta(days=30), number="MIS-1")
    operations_sync(today=TODAY)
    visit = ReturnVisit.objects.get(policy=p)
    record = reverse("operations:visit_record", args=[visit.pk])
    ops = page_for(world.ops)
    assert (
        ops.post(record, {"outcome": "misunderstanding", "note": "以为是存款"}).status_code == 302
    )
    successor = PersonFactory(
        team=world.team_a, user=UserFactory(username="lead_a2", roles=[Role.TEAM_LEAD])
    )
    world.team_a.leader = successor
    world.team_a.save()
    lead = page_for(successor)
    tab = lead.get(reverse("operations:visit_list"), {"queue": "flagged"}).content.decode()
    assert "MIS-1" in tab
    detail = lead.get(reverse("operations:visit_detail", args=[visit.pk]))
    assert b'data-testid="resolve-form"' in detail.content
    resolve = reverse("operations:visit_resolve", args=[visit.pk])
    assert lead.post(resolve, {"note": "已重新说明"}).status_code == 302
    visit.refresh_from_db()
    assert visit.counts_as_done
    tab = lead.get(reverse("operations:visit_list"), {"queue": "flagged"}).content.decode()
    assert "MIS-1" not in tab


def test_the_reinstatement_form_says_what_is_owed_today(world, page_for, policy):
    """QA: the form said the arrears would be recorded as paid but never how much, so the
    officer had nothing to check the amount collected against."""
    from decimal import Decimal

    p = policy(issued_on=dt.date(2022, 1, 10), annualised_premium=Decimal("2400"))
    operations_sync(today=dt.date(2022, 1, 11))
    operations_advance(today=dt.date(2023, 3, 12))  # the 2nd premium lapsed
    page = page_for(world.ops).get(reverse("operations:servicing_detail", args=[p.pk]))
    arrears = page.context["arrears"]
    unpaid = PremiumDue.objects.filter(
        policy=p, status__in=("due", "in_grace", "lapsed"), due_date__lte=TODAY
    )
    assert arrears["n"] == unpaid.count() >= 1
    assert arrears["amount"] == sum(d.amount for d in unpaid)
    html = page.content.decode()
    assert 'data-testid="arrears"' in html and f"¥{arrears['amount']:,.2f}" in html


def test_the_renewal_queue_finds_an_agents_tasks_and_a_months(world, page_for, due_now):
    """QA: searching the queue for an agent's name or a month found nothing, so "what does
    agent X still have open" had no answer there."""
    mine, _bobs = due_now
    ops = page_for(world.ops)
    url = reverse("operations:renewal_list")
    by_agent = ops.get(url, {"queue": "open", "q": world.bob.name}).content
    assert b"BOB-1" in by_agent and b"DUE-TODAY-1" not in by_agent
    month = f"{task_of(mine).due_date:%Y-%m}"
    by_month = ops.get(url, {"queue": "open", "q": month}).content
    assert b"DUE-TODAY-1" in by_month
    nothing = ops.get(url, {"queue": "open", "q": "1999-01"}).content
    assert b"DUE-TODAY-1" not in nothing and b"BOB-1" not in nothing
