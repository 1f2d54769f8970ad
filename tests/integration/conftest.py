"""Staff users and clients for dashboard tests, and a counter of DynamoDB calls.

`client_as(role)` gives a Django test client for one of ROLES: "anonymous" (not logged in),
"nonstaff" (logged in, not staff), "support" and "operations" (staff in the groups the
0002_staff_groups migration creates). The `support_client` / `operations_client` fixtures are
shortcuts. `dynamodb_calls` records the operation name of every DynamoDB API call made while a
test runs (one entry per call, paginator pages included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from infra.core import aws

ROLES = ("anonymous", "nonstaff", "support", "operations")
GROUP_OF_ROLE = {"support": "Support", "operations": "Operations"}
PASSWORD = "correct-horse-battery-staple-42"


def make_user(role: str) -> User:
    """A user of `role` (see ROLES, except "anonymous") with PASSWORD as password."""
    user = User.objects.create_user(
        username=f"{role}-user", password=PASSWORD, is_staff=role in GROUP_OF_ROLE
    )
    if role in GROUP_OF_ROLE:
        user.groups.add(Group.objects.get(name=GROUP_OF_ROLE[role]))
    return user


@pytest.fixture
def client_as(db: None) -> Callable[[str], Client]:
    """A factory: client_as("support") is a test client logged in as a Support staff member."""
    users: dict[str, User] = {}

    def build(role: str) -> Client:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {ROLES}")
        client = Client()
        if role != "anonymous":
            if role not in users:
                users[role] = make_user(role)
            client.force_login(users[role])
        return client

    return build


@pytest.fixture
def support_user(db: None) -> User:
    return make_user("support")


@pytest.fixture
def operations_user(db: None) -> User:
    return make_user("operations")


@pytest.fixture
def support_client(support_user: User) -> Client:
    client = Client()
    client.force_login(support_user)
    return client


@pytest.fixture
def operations_client(operations_user: User) -> Client:
    client = Client()
    client.force_login(operations_user)
    return client


@pytest.fixture
def dynamodb_calls(aws_stage: str) -> Iterator[list[str]]:
    """Operation names of the DynamoDB calls made during the test (e.g. ["Query", "Query"]).

    Clear it (`dynamodb_calls.clear()`) after arranging data to count only what a page costs.
    """
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb.*", record, unique_id="anchor-count-calls")
    yield calls
    events.unregister("before-call.dynamodb.*", unique_id="anchor-count-calls")
