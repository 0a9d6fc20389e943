"""reputation entries, tag categories and tags

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from garrison.store.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EntryId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The SMS's predefined user categories that clients send in TagData (sms-facts 1.2).
BUILTIN_CATEGORIES = [
    {
        "name": "Reputation DV Score - Manual",
        "kind": "range",
        "description": "a manual reputation score",
        "minimum": 0,
        "maximum": 100,
        "choices": "",
        "multiple": False,
        "read_only": False,
    },
    {
        "name": "Reputation Entries TTL",
        "kind": "text",
        "description": "the date the entry expires on",
        "minimum": None,
        "maximum": None,
        "choices": "",
        "multiple": False,
        "read_only": False,
    },
]


def upgrade() -> None:
    op.create_table(
        "reputation_entries",
        sa.Column("id", EntryId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=2048), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("addr_hi", sa.BigInteger(), nullable=True),
        sa.Column("addr_lo", sa.BigInteger(), nullable=True),
        sa.Column("prefix", sa.SmallInteger(), nullable=True),
        sa.Column("name_length", sa.SmallInteger(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reputation_entries")),
        sa.UniqueConstraint("digest", name=op.f("uq_reputation_entries_digest")),
    )
    with op.batch_alter_table("reputation_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reputation_entries_network", ["addr_hi", "addr_lo", "prefix"], unique=False
        )
        for column in ("prefix", "name_length", "source", "added_by", "expires_at"):
            batch_op.create_index(
                batch_op.f(f"ix_reputation_entries_{column}"), [column], unique=False
            )

    categories = op.create_table(
        "reputation_tag_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("minimum", sa.BigInteger(), nullable=True),
        sa.Column("maximum", sa.BigInteger(), nullable=True),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reputation_tag_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_reputation_tag_categories_name")),
    )

    op.create_table(
        "reputation_tags",
        sa.Column("entry_id", EntryId, nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["reputation_entries.id"],
            name=op.f("fk_reputation_tags_entry_id_reputation_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["reputation_tag_categories.id"],
            name=op.f("fk_reputation_tags_category_id_reputation_tag_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "category_id", name=op.f("pk_reputation_tags")),
    )
    with op.batch_alter_table("reputation_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reputation_tags_category_id"), ["category_id"], unique=False
        )

    now = datetime.now(UTC)
    op.bulk_insert(categories, [{**c, "created_at": now} for c in BUILTIN_CATEGORIES])


def downgrade() -> None:
    # Indexes go with their tables; MySQL refuses to drop one a foreign key needs.
    for table in ("reputation_tags", "reputation_tag_categories", "reputation_entries"):
        op.drop_table(table)
