"""The project edit form: a Django form whose rules are UpdateProjectSchema's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import pretty_name
from pydantic import ValidationError as PydanticValidationError

from infra.core.errors import ValidationError
from infra.core.schemas import field_errors, validate
from projects.schemas import ProjectSchema, UpdateProjectSchema
from web.common.forms import ReasonField, RequestKeyField, new_request_key

EDITABLE = ("name", "repo_url", "branch")


class ProjectEditForm(forms.Form):
    """Name, repository URL and branch, plus the version the editor started from.

    The schema does the validating (clean() maps its field errors onto the form), so the form and
    the repository can never disagree about what is valid. `expected_version` makes the save
    conditional: if someone changed the project meanwhile, the repository raises Conflict.
    """

    name = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="3 to 50 characters.",
    )
    repo_url = forms.CharField(
        label="Repository URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"class": "vURLField"}),
        help_text="An http(s) URL naming the repository, e.g. https://github.com/owner/repo.",
    )
    branch = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="The git branch that deploys, e.g. main.",
    )
    reason = ReasonField(help_text="Why you are changing the project (3 to 500 characters).")
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**53)
    request_key = RequestKeyField(required=False)

    required_css_class = "required"  # the admin's bold labels
    update: UpdateProjectSchema  # set by a successful clean()

    @classmethod
    def for_project(cls, project: ProjectSchema) -> ProjectEditForm:
        """An unbound form showing the project as it is now."""
        return cls(
            initial={
                "name": project.name,
                "repo_url": project.repo_url,
                "branch": project.branch,
                "expected_version": project.version,
                "request_key": new_request_key(),
            }
        )

    @classmethod
    def label_of(cls, name: str) -> str:
        """The label the form shows for field `name`."""
        return str(cls.base_fields[name].label or pretty_name(name))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if any(name in self.errors for name in (*EDITABLE, "expected_version")):
            return data  # a field the schema needs is missing; a missing reason is not one
        try:
            self.update = validate(
                UpdateProjectSchema,
                {k: v for k, v in data.items() if k not in ("reason", "request_key")},
            )
        except ValidationError as error:
            self.add_schema_errors(error)
        return data

    def add_schema_errors(self, error: ValidationError) -> None:
        """Show a schema ValidationError on the form, per field or above it, in plain words
        that use the form's own labels ("Repository URL must start with http:// or https://")."""
        errors = error.errors
        if isinstance(error.cause, PydanticValidationError):
            labels = {name: self.label_of(name) for name in self.fields}
            errors = field_errors(error.cause, labels)
        for name, messages in errors.items():
            field = name if name in self.fields else None
            for message in messages:
                self.add_error(field, message[:1].upper() + message[1:].rstrip(".") + ".")

    def changes(self, project: ProjectSchema) -> dict[str, str]:
        """The validated values that differ from `project` (only valid after is_valid())."""
        values = self.update.model_dump(mode="json", by_alias=False, include=set(EDITABLE))
        return {k: v for k, v in values.items() if v != getattr(project, k)}
