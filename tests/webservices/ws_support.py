"""What the Web service tests of several services share: a live Garrison for a test module,
the admin's ``smsuser``/``smspass`` parameters, a query string, and the audit row a call
left."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from garrison.store import AuditRecord
from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server

# The SMS's own credentials in the query or form: ?smsuser=admin&smspass=...
ADMIN = {"smsuser": "admin", "smspass": ADMIN_PASSWORD}


def q(**params: str) -> str:
    """A query string, ``?name=value&...``, encoded as a form."""
    return "?" + urlencode(params)


def module_server(
    factory: pytest.TempPathFactory, name: str, **overrides: object
) -> Iterator[RunningServer]:
    """A Garrison on a data directory of its own (``name``), the poller off unless
    ``overrides`` say otherwise; for ``yield from`` in a module-scoped fixture."""
    settings = make_settings(
        factory.mktemp(name) / "data", **{"poller": {"enabled": False}, **overrides}
    )
    yield from start_server(settings)


def newest_audit(server: RunningServer, action: str) -> AuditRecord:
    """The newest audit row of ``action``; fails when there is none."""
    with server.services.store.transaction() as tx:
        rows = tx.audit.query(action=action, limit=1)
    assert rows, f"no audit row for {action}"
    return rows[0]
