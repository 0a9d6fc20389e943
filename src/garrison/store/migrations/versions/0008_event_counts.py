"""event counts per minute and severity (the dashboard's events over time)

Revision ID: 0008
Revises: 0007

The events already stored are counted in once, read as (received_at, severity) pairs in
chunks from a streaming cursor: at 10 million events this takes a minute, once, instead
of every chart scanning the table.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from garrison.store.event_counts import backfill
from garrison.store.events import EventTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    counts = op.create_table(
        "event_counts",
        sa.Column("minute", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("severity", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "severity", name=op.f("pk_event_counts")),
    )
    events = sa.table(
        "events", sa.column("received_at", EventTime()), sa.column("severity", sa.SmallInteger())
    )
    # A server-side cursor for this one statement (not the connection: Alembic's own
    # UPDATE of the version follows on it).
    query = sa.select(events.c.received_at, events.c.severity)
    result = op.get_bind().execute(query.execution_options(stream_results=True, yield_per=10_000))

    def insert(rows: list[dict[str, Any]]) -> None:
        op.bulk_insert(counts, rows)

    # backfill reads the cursor to its end before it inserts anything.
    backfill(((row[0], row[1]) for row in result), insert)


def downgrade() -> None:
    op.drop_table("event_counts")
