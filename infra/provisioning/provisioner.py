"""The Provisioner: plan, apply, check and remove one stage (what the commands use)."""

from __future__ import annotations

from infra.provisioning.apply import StageApplier
from infra.provisioning.teardown import StageRemover


class Provisioner(StageApplier, StageRemover):
    """Reads, repairs and removes one stage's resources; every AWS call goes through
    infra.core.aws."""
