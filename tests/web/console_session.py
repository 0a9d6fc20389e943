"""A logged-in console user for the dashboard and devices tests: httpx keeping the session
cookie, sending each form with the page's CSRF token and the server's Origin, as a
browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from garrison.auth import Principal
from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server

TOKEN = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')


@dataclass
class ConsoleSession:
    server: RunningServer
    client: httpx.Client
    token: str

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        form = {"csrf_token": self.token, **(data or {})}
        return self.client.post(path, data=form, headers={"Origin": self.server.url()})

    def close(self) -> None:
        self.client.close()


def browser(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.url(), verify=False, timeout=15)


def log_in(
    server: RunningServer, username: str = "admin", password: str = ADMIN_PASSWORD
) -> ConsoleSession:
    client = browser(server)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "next": "/"},
        headers={"Origin": server.url()},
    )
    assert answer.status_code == 303, answer.text
    token = TOKEN.search(client.get("/").text)
    assert token, "the dashboard carries the CSRF token"
    return ConsoleSession(server, client, token[1])


def add_user(server: RunningServer, username: str, role: str) -> str:
    """A user of ``role``; returns the password."""
    password = "Seven long words of a passphrase, 42"
    server.services.auth.create_user(
        Principal.local_cli(), username=username, password=password, role=role
    )
    return password


def console_server(factory: pytest.TempPathFactory, name: str) -> Iterator[RunningServer]:
    """A server of its own for a test module (no poller: the tests set device states)."""
    yield from start_server(make_settings(factory.mktemp(name) / "data", poller={"enabled": False}))


def session_of(
    server: RunningServer, username: str = "admin", password: str = ADMIN_PASSWORD
) -> Iterator[ConsoleSession]:
    """A logged-in session for a fixture, closed after the test."""
    session = log_in(server, username, password)
    try:
        yield session
    finally:
        session.close()
