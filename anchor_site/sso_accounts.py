"""Single sign-on's accounts: found by e-mail address, their groups mapped, refusals audited."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from anchor_site.sso_claims import normalise
from staff.audit import audit
from staff.models import AuditKind, RecordType

logger = logging.getLogger("anchor.security")


def _console_groups() -> set[str]:
    return set(settings.OIDC_GROUP_MAP.values())


def apply_group_mapping(user: User, claims: dict[str, Any]) -> list[str]:
    """Set the user's console groups and is_staff from the provider's groups claim (every
    login); a change is an audit entry. Returns the console groups the user now has."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    provider_groups = [value] if isinstance(value, str) else value
    if not isinstance(provider_groups, list):
        provider_groups = []
    mapping = settings.OIDC_GROUP_MAP
    wanted = sorted({mapping[g] for g in provider_groups if isinstance(g, str) and g in mapping})
    current = sorted(user.groups.filter(name__in=_console_groups()).values_list("name", flat=True))
    is_staff = bool(wanted)
    if current == wanted and user.is_staff == is_staff:
        return wanted
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=set(current) - set(wanted)))
        user.groups.add(*Group.objects.filter(name__in=wanted))
        before = {"groups": ", ".join(current) or "none", "is_staff": user.is_staff}
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
        audit(
            user,
            action=(
                f"Staff groups set by single sign-on from {settings.OIDC_PROVIDER_NAME}'s "
                f"{settings.OIDC_GROUPS_CLAIM!r} claim"
            ),
            object_id=str(user.pk),
            object_repr=user.get_username(),
            kind=AuditKind.GROUP_CHANGE,
            record_type=RecordType.NONE,
            before=before,
            after={"groups": ", ".join(wanted) or "none", "is_staff": is_staff},
        )
    logger.info(
        "single sign-on set the groups of %s: %s → %s",
        user.get_username(),
        before["groups"],
        ", ".join(wanted) or "none",
        extra={"event": "sso_groups_changed"},
    )
    return wanted


def audit_refusal(user: User, reason: str) -> None:
    audit(
        user,
        action=f"Single sign-on with {settings.OIDC_PROVIDER_NAME} refused: {reason}",
        object_id=str(user.pk),
        object_repr=user.get_username(),
        kind=AuditKind.SSO_LOGIN,
        record_type=RecordType.NONE,
    )


def accounts_by_email(address: str | None) -> list[User]:
    """Every account whose username or e-mail address equals `address` under the one
    normalisation (NFKC, casefold); staff accounts are few, so they are compared here, not in
    SQL (whose case-insensitive match differs between SQLite and PostgreSQL)."""
    if not address:
        return []
    rows = User.objects.only("pk", "username", "email", "is_superuser", "is_active")
    return [
        user
        for user in rows.iterator()
        if address in {normalise(user.username), normalise(user.email or "")}
    ]


def unlinked_accounts() -> list[User]:
    """Active accounts, superusers aside, that single sign-on has not pinned to an identity yet,
    oldest first: the ones a first sign-in may still link by e-mail (manage.py sso_unlinked)."""
    unlinked = User.objects.filter(sso_identity__isnull=True, is_active=True, is_superuser=False)
    return list(unlinked.order_by("date_joined", "pk"))
