"""Turning external database access on and off: the SMS's read-only ``ExternalAccess``
database, for Garrison on MariaDB (a database of views) or PostgreSQL (a schema of views
in Garrison's database), read by one user with SELECT on the views alone.

* `enable`: create the database or schema and its views, and the reader (a new password
  replaces the old one; on MariaDB the reader's accounts are exactly ``allowed_hosts``);
* `refresh`: make the views again, after a Garrison upgrade changed its tables (the
  readers keep their rights);
* `disable`: drop the reader, the views and the database or schema;
* `status`: what is there, and whether the views match this Garrison's.

Each runs on Garrison's own database connection, so Garrison's database user needs the
rights to create users and databases (the message of a refusal says which). The name is
``ExternalAccess`` unless told otherwise: on MariaDB it is one name for the whole server,
so two Garrisons on one server need two names. SQLite has none of this: `Unsupported`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from garrison.errors import Invalid
from garrison.externaldb import mariadb, postgresql
from garrison.externaldb.mariadb import MariaDBAccess
from garrison.externaldb.postgresql import PostgreSQLAccess
from garrison.externaldb.runner import Runner
from garrison.externaldb.views import (
    DEFAULT_NAME,
    MARIADB,
    View,
    backend_of,
    checked_name,
    compile_views,
    database_name,
)
from garrison.store import Store

DEFAULT_USER = "externaluser"
MIN_PASSWORD = 8

Access = MariaDBAccess | PostgreSQLAccess


@dataclass(frozen=True, slots=True)
class Outcome:
    backend: str
    container: str  # the database (MariaDB) or schema (PostgreSQL) of the views
    views: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Status:
    backend: str
    container: str
    exists: bool
    views: tuple[str, ...]  # the views there now
    missing: tuple[str, ...]  # views this Garrison makes that are not there
    unexpected: tuple[str, ...]  # views there that this Garrison does not make
    stale: tuple[str, ...]  # views whose columns differ from this Garrison's
    accounts: tuple[str, ...] | None  # the reader's accounts; None: Garrison may not look

    @property
    def up_to_date(self) -> bool:
        return self.exists and not (self.missing or self.unexpected or self.stale)


@contextmanager
def _access(store: Store, name: str) -> Iterator[Access]:
    """The backend's steps on one connection, in one transaction (PostgreSQL runs them
    all or none; MariaDB commits each DDL statement by itself)."""
    backend = backend_of(store.engine.dialect)
    container = database_name(checked_name(name, "external database name"), backend)
    with store.engine.begin() as conn:
        if backend == MARIADB:
            access: Access = MariaDBAccess(Runner(conn, mariadb.hint(container)), container)
        else:
            access = PostgreSQLAccess(Runner(conn, postgresql.hint(container)), container)
        access.check_server()
        yield access


def _views(access: Access, name: str) -> list[View]:
    return compile_views(access.sql.conn.dialect, container=name, source=access.source())


def _untranslated(views: list[View]) -> tuple[str, ...]:
    empty = [f"{v.name}.{c}" for v in views for c in v.untranslated]
    return (f"always NULL (no SQL for them yet): {', '.join(empty)}",) if empty else ()


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"the reader's password needs at least {MIN_PASSWORD} characters")
    return password


def enable(
    store: Store,
    password: str,
    *,
    user: str = DEFAULT_USER,
    allowed_hosts: list[str] | None = None,
    name: str = DEFAULT_NAME,
) -> Outcome:
    """Create (or bring up to date) the views and the read-only ``user``. On MariaDB the
    user may connect from ``allowed_hosts`` (host patterns, default any: ``%``); on
    PostgreSQL the notes say what to add to pg_hba.conf for them."""
    checked_name(user, "user name")
    _checked_password(password)
    with _access(store, name) as access:
        notes = access.host_notes(user, allowed_hosts)
        views = _views(access, name)
        access.install(views)
        if isinstance(access, MariaDBAccess):
            accounts = access.grant(user, password, allowed_hosts or list(mariadb.DEFAULT_HOSTS))
        else:
            accounts = access.grant(user, password, allowed_hosts)
        return Outcome(
            access.backend,
            access.container,
            tuple(v.name for v in views),
            tuple(accounts),
            (*notes, *_untranslated(views)),
        )


def refresh(store: Store, *, name: str = DEFAULT_NAME) -> Outcome:
    """Make the views again from this Garrison's tables; the readers keep their rights."""
    with _access(store, name) as access:
        if not access.container_exists():
            raise Invalid(
                f"external access is not enabled ({access.container} does not exist); "
                "run `garrison external-db enable` first"
            )
        views = _views(access, name)
        access.install(views)
        return Outcome(
            access.backend,
            access.container,
            tuple(v.name for v in views),
            notes=_untranslated(views),
        )


def disable(
    store: Store,
    *,
    user: str = DEFAULT_USER,
    name: str = DEFAULT_NAME,
    hosts: list[str] | None = None,
) -> Outcome:
    """Drop the reader (on MariaDB its accounts at ``hosts``, default every one), the
    views, and the database or schema when nothing else is in it."""
    checked_name(user, "user name")
    with _access(store, name) as access:
        if hosts:
            access.host_notes(user, hosts)  # checks them
        dropped = access.revoke(user, hosts)
        notes = access.remove()
        return Outcome(
            access.backend, access.container, accounts=tuple(dropped), notes=tuple(notes)
        )


def status(store: Store, *, user: str = DEFAULT_USER, name: str = DEFAULT_NAME) -> Status:
    checked_name(user, "user name")
    with _access(store, name) as access:
        wanted = {v.name: v.column_names for v in _views(access, name)}
        exists = access.container_exists()
        there = access.views() if exists else {}
        accounts = access.accounts(user)
        return Status(
            backend=access.backend,
            container=access.container,
            exists=exists,
            views=tuple(sorted(there)),
            missing=tuple(sorted(set(wanted) - set(there))),
            unexpected=tuple(sorted(set(there) - set(wanted))),
            stale=tuple(
                sorted(n for n in set(wanted) & set(there) if tuple(there[n]) != wanted[n])
            ),
            accounts=None if accounts is None else tuple(accounts),
        )
