"""The documented default lead rules are named in one language: they were named in two
(``OLD``), which the new-version form offered as the name, so a center could store it and
each language's pages showed the other language too. A fresh center's form offers the name
in the reader's language; the data migration renames a version that still has exactly the
old name."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django.urls import reverse

from telesales.core.tests.ruleset_name_helpers import check_the_rename_migration
from telesales.leads.models import LeadRuleSet

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module(
    "telesales.leads.migrations.0006_default_ruleset_name_one_language"
)
OLD, ZH, EN = "默认规则 / Default rules", "默认规则", "Default rules"


def test_a_fresh_center_offers_the_default_name_in_one_language(demo, client_for):
    assert not LeadRuleSet.objects.exists()
    url = reverse("leads:ruleset_create")
    chinese = client_for("manager").get(url).content.decode()
    assert f'value="{ZH}"' in chinese and EN not in chinese
    english = client_for("manager")
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = english.get(url).content.decode()
    assert f'value="{EN}"' in page and OLD not in page


@pytest.mark.parametrize("language, new", [("zh-hans", ZH), ("en", EN)])
def test_the_migration_renames_the_old_default_name_only(demo, client_for, settings, language, new):
    settings.LANGUAGE_CODE = language

    def the_page_shows_the_new_name():
        page = client_for("manager").get(reverse("leads:ruleset_list")).content.decode()
        assert new in page and OLD not in page

    check_the_rename_migration(
        LeadRuleSet, MIGRATION, old=OLD, new=new, between=the_page_shows_the_new_name
    )
