"""catalog: signatures, action sets, profiles, segment groups, segments, virtual segments

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from garrison.catalog import defaults
from garrison.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("taxonomy_id", sa.BigInteger(), nullable=True),
        sa.Column("cve", sa.String(length=255), nullable=False),
        sa.Column("bugtraq", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signatures_number"), ["number"], unique=False)

    action_sets = op.create_table(
        "action_sets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("flow_control", sa.String(length=8), nullable=False),
        sa.Column("rate", sa.Integer(), nullable=True),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_sets")),
        sa.UniqueConstraint("name", name=op.f("uq_action_sets_name")),
    )
    profiles = op.create_table(
        "profiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_profiles_name")),
    )
    segment_groups = op.create_table(
        "segment_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_segment_groups_name")),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("segment_index", sa.Integer(), nullable=False),
        sa.Column("slot_index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ports", sa.String(length=32), nullable=False),
        sa.Column("segment_group_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_segments_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_group_id"],
            ["segment_groups.id"],
            name=op.f("fk_segments_segment_group_id_segment_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("device_id", "segment_index", name=op.f("uq_segments_device_id")),
    )
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segments_device_id"), ["device_id"], unique=False)
    op.create_table(
        "virtual_segments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=127), nullable=False),
        sa.Column("description", sa.String(length=250), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("segment_group_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_group_id"],
            ["segment_groups.id"],
            name=op.f("fk_virtual_segments_segment_group_id_segment_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_virtual_segments_name")),
    )

    op.bulk_insert(
        action_sets,
        [
            {
                "id": a.id,
                "name": a.name,
                "flow_control": a.flow_control,
                "rate": a.rate,
                "builtin": True,
            }
            for a in defaults.ACTION_SETS
        ],
    )
    op.bulk_insert(
        profiles,
        [
            {
                "id": defaults.DEFAULT_PROFILE_ID,
                "name": defaults.DEFAULT_PROFILE,
                "version": defaults.DEFAULT_PROFILE_VERSION,
                "description": "the profile every device starts with",
            }
        ],
    )
    op.bulk_insert(
        segment_groups,
        [
            {
                "id": defaults.DEFAULT_SEGMENT_GROUP_ID,
                "name": defaults.DEFAULT_SEGMENT_GROUP,
                "description": "every segment not placed in another group",
            }
        ],
    )


def downgrade() -> None:
    for table in (
        "virtual_segments",
        "segments",
        "segment_groups",
        "profiles",
        "action_sets",
        "signatures",
    ):
        op.drop_table(table)
