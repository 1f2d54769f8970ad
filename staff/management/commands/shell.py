"""`manage.py shell` for support work: the repository, schemas, exceptions and clients imported."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.core.management.commands import shell

from infra.core import aws
from staff.lookups import SHELL_NOTE

# Every public function of these modules (their __all__), so new repository functions appear
# in the shell without touching this file.
REPOSITORY_MODULES = (
    "projects.repository",
    "deployments.repository",
    "deployments.history",
    "deployments.artifactstore",
    "deployments.logstore",
    "deployments.logread",
    "deployments.logsearch",
    "deployments.livetail",
)

SUPPORT_IMPORTS = (
    # schemas
    "projects.schemas.ProjectSchema",
    "projects.schemas.CreateProjectSchema",
    "projects.schemas.UpdateProjectSchema",
    "deployments.schemas.DeploymentSchema",
    "deployments.schemas.CreateDeploymentSchema",
    "deployments.schemas.UpdateDeploymentSchema",
    "deployments.schemas.DeploymentStatus",
    # a build log's lines, as the log readers return them
    "deployments.logtext.LogLine",
    "deployments.logtext.Segment",
    # exceptions
    "infra.core.errors.RepositoryError",
    "infra.core.errors.NotFound",
    "infra.core.errors.Conflict",
    "deployments.errors.InvalidTransition",
    "infra.core.errors.InvalidCursor",
    "infra.core.errors.ValidationError",
    "infra.core.errors.Unavailable",
    # pages, times, resource names, the boto3 client factory
    "infra.core.dynamo.Page",
    "infra.core.dynamo.now",
    "infra.core.dynamo.format_timestamp",
    "datetime.UTC",
    "datetime.datetime",
    "datetime.timedelta",
    "infra.core.resources.PROJECTS",
    "infra.core.resources.DEPLOYMENTS",
    "infra.core.resources.LOGS",
    "infra.core.resources.ARTIFACTS",
    "infra.core.aws",
    "django.conf.settings",
    # audited cross-tenant look-ups
    "staff.lookups.lookup_deployment_owner",
    "staff.lookups.lookup_project_owner",
    # audited exports and the cross-tenant feed (staff="your-username")
    "staff.exports.export_tenant_deployments",
    "staff.exports.export_audit_trail",
    "staff.attention.attention_feed",
)


class Command(shell.Command):
    help = (
        shell.Command.help
        + " The anchor-deploy repository functions, schemas, exceptions and ready boto3 clients "
        "(dynamodb, s3) are imported automatically."
    )

    def get_auto_imports(self) -> list[str]:
        paths = list(super().get_auto_imports() or [])
        for module_name in REPOSITORY_MODULES:
            module = import_module(module_name)
            # The cross-tenant resolvers stay out: the shell's audited lookup_*_owner replace them.
            paths += [
                f"{module_name}.{name}"
                for name in module.__all__
                if not name.startswith("resolve_")
            ]
        return paths + list(SUPPORT_IMPORTS)

    def get_namespace(self, **options: Any) -> dict[str, Any]:
        namespace = super().get_namespace(**options)
        if options.get("no_imports"):
            return namespace
        # Ready clients (made lazily, no request is sent until one is used).
        namespace["dynamodb"] = aws.dynamodb()
        namespace["s3"] = aws.s3()
        verbosity = options.get("verbosity", 0)
        if verbosity >= 2:
            self.stdout.write("  dynamodb = aws.dynamodb()\n  s3 = aws.s3()\n\n")
        if verbosity >= 1 and not options.get("command"):
            self.stdout.write(self.style.WARNING(SHELL_NOTE), ending="\n\n")
        return namespace
