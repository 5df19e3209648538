"""The receipt imports name who uploaded each file by the person's name, not the login
(QA: "… · data")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telesales.operations.importing import receipts_import
from telesales.operations.tests.test_receipts_import import csv_file

pytestmark = pytest.mark.django_db


def test_receipt_imports_show_the_uploaders_name_not_the_login(world, page_for):
    world.ops.name = "运营周敏"
    world.ops.save(update_fields=["name"])
    receipts_import(file=csv_file([("NOPE-1", "2", "1200", "2026-01-10")]), actor=world.ops.user)
    receipts_import(file=csv_file([("NOPE-2", "2", "1200", "2026-01-10")]), actor="cli")

    html = page_for(world.ops).get(reverse("operations:receipt_list")).content.decode()

    assert "<td>运营周敏</td>" in html and "<td>ops</td>" not in html
    assert "<td>cli</td>" in html  # an import from the command line has no person
