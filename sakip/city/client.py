"""One person of the scripted city at the services' public HTTP APIs, as a program would be:
the account activated through its one-time link (the portal's page), a login at the portal,
then a personal API token made under "Akun saya" (POST /api/v1/me/tokens) and sent as a Bearer
token to intake, workflow and reporting. Any unexpected status raises `ApiCallFailed` with the
answer's body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

TIMEOUT = 120  # seconds: a 5 MB upload on a busy 2-core machine
# One connection per request: a kept-alive connection the server closes just as a request goes
# out on it resets that request (gunicorn's keep-alive is 2 s), and a write cannot be retried.
_HEADERS = {"Connection": "close"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class ApiCallFailed(RuntimeError):
    def __init__(self, who: str, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{who}: {method} {url} answered {status}: {body[:2000]}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Endpoints:
    intake: str
    workflow: str
    reporting: str

    def base(self, service: str) -> str:
        return {"intake": self.intake, "workflow": self.workflow,
                "reporting": self.reporting}[service]


def _check(who: str, response: requests.Response, expect: tuple[int, ...]) -> requests.Response:
    if response.status_code not in expect:
        raise ApiCallFailed(who, response.request.method or "?", response.url,
                            response.status_code, response.text)
    return response


def _csrf(who: str, page: requests.Response) -> str:
    found = _CSRF.search(page.text)
    if found is None:
        raise ApiCallFailed(who, "GET", page.url, page.status_code, "no csrf_token on the page")
    return found.group(1)


def activate(endpoints: Endpoints, link: str, password: str, *, who: str) -> None:
    """Set the account's password through its one-time activation link (the portal's form)."""
    parts = urlsplit(link)
    url = endpoints.intake + parts.path
    with requests.Session() as browser:
        browser.headers.update(_HEADERS)
        page = _check(who, browser.get(url, timeout=TIMEOUT), (200,))
        _check(who, browser.post(url, data={
            "csrf_token": _csrf(who, page), "new_password": password,
            "confirm_password": password}, allow_redirects=False, timeout=TIMEOUT), (303,))


class Person:
    """A signed-in person: every call carries their personal API token."""

    def __init__(self, endpoints: Endpoints, username: str, token: str) -> None:
        self.endpoints = endpoints
        self.username = username
        self.token = token
        self.http = requests.Session()
        self.http.headers.update(_HEADERS)
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.headers["Accept"] = "application/json"

    @classmethod
    def log_in(cls, endpoints: Endpoints, username: str, password: str) -> Person:
        """Log in at the portal, then create a personal API token under "Akun saya"."""
        with requests.Session() as browser:
            browser.headers.update(_HEADERS)
            form = _check(username, browser.get(f"{endpoints.intake}/masuk", timeout=TIMEOUT),
                          (200,))
            _check(username, browser.post(f"{endpoints.intake}/masuk", data={
                "csrf_token": _csrf(username, form), "username": username,
                "password": password}, allow_redirects=False, timeout=TIMEOUT), (303,))
            account = _check(username, browser.get(f"{endpoints.intake}/akun", timeout=TIMEOUT),
                             (200,))
            created = _check(username, browser.post(
                f"{endpoints.intake}/api/v1/me/tokens",
                json={"name": "sakip demo city", "expires_in_days": None},
                headers={"X-CSRF-Token": _csrf(username, account)}, timeout=TIMEOUT), (201,))
        return cls(endpoints, username, created.json()["token"])

    def twin(self) -> Person:
        """The same person on a connection of its own (for another thread)."""
        return Person(self.endpoints, self.username, self.token)

    def call(self, service: str, method: str, path: str, *, expect: tuple[int, ...] = (200,),
             **kwargs: Any) -> Any:
        """`method` on `service`'s /api/v1`path`; the JSON answer (None when empty)."""
        url = f"{self.endpoints.base(service)}/api/v1{path}"
        response = _check(self.username,
                          self.http.request(method, url, timeout=TIMEOUT, **kwargs), expect)
        return response.json() if response.content else None

    def intake(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call("intake", method, path, **kwargs)

    def workflow(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call("workflow", method, path, **kwargs)

    def reporting(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call("reporting", method, path, **kwargs)

    def close(self) -> None:
        self.http.close()
