"""Running the external database's DDL on Garrison's own connection.

DDL goes to the driver's cursor as it is, with no parameters: a view's text holds ``%``
(an address pattern) that a driver with ``%s`` parameters would otherwise read as one.
Look-ups that take values go through SQLAlchemy with bound parameters. A database error
becomes `ExternalAccessError` with the privileges the backend needs (``hint``), since
the usual cause is a Garrison database user that may not create users or databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from garrison.errors import GarrisonError


class ExternalAccessError(GarrisonError):
    """The database refused a step of enabling, refreshing or disabling external access."""


class Runner:
    def __init__(self, conn: Connection, hint: str) -> None:
        self.conn = conn
        self.hint = hint
        dbapi = conn.dialect.dbapi
        self._driver_error: type[Exception] = getattr(dbapi, "Error", DBAPIError)

    @contextmanager
    def _explained(self, statement: str) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, self._driver_error) as exc:
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            first_words = " ".join(statement.split()[:6])
            raise ExternalAccessError(
                f"the database refused `{first_words} ...`: {str(cause).strip()}. {self.hint}"
            ) from None

    def run(self, statement: str) -> None:
        """One statement, as it is (no parameters)."""
        with self._explained(statement):
            cursor = self.conn.connection.cursor()
            try:
                cursor.execute(statement)
            finally:
                cursor.close()

    def rows(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """A query's rows; ``:name`` parameters are bound."""
        with self._explained(statement):
            return [tuple(row) for row in self.conn.execute(text(statement), params)]

    def grouped(self, statement: str, **params: Any) -> dict[str, tuple[str, ...]]:
        """A query of (name, item) rows as each name's items in order; an item NULL (a
        name with none, from an outer join) is left out."""
        found: dict[str, list[str]] = {}
        for name, item in self.rows(statement, **params):
            items = found.setdefault(str(name), [])
            if item is not None:
                items.append(str(item))
        return {name: tuple(items) for name, items in found.items()}

    def value(self, statement: str, **params: Any) -> Any:
        found = self.rows(statement, **params)
        return found[0][0] if found else None
