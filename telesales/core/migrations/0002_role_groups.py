"""Create one permission group per role of the center."""

from django.db import migrations

ROLE_GROUPS = [
    "center_manager",
    "team_lead",
    "agent",
    "recruiter",
    "hr_admin",
    "trainer",
    "planner",
    "data_officer",
    "renewal_ops",
]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
