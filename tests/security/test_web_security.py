"""Web security of the staff portal, generated from its url_map: CSRF on every write, security
headers on every page, the session cookie's flags (also behind a TLS-terminating proxy).

Already covered elsewhere and referenced here: the upload's CSRF variants and the login from
another site (tests/integration/test_portal.py::test_writes_without_the_right_csrf_token_are_
refused_and_change_nothing, ::test_login_posted_from_another_site_is_refused), the cookie's
HttpOnly/SameSite/Max-Age (::test_login_sets_a_hardened_session_cookie_and_follows_a_local_next).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from services.intake.app import create_app
from services.intake.auth import SESSION_COOKIE
from shared.config import Settings
from tests.integration.test_portal import csrf, csrf_of, log_in
from tests.security.web_routes import database_fingerprint, fill, portal_rules
from tests.world import PASSWORD, World

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")
EVENT_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.evidence(
    "security", "Every POST route of the portal (from the url_map) sent by a signed-in user "
    "with no CSRF token and with a wrong one.",
    "Each answered 400 and the database (every row of every table) was unchanged.")
def test_every_portal_post_route_refuses_a_missing_or_wrong_csrf_token(
        app, world, session_factory):
    kepala = log_in(app, world.a.username("kepala"))
    real = csrf(kepala)
    before = database_fingerprint(session_factory)
    routes = list(portal_rules(app, "POST"))
    assert len(routes) > 50, "the portal's writes were not found in the url_map"
    failures = []
    for rule in routes:
        url = fill(rule, world)
        for sent in (None, "0" * 64, real[:-1] + ("0" if real[-1] != "0" else "1")):
            data = {} if sent is None else {"csrf_token": sent}
            response = kepala.post(url, data=data)
            if response.status_code not in (400, 403):
                failures.append(f"{rule.endpoint} {url} token={sent!r}: "
                                f"{response.status_code}")
    assert not failures, "\n".join(failures)
    assert database_fingerprint(session_factory) == before
    assert kepala.get("/").status_code == 200  # the refusals did not sign the user out


def _page_clients(app: Flask, world: World) -> Iterator[tuple[str, object]]:
    yield "anonymous", app.test_client()
    yield "admin", log_in(app, world.city_users["admin"])
    for key in ("kepala", "kasubbag", "staf1"):
        yield key, log_in(app, world.a.username(key))


@pytest.mark.evidence(
    "security", "Every GET page of the portal (from the url_map) fetched anonymously and as "
    "platform admin, kepala dinas, kasubbag and bidang staff.",
    "Each answer carried a CSP with default-src 'self', frame-ancestors 'none' and no "
    "unsafe-inline, X-Content-Type-Options nosniff; no HTML page held inline script, style or "
    "event handler attributes.")
def test_every_portal_page_carries_the_security_headers(app, world):
    rules = list(portal_rules(app, "GET"))
    assert len(rules) > 20
    pages = 0
    failures = []
    for who, client in _page_clients(app, world):
        for rule in rules:
            url = fill(rule, world)
            response = client.get(url)  # type: ignore[attr-defined]
            label = f"{who} {rule.endpoint} {url} ({response.status_code})"
            csp = response.headers.get("Content-Security-Policy", "")
            for needed in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
                if needed not in csp:
                    failures.append(f"{label}: CSP lacks {needed}")
            if "unsafe-inline" in csp or "unsafe-eval" in csp:
                failures.append(f"{label}: CSP allows inline code")
            if response.headers.get("X-Content-Type-Options") != "nosniff":
                failures.append(f"{label}: no nosniff")
            if response.mimetype == "text/html":
                pages += response.status_code == 200
                body = response.text
                if INLINE_SCRIPT.search(body) or "<style" in body or " style=" in body:
                    failures.append(f"{label}: inline script or style")
                if EVENT_ATTRIBUTE.search(body):
                    failures.append(f"{label}: event handler attribute")
            response.close()
    assert not failures, "\n".join(failures)
    assert pages >= 20, "too few real pages rendered: the parameters are not filled right"


@pytest.fixture
def proxied_app(settings: Settings, object_store, redis_client) -> Iterator[Flask]:
    """The portal behind one trusted TLS-terminating proxy (TRUSTED_PROXIES=1)."""
    application = create_app(dataclasses.replace(settings, trusted_proxies=1))
    yield application
    application.extensions["sakip"].close()


def _login_cookie(app: Flask, headers: dict[str, str]) -> str:
    client = app.test_client()
    page = client.get("/masuk", headers=headers)
    response = client.post("/masuk", headers=headers, data={
        "username": "dinas-a.tim", "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303, response.text
    return next(h for h in response.headers.getlist("Set-Cookie")
                if h.startswith(f"{SESSION_COOKIE}="))


FORWARDED_TLS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


@pytest.mark.evidence(
    "security", "Signed in over plain HTTP behind a TLS-terminating proxy that sends "
    "X-Forwarded-Proto: https, with TRUSTED_PROXIES=1 and with no proxy trusted.",
    "Behind the trusted proxy the session cookie was Secure, HttpOnly and SameSite=Lax; "
    "without trust the forged header was ignored (no Secure on plain HTTP).")
def test_session_cookie_is_secure_behind_a_trusted_tls_proxy_only(proxied_app, app, world):
    behind_proxy = _login_cookie(proxied_app, FORWARDED_TLS)
    assert "Secure" in behind_proxy
    assert "HttpOnly" in behind_proxy
    assert "SameSite=Lax" in behind_proxy
    untrusted = _login_cookie(app, FORWARDED_TLS)
    assert "Secure" not in untrusted
    assert "HttpOnly" in untrusted
