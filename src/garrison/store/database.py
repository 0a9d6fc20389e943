"""The Store: one engine, one way to open a transaction, on SQLite, PostgreSQL or MariaDB."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from garrison.store.api_keys import ApiKeys
from garrison.store.audit import AuditLog
from garrison.store.sessions import ConsoleSessions
from garrison.store.users import Users

SUPPORTED_BACKENDS = ("sqlite", "postgresql", "mysql", "mariadb")


class StoreError(Exception):
    """The database cannot be reached or used; the message says what to check."""


@dataclass
class Transaction:
    """One unit of work: every repository shares the session; commit happens on exit."""

    session: Session
    users: Users = field(init=False)
    api_keys: ApiKeys = field(init=False)
    console_sessions: ConsoleSessions = field(init=False)
    audit: AuditLog = field(init=False)

    def __post_init__(self) -> None:
        self.users = Users(self.session)
        self.api_keys = ApiKeys(self.session)
        self.console_sessions = ConsoleSessions(self.session)
        self.audit = AuditLog(self.session)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` with the settings each backend needs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"database url {url!r} is not a valid SQLAlchemy URL") from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise StoreError(
            f"database url: backend {backend!r} is not supported; use sqlite, "
            "postgresql+psycopg or mysql+pymysql"
        )
    options: dict[str, Any] = {"echo": echo}
    if backend == "sqlite":
        options["connect_args"] = {"check_same_thread": False}
    else:
        options.update(pool_pre_ping=True, pool_recycle=3600)
        if backend in ("mysql", "mariadb"):
            options.setdefault("connect_args", {})["charset"] = "utf8mb4"
    try:
        engine = create_engine(parsed, **options)
    except NoSuchModuleError:
        raise StoreError(f"database url: no driver for {parsed.drivername!r}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Store:
    """The database behind Garrison. Services open transactions; nothing else speaks SQL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a connection that finds the database
        # locked polls for it with sleeps of up to tens of milliseconds. The busy writers
        # of this process (the event writer, the Responder) take turns on this lock
        # instead, which hands the database over the moment it is free.
        self._write_turn = threading.Lock() if self.backend == "sqlite" else None

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._sessions() as session, session.begin():
            yield Transaction(session)

    def write_turn(self) -> AbstractContextManager[Any]:
        """Hold while writing, to take turns with this process's other busy writers
        (on SQLite; elsewhere the database schedules writers itself)."""
        return self._write_turn if self._write_turn is not None else nullcontext()

    def ping(self) -> None:
        """Raise StoreError unless the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise StoreError(f"database {self.safe_url} does not answer: {exc.orig}") from None

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden, for logs and messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()
