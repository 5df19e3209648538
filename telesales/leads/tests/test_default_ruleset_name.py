"""The documented default lead rules are named in one language: they were named in two
(``OLD``), which the new-version form offered as the name, so a center could store it and
each language's pages showed the other language too. A fresh center's form offers the name
in the reader's language; the data migration renames a version that still has exactly the
old name."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.urls import reverse

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
    default = LeadRuleSet.objects.create(name=OLD, effective_from=dt.date(2000, 1, 1))
    renamed = LeadRuleSet.objects.create(name="本中心的规则", effective_from=dt.date(2001, 1, 1))
    MIGRATION.rename(django_apps, None)
    names = dict(LeadRuleSet.objects.values_list("pk", "name"))
    assert names == {default.pk: new, renamed.pk: "本中心的规则"}
    page = client_for("manager").get(reverse("leads:ruleset_list")).content.decode()
    assert new in page and OLD not in page
    MIGRATION.rename_back(django_apps, None)
    names = dict(LeadRuleSet.objects.values_list("pk", "name"))
    assert names == {default.pk: OLD, renamed.pk: "本中心的规则"}
