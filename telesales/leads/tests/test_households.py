"""Recording a lead's family (户): who may, what is refused, and that nothing leaks a number."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.leads import services
from telesales.leads.choices import LeadState
from telesales.leads.models import Customer, Household, Lead
from telesales.leads.tests.factories import (
    CustomerFactory,
    LeadFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
    agent_login,
    data_officer,
)

pytestmark = pytest.mark.django_db

SPOUSE = "139 1234 5678"
SPOUSE_E164 = "+8613912345678"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def team(db):
    return TeamFactory()


@pytest.fixture
def owner(team):
    person = PersonFactory(team=team, capability_grade=2)
    agent_login(person)
    return person


@pytest.fixture
def lead(owner):
    return LeadFactory(owner=owner, state=LeadState.OWNED)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_adds_a_spouse_the_household_is_created_and_audited(lead, owner):
    member = services.household_member_add(
        lead=lead, actor=owner.user, name="李娜", mobile=SPOUSE, gender="F"
    )
    lead.customer.refresh_from_db()
    assert lead.customer.household_id is not None
    assert member.household_id == lead.customer.household_id
    assert (member.mobile_e164, member.gender) == (SPOUSE_E164, "F")
    assert not Lead.objects.filter(customer=member).exists()  # a member is not a lead
    audit = AuditEntry.objects.get(action="leads.household_member_add")
    assert audit.object_id == str(member.pk)


def test_a_known_customer_is_linked_not_duplicated(lead, owner):
    known = CustomerFactory(mobile_e164=SPOUSE_E164, mobile_hash=_hash(SPOUSE_E164), name="李娜")
    LeadFactory(customer=known, owner=owner, state=LeadState.OWNED)  # the agent's own lead
    member = services.household_member_add(lead=lead, actor=owner.user, name="x", mobile=SPOUSE)
    assert member.pk == known.pk
    assert Customer.objects.filter(mobile_hash=_hash(SPOUSE_E164)).count() == 1
    assert member.name == "李娜"  # the record keeps its name


@pytest.mark.parametrize("held_by", ["another agent", "nobody"])
def test_an_agent_cannot_learn_or_take_someone_elses_customer_by_typing_a_number(
    lead, owner, team, held_by
):
    known = CustomerFactory(
        mobile_e164=SPOUSE_E164,
        mobile_hash=_hash(SPOUSE_E164),
        name="董洋玲",
        birth_date=dt.date(1992, 9, 15),
    )
    if held_by == "another agent":
        LeadFactory(customer=known, owner=PersonFactory(team=team), state=LeadState.OWNED)
    with pytest.raises(services.ValidationFailed) as exc:
        services.household_member_add(
            lead=lead, actor=owner.user, name="张三", mobile=SPOUSE, relation="child"
        )
    assert "董洋玲" not in exc.value.message and SPOUSE_E164 not in exc.value.message
    assert "5678" in exc.value.message and "mobile" in exc.value.fields
    known.refresh_from_db()
    assert (known.household_id, known.relation) == (None, "")
    assert not Household.objects.exists()
    # The data officer, after checking with the customer, may link them (audited).
    services.household_member_add(lead=lead, actor=data_officer(), name="x", mobile=SPOUSE)
    known.refresh_from_db()
    lead.customer.refresh_from_db()
    assert known.household_id == lead.customer.household_id


def test_a_number_already_in_the_household_is_refused_and_the_member_kept(lead, owner):
    spouse = services.household_member_add(
        lead=lead,
        actor=owner.user,
        name="李娜",
        mobile=SPOUSE,
        relation="spouse",
        birth_date=dt.date(1990, 1, 1),
    )
    with pytest.raises(services.ValidationFailed) as exc:
        services.household_member_add(
            lead=lead,
            actor=owner.user,
            name="王五",
            mobile=SPOUSE,
            relation="parent",
            birth_date=dt.date(1950, 1, 1),
        )
    assert "already recorded in this household" in exc.value.message
    spouse.refresh_from_db()
    assert (spouse.name, spouse.relation, spouse.birth_date) == (
        "李娜",
        "spouse",
        dt.date(1990, 1, 1),
    )


def _hash(e164):
    from telesales.core.phone_numbers import phone_hash

    return phone_hash(e164)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "mobile": SPOUSE}, "name"),
        ({"name": "李娜", "mobile": "12345"}, "mobile"),
        ({"name": "李娜", "mobile": SPOUSE, "gender": "X"}, "gender"),
        ({"name": "李娜", "mobile": SPOUSE, "birth_date": dt.date(2999, 1, 1)}, "birth_date"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_written(lead, owner, data, field):
    with pytest.raises(services.ValidationFailed) as exc:
        services.household_member_add(lead=lead, actor=owner.user, **data)
    assert field in exc.value.fields
    assert not Household.objects.exists()


def test_the_customers_own_number_is_refused(lead, owner):
    with pytest.raises(services.ValidationFailed) as exc:
        services.household_member_add(
            lead=lead, actor=owner.user, name="me", mobile=lead.customer.mobile_e164
        )
    assert "own number" in exc.value.message


def test_a_member_of_another_household_moves_only_by_the_data_officer(lead, owner):
    other = CustomerFactory(household=Household.objects.create(name="张家"))
    with pytest.raises(services.ValidationFailed) as exc:
        services.household_member_add(
            lead=lead, actor=owner.user, name="x", mobile=other.mobile_e164
        )
    assert other.mobile_e164 not in exc.value.message  # masked
    assert other.mobile_e164[-4:] in exc.value.message
    other.refresh_from_db()
    assert other.household.name == "张家"

    services.household_member_add(
        lead=lead, actor=data_officer(), name="x", mobile=other.mobile_e164
    )
    other.refresh_from_db()
    lead.customer.refresh_from_db()
    assert other.household_id == lead.customer.household_id


def test_who_may_record_the_family(lead, owner, team):
    stranger = PersonFactory(team=team, capability_grade=2)
    agent_login(stranger)
    with pytest.raises(services.PermissionDenied):
        services.household_member_add(lead=lead, actor=stranger.user, name="x", mobile=SPOUSE)

    leader = PersonFactory(team=team)
    leader.user = UserFactory(username="tl-house", roles=[Role.TEAM_LEAD])
    leader.save(update_fields=["user"])
    team.leader = leader
    team.save(update_fields=["leader"])
    services.household_member_add(lead=lead, actor=leader.user, name="李娜", mobile=SPOUSE)
    assert Customer.objects.filter(mobile_hash=_hash(SPOUSE_E164)).exists()


def test_remove_takes_the_member_out_with_a_reason(lead, owner):
    member = services.household_member_add(lead=lead, actor=owner.user, name="李娜", mobile=SPOUSE)
    with pytest.raises(services.ValidationFailed):
        services.household_member_remove(lead=lead, member=member, actor=owner.user, reason=" ")
    services.household_member_remove(lead=lead, member=member, actor=owner.user, reason="录错")
    member.refresh_from_db()
    assert member.household_id is None
    with pytest.raises(services.ValidationFailed):  # not in the household any more
        services.household_member_remove(lead=lead, member=member, actor=owner.user, reason="x")


# --- The lead page ------------------------------------------------------------------------
def test_the_lead_page_form_adds_a_member_and_shows_the_number_masked(lead, owner):
    client = client_for(owner.user)
    page = client.get(f"/leads/{lead.pk}/")
    assert 'data-testid="household-form"' in page.content.decode()

    response = client.post(
        f"/leads/{lead.pk}/household/", {"name": "李娜", "mobile": SPOUSE, "gender": "F"}
    )
    assert response.status_code == 302
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "李娜" in page
    assert "139****5678" in page and "13912345678" not in page


def test_the_lead_page_form_keeps_what_was_typed_on_error(lead, owner):
    response = client_for(owner.user).post(
        f"/leads/{lead.pk}/household/", {"name": "李娜", "mobile": "12345"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="field-error-mobile"' in body
    assert 'value="李娜"' in body
    assert not Household.objects.exists()


def test_an_agent_who_does_not_own_the_lead_gets_403_and_no_form(lead, team):
    other = PersonFactory(team=team, capability_grade=2)
    agent_login(other)
    public = LeadFactory(state=LeadState.PUBLIC)
    client = client_for(other.user)
    assert 'data-testid="household-form"' not in client.get(f"/leads/{public.pk}/").content.decode()
    response = client.post(f"/leads/{public.pk}/household/", {"name": "x", "mobile": SPOUSE})
    assert response.status_code == 403
    assert not Household.objects.exists()


def test_the_relation_is_recorded_to_the_customer_and_cleared_on_removal(lead, owner):
    member = services.household_member_add(
        lead=lead, actor=owner.user, name="李娜", mobile=SPOUSE, gender="F", relation="spouse"
    )
    assert (member.relation, member.relation_to_id) == ("spouse", lead.customer_id)
    with pytest.raises(services.ValidationFailed) as bad:
        services.household_member_add(
            lead=lead, actor=owner.user, name="某", mobile="13900001111", relation="cousin"
        )
    assert "relation" in bad.value.fields
    services.household_member_remove(lead=lead, member=member, actor=owner.user, reason="录错")
    member.refresh_from_db()
    assert (member.household_id, member.relation, member.relation_to_id) == (None, "", None)


def test_the_lead_page_records_and_shows_the_relation(lead, owner):
    client = client_for(owner.user)
    response = client.post(
        reverse("leads:household_add", args=[lead.pk]),
        {"name": "张小宝", "mobile": SPOUSE, "gender": "M", "relation": "child"},
    )
    assert response.status_code == 302
    member = Customer.objects.get(mobile_hash=_hash(SPOUSE_E164))
    assert (member.relation, member.relation_to_id) == ("child", lead.customer_id)
    html = client.get(reverse("leads:lead_detail", args=[lead.pk])).content.decode()
    assert 'data-testid="member-relation"' in html


def test_the_api_adds_and_removes_a_member_with_their_relation(lead, owner, team):
    from telesales.core.tests.api_helpers import JsonClient, assert_error_shape

    api = JsonClient()
    api.force_login(owner.user)
    url = f"/api/v1/leads/leads/{lead.pk}/household"
    added = api.post_json(
        url, {"name": "李娜", "mobile": SPOUSE, "gender": "F", "relation": "spouse"}
    )
    assert added.status_code == 201, added.content
    (member,) = added.json()["household"]
    assert (member["relation"], member["relation_to_id"]) == ("spouse", lead.customer_id)
    assert member["mobile_masked"] != SPOUSE_E164 and "****" in member["mobile_masked"]
    assert_error_shape(api.post_json(url, {"name": "某", "mobile": "12", "relation": "x"}), 422)
    # Someone else's agent may not touch this family.
    stranger = PersonFactory(team=TeamFactory(), capability_grade=2)
    agent_login(stranger)
    other = JsonClient()
    other.force_login(stranger.user)
    refused = other.post_json(url, {"name": "某", "mobile": "13900001111"})
    assert refused.status_code in (403, 404)  # out of sight, or no right over the family
    removed = api.post_json(f"{url}/{member['id']}/remove", {"reason": "录错了"})
    assert removed.status_code == 200 and removed.json()["household"] == []
    assert api.post_json(f"{url}/{member['id']}/remove", {"reason": "again"}).status_code == 404


def test_the_demo_families_record_how_members_are_related(leads_demo):
    from collections import Counter

    related = Customer.objects.exclude(relation="").select_related("relation_to")
    assert related.exists()
    for member in related:
        assert member.household_id and member.relation_to.household_id == member.household_id
    # One spouse at most per customer; some families say nothing (read from age and gender).
    spouses = Counter(related.filter(relation="spouse").values_list("relation_to", flat=True))
    assert spouses and max(spouses.values()) == 1
    assert (
        Customer.objects.filter(household__isnull=False, relation="")
        .exclude(pk__in=related.values("relation_to"))
        .exists()
    )


def test_an_unknown_relation_is_reported_on_the_field_itself(lead, owner):
    from telesales.core.tests.api_helpers import JsonClient, assert_error_shape

    api = JsonClient()
    api.force_login(owner.user)
    r = api.post_json(
        f"/api/v1/leads/leads/{lead.pk}/household",
        {"name": "李娜", "mobile": SPOUSE, "relation": "zzz", "gender": "?"},
    )
    body = assert_error_shape(r, 422, "validation_failed")
    assert set(body["details"]["fields"]) == {"relation", "gender"}  # no union branches
    assert not Household.objects.exists()
