"""Record ids and paging limits shared by every repository: formats, validity, new ids."""

from __future__ import annotations

import re
import uuid

from nanoid import generate

ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 16
USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PROJECT_ID_PATTERN = re.compile(r"^prj_[0-9a-z]{16}$")
DEPLOYMENT_ID_PATTERN = re.compile(r"^dpl_[0-9a-z]{16}$")
MAX_PAGE = 100  # the most rows one list call returns


def new_id(prefix: str) -> str:
    """A new record id: `prefix` (`prj_`, `dpl_`) and 16 random lower-case letters and digits."""
    return prefix + generate(ID_ALPHABET, ID_LENGTH)


def new_write_token() -> str:
    """A token stored with a conditional write (`writeToken`), so that a retry of a write whose
    answer was lost, finding its own earlier attempt stored, knows it succeeded."""
    return uuid.uuid4().hex


def valid_user_id(user_id: object) -> bool:
    """Whether `user_id` is a well-formed tenant id (a malformed one is simply not found)."""
    return isinstance(user_id, str) and bool(USER_ID_PATTERN.match(user_id))


def valid_project_id(project_id: object) -> bool:
    return isinstance(project_id, str) and bool(PROJECT_ID_PATTERN.match(project_id))


def valid_deployment_id(deployment_id: object) -> bool:
    return isinstance(deployment_id, str) and bool(DEPLOYMENT_ID_PATTERN.match(deployment_id))
