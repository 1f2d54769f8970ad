"""`manage.py sso_unlinked [--json]`: the accounts single sign-on has not yet pinned to a provider
identity, and the address their next sign-in would link them by (docs/sso.md, "Migration")."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from anchor_site.sso_accounts import unlinked_accounts
from anchor_site.sso_claims import canonical_email


class Command(BaseCommand):
    help = (
        "List active accounts (superusers aside) not yet linked to a single sign-on identity, "
        "with the address their first sign-in would link them by."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON list, for scripts")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [
            {
                "username": user.username,
                "email": user.email,
                # What a verified sign-in must carry to link this account (None: it cannot be
                # linked by e-mail; an administrator changes its address first).
                "links_as": canonical_email(user.email) or canonical_email(user.username),
                "has_password": user.has_usable_password(),
                "last_login": user.last_login.isoformat() if user.last_login else None,
            }
            for user in unlinked_accounts()
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write(self.style.SUCCESS("Every active account is linked."))
            return
        self.stdout.write(f"{len(rows)} account(s) not yet linked to a single sign-on identity:")
        for row in rows:
            links = row["links_as"] or "cannot be linked by e-mail (not a plain ASCII address)"
            password = ", has a password" if row["has_password"] else ""
            last = row["last_login"] or "never"
            self.stdout.write(f"  {row['username']}: links as {links}{password}; last login {last}")
