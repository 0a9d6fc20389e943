"""events

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from garrison.store.events import EventId, EventTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The single-column indexes the console filters on; the address indexes are composite.
INDEXED = (
    "device_id",
    "device_name",
    "end_time",
    "received_at",
    "severity",
    "signature_id",
    "signature_number",
)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", EventId, autoincrement=True, nullable=False),
        sa.Column("received_at", EventTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("collector", sa.String(length=32), nullable=False),
        sa.Column("source_address", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("device_name", sa.String(length=128), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("alert_type", sa.BigInteger(), nullable=True),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("signature_id", sa.String(length=64), nullable=False),
        sa.Column("signature_number", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("begin_time", EventTime(), nullable=True),
        sa.Column("end_time", EventTime(), nullable=True),
        sa.Column("hit_count", sa.BigInteger(), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("src_ip", sa.String(length=64), nullable=False),
        sa.Column("src_ip_hi", sa.BigInteger(), nullable=True),
        sa.Column("src_ip_lo", sa.BigInteger(), nullable=True),
        sa.Column("src_port", sa.Integer(), nullable=True),
        sa.Column("dst_ip", sa.String(length=64), nullable=False),
        sa.Column("dst_ip_hi", sa.BigInteger(), nullable=True),
        sa.Column("dst_ip_lo", sa.BigInteger(), nullable=True),
        sa.Column("dst_port", sa.Integer(), nullable=True),
        sa.Column("vlan", sa.Integer(), nullable=True),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("physical_port_in", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("action_set", sa.String(length=128), nullable=False),
        sa.Column("packet_trace", sa.Boolean(), nullable=False),
        sa.Column("message_params", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        for column in INDEXED:
            batch_op.create_index(batch_op.f(f"ix_events_{column}"), [column], unique=False)
        batch_op.create_index("ix_events_src_ip_number", ["src_ip_hi", "src_ip_lo"], unique=False)
        batch_op.create_index("ix_events_dst_ip_number", ["dst_ip_hi", "dst_ip_lo"], unique=False)


def downgrade() -> None:
    op.drop_table("events")  # its indexes go with it
