"""The development chain (育成) on a person: ``developed_by`` and ``developed_on``, set through
the service (audited), the form and the API; a person cannot be their own developer, a
developer needs a date, and the chain has no cycle."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from telesales.core.errors import ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.core.tests.api_helpers import JsonClient
from telesales.org.forms import PersonForm
from telesales.org.models import Person
from telesales.org.services import person_update
from telesales.org.tests.factories import PersonFactory, TeamFactory, UserFactory

PEOPLE = "/api/v1/org/people"
DAY = dt.date(2025, 10, 1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(db):
    manager = UserFactory(username="boss", roles=[Role.MANAGER])
    team = TeamFactory(name="A组")
    PersonFactory(team=team, user=manager, name="Boss")
    mia = PersonFactory(team=team, name="Mia")
    lee = PersonFactory(team=team, name="Lee")
    kai = PersonFactory(team=team, name="Kai")
    return manager, mia, lee, kai


def test_the_service_records_the_developer_and_audits_it(world):
    manager, mia, lee, _kai = world
    person_update(person=lee, actor=manager, developed_by=mia, developed_on=DAY, reason="育成")
    lee.refresh_from_db()
    assert (lee.developed_by_id, lee.developed_on) == (mia.pk, DAY)
    entry = AuditEntry.objects.filter(action="org.person_update", object_id=str(lee.pk)).latest(
        "id"
    )
    assert entry.before["developed_by"] is None
    assert entry.after["developed_by"] == mia.pk


def test_a_person_cannot_be_their_own_developer(world):
    manager, _mia, lee, _kai = world
    with pytest.raises(ValidationFailed) as caught:
        person_update(person=lee, actor=manager, developed_by=lee, developed_on=DAY)
    assert caught.value.details["fields"]["developed_by"] == ["cannot be the person themself"]
    lee.refresh_from_db()
    assert lee.developed_by_id is None


def test_a_developer_needs_a_date(world):
    manager, mia, lee, _kai = world
    with pytest.raises(ValidationFailed) as caught:
        person_update(person=lee, actor=manager, developed_by=mia)
    assert caught.value.details["fields"]["developed_on"] == ["required when a developer is given"]


def test_a_cycle_in_the_development_chain_is_refused(world):
    manager, mia, lee, kai = world
    person_update(person=lee, actor=manager, developed_by=mia, developed_on=DAY)
    person_update(person=kai, actor=manager, developed_by=lee, developed_on=DAY)
    with pytest.raises(ValidationFailed) as caught:
        person_update(person=mia, actor=manager, developed_by=kai, developed_on=DAY)
    assert caught.value.details["fields"]["developed_by"] == [
        "cycle in the development chain: Mia → Kai → Lee → Mia"
    ]
    mia.refresh_from_db()
    assert mia.developed_by_id is None


def test_the_api_sets_the_developer_and_refuses_self_and_cycle(world):
    manager, mia, lee, kai = world
    client = JsonClient()
    client.force_login(manager)
    ok = client.patch_json(
        f"{PEOPLE}/{lee.pk}", {"developed_by_id": mia.pk, "developed_on": "2025-10-01"}
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["developed_by_id"] == mia.pk
    assert ok.json()["developed_on"] == "2025-10-01"
    own = client.patch_json(
        f"{PEOPLE}/{kai.pk}", {"developed_by_id": kai.pk, "developed_on": "2025-10-01"}
    )
    assert own.status_code == 422, own.content
    assert "developed_by" in own.json()["details"]["fields"]
    cycle = client.patch_json(
        f"{PEOPLE}/{mia.pk}", {"developed_by_id": lee.pk, "developed_on": "2025-10-01"}
    )
    assert cycle.status_code == 422, cycle.content
    (message,) = cycle.json()["details"]["fields"]["developed_by"]
    assert message.endswith("Mia → Lee → Mia")
    assert Person.objects.get(pk=mia.pk).developed_by_id is None


def test_the_form_offers_the_developer_fields(world):
    _manager, mia, lee, _kai = world
    form = PersonForm(instance=lee)
    assert "developed_by" in form.fields and "developed_on" in form.fields
    assert mia in form.fields["developed_by"].queryset
