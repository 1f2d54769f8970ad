"""Single sign-on on a real PostgreSQL server (DATABASE_URL=postgres://…), as production may run
it: the identity table's migration, and the SSO suites (the real provider and the scripted one)
again in a pytest of their own pointed at a throwaway cluster."""

from __future__ import annotations

from tests import postgres
from tests.integration.test_on_postgresql import database_url  # noqa: F401 (fixture)

SSO_SUITES = ["tests/integration/sso", "tests/integration/sso_refusals"]


def test_the_sso_suites_pass_on_postgresql(database_url: str) -> None:  # noqa: F811
    postgres.assert_suites_pass(database_url, SSO_SUITES, timeout=900)
