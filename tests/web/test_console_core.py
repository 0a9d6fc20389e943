"""The console's frame over real TLS: login and logout, redirects, forgery guards and the
security headers, as a browser meets them (httpx standing in; the browser tests drive
Chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from garrison.web.session import safe_next
from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(tmp_path_factory.mktemp("console") / "data", poller={"enabled": False})
    yield from start_server(settings)


def browser(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.url(), verify=False, timeout=10)


def origin(server: RunningServer) -> dict[str, str]:
    return {"Origin": server.url()}


def log_in(client: httpx.Client, server: RunningServer, password: str = ADMIN_PASSWORD):
    return client.post(
        "/login",
        data={"username": "admin", "password": password, "next": "/events?severity=4"},
        headers=origin(server),
    )


def test_an_anonymous_page_request_goes_to_login_and_comes_back(live: RunningServer) -> None:
    with browser(live) as client:
        away = client.get("/?range=day")
        assert away.status_code == 303
        assert away.headers["location"] == "/login?next=/%3Frange%3Dday"
        page = client.get("/login?next=/devices")
        assert page.status_code == 200
        assert 'name="next" value="/devices"' in page.text
        assert re.search(r'<label for="f-username">User name', page.text)
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


def test_login_shows_the_reason_and_sets_a_strict_cookie(live: RunningServer) -> None:
    with browser(live) as client:
        wrong = log_in(client, live, "not the password")
        assert wrong.status_code == 401
        assert "Wrong user name or password." in wrong.text
        blank = client.post("/login", data={"username": "admin"}, headers=origin(live))
        assert blank.status_code == 400
        assert 'id="e-password"' in blank.text and "Enter your password." in blank.text
        done = log_in(client, live)
        assert (done.status_code, done.headers["location"]) == (303, "/events?severity=4")
        cookie = done.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
        dashboard = client.get("/")
        assert dashboard.status_code == 200
        assert "admin" in dashboard.text and 'aria-current="page"' in dashboard.text


def test_a_form_from_elsewhere_is_refused(live: RunningServer) -> None:
    with browser(live) as client:
        assert client.post("/login", data={"username": "admin", "password": "x"}).status_code == 403
        forged = client.post(
            "/login",
            data={"username": "admin", "password": ADMIN_PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
        log_in(client, live)
        token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/").text)
        assert token
        # Logging out needs the page's token, and the same origin.
        assert client.post("/logout", headers=origin(live)).status_code == 403
        out = client.post("/logout", data={"csrf_token": token[1]}, headers=origin(live))
        assert (out.status_code, out.headers["location"]) == (303, "/login")
        assert client.get("/").status_code == 303  # the session is gone


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/events?x=1", "/events?x=1"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
def test_login_only_goes_back_to_local_pages(asked: str, kept: str) -> None:
    assert safe_next(asked) == kept
