"""Alembic environment: runs on the connection `garrison.store.migrate` hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from garrison.store.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(
        connection=conn, target_metadata=Base.metadata, render_as_batch=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # the plain `alembic` command, with sqlalchemy.url set
    with create_engine(config.get_main_option("sqlalchemy.url") or "").connect() as conn:
        _run(conn)
