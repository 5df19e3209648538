from decimal import Decimal

import pytest
from django.template import Context, Template

from telesales.core.formatting import percent


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "—"), ("", "—"), (0, "0.0%"), (0.3456, "34.6%"), (Decimal("1"), "100.0%")],
)
def test_percent(value, shown):
    assert percent(value) == shown


@pytest.mark.parametrize("library", ["lead_masking", "ticket_display"])
def test_the_apps_filters_are_the_shared_one(library):
    rendered = Template("{% load " + library + " %}{{ v|percent }}").render(Context({"v": 0.5}))
    assert rendered == "50.0%"
