"""The console's own table: the provider identity each single sign-on account is pinned to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SSOIdentity(models.Model):
    """An account's identity at the OpenID Connect provider: its issuer and subject (`iss`,
    `sub`), linked at the account's first single sign-on and the only way SSO finds the account
    afterwards. The e-mail address is kept for the record; it never selects an account once the
    link exists. One identity per account, one account per identity."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    email = models.CharField(max_length=254, blank=True)  # the address at the last sign-in
    linked_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]
        verbose_name = "single sign-on identity"

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject}"
