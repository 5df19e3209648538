"""The demo catalogue, the bootstrap rule set, and a crawl of every policy page and endpoint
in the demo center (with sales, tasks and a cancellation) that finds no full phone number."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from telesales.core.phone_numbers import PHONE_LIKE
from telesales.core.setup_steps import bootstrap_steps, demo_steps
from telesales.leads.choices import LeadState
from telesales.leads.models import Customer, Lead
from telesales.org.models import Person
from telesales.policies import services
from telesales.policies.choices import ProductCategory
from telesales.policies.demo import seed_policies_demo
from telesales.policies.models import Policy, Product, ServiceTask, StabilisationRuleSet

pytestmark = pytest.mark.django_db
NATIONAL = re.compile(r"(?=(1[3-9]\d{9}))")


def test_the_demo_catalogue_covers_every_category_and_is_idempotent(db):
    assert seed_policies_demo() == {"products": 8}
    assert seed_policies_demo() == {"products": 0}
    categories = set(Product.objects.values_list("category", flat=True))
    assert categories == set(ProductCategory.values)
    assert Product.objects.filter(is_active=False).count() == 1
    names = set(Product.objects.values_list("name", flat=True))
    assert {
        "综合意外险",
        "重大疾病保险",
        "百万医疗险",
        "定期寿险",
        "养老年金",
        "少儿教育金",
    } <= names
    for product in Product.objects.all():
        services._product_check(product)  # every demo product passes the catalogue's checks
    assert StabilisationRuleSet.objects.count() == 1


def test_the_steps_are_registered(db):
    assert "policies.rules" in {s.name for s in bootstrap_steps()}
    demo = {s.name: s.order for s in demo_steps()}
    assert demo["policies.demo"] == 30 and demo["leads.demo"] < 30
    step = next(s for s in bootstrap_steps() if s.name == "policies.rules")
    step.run(stdout=None)
    step.run(stdout=None)
    assert StabilisationRuleSet.objects.count() == 1


# --- Crawl ------------------------------------------------------------------------------------
@pytest.fixture
def demo_sales(leads_demo_world):
    """Sales by agent1 in the demo center: one kept in the window, one cancelled, one applied."""
    agent = Person.objects.get(user__username="agent1")
    agent.capability_grade = 3
    agent.practice_reg_no = agent.practice_reg_no or "2026-DEMO-0001"
    agent.save()
    ops = get_user_model().objects.get(username="renewal")
    leads = list(
        Lead.objects.filter(owner=agent, state__in=[LeadState.OWNED, LeadState.IN_PROGRESS])
        .select_related("customer")
        .order_by("id")[:3]
    )
    accident = Product.objects.get(code="demo-accident")
    policies = []
    for lead in leads:
        policies.append(
            services.sale_record(
                lead=lead,
                agent=agent,
                product=accident,
                annualised_premium=Decimal("1200"),
                payment_mode="annual",
                term_years=1,
                insured_ids=[lead.customer_id],
                actor=agent.user,
                recording_ref=f"rec-{lead.pk}",
                at=timezone.now() - dt.timedelta(days=3),
            )
        )
    for policy in policies[:2]:
        services.policy_issue(
            policy=policy, issued_at=timezone.now() - dt.timedelta(days=2), actor=ops
        )
    services.policy_receipt_confirm(
        policy=policies[0], receipt_date=timezone.localdate(), actor=ops
    )
    services.policy_free_look_cancel(
        policy=policies[1], reason="other", note="客户说太贵", actor=ops
    )
    return policies


@pytest.fixture
def leads_demo_world(demo):
    from telesales.leads.demo import seed_leads_demo

    seed_leads_demo(agents=12)
    seed_policies_demo()
    return demo


def _leaks(text: str, secrets: set[str]) -> list[str]:
    found = [m for m in NATIONAL.findall(text) if m in secrets]
    return found + [m.group(0) for m in PHONE_LIKE.finditer(text)]


@pytest.mark.parametrize("username", ["agent1", "teamlead1", "renewal", "manager"])
def test_no_policy_page_or_endpoint_shows_a_full_number(demo_sales, username):
    secrets = {e[3:] for e in Customer.objects.values_list("mobile_e164", flat=True)}
    user = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(user)
    policy_ids = [p.pk for p in demo_sales] + [999_999]
    task_ids = [*ServiceTask.objects.values_list("pk", flat=True)[:3], 999_999]
    product_ids = list(Product.objects.values_list("pk", flat=True)[:2])
    urls = [
        reverse(name)
        for name in (
            "policies:policy_list",
            "policies:product_list",
            "policies:task_list",
            "policies:stabilisation_report",
            "policies:ruleset_list",
            "policies:ruleset_create",
            "policies:product_create",
        )
    ]
    urls += [reverse("policies:policy_detail", args=[i]) for i in policy_ids]
    urls += [reverse("policies:product_edit", args=[i]) for i in product_ids]
    api = "/api/v1/policies"
    urls += [
        f"{api}/policies",
        f"{api}/products",
        f"{api}/tasks",
        f"{api}/tasks?due=true",
        f"{api}/reports/stabilisation",
        f"{api}/reports/extended-service",
        f"{api}/rulesets",
    ]
    urls += [f"{api}/policies/{i}" for i in policy_ids]
    problems, statuses = [], {}
    for url in urls:
        response = client.get(url)
        statuses[url] = response.status_code
        text = response.content.decode()
        if _leaks(text, secrets) or response.status_code >= 500:
            problems.append((url, response.status_code, _leaks(text, secrets)[:3]))
    # Writes with numbers typed into free text come back masked, refusals too.
    number = sorted(secrets)[0]
    for task_id in task_ids:
        for body in ({"outcome": "concern", "note": f"让打 {number}"}, {"outcome": "bogus"}):
            response = client.post(
                f"{api}/tasks/{task_id}/complete", json.dumps(body), content_type="application/json"
            )
            if _leaks(response.content.decode(), secrets) or response.status_code >= 500:
                problems.append(("complete", task_id, response.status_code))
            page = client.post(
                reverse("policies:task_complete", args=[task_id]), body, HTTP_HX_REQUEST="true"
            )
            if _leaks(page.content.decode(), secrets) or page.status_code >= 500:
                problems.append(("complete page", task_id, page.status_code))
    for url in (reverse("policies:task_list"), f"{api}/tasks"):
        text = client.get(url).content.decode()
        if _leaks(text, secrets):
            problems.append((url, "after writes"))
    assert not problems, problems
    ok = [u for u, s in statuses.items() if s == 200]
    assert any(u.startswith(f"{api}/policies/") for u in ok) or username in ("renewal", "manager")
    assert reverse("policies:policy_list") in ok
    assert Policy.objects.count() == 3
