"""TippingPoint traps into events, field by field (pure: decoded messages in, events out)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from garrison.collectors.snmp_trap.ber import encode_oid
from garrison.collectors.snmp_trap.messages import TRAP_V2, V2C, IpAddress, Oid, TrapMessage
from garrison.collectors.snmp_trap.tippingpoint import _time, to_event
from garrison.events import Action, EventKind, Severity
from tests.collectors.test_snmp_trap_support import DATA, SIGNATURE_UUID, TP, V6_SOURCE


def trap(trap_oid: str, varbinds: list[tuple[str, object]]) -> TrapMessage:
    return TrapMessage(V2C, b"public", TRAP_V2, 1, trap_oid, 100, varbinds)  # type: ignore[arg-type]


def obj(number: int) -> str:
    return f"{TP}.1.{number}.0"


def test_policy_notify_from_a_real_snmptrap_packet() -> None:
    from garrison.collectors.snmp_trap.messages import decode

    datagram = bytes.fromhex((DATA / "netsnmp_v2c_policy.hex").read_text().strip())
    event = to_event(decode(datagram), "192.0.2.7", 12)
    assert event.kind is EventKind.ALERT
    assert (event.collector, event.source_address, event.device_id) == (
        "snmp-trap",
        "192.0.2.7",
        12,
    )
    assert event.device_name == "ips-lab-01"
    assert event.policy_id == "6e664408-b90a-48e2-9a2d-c01cb9258381"
    assert event.signature_id == SIGNATURE_UUID
    assert event.signature_number == 7610
    assert event.segment == "1-1A:1-1B"
    assert event.physical_port_in == 3 and event.vlan == 100
    assert (event.src_ip, event.src_port) == ("50.227.44.198", 10162)
    assert (event.dst_ip, event.dst_port) == ("52.10.98.6", 443)
    assert type(event.src_ip) is str
    assert event.protocol == "tcp"
    assert event.message_params == "50.227.44.198|443"
    assert event.hit_count == 3
    assert event.begin_time == datetime(2018, 10, 12, 12, 46, 1, 56000, tzinfo=UTC)
    assert event.end_time == datetime(2018, 10, 12, 12, 46, 2, 123456, tzinfo=UTC)
    assert event.packet_trace is True
    assert event.action is Action.BLOCK  # AlertAction deny
    assert event.alert_type == 3
    assert event.severity is Severity.CRITICAL
    assert event.sequence == 19278229
    assert event.action_set == "Block / Notify"
    assert event.extra == {
        "tptPolicyNotifyAggregationPeriod": "5",
        "tptPolicyNotifyTraceBucket": "7",
        "tptPolicyNotifyTraceBegin": "1",
        "tptPolicyNotifyTraceEnd": "2",
        "tptPolicyNotifyConfigAction": "1",
        "tptPolicyNotifyComponentID": "8",
        "tptPolicyNotifyActionSetID": "00000002-0002-0002-0002-000000000002",
        "tptPolicyNotifyRate": "0",
        "tptPolicyNotifyFlowControl": "1",
        "tptPolicyNotifyClientip": "10.9.9.9",
        "tptPolicyNotifyMetadata": "meta=1",
        "tptPolicyNotifySslInspected": "2",
        "tptPolicyNotifyVirtualSegment": "vs-1",
        "tptPolicyNotifyDestNetAddrV6": "2001:db8::2",
        "tptPolicyNotifySegmentName": "3:1",
    }


def test_policy_notify_v6_flow_and_permit_with_alert() -> None:
    event = to_event(
        trap(
            f"{TP}.0.8",
            [
                (obj(15), IpAddress("0.0.0.0")),
                (obj(128), V6_SOURCE),
                (obj(129), b"2001:db8::9"),  # text form, as some agents send
                (obj(20), 2),  # allow
                (obj(41), 1),  # alert bit
                (obj(25), 2),
                (obj(12), b"00000001-0001-0001-0001-000000012345"),
                (obj(14), b"3:1"),
                (obj(16), b"not a number"),
                ("1.3.6.1.4.1.99.1.0", b"\x00\xff"),
            ],
        ),
        "10.0.0.1",
    )
    assert event.src_ip == "2001:db8::1" and event.dst_ip == "2001:db8::9"
    assert event.action is Action.ALERT and event.severity is Severity.MINOR
    assert event.signature_number == 12345  # from the policy UUID when no signature UUID
    assert event.segment == "3:1"
    assert event.src_port is None
    assert event.hit_count == 1  # the default when the trap does not say
    assert event.extra == {"1.3.6.1.4.1.99.1.0": "0x00ff"}


def test_policy_notify_action_from_alert_type_alone() -> None:
    blocked = to_event(trap(f"{TP}.0.8", [(obj(41), 2)]), "10.0.0.1")
    alerted = to_event(trap(f"{TP}.0.8", [(obj(41), 1)]), "10.0.0.1")
    limited = to_event(trap(f"{TP}.0.8", [(obj(20), 3)]), "10.0.0.1")
    assert (blocked.action, alerted.action, limited.action) == (
        Action.BLOCK,
        Action.ALERT,
        Action.RATE_LIMIT,
    )


def test_an_object_of_another_trap_is_kept_in_extra() -> None:
    # The quarantine action and the system log severity are combined only by their own
    # traps' mapping; in a policy trap they are kept as they came, under their MIB names.
    event = to_event(
        trap(f"{TP}.0.8", [(obj(41), 2), (obj(135), 1), (obj(94), b"x"), (obj(88), 2)]),
        "10.0.0.1",
    )
    assert event.action is Action.BLOCK
    assert event.extra == {
        "tptQuarantineNotifyAction": "1",
        "tptSystemLogNotifySeverity": "",
        "tptTrhaNewState": "2",
    }


def test_trha_notify() -> None:
    event = to_event(
        trap(f"{TP}.0.18", [(obj(86), b"ips-a"), (obj(87), 1700000000), (obj(88), 1)]),
        "10.0.0.2",
    )
    assert event.kind is EventKind.TRHA
    assert event.device_name == "ips-a"
    assert event.message == "transparent HA unresponsive"
    assert event.severity is Severity.MAJOR
    assert event.extra == {"tptTrhaTimeStamp": "1700000000", "tptTrhaNewState": "unresponsive"}


def test_quarantine_notify() -> None:
    added = to_event(
        trap(
            f"{TP}.0.20",
            [
                (obj(132), IpAddress("10.1.1.5")),
                (obj(133), b"worm"),
                (obj(134), b"1-1A"),
                (obj(135), 1),
                (obj(181), 2),
            ],
        ),
        "10.0.0.3",
    )
    assert added.kind is EventKind.QUARANTINE
    assert (added.src_ip, added.message, added.segment) == ("10.1.1.5", "worm", "1-1A")
    assert added.action is Action.QUARANTINE
    assert added.extra == {
        "tptQuarantineNotifyAction": "added",
        "tptQuarantineNotifySslInspected": "2",
    }
    removed = to_event(trap(f"{TP}.0.20", [(obj(136), V6_SOURCE), (obj(135), 2)]), "10.0.0.3")
    assert removed.src_ip == "2001:db8::1" and removed.action is Action.NONE
    assert removed.extra["tptQuarantineNotifyAction"] == "removed"


def test_system_log_notify() -> None:
    event = to_event(
        trap(
            f"{TP}.0.16",
            [
                (obj(92), b"fan 2 failed"),
                (obj(93), 77),
                (obj(94), 2),
                (obj(95), 1700000000),
                (obj(96), 500_000_000),
            ],
        ),
        "10.0.0.4",
    )
    assert event.kind is EventKind.DEVICE_LOG
    assert (event.message, event.sequence, event.severity) == ("fan 2 failed", 77, Severity.MAJOR)
    assert event.begin_time == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
    assert event.extra == {"tptSystemLogNotifySeverity": "error"}


def test_foreign_trap_keeps_every_varbind_as_text() -> None:
    event = to_event(
        trap(
            "1.3.6.1.6.3.1.1.5.3",
            [
                ("1.3.6.1.2.1.2.2.1.1.2", 2),
                ("1.3.6.1.2.1.2.2.1.2.2", b"eth1"),
                ("1.3.6.1.4.1.9.1", Oid("1.3.6.1.4.1.9.9")),
                ("1.3.6.1.4.1.9.2", None),
                ("1.3.6.1.4.1.9.3", encode_oid("1.3.6")),  # binary octets
            ],
        ),
        "10.0.0.5",
    )
    assert event.kind is EventKind.TRAP
    assert event.name == "linkDown" and event.message == "1.3.6.1.6.3.1.1.5.3"
    assert event.severity is Severity.LOW
    assert event.extra == {
        "1.3.6.1.2.1.2.2.1.1.2": "2",
        "1.3.6.1.2.1.2.2.1.2.2": "eth1",
        "1.3.6.1.4.1.9.1": "1.3.6.1.4.1.9.9",
        "1.3.6.1.4.1.9.2": "",
        "1.3.6.1.4.1.9.3": "0x2b06",
    }


def test_v1_foreign_trap_keeps_agent_address_and_enterprise() -> None:
    from garrison.collectors.snmp_trap.messages import decode

    datagram = bytes.fromhex((DATA / "netsnmp_v1_generic.hex").read_text().strip())
    event = to_event(decode(datagram), "127.0.0.1")
    assert event.kind is EventKind.TRAP and event.name == "linkUp"
    assert event.extra["1.3.6.1.6.3.18.1.3.0"] == "10.0.0.9"
    assert event.extra["1.3.6.1.6.3.1.1.4.3.0"] == "1.3.6.1.4.1.8072.3.2.10"


@given(
    st.none() | st.integers(-5, 2**64),
    st.none() | st.integers(-5, 2 * 10**9),
)
def test_device_times_are_fromtimestamp_with_microseconds(
    seconds: int | None, nanos: int | None
) -> None:
    expected = None
    if seconds is not None and seconds >= 0:
        try:
            expected = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            expected = None
        if expected is not None and nanos and 0 < nanos < 1_000_000_000:
            expected = expected.replace(microsecond=nanos // 1000)
    assert _time(seconds, nanos) == expected
