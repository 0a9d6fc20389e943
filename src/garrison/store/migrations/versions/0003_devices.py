"""devices, device groups, device health history

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from garrison.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_device_groups_name")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("location", sa.String(length=128), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("snmp_port", sa.Integer(), nullable=False),
        sa.Column("snmp_version", sa.String(length=2), nullable=False),
        sa.Column("snmp_community", sa.String(length=255), nullable=False),
        sa.Column("snmp_user", sa.String(length=32), nullable=False),
        sa.Column("snmp_auth_protocol", sa.String(length=16), nullable=False),
        sa.Column("snmp_auth_key", sa.String(length=255), nullable=False),
        sa.Column("snmp_priv_protocol", sa.String(length=16), nullable=False),
        sa.Column("snmp_priv_key", sa.String(length=255), nullable=False),
        sa.Column("mgmt_url", sa.String(length=255), nullable=False),
        sa.Column("mgmt_username", sa.String(length=64), nullable=False),
        sa.Column("mgmt_secret", sa.String(length=255), nullable=False),
        sa.Column("sys_name", sa.String(length=255), nullable=False),
        sa.Column("sys_descr", sa.Text(), nullable=False),
        sa.Column("sys_object_id", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("os_version", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.String(length=255), nullable=False),
        sa.Column("last_polled_at", UTCDateTime(), nullable=True),
        sa.Column("last_change_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["device_groups.id"],
            name=op.f("fk_devices_group_id_device_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("name", name=op.f("uq_devices_name")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_state"), ["state"], unique=False)

    op.create_table(
        "device_health",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("cpu_percent", sa.Float(), nullable=True),
        sa.Column("memory_percent", sa.Float(), nullable=True),
        sa.Column("uptime_seconds", sa.BigInteger(), nullable=True),
        sa.Column("if_up", sa.Integer(), nullable=True),
        sa.Column("if_down", sa.Integer(), nullable=True),
        sa.Column("trha_state", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_health_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_health")),
    )
    with op.batch_alter_table("device_health", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_health_at"), ["at"], unique=False)
        batch_op.create_index("ix_device_health_device_at", ["device_id", "at"], unique=False)


def downgrade() -> None:
    # Indexes go with their tables; MySQL refuses to drop one a foreign key needs.
    for table in ("device_health", "devices", "device_groups"):
        op.drop_table(table)
