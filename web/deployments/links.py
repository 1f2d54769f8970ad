"""Signed links into a build log: a chunk's byte offset with its line number, signed with the
log's ETag, so a link can go on numbering lines without reading the log from its start."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from deployments.logread import LogPosition
from deployments.logtext import LogLine
from deployments.schemas import DeploymentSchema
from web.common import params

# Line numbers are only known counting newlines from the log's start, and a 200 MB log is never
# read whole for a page. So every link the viewer makes to a chunk carries the number of the line
# at its byte offset, signed with the log's ETag (`line`, `v`, `sig`): reading on from a chunk
# adds its newlines, reading back subtracts them, and a search or "go to line" that counted
# from the start hands its count on the same way. A chunk reached without such a number (the
# end of a big log, a hand-edited offset) shows its lines unnumbered, with a link that counts
# them (a bounded scan per request). A signed number is only trusted for the ETag it was made
# for: the read is pinned to that ETag, and a log replaced since is shown from its start.

_POSITIONS = signing.Signer(salt="anchor.deployments.log-position")


def _position_value(key: str, etag: str, offset: int, line: int) -> str:
    return f"{key}|{etag.strip(chr(34))}|{offset}|{line}"


def position_query(key: str, etag: str, at: str, position: LogPosition) -> dict[str, str]:
    value = _position_value(key, etag, position.offset, position.line)
    return {
        at: str(position.offset),
        "line": str(position.line),
        "v": etag.strip('"'),
        "sig": _POSITIONS.signature(value),
    }


def whole_number(request: HttpRequest, name: str) -> int | None:
    return params.whole_number(request.GET, name)


_ETAG = re.compile(r"[0-9a-fA-F-]{1,80}", re.ASCII)
_DAMAGED = "this log link is damaged; open the log again"


def known_position(request: HttpRequest, key: str, at: str) -> tuple[LogPosition | None, str]:
    """The signed position a link carried for the offset in parameter `at`, and its ETag."""
    offset, line = whole_number(request, at), whole_number(request, "line")
    sig = request.GET.get("sig", "")
    if offset is None or line is None or not sig:
        return None, ""
    etag = params.token(request.GET, "v", _ETAG, _DAMAGED)
    if line < 1 or etag is None:
        params.refuse("line", _DAMAGED)
    if not params.signed(_POSITIONS, _position_value(key, etag, offset, line), sig):
        params.refuse("sig", _DAMAGED)
    return LogPosition(offset, line), f'"{etag}"'


def viewer_url(deployment: DeploymentSchema, query: dict[str, str], fragment: str = "") -> str:
    base = reverse(
        "admin:deployments_deployment_log_view",
        args=[deployment.user_id, deployment.deployment_id],
    )
    url = f"{base}?{urlencode(query)}" if query else base
    return f"{url}#{fragment}" if fragment else url


def line_url(deployment: DeploymentSchema, key: str, etag: str, line: LogLine) -> str:
    """A link to the chunk that starts with `line`, scrolled to it (#L123)."""
    assert line.number is not None
    query = position_query(key, etag, "start", LogPosition(line.offset, line.number))
    return viewer_url(deployment, query, f"L{line.number}")
