"""devices: the filter package (Digital Vaccine) version the poller learns

Revision ID: 0009
Revises: 0008

A NOT NULL column with a server default of '', so the devices already stored get an
empty version (shown as a dash until the next poll learns it) on SQLite, PostgreSQL and
MariaDB alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "filter_package_version", sa.String(length=64), server_default="", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("filter_package_version")
