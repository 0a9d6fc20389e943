"""The device inventory: devices, device groups and each device's health history.

Models, records and repositories live together here so the devices work touches one store
file; `garrison.store.models` imports this module at its end, so `Base.metadata` (and thus
Alembic) sees these tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from garrison.store.models import Base, UTCDateTime, utcnow
from garrison.store.records import record_of, update_row

# SQLite only auto-increments an INTEGER PRIMARY KEY; the others get a 64-bit key, since a
# fleet polled every minute writes hundreds of millions of samples over the years.
HealthId = BigInteger().with_variant(Integer(), "sqlite")


class DeviceGroup(Base):
    __tablename__ = "device_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """A managed device. SNMP and management secrets are kept as given: the poller needs
    them in clear (docs/devices.md says so)."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(45), index=True)
    location: Mapped[str] = mapped_column(String(128), default="")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="SET NULL"), nullable=True, index=True
    )
    snmp_port: Mapped[int] = mapped_column(Integer, default=161)
    snmp_version: Mapped[str] = mapped_column(String(2), default="2c")
    snmp_community: Mapped[str] = mapped_column(String(255), default="")
    snmp_user: Mapped[str] = mapped_column(String(32), default="")
    snmp_auth_protocol: Mapped[str] = mapped_column(String(16), default="")
    snmp_auth_key: Mapped[str] = mapped_column(String(255), default="")
    snmp_priv_protocol: Mapped[str] = mapped_column(String(16), default="")
    snmp_priv_key: Mapped[str] = mapped_column(String(255), default="")
    mgmt_url: Mapped[str] = mapped_column(String(255), default="")
    mgmt_username: Mapped[str] = mapped_column(String(64), default="")
    mgmt_secret: Mapped[str] = mapped_column(String(255), default="")
    # Learned from polling.
    sys_name: Mapped[str] = mapped_column(String(255), default="")
    sys_descr: Mapped[str] = mapped_column(Text, default="")
    sys_object_id: Mapped[str] = mapped_column(String(255), default="")
    model: Mapped[str] = mapped_column(String(128), default="")
    serial: Mapped[str] = mapped_column(String(64), default="")
    os_version: Mapped[str] = mapped_column(String(64), default="")
    # The Digital Vaccine version, from the management API's status (the poller asks it
    # now and then); the server default fills the rows that predate the column.
    filter_package_version: Mapped[str] = mapped_column(String(64), default="", server_default="")
    state: Mapped[str] = mapped_column(String(16), default="unknown", index=True)
    state_reason: Mapped[str] = mapped_column(String(255), default="")
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DeviceHealth(Base):
    """One poll's result. Fields a device does not report stay NULL."""

    __tablename__ = "device_health"
    __table_args__ = (Index("ix_device_health_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(HealthId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reachable: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255), default="")
    rtt_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    cpu_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    memory_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    uptime_seconds: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    if_up: Mapped[int | None] = mapped_column(Integer, nullable=True)
    if_down: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trha_state: Mapped[str] = mapped_column(String(16), default="")


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceGroupRecord:
    id: int
    name: str
    description: str
    created_at: datetime
    device_count: int = 0


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device as the services see it. Secrets are left out of ``repr`` so a stray log
    line or traceback never shows them."""

    id: int
    name: str
    address: str
    location: str
    group_id: int | None
    snmp_port: int
    snmp_version: str
    snmp_community: str = field(repr=False)
    snmp_user: str
    snmp_auth_protocol: str
    snmp_auth_key: str = field(repr=False)
    snmp_priv_protocol: str
    snmp_priv_key: str = field(repr=False)
    mgmt_url: str
    mgmt_username: str
    mgmt_secret: str = field(repr=False)
    sys_name: str
    sys_descr: str
    sys_object_id: str
    model: str
    serial: str
    os_version: str
    state: str
    state_reason: str
    last_polled_at: datetime | None
    last_change_at: datetime | None
    created_at: datetime
    updated_at: datetime
    filter_package_version: str = ""  # last: records built by hand may leave it out


@dataclass(frozen=True, slots=True)
class HealthRecord:
    id: int
    device_id: int
    at: datetime
    reachable: bool
    state: str
    reason: str
    rtt_ms: float | None
    cpu_percent: float | None
    memory_percent: float | None
    uptime_seconds: int | None
    if_up: int | None
    if_down: int | None
    trha_state: str


@dataclass(frozen=True, slots=True)
class NewSample:
    """What the poller hands the store for one device: the sample and the identity the
    device reported (`IDENTITY_FIELDS`; empty strings leave the stored values alone)."""

    device_id: int
    at: datetime
    reachable: bool
    state: str
    reason: str = ""
    rtt_ms: float | None = None
    cpu_percent: float | None = None
    memory_percent: float | None = None
    uptime_seconds: int | None = None
    if_up: int | None = None
    if_down: int | None = None
    trha_state: str = ""
    identity: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StateChange:
    """A device whose state a sample changed."""

    device: DeviceRecord  # after the change
    previous: str
    sample: HealthRecord


# What a poll may learn about a device: SNMP gives the first six, the management API's
# status the filter package version.
IDENTITY_FIELDS = (
    "sys_name",
    "sys_descr",
    "sys_object_id",
    "model",
    "serial",
    "os_version",
    "filter_package_version",
)
_IDENTITY_LIMITS = {"sys_descr": 4000, "sys_name": 255, "sys_object_id": 255, "model": 128}


def _clip(name: str, value: str) -> str:
    return value[: _IDENTITY_LIMITS.get(name, 64)]


# -- repositories -------------------------------------------------------------------------


class DeviceGroups:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _record(self, row: DeviceGroup) -> DeviceGroupRecord:
        count = self._session.scalar(select(func.count(Device.id)).where(Device.group_id == row.id))
        return DeviceGroupRecord(
            id=row.id,
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            device_count=count or 0,
        )

    def add(self, *, name: str, description: str = "") -> DeviceGroupRecord:
        row = DeviceGroup(name=name, description=description)
        self._session.add(row)
        self._session.flush()
        return self._record(row)

    def get(self, group_id: int) -> DeviceGroupRecord | None:
        row = self._session.get(DeviceGroup, group_id)
        return None if row is None else self._record(row)

    def by_name(self, name: str) -> DeviceGroupRecord | None:
        row = self._session.scalar(select(DeviceGroup).where(DeviceGroup.name == name))
        return None if row is None else self._record(row)

    def list(self) -> list[DeviceGroupRecord]:
        query = select(Device.group_id, func.count(Device.id)).group_by(Device.group_id)
        counts = {group_id: count for group_id, count in self._session.execute(query)}
        rows = self._session.scalars(select(DeviceGroup).order_by(DeviceGroup.name))
        return [
            DeviceGroupRecord(
                id=r.id,
                name=r.name,
                description=r.description,
                created_at=r.created_at,
                device_count=counts.get(r.id, 0),
            )
            for r in rows
        ]

    def update(self, group_id: int, **fields: Any) -> DeviceGroupRecord | None:
        row = update_row(self._session, DeviceGroup, group_id, fields)
        return None if row is None else self._record(row)

    def delete(self, group_id: int) -> bool:
        row = self._session.get(DeviceGroup, group_id)
        if row is None:
            return False
        # Explicit, not only ON DELETE SET NULL: the session must not keep stale group ids.
        for device in self._session.scalars(select(Device).where(Device.group_id == group_id)):
            device.group_id = None
        self._session.delete(row)
        self._session.flush()
        return True


class Devices:
    def __init__(self, session: Session) -> None:
        self._session = session

    @staticmethod
    def _record(row: Device) -> DeviceRecord:
        return record_of(DeviceRecord, row)

    def add(self, **fields: Any) -> DeviceRecord:
        row = Device(state="unknown", **fields)
        self._session.add(row)
        self._session.flush()
        return self._record(row)

    def get(self, device_id: int) -> DeviceRecord | None:
        row = self._session.get(Device, device_id)
        return None if row is None else self._record(row)

    def by_name(self, name: str) -> DeviceRecord | None:
        row = self._session.scalar(select(Device).where(Device.name == name))
        return None if row is None else self._record(row)

    def list(
        self,
        *,
        group_id: int | None = None,
        state: str | None = None,
        name_contains: str | None = None,
        offset: int = 0,
        limit: int | None = 100,
    ) -> list[DeviceRecord]:
        query = select(Device)
        if group_id is not None:
            query = query.where(Device.group_id == group_id)
        if state is not None:
            query = query.where(Device.state == state)
        if name_contains:
            query = query.where(Device.name.contains(name_contains, autoescape=True))
        query = query.order_by(Device.name).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return [self._record(r) for r in self._session.scalars(query)]

    def addresses(self) -> list[tuple[str, int]]:
        """Every (address, id), lowest id first: the directory's source."""
        query = select(Device.address, Device.id).order_by(Device.id)
        return [(address, device_id) for address, device_id in self._session.execute(query)]

    def count_by_state(self) -> dict[str, int]:
        query = select(Device.state, func.count(Device.id)).group_by(Device.state)
        return {state: count for state, count in self._session.execute(query)}

    def update(self, device_id: int, **fields: Any) -> DeviceRecord | None:
        row = update_row(self._session, Device, device_id, fields)
        return None if row is None else self._record(row)

    def delete(self, device_id: int) -> bool:
        row = self._session.get(Device, device_id)
        if row is None:
            return False
        self._session.execute(delete(DeviceHealth).where(DeviceHealth.device_id == device_id))
        self._session.delete(row)
        self._session.flush()
        return True


class DeviceHealthLog:
    """The health history: appended in batches by the poller, pruned by age."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, samples: Sequence[NewSample]) -> list[StateChange]:
        """Store ``samples`` and each device's new state; return the devices whose state
        changed. Samples of devices deleted meanwhile are skipped."""
        if not samples:
            return []
        ids = {s.device_id for s in samples}
        devices = {d.id: d for d in self._session.scalars(select(Device).where(Device.id.in_(ids)))}
        rows: list[tuple[NewSample, DeviceHealth, str]] = []
        for sample in samples:
            device = devices.get(sample.device_id)
            if device is None:
                continue
            row = DeviceHealth(
                device_id=sample.device_id,
                at=sample.at,
                reachable=sample.reachable,
                state=sample.state,
                reason=sample.reason[:255],
                rtt_ms=sample.rtt_ms,
                cpu_percent=sample.cpu_percent,
                memory_percent=sample.memory_percent,
                uptime_seconds=sample.uptime_seconds,
                if_up=sample.if_up,
                if_down=sample.if_down,
                trha_state=sample.trha_state,
            )
            self._session.add(row)
            previous = device.state
            device.state = sample.state
            device.state_reason = sample.reason[:255]
            device.last_polled_at = sample.at
            if previous != sample.state:
                device.last_change_at = sample.at
            for name, value in sample.identity.items():
                if name in IDENTITY_FIELDS and value:
                    setattr(device, name, _clip(name, value))
            rows.append((sample, row, previous))
        self._session.flush()
        return [
            StateChange(
                device=record_of(DeviceRecord, devices[sample.device_id]),
                previous=previous,
                sample=record_of(HealthRecord, row),
            )
            for sample, row, previous in rows
            if previous != sample.state
        ]

    def last(self, device_id: int) -> HealthRecord | None:
        query = (
            select(DeviceHealth)
            .where(DeviceHealth.device_id == device_id)
            .order_by(DeviceHealth.at.desc(), DeviceHealth.id.desc())
            .limit(1)
        )
        row = self._session.scalar(query)
        return None if row is None else record_of(HealthRecord, row)

    def history(
        self,
        device_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[HealthRecord]:
        """Newest first."""
        query = select(DeviceHealth).where(DeviceHealth.device_id == device_id)
        if since is not None:
            query = query.where(DeviceHealth.at >= since)
        if until is not None:
            query = query.where(DeviceHealth.at < until)
        query = (
            query.order_by(DeviceHealth.at.desc(), DeviceHealth.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [record_of(HealthRecord, r) for r in self._session.scalars(query)]

    def prune(self, before: datetime) -> int:
        """Delete samples older than ``before``; return how many went."""
        result = self._session.execute(delete(DeviceHealth).where(DeviceHealth.at < before))
        return int(getattr(result, "rowcount", 0) or 0)
