"""Every default outcome code exists in a migrated database, without ``telesales bootstrap``
(the demo and the services find ``reached`` in a center that was only migrated)."""

import pytest

from telesales.calls.models import Disposition
from telesales.calls.reference_data import DEFAULT_DISPOSITIONS


@pytest.mark.django_db
def test_the_migrations_create_every_default_outcome_code():
    codes = set(Disposition.objects.values_list("code", flat=True))
    assert {code for code, *_rest in DEFAULT_DISPOSITIONS} <= codes
    reached = Disposition.objects.get(code="reached")
    assert (reached.human_answered, reached.contact) == (True, True)
    assert not (reached.callback or reached.final or reached.sale or reached.refusal)
