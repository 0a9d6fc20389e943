"""Response bodies of /api/v1/events. The ingest request body is
`garrison.collectors.ingest.IngestEvent`, the device-facing wire format."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from pydantic import BaseModel, Field

from garrison.events.model import Action, Event, EventKind
from garrison.store.events import StoredEvent, TopEntry


class EventFields(BaseModel):
    """An event as the live stream sends it (not stored yet, so without an id).
    docs/events.md maps each field to its SMS ALERTS column."""

    kind: EventKind
    collector: str = Field(description="what received it: snmp-trap, syslog, ingest, ...")
    source_address: str = Field(description="the address it came from")
    received_at: datetime
    severity: int = Field(ge=1, le=4, description="1 low, 2 minor, 3 major, 4 critical")
    device_id: int | None
    device_name: str
    sequence: int | None
    alert_type: int | None
    policy_id: str
    signature_id: str
    signature_number: int | None
    name: str
    category: str
    begin_time: datetime | None
    end_time: datetime | None
    hit_count: int
    protocol: str
    src_ip: str
    src_port: int | None
    dst_ip: str
    dst_port: int | None
    vlan: int | None
    segment: str
    physical_port_in: int | None
    action: Action
    action_set: str
    packet_trace: bool
    message_params: str
    message: str
    extra: dict[str, str]

    @classmethod
    def of(cls, event: Event) -> EventFields:
        return cls(**asdict(event))


class EventOut(EventFields):
    """A stored event."""

    id: int

    @classmethod
    def of_stored(cls, stored: StoredEvent) -> EventOut:
        return cls(id=stored.id, **asdict(stored.event))


class EventCount(BaseModel):
    count: int


class TopEntryOut(BaseModel):
    key: str = Field(description="the address, filter number or device id counted")
    label: str = Field(description="the filter or device name, where there is one")
    count: int

    @classmethod
    def of(cls, entry: TopEntry) -> TopEntryOut:
        return cls(key=entry.key, label=entry.label, count=entry.count)


class IngestAccepted(BaseModel):
    accepted: int = Field(description="events taken onto the bus; the writer stores them")
