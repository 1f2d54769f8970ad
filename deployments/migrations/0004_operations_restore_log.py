"""Data migration: Operations staff may restore an archived build log (Support may not)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = ("Operations",)
CODENAME = "restore_log"


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create this one now
    # so the group can hold it on a fresh database.
    config = apps.get_app_config("deployments")
    config.models_module = True
    create_permissions(config, verbosity=0, apps=apps)
    config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    restore = Permission.objects.get(content_type__app_label="deployments", codename=CODENAME)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.add(restore)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    restore = Permission.objects.filter(content_type__app_label="deployments", codename=CODENAME)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.remove(*restore)


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0003_restore_log_permission"),
        ("projects", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
