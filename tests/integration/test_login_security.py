"""Staff login in production settings: lockout after 5 failures, session limits, cookies, headers
and the security log. Django-side only (no AWS), so it runs again on PostgreSQL."""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from anchor_site.security import LOGIN_AT
from tests.integration.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def attempt(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    # Through the proxy: the client's address is the entry the proxy appended to X-Forwarded-For.
    return client.post(
        LOGIN,
        {"username": username, "password": password},
        HTTP_X_FORWARDED_FOR=address,
        secure=True,
    )


@pytest.fixture
def staff() -> User:
    return make_user("support")


def test_five_wrong_passwords_lock_the_username_out_with_an_admin_styled_429(staff):
    client = Client()
    for _ in range(4):
        response = attempt(client, staff.username, "wrong-password")
        assert response.status_code == 200  # the login form again, with its error
    assert attempt(client, staff.username, "wrong-password").status_code == 429  # the fifth

    locked = attempt(client, staff.username, PASSWORD)  # even the right password now

    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    page = locked.content.decode()
    assert "Too many failed logins" in page
    assert "locked for 15 minutes" in page
    assert 'id="site-name"' in page  # the admin's header: the page is styled like the admin
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(staff):
    client = Client()
    for _ in range(5):
        attempt(client, staff.username, "wrong-password")

    assert attempt(client, staff.username, PASSWORD, address="198.51.100.9").status_code == 302


def test_a_forged_x_forwarded_for_does_not_escape_the_lockout(staff):
    client = Client()
    for n in range(5):
        # A client may prepend anything; the proxy appends the real address last.
        attempt(client, staff.username, "wrong-password", address=f"10.0.0.{n}, 203.0.113.7")

    assert attempt(client, staff.username, PASSWORD).status_code == 429


def test_the_lockout_ends_after_the_cool_off(staff):
    client = Client()
    for _ in range(5):
        attempt(client, staff.username, "wrong-password")
    assert attempt(client, staff.username, PASSWORD).status_code == 429

    earlier = timedelta(minutes=settings.AXES_COOLOFF_MINUTES, seconds=1)
    for row in AccessAttempt.objects.all():
        row.attempt_time -= earlier
        row.save()

    assert attempt(client, staff.username, PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(staff):
    client = Client()
    for _ in range(4):
        attempt(client, staff.username, "wrong-password")
    assert attempt(client, staff.username, PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        attempt(client, staff.username, "wrong-password")

    assert attempt(client, staff.username, PASSWORD).status_code == 302


def test_superusers_see_lockouts_in_the_admin_and_other_staff_do_not(staff):
    for _ in range(5):
        attempt(Client(), staff.username, "wrong-password")
    root = User.objects.create_superuser("root-admin", password=PASSWORD)
    admin_client, support_client = Client(), Client()
    admin_client.force_login(root)
    support_client.force_login(staff)
    url = reverse("admin:axes_accessattempt_changelist")

    listing = admin_client.get(url, secure=True)

    assert listing.status_code == 200
    assert staff.username in listing.content.decode()
    assert support_client.get(url, secure=True).status_code == 403


def test_failed_logins_lockouts_and_permission_denials_are_logged(staff, caplog):
    caplog.set_level(logging.INFO, logger="anchor")
    client = Client()
    for _ in range(5):
        attempt(client, staff.username, "wrong-password")
    attempt(client, staff.username, "wrong-password")
    client.force_login(staff)
    client.get(reverse("admin:axes_accessattempt_changelist"), secure=True)

    security = [r for r in caplog.records if r.name == "anchor.security"]
    events = [getattr(r, "event", None) for r in security]
    assert events.count("login_failed") >= 5
    assert "login_locked_out" in events
    assert "permission_denied" in events
    failed = next(r for r in security if r.event == "login_failed")
    assert staff.username in failed.getMessage() and "203.0.113.7" in failed.getMessage()
    assert "wrong-password" not in caplog.text


def test_a_session_ends_after_the_absolute_limit_however_active(staff):
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/", secure=True).status_code == 200

    session = client.session
    session[LOGIN_AT] = int(time.time()) - settings.SESSION_MAX_HOURS * 3600 - 1
    session.save()

    response = client.get("/admin/", secure=True)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_session_cookie_is_secure_host_only_and_renewed_for_the_idle_limit(staff):
    client = Client()
    response = attempt(client, staff.username, PASSWORD)
    cookie = response.cookies["__Host-sessionid"]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/" and not cookie["domain"]
    assert int(cookie["max-age"]) == settings.SESSION_IDLE_MINUTES * 60 <= 30 * 60
    assert settings.SESSION_MAX_HOURS <= 12

    again = client.get("/admin/", secure=True)  # every request renews the idle limit
    assert int(again.cookies["__Host-sessionid"]["max-age"]) == 30 * 60
    csrf = client.get(LOGIN, secure=True).cookies.get("__Host-csrftoken")
    assert csrf is None or (csrf["secure"] and csrf["httponly"])


def test_every_response_carries_the_security_headers(staff):
    client = Client()
    client.force_login(staff)
    for url in ("/admin/", "/admin/find/?q=", LOGIN, "/healthz"):
        response = client.get(url, secure=True)
        assert response["X-Frame-Options"] == "DENY", url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
        assert response["Strict-Transport-Security"].startswith("max-age=31536000"), url
        policy = dict(
            part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
        )
        assert policy["script-src"] == "'self'", url
        assert "unsafe-inline" not in response["Content-Security-Policy"], url
        assert policy["frame-ancestors"] == "'none'", url


def test_plain_http_is_redirected_to_https_except_the_health_checks(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()

    response = client.get("/admin/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/"
    assert client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_runs_on_the_database_that_database_url_names():
    # tests/integration/test_on_postgresql.py runs this module again with PostgreSQL.
    from django.db import connection

    assert connection.vendor == os.environ.get("EXPECT_DATABASE_VENDOR", "sqlite")
