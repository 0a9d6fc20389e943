"""The one normalized event every collector produces and every consumer reads.

Its fields cover the SMS's ALERTS table (see spec/sms-facts.md), so the data-access API
can later serve stored events as they are; events that are not IPS alerts (a device's
system log, a transparent-HA change, a foreign trap, Garrison's own notices) use the
same type with fewer fields set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum


class EventKind(StrEnum):
    ALERT = "alert"  # an IPS filter hit: tptPolicyNotify, a TippingPoint CEF line
    QUARANTINE = "quarantine"  # tptQuarantineNotify: a host added to or removed from quarantine
    TRHA = "trha"  # tptTrhaNotify: transparent-HA state change
    DEVICE_LOG = "device-log"  # tptSystemLogNotify: a line of the device's system log
    TRAP = "trap"  # any other SNMP trap, kept with its varbinds
    SYSLOG = "syslog"  # a syslog line that is not a TippingPoint event
    SYSTEM = "system"  # Garrison's own notices: a device became unreachable, ...


class Severity(IntEnum):
    """The TippingPoint scale (tptPolicyNotifySeverity, ALERTS.SEVERITY)."""

    LOW = 1
    MINOR = 2
    MAJOR = 3
    CRITICAL = 4


class Action(StrEnum):
    """What the device did with the traffic."""

    BLOCK = "block"
    PERMIT = "permit"
    RATE_LIMIT = "rate-limit"
    ALERT = "alert"  # permitted and notified
    QUARANTINE = "quarantine"
    TRUST = "trust"
    NONE = ""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Event:
    kind: EventKind
    collector: str  # "snmp-trap", "syslog", "ingest", "poller", ...
    source_address: str  # the address the event came from (the sender)
    received_at: datetime = field(default_factory=utcnow)
    severity: Severity = Severity.LOW
    # Which device: the inventory id when the sender is known, and the name it reports.
    device_id: int | None = None
    device_name: str = ""
    # ALERTS columns.
    sequence: int | None = None  # SEQUENCE_NUM; it can reset on the device
    alert_type: int | None = None  # ALERT_TYPE_ID bits: 0x1 alert, 0x2 block, 0x20 p2p, ...
    policy_id: str = ""  # policy UUID
    signature_id: str = ""  # signature UUID
    signature_number: int | None = None  # the filter number (CEF signature id)
    name: str = ""  # the filter name, or a one-line summary
    category: str = ""  # Exploits, Reputation, Vulnerabilities, ...
    begin_time: datetime | None = None
    end_time: datetime | None = None
    hit_count: int = 1
    protocol: str = ""
    src_ip: str = ""
    src_port: int | None = None
    dst_ip: str = ""
    dst_port: int | None = None
    vlan: int | None = None
    segment: str = ""  # segment or zone pair, e.g. "1-1A 1-1B"
    physical_port_in: int | None = None
    action: Action = Action.NONE
    action_set: str = ""
    packet_trace: bool = False
    message_params: str = ""  # '|'-separated, fills %1..%n of the signature's message
    message: str = ""  # free text: a device log line, a notice
    # Anything else the source said (remaining varbinds by OID, CEF extension keys).
    extra: dict[str, str] = field(default_factory=dict)
