"""What the repEntries tests share: a live server with the tag categories of the facts
sheet's examples, a clean reputation store per test, and answers read the way scripts
read them (the standard library's csv)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
import requests

from garrison.auth import Principal
from garrison.store import AuditRecord
from tests.support import RunningServer
from tests.webservices import ws_support

CLI = Principal.local_cli()


def add_categories(server: RunningServer) -> None:
    """The categories the facts sheet's examples use."""
    reputation = server.services.reputation
    reputation.create_category(
        CLI, "MalwareIpType", "list", values=["cncHost", "infectedHost"], multiple=True
    )
    reputation.create_category(CLI, "AtaHost", "text")
    reputation.create_category(CLI, "ThreatScore", "range", minimum=0, maximum=100)
    reputation.create_category(CLI, "Trend Micro Severity", "list", values=["High", "Medium"])
    reputation.create_category(CLI, "Blocked", "yesno")


@pytest.fixture(scope="module", name="live")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    for server in ws_support.module_server(tmp_path_factory, "rep"):
        add_categories(server)
        yield server


@pytest.fixture(name="rep")
def empty_store(live: RunningServer) -> Iterator[RunningServer]:
    """The live server with an empty reputation store."""
    live.services.reputation.delete_all(CLI)
    yield live


def call(
    server: RunningServer, path: str, *, method: str = "GET", **kwargs: object
) -> requests.Response:
    """A Web service call with requests, as Python scripts make them (verifying the
    server's own self-signed certificate, whose names include 127.0.0.1)."""
    ca = str(server.services.settings.certificate_path)
    return requests.request(method, server.url() + path, verify=ca, timeout=60, **kwargs)  # type: ignore[arg-type]


def rows(body: str) -> list[list[str]]:
    """An answer's lines as csv rows."""
    return list(csv.reader(io.StringIO(body, newline="")))


def tags_of(row: list[str]) -> dict[str, str]:
    return dict(zip(row[1::2], row[2::2], strict=True))


def newest_audit(server: RunningServer, action: str) -> tuple[AuditRecord, dict[str, object]]:
    """The newest audit row of ``action`` and its detail."""
    row = ws_support.newest_audit(server, action)
    return row, json.loads(row.detail)
