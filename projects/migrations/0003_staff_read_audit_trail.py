"""Data migration: Support and Operations staff may read the audit trail (admin action log)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = ("Support", "Operations")


def grant(apps, schema_editor):
    config = apps.get_app_config("admin")
    config.models_module = True
    create_permissions(config, verbosity=0, apps=apps)
    config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    view_log = Permission.objects.get(content_type__app_label="admin", codename="view_logentry")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.add(view_log)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    view_log = Permission.objects.filter(content_type__app_label="admin", codename="view_logentry")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.remove(*view_log)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0002_staff_groups"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
