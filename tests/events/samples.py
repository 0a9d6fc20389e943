"""Events for the event-store tests: one with every field set, and cheap variations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from garrison.events import Action, Event, EventKind, Severity

T0 = datetime(2026, 1, 31, 8, 0, 0, 123000, tzinfo=UTC)


def full_alert(**changes: object) -> Event:
    """An alert with every field of Event set to something other than its default."""
    event = Event(
        kind=EventKind.ALERT,
        collector="snmp-trap",
        source_address="192.0.2.10",
        received_at=T0 + timedelta(microseconds=456),
        severity=Severity.CRITICAL,
        device_id=7,
        device_name="edge-1",
        sequence=2**40 + 3,
        alert_type=0x2,
        policy_id="00000001-0001-0001-0001-000000007001",
        signature_id="00000001-0001-0001-0001-000000043756",
        signature_number=43756,
        name="43756: ISAKMP: Invalid Payload Length",
        category="Vulnerabilities",
        begin_time=T0 - timedelta(seconds=60),
        end_time=T0,
        hit_count=12,
        protocol="udp",
        src_ip="2001:db8:85a3::8a2e:370:7334",
        src_port=500,
        dst_ip="198.51.100.7",
        dst_port=4500,
        vlan=101,
        segment="1-1A 1-1B",
        physical_port_in=3,
        action=Action.BLOCK,
        action_set="Block + Notify",
        packet_trace=True,
        message_params="a|b|ü|日本",
        message="a line with \u00e9 and a tab\t",
        extra={"1.3.6.1.4.1.10734.3.3.3.1.15": "x", "cs1": "y"},
    )
    return replace(event, **changes)


def alert(n: int, **changes: object) -> Event:
    """A small alert numbered ``n`` (its sequence), received ``n`` seconds after T0."""
    event = Event(
        kind=EventKind.ALERT,
        collector="test",
        source_address="127.0.0.1",
        received_at=T0 + timedelta(seconds=n),
        sequence=n,
        name=f"filter {n}",
    )
    return replace(event, **changes)
