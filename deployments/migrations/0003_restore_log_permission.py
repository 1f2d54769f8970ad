"""The restore_log permission (Operations restores archived build logs)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0002_redeploy_permission"),
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
                    ("redeploy_deployment", "Can queue a new deployment of the same commit"),
                    ("restore_log", "Can restore an archived build log from Glacier"),
                ],
            },
        ),
    ]
