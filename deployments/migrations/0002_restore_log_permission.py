"""The restore_log permission (Operations restores archived build logs)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="deploymentaccess",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": [
                    ("cancel_deployment", "Can cancel a queued or building deployment"),
                    ("fail_deployment", "Can mark a stuck build as error"),
                    ("restore_log", "Can restore an archived build log from Glacier"),
                ],
            },
        ),
    ]
