"""A throwaway database on a running PostgreSQL or MariaDB server, for the tests and the
benchmarks: created with a random name, its URL handed out, dropped afterwards."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextlib.contextmanager
def throwaway_database(server_url: str, prefix: str = "garrison_tmp") -> Iterator[str]:
    """Create ``<prefix>_<hex>`` on the server ``server_url`` reaches (as a user who may
    create databases), yield its URL, and drop it on the way out, whatever happened."""
    admin_url = make_url(server_url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        admin.dispose()
