"""The store on SQLite, PostgreSQL and MariaDB: one schema, one behaviour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from garrison.store import (
    Store,
    StoreError,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from garrison.store.models import Base


def test_migrations_build_exactly_the_models(store: Store) -> None:
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_twice_changes_nothing(store: Store) -> None:
    assert upgrade(store.engine) is False
    tables = set(inspect(store.engine).get_table_names())
    assert {"users", "api_keys", "console_sessions", "audit_log"} <= tables


def test_downgrade_to_base_and_back(store: Store) -> None:
    downgrade(store.engine, "base")
    assert "users" not in inspect(store.engine).get_table_names()
    assert upgrade(store.engine) is True
    assert "users" in inspect(store.engine).get_table_names()


def test_user_round_trip_keeps_utc_times(store: Store) -> None:
    locked = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    with store.transaction() as tx:
        user = tx.users.add(username="ana", role="operator", password_hash="h")
        tx.users.update(user.id, locked_until=locked)
    with store.transaction() as tx:
        again = tx.users.by_name("ana")
    assert again is not None
    assert again.locked_until == locked
    assert again.created_at.tzinfo is UTC
    assert abs(again.created_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_duplicate_username_is_refused_and_nothing_half_written(store: Store) -> None:
    with store.transaction() as tx:
        tx.users.add(username="bo", role="auditor", password_hash="h")
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.audit.add(actor="x", action="user.create", target="user:bo")
        tx.users.add(username="bo", role="admin", password_hash="h2")
    with store.transaction() as tx:
        assert tx.users.count() == 1
        assert tx.audit.query() == []  # rolled back with the failed insert


def test_deleting_a_user_deletes_their_keys(store: Store) -> None:
    with store.transaction() as tx:
        user = tx.users.add(username="cy", role="operator", password_hash="h")
        tx.api_keys.add(user_id=user.id, name="k", prefix="gar_x", digest="d" * 64, expires_at=None)
    with store.transaction() as tx:
        tx.users.delete(user.id)
    with store.transaction() as tx:
        assert tx.api_keys.by_digest("d" * 64) is None


def test_audit_query_filters_and_orders_newest_first(store: Store) -> None:
    with store.transaction() as tx:
        for i in range(5):
            tx.audit.add(
                actor="ana" if i % 2 else "bo", action=f"a{i % 2}", client_address="127.0.0.1"
            )
    with store.transaction() as tx:
        ana = tx.audit.query(actor="ana")
        page = tx.audit.query(limit=2, offset=1)
        everything = tx.audit.query()
    assert [e.action for e in ana] == ["a1", "a1"]
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
    assert [e.id for e in page] == [e.id for e in everything[1:3]]


def test_unknown_backend_is_refused_with_a_clear_message() -> None:
    with pytest.raises(StoreError, match="backend 'oracle' is not supported"):
        Store("oracle://scott@localhost/db")
    with pytest.raises(StoreError, match="not a valid SQLAlchemy URL"):
        Store("not a url")


def test_unreachable_server_says_so() -> None:
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="does not answer"):
        store.ping()
