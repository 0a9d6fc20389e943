"""The catalog tables: signatures, action sets, profiles, segment groups, segments and
virtual segments (the SMS's SIGNATURE, ACTIONSET, PROFILE, SEGMENT_GROUP, SEGMENT and
VIRTUAL_SEGMENT), and `Catalog`, their repository.

Ids are the SMS's kind: UUID strings. Built-in rows come from `garrison.catalog.defaults`;
learned rows from `garrison.catalog.learner` through `Catalog.record`, which the events
writer calls in each batch's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from garrison.catalog.learner import CatalogLearner, Learned
from garrison.store.devices import Device
from garrison.store.models import Base, UTCDateTime, utcnow


class SignatureRow(Base):
    __tablename__ = "signatures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # 00000001-...-<number>
    number: Mapped[int | None] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    severity: Mapped[int] = mapped_column(SmallInteger, default=1)  # 1 Low .. 4 Critical
    category: Mapped[str] = mapped_column(String(64), default="")
    protocol: Mapped[str] = mapped_column(String(32), default="")
    taxonomy_id: Mapped[int | None] = mapped_column(BigInteger)
    cve: Mapped[str] = mapped_column(String(255), default="")
    bugtraq: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionSetRow(Base):
    __tablename__ = "action_sets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    flow_control: Mapped[str] = mapped_column(String(8))  # ALLOW, DENY, TRUST, RATE
    rate: Mapped[int | None] = mapped_column(Integer)  # kbps, for RATE
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class ProfileRow(Base):
    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    version: Mapped[str] = mapped_column(String(32), default="1.0")
    description: Mapped[str] = mapped_column(String(255), default="")


class SegmentGroupRow(Base):
    __tablename__ = "segment_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")


class SegmentRow(Base):
    """A device's physical segment (a pair of ports)."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("device_id", "segment_index"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    segment_index: Mapped[int] = mapped_column(Integer)
    slot_index: Mapped[int] = mapped_column(Integer, default=3)  # 3 physical, 0 virtual
    name: Mapped[str] = mapped_column(String(64))  # "Segment 1-1 (A > B)"
    ports: Mapped[str] = mapped_column(String(32), default="")  # "1A 1B"
    segment_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("segment_groups.id", ondelete="SET NULL"), nullable=True
    )


class VirtualSegmentRow(Base):
    """A traffic definition (VLANs, source and destination CIDRs) placed on physical
    segments, ordered by position; ``definition`` is the JSON of what it matches."""

    __tablename__ = "virtual_segments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(127), unique=True)
    description: Mapped[str] = mapped_column(String(250), default="")
    position: Mapped[int] = mapped_column(Integer)  # 1 = first
    definition: Mapped[str] = mapped_column(Text, default="{}")
    segment_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("segment_groups.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


SIGNATURES = SignatureRow.__table__
ACTION_SETS = ActionSetRow.__table__
SEGMENTS = SegmentRow.__table__


class Catalog:
    """Records what the events writer learned (the data-access tables read the rows)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def learner(self) -> CatalogLearner:
        """A learner that knows everything already stored."""
        return CatalogLearner(
            signatures=self.session.scalars(select(SignatureRow.id)),
            action_sets=self.session.scalars(select(ActionSetRow.name)),
            segments=(
                (device_id, index)
                for device_id, index in self.session.execute(
                    select(SegmentRow.device_id, SegmentRow.segment_index)
                )
            ),
        )

    def record(self, learned: Learned) -> None:
        """Insert what a learner found new (it only offers what is not stored yet)."""
        now = utcnow()
        if learned.signatures:
            self.session.execute(
                insert(SIGNATURES),
                [
                    {
                        "id": s.id,
                        "number": s.number,
                        "name": s.name,
                        "severity": s.severity,
                        "category": s.category,
                        "protocol": s.protocol,
                        "taxonomy_id": None,
                        "cve": "",
                        "bugtraq": "",
                        "description": "",
                        "message": "",
                        "first_seen_at": now,
                    }
                    for s in learned.signatures
                ],
            )
        if learned.action_sets:
            self.session.execute(
                insert(ACTION_SETS),
                [
                    {
                        "id": a.id,
                        "name": a.name,
                        "flow_control": a.flow_control,
                        "rate": None,
                        "builtin": False,
                    }
                    for a in learned.action_sets
                ],
            )
        # A segment of a device deleted since its events were queued has nowhere to go.
        device_ids = {s.device_id for s in learned.segments}
        existing = (
            set(self.session.scalars(select(Device.id).where(Device.id.in_(device_ids))))
            if device_ids
            else set()
        )
        segments = [s for s in learned.segments if s.device_id in existing]
        if segments:
            self.session.execute(
                insert(SEGMENTS),
                [
                    {
                        "id": s.id,
                        "device_id": s.device_id,
                        "segment_index": s.segment_index,
                        "slot_index": 3,
                        "name": s.name,
                        "ports": s.ports,
                        "segment_group_id": None,
                    }
                    for s in segments
                ],
            )
