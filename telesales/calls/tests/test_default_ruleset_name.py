"""The default call rule set is named in the center's language alone: it was stored in
two languages (``OLD``), so each language's pages showed the other language too. New
centers store the name in ``LANGUAGE_CODE`` at bootstrap; the data migration renames an
existing default that still has exactly the old name."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django.utils import translation

from telesales.calls.models import CallRuleSet
from telesales.core.setup_steps import bootstrap_steps
from telesales.core.tests.api_helpers import JsonClient
from telesales.core.tests.ruleset_name_helpers import check_the_rename_migration

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module(
    "telesales.calls.migrations.0005_default_ruleset_name_one_language"
)
OLD, ZH, EN = "默认外呼规则 / Default call rules", "默认外呼规则", "Default call rules"


def test_a_bootstrapped_center_shows_the_chinese_name_alone(demo, user_named):
    CallRuleSet.objects.all().delete()
    with translation.override("en"):  # whoever runs it, the center's language is stored
        for step in bootstrap_steps():
            step.run()
    assert list(CallRuleSet.objects.values_list("name", flat=True)) == [ZH]
    client = JsonClient()
    client.force_login(user_named("manager"))
    for language in ("zh-hans", "en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.get("/api/v1/calls/rulesets")
        assert response.status_code == 200
        assert [row["name"] for row in response.json()] == [ZH]


@pytest.mark.parametrize("language, new", [("zh-hans", ZH), ("en", EN)])
def test_the_migration_renames_the_old_default_name_only(settings, language, new):
    settings.LANGUAGE_CODE = language
    CallRuleSet.objects.all().delete()
    check_the_rename_migration(CallRuleSet, MIGRATION, old=OLD, new=new)
