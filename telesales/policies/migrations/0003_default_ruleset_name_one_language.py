"""The default stabilisation rule set was named in two languages (``OLD_NAME``): the Chinese pages
showed English and the English pages Chinese. It is named in the center's language
(``LANGUAGE_CODE``) alone now. Only a version that still has exactly the old name is renamed;
one a center renamed keeps its name. Reversible."""

from django.conf import settings
from django.db import migrations

OLD_NAME = "默认稳单规则 / Default stabilisation rules"


def _new_name() -> str:
    chinese, english = OLD_NAME.split(" / ")
    return chinese if settings.LANGUAGE_CODE.lower().startswith("zh") else english


def rename(apps, schema_editor):
    model = apps.get_model("policies", "StabilisationRuleSet")
    model.objects.filter(name=OLD_NAME).update(name=_new_name())


def rename_back(apps, schema_editor):
    model = apps.get_model("policies", "StabilisationRuleSet")
    model.objects.filter(name=_new_name()).update(name=OLD_NAME)


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_policy_declined")]

    operations = [migrations.RunPython(rename, rename_back)]
