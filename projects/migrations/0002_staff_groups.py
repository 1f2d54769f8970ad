"""Data migration: the Support and Operations staff groups and their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT = ["projects.view_tenant_data", "projects.find_by_id"]
OPERATIONS = [
    *SUPPORT,
    "projects.edit_project",
    "deployments.cancel_deployment",
    "deployments.fail_deployment",
]
GROUPS = {"Support": SUPPORT, "Operations": OPERATIONS}


def _permissions(apps, names):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now so
    # the groups can hold them on a fresh database.
    for label in ("projects", "deployments"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions(apps, perms))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("deployments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
