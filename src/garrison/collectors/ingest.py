"""HTTPS batch ingest: the JSON a device pushes to ``POST /api/v1/events/ingest``, and its
normalization into `Event`s. Pure: the route validates, calls `normalize`, publishes.

One item of the array (every field optional but none unknown; docs/events.md has the
table)::

    {"kind": "alert", "severity": "critical", "device_name": "edge-1",
     "signature_number": 7001, "name": "7001: HTTP: SQL injection", "category": "Exploits",
     "end_time": "2026-01-31T08:00:00.123Z", "src_ip": "198.51.100.7", "src_port": 40000,
     "dst_ip": "10.0.0.5", "dst_port": 80, "action": "block", "hit_count": 3}

Times are ISO 8601 with a zone or epoch milliseconds. The limits match the store's columns,
so everything accepted can be stored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from garrison.errors import Invalid
from garrison.events.filters import parse_severity, parse_time
from garrison.events.model import Action, Event, EventKind, utcnow

COLLECTOR = "ingest"
MAX_BATCH = 10_000
MAX_INT = 2**31 - 1
MAX_BIG = 2**63 - 1


def _time(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("a time is an ISO 8601 string with a zone or epoch milliseconds")
    try:
        return parse_time(value, "time")
    except Invalid as exc:
        raise ValueError(str(exc).removeprefix("time: ")) from None


def _address(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("an address is a string")
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value[:50]!r} is not an IPv4 or IPv6 address") from None


Time = Annotated[
    datetime,
    PlainValidator(_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "integer", "minimum": 0, "maximum": 253402300799999},
            ],
            "description": "ISO 8601 with a zone, or epoch milliseconds",
        }
    ),
]
Address = Annotated[
    str,
    PlainValidator(_address),
    WithJsonSchema({"type": "string", "maxLength": 45, "description": "IPv4 or IPv6, or ''"}),
]
SeverityName = Literal["low", "minor", "major", "critical"]
Port = Annotated[int, Field(ge=0, le=65535)]
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
Big = Annotated[int, Field(ge=0, le=MAX_BIG)]


def _text(limit: int) -> Any:
    return Field("", max_length=limit)


class IngestEvent(BaseModel):
    """One event a device pushes. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    kind: EventKind = EventKind.ALERT
    severity: Annotated[int, Field(ge=1, le=4)] | SeverityName = Field(
        1, description="1-4 or low, minor, major, critical"
    )
    device_name: str = _text(128)
    sequence: Big | None = None
    alert_type: Big | None = None
    policy_id: str = _text(64)
    signature_id: str = _text(64)
    signature_number: Count | None = None
    name: str = _text(255)
    category: str = _text(64)
    begin_time: Time | None = None
    end_time: Time | None = None
    hit_count: Count = 1
    protocol: str = _text(32)
    src_ip: Address = ""
    src_port: Port | None = None
    dst_ip: Address = ""
    dst_port: Port | None = None
    vlan: Annotated[int, Field(ge=0, le=4095)] | None = None
    segment: str = _text(64)
    physical_port_in: Count | None = None
    action: Action = Action.NONE
    action_set: str = _text(128)
    packet_trace: bool = False
    message_params: str = _text(8192)
    message: str = _text(8192)
    extra: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]] = (
        Field(default_factory=dict, max_length=32)
    )


def normalize(
    items: Sequence[IngestEvent], source_address: str, received_at: datetime | None = None
) -> list[Event]:
    """The events of one accepted batch, all with the same arrival time."""
    now = received_at or utcnow()
    events = []
    for item in items:
        fields = item.model_dump()
        named = fields.pop("severity")
        severity = parse_severity(str(named), "severity")
        events.append(
            Event(
                collector=COLLECTOR,
                source_address=source_address,
                received_at=now,
                severity=severity,
                **fields,
            )
        )
    return events
