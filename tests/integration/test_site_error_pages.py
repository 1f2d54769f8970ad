"""Django's own error handlers (anchor_site/urls.py): what no dashboard view answers itself is the
console's admin-styled error page, never Django's bare unstyled one, and it offers staff only
what staff can use."""

from __future__ import annotations

import html
import logging
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from web.common import dashboard

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def test_an_unknown_admin_address_is_the_admin_styled_404_with_find(client_as):
    response = client_as("support").get("/admin/no-such-page/")
    assert response.status_code == 404
    body = text(response)
    assert 'id="site-name"' in body  # the admin's own header
    assert "<h1>Page not found</h1>" in body
    assert "There is no console page at this address" in body
    assert 'id="anchor-find-q"' in body  # staff can look the record up from here
    assert "Back to the dashboard" in body
    assert 'id="nav-sidebar"' in body


def test_an_unknown_address_for_someone_logged_out_offers_the_login_and_nothing_else(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    body = text(response)
    assert 'id="site-name"' in body and "<h1>Page not found</h1>" in body
    assert 'href="/admin/login/"' in body and "Log in to the console" in body
    assert 'id="anchor-find-q"' not in body and "breadcrumbs" not in body
    assert 'id="nav-sidebar"' not in body  # no "You don't have permission to view ..." panel
    assert "Back to the dashboard" not in body


def test_a_stock_admin_page_the_groups_do_not_allow_is_the_console_403(client_as):
    response = client_as("support").get("/admin/auth/user/")
    assert response.status_code == 403
    body = text(response)
    assert 'id="site-name"' in body and "<h1>Permission denied</h1>" in body
    assert "Your account's staff groups do not allow this page or action." in body


def test_the_500_handler_is_admin_styled_and_names_the_request():
    request = RequestFactory().get("/admin/broken/")
    request.user = AnonymousUser()
    token = dashboard.request_id.set("req-4711")
    try:
        response = dashboard.server_error(request)
    finally:
        dashboard.request_id.reset(token)
    assert response.status_code == 500
    body = text(response)
    assert 'id="site-name"' in body and "<h1>Server error</h1>" in body
    assert "request req-4711" in body


def test_the_500_handler_falls_back_to_djangos_page_when_its_own_fails(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the template engine is gone")

    monkeypatch.setattr(dashboard, "error_page", broken)
    request = RequestFactory().get("/admin/broken/")
    request.user = AnonymousUser()
    with caplog.at_level(logging.WARNING, "anchor.dashboard"):
        response = dashboard.server_error(request)
    assert response.status_code == 500
    assert "Server Error (500)" in response.content.decode()
    assert any("could not be rendered" in r.getMessage() for r in caplog.records)


def test_a_refused_host_header_is_a_400_not_a_second_error(client):
    # Django refuses the Host before any view; the styled page cannot be built without a host,
    # so this one is Django's plain 400, and never a 500.
    response = client.get("/admin/", HTTP_HOST="console.evil.example")
    assert response.status_code == 400
    assert "Bad Request (400)" in response.content.decode()
