"""vulnerability scans, findings and their CVE ids

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from garrison.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vulnerability_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("runtime_start", sa.BigInteger(), nullable=False),
        sa.Column("runtime_end", sa.BigInteger(), nullable=True),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("findings", sa.BigInteger(), nullable=False),
        sa.Column("hosts", sa.BigInteger(), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vulnerability_scans")),
    )
    with op.batch_alter_table("vulnerability_scans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vulnerability_scans_imported_at"), ["imported_at"], unique=False
        )

    op.create_table(
        "vulnerability_findings",
        sa.Column("scan_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("addr_hi", sa.BigInteger(), nullable=False),
        sa.Column("addr_lo", sa.BigInteger(), nullable=False),
        sa.Column("mac_address", sa.String(length=17), nullable=False),
        sa.Column("host_name", sa.String(length=255), nullable=False),
        sa.Column("asset_group", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("cve_ids", sa.Text(), nullable=False),
        sa.Column("vulnerability_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=2048), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("scan_start", sa.BigInteger(), nullable=True),
        sa.Column("scan_end", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["vulnerability_scans.id"],
            name=op.f("fk_vulnerability_findings_scan_id_vulnerability_scans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scan_id", "seq", name=op.f("pk_vulnerability_findings")),
    )
    with op.batch_alter_table("vulnerability_findings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vulnerability_findings_address", ["addr_hi", "addr_lo"], unique=False
        )

    op.create_table(
        "vulnerability_cves",
        sa.Column("scan_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cve", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id", "seq"],
            ["vulnerability_findings.scan_id", "vulnerability_findings.seq"],
            name=op.f("fk_vulnerability_cves_scan_id_vulnerability_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scan_id", "seq", "cve", name=op.f("pk_vulnerability_cves")),
    )
    with op.batch_alter_table("vulnerability_cves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vulnerability_cves_cve"), ["cve"], unique=False)


def downgrade() -> None:
    # Children first; their indexes go with them (MySQL refuses to drop one a foreign key
    # needs).
    for table in ("vulnerability_cves", "vulnerability_findings", "vulnerability_scans"):
        op.drop_table(table)
