"""Dashboard template tags: status and "stuck" badges, short SHAs, relative times and durations,
and the page of a stored record the schema rejected.

Load with `{% load anchor %}`. Times are stored in UTC and shown in settings.TIME_ZONE
(Singapore): a relative time carries the absolute local time on hover.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil

from deployments import rules, wording
from deployments.schemas import DeploymentSchema

register = template.Library()

STATUSES = frozenset({"queued", "building", "ready", "error", "canceled"})
SHORT_SHA = 7
NOTHING = "—"


@register.filter
def status_badge(status: object) -> SafeString:
    """`{{ deployment.status|status_badge }}`: a coloured badge; unknown values get a grey one."""
    if status is None or status == "":
        return format_html('<span class="badge badge-none">{}</span>', NOTHING)
    value = str(getattr(status, "value", status))
    variant = value if value in STATUSES else "unknown"
    return format_html('<span class="badge badge-{}">{}</span>', variant, value)


@register.filter
def stuck_badge(deployment: DeploymentSchema) -> SafeString:
    """`{{ deployment|stuck_badge }}`: a "stuck" badge after the status of a build running past
    the threshold (deployments.rules.is_stuck, the rule "mark as error" uses), else nothing."""
    if not rules.is_stuck(deployment):
        return SafeString("")
    return format_html(
        ' <span class="badge badge-stuck" title="{}">stuck</span>',
        f"Building for over {wording.STUCK_FOR}",
    )


@register.filter
def short_sha(sha: object) -> SafeString:
    """`{{ deployment.commit_sha|short_sha }}`: the first 7 characters, the full SHA on hover."""
    if not sha:
        return format_html("{}", NOTHING)
    full = str(sha)
    return format_html('<code class="sha" title="{}">{}</code>', full, full[:SHORT_SHA])


@register.filter
def local_time(moment: datetime | None) -> str:
    """`{{ moment|local_time }}`: absolute time in the site's zone, e.g. 2025-03-01 14:05:09 SGT."""
    if moment is None:
        return NOTHING
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + _zone_label(local)


@register.filter
def relative_time(moment: datetime | None) -> SafeString:
    """`{{ moment|relative_time }}`: "5 minutes ago" in a <time>, the local absolute on hover."""
    if moment is None:
        return format_html("{}", NOTHING)
    now = timezone.now()
    if moment <= now:
        words = (
            "just now"
            if (now - moment).total_seconds() < 60
            else f"{timesince(moment, now, depth=1)} ago"
        )
    else:
        words = f"in {timeuntil(moment, now, depth=1)}"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        local_time(moment),
        words,
    )


@register.filter
def duration(seconds: float | int | None) -> str:
    """`{{ deployment.duration_seconds|duration }}`: 45s, 3m 07s, 2h 05m; "—" when unknown."""
    if seconds is None or seconds == "":
        return NOTHING
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _zone_label(local: datetime) -> str:
    # zoneinfo names Singapore's offset "+08"; staff call it SGT.
    if str(local.tzinfo) == "Asia/Singapore":
        return "SGT"
    return local.tzname() or ""


@register.simple_tag(takes_context=True)
def unreadable_link(context: template.Context, key: Mapping[str, object]) -> str:
    """`{% unreadable_link key as url %}`: unreadable_url for the page's tenant (the context's
    `user_id`, when the page is one tenant's). A tag, not a filter: a filter's missing argument
    would be an error, and a list of many tenants' records has no `user_id`."""
    return unreadable_url(key, context.get("user_id"))


def unreadable_url(key: Mapping[str, object], user_id: str | None) -> str:
    """The page that shows a rejected record as stored (its attributes, no action), from its
    key: a deployment (SK DEPLOYMENT#{createdAt}#{deploymentId}) or a project (PK {projectId},
    SK METADATA) of the tenant `user_id`; "" for any other key, or without a tenant."""
    pk, sk = str(key.get("PK", "")), str(key.get("SK", ""))
    if not user_id:
        return ""
    if sk.startswith("DEPLOYMENT#") and sk.rpartition("#")[2].startswith("dpl_"):
        return reverse("admin:deployments_deployment_detail", args=[user_id, sk.rpartition("#")[2]])
    if sk == "METADATA" and pk.startswith("prj_"):
        return reverse("admin:projects_project_detail", args=[user_id, pk])
    return ""
