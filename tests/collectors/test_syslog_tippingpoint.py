"""TippingPoint CEF -> Event(kind=ALERT), field by field; anything else -> SYSLOG."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from garrison.collectors.syslog import ParseError, parse_syslog, to_event
from garrison.collectors.syslog.normalize import cef_severity, pri_severity, to_action
from garrison.events import Action, Event, EventKind, Severity

DATA = Path(__file__).parent.parent / "data" / "syslog"
NOW = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)


def event_for(line: bytes, device_id: int | None = 5) -> Event:
    return to_event(
        parse_syslog(line, NOW), source_address="192.0.2.9", device_id=device_id, received_at=NOW
    )


def sms_sample(index: int) -> bytes:
    return (DATA / "tippingpoint_cef_v42.log").read_bytes().splitlines()[index]


def completed_sample(index: int) -> bytes:
    return (DATA / "tippingpoint_cef_v42_completed.log").read_bytes().splitlines()[index]


def test_real_sms_reputation_block() -> None:
    event = event_for(sms_sample(0))
    when = datetime(2018, 10, 12, 12, 46, 1, 56000, tzinfo=UTC)  # rt=1539348361056
    assert event.kind is EventKind.ALERT
    assert (event.collector, event.source_address, event.received_at) == (
        "syslog",
        "192.0.2.9",
        NOW,
    )
    assert (event.device_id, event.device_name) == (5, "PAS-TIP2600NX-01")
    assert event.severity is Severity.LOW  # CEF 1
    assert event.signature_number == 7610
    assert event.name == "Adlumin RepDV Manual Block"
    assert event.category == "Reputation"
    assert event.policy_id == "6e664408-b90a-48e2-9a2d-c01cb9258381"
    assert event.signature_id == "00000001-0001-0001-0001-000000007610"
    assert event.sequence == 19278229
    assert (event.begin_time, event.end_time) == (when, when)
    assert event.hit_count == 3
    assert event.protocol == "ip"
    assert (event.src_ip, event.src_port) == ("50.227.44.198", 10162)
    assert (event.dst_ip, event.dst_port) == ("52.10.98.6", 443)
    assert event.vlan == 0
    assert event.segment == "1-1B 1-1A"
    assert event.physical_port_in == 3
    assert event.action is Action.BLOCK
    assert event.alert_type == 0x2
    assert event.packet_trace is False
    assert event.message_params == "50.227.44.198"
    assert event.message == ""
    assert event.action_set == ""
    assert event.extra == {
        "app": "IP",
        "taxonomy": "33554431",
        "profile_name": "WCU-External-Outbound",
        "cs5": "TipSMS",
        "cs5Label": "SMS Name",
        "sourceTranslatedAddress": "50.227.44.198",
        "device_version": "1.0.0.17",
    }


def test_exploit_with_packet_trace_and_vlan() -> None:
    event = event_for(completed_sample(0))
    assert event.kind is EventKind.ALERT
    assert event.severity is Severity.MAJOR  # CEF 7
    assert (event.signature_number, event.category) == (13012, "Exploits")
    assert event.name == "13012: SIP: SipVicious Brute Force SIP Tool"
    assert (event.vlan, event.packet_trace, event.physical_port_in) == (101, True, 11)
    assert (event.segment, event.device_name, event.protocol) == ("6A 6B", "Phoenix-1400N-1", "tcp")
    assert event.message_params == ""
    assert event.extra["profile_name"] == "Phoenix Default"


def test_ipv6_addresses_escapes_and_permit() -> None:
    event = event_for(completed_sample(1))
    assert event.severity is Severity.CRITICAL  # CEF 10
    assert (event.src_ip, event.src_port) == ("2001:db8::7", 40000)
    assert (event.dst_ip, event.dst_port) == ("2001:db8::53", 53413)
    assert event.action is Action.ALERT  # act=Permit, and notified: the trap's reading too
    assert event.alert_type == 0x1
    assert event.message_params == "x=1 path C:\\tmp"
    assert event.hit_count == 12
    assert event.sequence == 77
    assert "c6a2" not in event.extra and "c6a2Label" not in event.extra


def test_the_same_alert_inside_rfc3164_and_rfc5424() -> None:
    cef = sms_sample(0).split(b">", 1)[1]
    bare = event_for(sms_sample(0))
    bsd = event_for(b"<37>Oct 12 12:46:01 tipsms tpsms: " + cef)
    ietf = event_for(b"<37>1 2018-10-12T12:46:01Z tipsms tpsms - - - " + cef)
    for wrapped in (bsd, ietf):
        assert wrapped.extra.pop("syslog_host") == "tipsms"
        assert wrapped == bare


def test_rt_missing_falls_back_to_the_syslog_timestamp() -> None:
    event = event_for(
        b"<37>1 2024-06-01T10:00:00Z h a - - - CEF:0|TippingPoint|UnityOne|1|42|n|4|act=Rate Limit"
    )
    assert event.begin_time == event.end_time == datetime(2024, 6, 1, 10, tzinfo=UTC)
    assert (event.severity, event.action, event.alert_type) == (
        Severity.MINOR,
        Action.RATE_LIMIT,
        None,
    )


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("0", Severity.LOW),
        ("1", Severity.LOW),
        ("2", Severity.LOW),
        ("3", Severity.MINOR),
        ("4", Severity.MINOR),
        ("5", Severity.MINOR),
        ("6", Severity.MAJOR),
        ("7", Severity.MAJOR),
        ("8", Severity.MAJOR),
        ("9", Severity.CRITICAL),
        ("10", Severity.CRITICAL),
        ("99", Severity.CRITICAL),
        ("Low", Severity.LOW),
        ("Medium", Severity.MINOR),
        ("High", Severity.MAJOR),
        ("Very-High", Severity.CRITICAL),
        ("bogus", None),
    ],
)
def test_cef_severity_buckets(value: str, severity: Severity | None) -> None:
    assert cef_severity(value) is severity


def test_unknown_cef_severity_uses_pri() -> None:
    event = event_for(b"<34>CEF:0|TippingPoint|UnityOne|1|1|n|bogus|act=Block")
    assert event.severity is Severity.CRITICAL  # PRI 34: auth.crit


@pytest.mark.parametrize(
    ("value", "action"),
    [
        ("Block", Action.BLOCK),
        ("Permit", Action.PERMIT),
        ("Rate Limit", Action.RATE_LIMIT),
        ("ratelimit", Action.RATE_LIMIT),
        ("Trust", Action.TRUST),
        ("Quarantine", Action.QUARANTINE),
        ("Alert", Action.ALERT),
        ("whatever", Action.NONE),
    ],
)
def test_actions(value: str, action: Action) -> None:
    assert to_action(value) is action


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (0, Severity.CRITICAL),
        (1, Severity.CRITICAL),
        (2, Severity.CRITICAL),
        (3, Severity.MAJOR),
        (4, Severity.MINOR),
        (5, Severity.LOW),
        (6, Severity.LOW),
        (7, Severity.LOW),
    ],
)
def test_pri_severity(severity: int, expected: Severity) -> None:
    assert pri_severity(severity) is expected


def test_plain_syslog_line() -> None:
    event = event_for(b"<28>Jun 15 11:59:00 core-sw1 ntpd[77]: clock unsynchronized", None)
    assert event.kind is EventKind.SYSLOG
    assert event.severity is Severity.MINOR  # daemon.warning
    assert event.message == "clock unsynchronized"
    assert event.begin_time == datetime(2024, 6, 15, 11, 59, tzinfo=UTC)
    assert event.device_id is None
    assert event.extra == {
        "host": "core-sw1",
        "app": "ntpd",
        "procid": "77",
        "facility": "daemon",
        "syslog_severity": "warning",
    }


def test_rfc5424_structured_data_lands_in_extra() -> None:
    event = event_for(b'<11>1 - h app 1 M1 [origin ip="192.0.2.1"] disk failed')
    assert event.severity is Severity.MAJOR  # user.err
    assert event.extra["sd.origin.ip"] == "192.0.2.1"
    assert event.extra["msgid"] == "M1"


def test_other_vendors_cef_is_a_syslog_event() -> None:
    event = event_for(b"<13>CEF:0|Acme|Firewall|2.1|deny-42|Denied|8|src=10.0.0.1 msg=no way")
    assert event.kind is EventKind.SYSLOG
    assert event.severity is Severity.LOW  # from PRI, not CEF
    assert event.name == "Denied"
    assert event.extra["cef_vendor"] == "Acme"
    assert event.extra["cef.src"] == "10.0.0.1"
    assert event.extra["cef.msg"] == "no way"


def test_broken_tippingpoint_header_is_bad_cef() -> None:
    with pytest.raises(ParseError) as caught:
        event_for(b"<37>CEF:0|TippingPoint|UnityOne|1.0.0.17|7610|cut her")
    assert caught.value.reason == "bad-cef"
