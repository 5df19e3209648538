"""The default SLA target version is named in the center's language alone: it was stored in
two languages (``OLD``), so each language's pages showed the other language too. New
centers store the name in ``LANGUAGE_CODE`` at bootstrap; the data migration renames an
existing default that still has exactly the old name."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from telesales.core.setup_steps import bootstrap_steps
from telesales.core.tests.ruleset_name_helpers import check_the_rename_migration
from telesales.tickets.models import SlaRuleSet

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module(
    "telesales.tickets.migrations.0002_default_ruleset_name_one_language"
)
OLD, ZH, EN = "默认服务时限 / Default service targets", "默认服务时限", "Default service targets"


def test_a_bootstrapped_center_shows_the_chinese_name_alone(demo, client_for):
    SlaRuleSet.objects.all().delete()
    with translation.override("en"):  # whoever runs it, the center's language is stored
        for step in bootstrap_steps():
            step.run()
    assert list(SlaRuleSet.objects.values_list("name", flat=True)) == [ZH]
    url = reverse("tickets:ruleset_list")
    chinese = client_for("manager")
    english = client_for("manager")
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for client in (chinese, english):
        page = client.get(url).content.decode()
        assert ZH in page and EN not in page


@pytest.mark.parametrize("language, new", [("zh-hans", ZH), ("en", EN)])
def test_the_migration_renames_the_old_default_name_only(settings, language, new):
    settings.LANGUAGE_CODE = language
    SlaRuleSet.objects.all().delete()
    check_the_rename_migration(SlaRuleSet, MIGRATION, old=OLD, new=new)
