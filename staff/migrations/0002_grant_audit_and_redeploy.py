"""Data migration: Support and Operations read the audit trail; Operations may redeploy."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Support": ["staff.view_auditentry"],
    "Operations": ["staff.view_auditentry", "deployments.redeploy_deployment"],
}


def _permissions(apps, names):
    for label in ("staff", "deployments"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(
            content_type__app_label=name.split(".")[0], codename=name.split(".")[1]
        )
        for name in names
    ]


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, perms in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, perms))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, perms in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*_permissions(apps, perms))


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_audit_trail"),
        ("projects", "0003_staff_read_audit_trail"),
        ("deployments", "0002_redeploy_permission"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
