"""Shared fixtures: throwaway databases on all three backends, settings in a temporary
data directory, and a running Garrison server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from garrison.config import Settings
from garrison.store import Store, upgrade
from garrison.store.throwaway import throwaway_database
from tests.support import RunningServer, make_settings, start_server

# The servers this kind of machine runs; .ci/run starts them when they are down.
SERVER_URLS = {
    "postgresql": os.environ.get(
        "GARRISON_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get(
        "GARRISON_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/mysql"
    ),
}


def _server_database(backend: str) -> Iterator[str]:
    """Create a database of its own on the running server, yield its URL, drop it."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database(SERVER_URLS[backend], "garrison_test"))
        except Exception as exc:  # the message says how to start it
            shown = make_url(SERVER_URLS[backend]).render_as_string()
            pytest.fail(
                f"{backend} at {shown} is not reachable ({exc}); "
                "start it as .ci/run does (scripts/services.sh)"
            )
        yield url


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'garrison.db'}"
    else:
        yield from _server_database(request.param)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    upgrade(store.engine)
    yield store
    store.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def server(settings: Settings) -> Iterator[RunningServer]:
    yield from start_server(settings)
