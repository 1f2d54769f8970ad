"""Forms shared by the dashboard's pages: the reason every staff action asks for, the redeploy
confirmation's idempotency key, and the filters of the audit trail and the CSV exports."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from deployments.schemas import DeploymentStatus
from infra.core.errors import ValidationError
from infra.core.ids import valid_project_id, valid_user_id
from staff.audit import REASON_MAX, REASON_MIN, clean_reason
from staff.models import AuditKind
from web.common import params

REASON_HELP = (
    f"Why you are doing this, in {REASON_MIN} to {REASON_MAX} characters; it is kept in the "
    "audit trail."
)


class ReasonField(forms.CharField):
    """The reason a staff member gives for an action (3 to 500 characters after trimming)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Reason")
        kwargs.setdefault("help_text", REASON_HELP)
        kwargs.setdefault(
            "widget", forms.Textarea(attrs={"rows": 2, "cols": 60, "class": "vLargeTextField"})
        )
        super().__init__(max_length=2000, **kwargs)
        self.error_messages["required"] = (
            f"Give a reason of {REASON_MIN} to {REASON_MAX} characters."
        )

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        try:
            return clean_reason(text)
        except ValidationError as error:  # the use case's own rule, said on the field
            raise forms.ValidationError(error.errors.get("reason") or [str(error)]) from error


class RequestKeyField(forms.RegexField):
    """A form's idempotency key (hidden): the same form posted again is the same request, and
    the key is refused for any other (staff.outbox)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": "The form has expired; open it again.",
                "required": "The form has expired; open it again.",
            },
        )
        super().__init__(regex=r"^[A-Za-z0-9_-]{16,64}$", **kwargs)


def new_request_key() -> str:
    return secrets.token_urlsafe(24)


class ActionForm(forms.Form):
    """The confirmation form of a staff action on a deployment: its reason, and its key (given
    to every new form; a POST without one is a request of its own)."""

    required_css_class = "required"
    reason = ReasonField()
    request_key = RequestKeyField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("request_key", new_request_key())


class RedeployForm(ActionForm):
    """The redeploy confirmation: a reason, and the key that makes a repeated POST harmless."""

    request_key = RequestKeyField()

    @classmethod
    def new(cls) -> RedeployForm:
        return cls(initial={"request_key": new_request_key()})


def _day_start(day: date) -> datetime:
    """Midnight of `day` in the console's time zone (Singapore), as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _usable_day(day: date | None, name: str) -> date | None:
    """The day, if the filters can compute with it (web.common.params.check_day)."""
    if day is None:
        return None
    try:
        return params.check_day(day, name)
    except ValidationError as error:
        raise forms.ValidationError(error.errors[name]) from error


class DateRangeForm(forms.Form):
    """From and to dates (inclusive, Singapore days), both optional."""

    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_since(self) -> date | None:
        return _usable_day(self.cleaned_data.get("since"), "since")

    def clean_until(self) -> date | None:
        return _usable_day(self.cleaned_data.get("until"), "until")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The From date must not be after the To date.")
        return data

    def window(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) as aware datetimes; None where open."""
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        return (
            _day_start(since) if since else None,
            _day_start(until + timedelta(days=1)) if until else None,
        )


class AuditFilterForm(DateRangeForm):
    """The audit trail's filters, all in the URL: staff member, action kind, tenant, dates."""

    staff = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Staff member",
        to_field_name="username",
        empty_label="Anyone",
    )
    kind = forms.ChoiceField(
        required=False,
        label="Action",
        choices=[("", "Any action"), *AuditKind.choices],
    )
    tenant = forms.CharField(required=False, max_length=64, label="Tenant")
    field_order = ("staff", "kind", "tenant", "since", "until")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["staff"]
        field.queryset = get_user_model().objects.filter(is_staff=True).order_by("username")

    def clean_tenant(self) -> str:
        tenant = self.cleaned_data.get("tenant", "").strip()
        if tenant and not valid_user_id(tenant):
            raise forms.ValidationError(
                "A tenant id is 1 to 64 letters, digits, underscores or hyphens."
            )
        return tenant


class TenantExportForm(DateRangeForm):
    """The tenant export's filters: one project, one status, a date range (all optional)."""

    project = forms.CharField(required=False, max_length=40, label="Project")
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[("", "Any status"), *((s.value, s.value) for s in DeploymentStatus)],
    )
    field_order = ("project", "status", "since", "until")

    def clean_project(self) -> str:
        project = self.cleaned_data.get("project", "").strip()
        if project and not valid_project_id(project):
            raise forms.ValidationError("A project id is prj_ followed by 16 letters or digits.")
        return project
