"""Page helpers for dashboard tests: the addresses of its pages and what a response shows.

One place knows each page's URL name and arguments, so a renamed route or parameter touches this
module, not every test that opens the page.
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse

from deployments.schemas import DeploymentSchema
from projects.schemas import ProjectSchema


def find_url(query: str) -> str:
    return reverse("admin:find") + "?" + f"q={query}"


def tenant_url(user_id: str) -> str:
    return reverse("admin:tenant_detail", args=[user_id])


def project_url(project: ProjectSchema, user_id: str | None = None) -> str:
    """The project's page; `user_id` asks for it as another tenant's (a 404)."""
    return reverse(
        "admin:projects_project_detail", args=[user_id or project.user_id, project.project_id]
    )


def edit_url(project: ProjectSchema, user_id: str | None = None) -> str:
    return reverse(
        "admin:projects_project_edit", args=[user_id or project.user_id, project.project_id]
    )


def deployment_url(page: str, deployment: DeploymentSchema, user_id: str | None = None) -> str:
    """`page` is the URL name's verb: "detail", "log_view", "cancel", ... of the deployment."""
    return reverse(
        f"admin:deployments_deployment_{page}",
        args=[user_id or deployment.user_id, deployment.deployment_id],
    )


def html(response: Any) -> str:
    """The response's HTML as sent."""
    return response.content.decode()


def text(response: Any) -> str:
    """The response's HTML with every run of ASCII whitespace made one space (wording spans
    lines; a no-break space, as in "1\xa0day ago", stays)."""
    return re.sub(r"\s+", " ", html(response), flags=re.ASCII)


def without_tokens(page: str) -> str:
    """A page's HTML without the per-response CSRF token (the only part that differs)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)


def links(page: str, rel: str) -> list[str]:
    """The targets of the page's links with that `rel` ("next", "prev"), unescaped."""
    return [m.replace("&amp;", "&") for m in re.findall(rf'href="([^"]*)" rel="{rel}"', page)]
