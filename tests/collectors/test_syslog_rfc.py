"""RFC 5424 and RFC 3164 parsing, with the RFCs' own examples and real devices' variants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from garrison.collectors.syslog import ParseError, parse_syslog

NOW = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)


def test_rfc5424_example_with_bom_and_fraction() -> None:
    msg = parse_syslog(
        b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
        b"\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
        NOW,
    )
    assert (msg.facility, msg.severity, msg.format) == (4, 2, "rfc5424")
    assert msg.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert msg.hostname == "mymachine.example.com"
    assert (msg.app_name, msg.procid, msg.msgid) == ("su", "", "ID47")
    assert msg.structured_data == {}
    assert msg.message == "'su root' failed for lonvick on /dev/pts/8"


def test_rfc5424_zone_offset_and_microseconds() -> None:
    msg = parse_syslog(
        b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time", NOW
    )
    assert msg.timestamp == datetime(
        2003, 8, 24, 5, 14, 15, 3, tzinfo=timezone(timedelta(hours=-7))
    )
    assert (msg.hostname, msg.app_name, msg.procid, msg.msgid) == (
        "192.0.2.1",
        "myproc",
        "8710",
        "",
    )
    assert msg.message == "%% It's time"


def test_rfc5424_structured_data_with_escapes() -> None:
    msg = parse_syslog(
        b'<165>1 2003-10-11T22:14:15.003Z host app - ID47 [exampleSDID@32473 iut="3" '
        b'eventSource="Appli\\"cation\\]" path="C:\\\\x\\y"][examplePriority@32473 class="high"]',
        NOW,
    )
    assert msg.structured_data == {
        "exampleSDID@32473": {"iut": "3", "eventSource": 'Appli"cation]', "path": "C:\\x\\y"},
        "examplePriority@32473": {"class": "high"},
    }
    assert msg.message == ""


def test_rfc5424_nil_timestamp_and_nine_fraction_digits() -> None:
    assert parse_syslog(b"<13>1 - - - - - - hi", NOW).timestamp is None
    stamp = parse_syslog(b"<13>1 2024-01-01t00:00:00.123456789z h a p m - x", NOW).timestamp
    assert stamp == datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"hello", "no-pri"),
        (b"<x>hello", "bad-pri"),
        (b"<192>hello", "bad-pri"),
        (b"<13>1 2024-13-01T00:00:00Z h a p m - x", "bad-header"),
        (b"<13>1 yesterday h a p m - x", "bad-header"),
        (b"<13>1 - h a p", "bad-header"),
        (b"<13>2 - h a p m - x", "bad-header"),
        (b"<13>1 - h  a p m - x", "bad-header"),
        (b"<13>1 - h a p m [id x=1] y", "bad-structured-data"),
        (b'<13>1 - h a p m [id x="1 y', "bad-structured-data"),
        (b'<13>1 - h a p m [id x="1"]y', "bad-structured-data"),
        (b"<13>1 - h a p m nosd", "bad-structured-data"),
    ],
)
def test_garbage_has_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_syslog(data, NOW)
    assert caught.value.reason == reason


def test_rfc3164_example() -> None:
    msg = parse_syslog(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed", NOW)
    assert (msg.facility, msg.severity, msg.format) == (4, 2, "rfc3164")
    assert msg.timestamp == datetime(2023, 10, 11, 22, 14, 15, tzinfo=UTC)  # nearest to NOW
    assert (msg.hostname, msg.app_name, msg.procid) == ("mymachine", "su", "")
    assert msg.message == "'su root' failed"


def test_rfc3164_year_is_the_one_nearest_now() -> None:
    new_year = datetime(2025, 1, 1, 0, 0, 30, tzinfo=UTC)
    late = parse_syslog(b"<13>Dec 31 23:59:59 h app: m", new_year)
    assert late.timestamp == datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)
    early = parse_syslog(
        b"<13>Jan  1 00:00:10 h app: m", datetime(2024, 12, 31, 23, 59, tzinfo=UTC)
    )
    assert early.timestamp == datetime(2025, 1, 1, 0, 0, 10, tzinfo=UTC)
    leap = parse_syslog(b"<13>Feb 29 10:00:00 h app: m", datetime(2025, 1, 10, tzinfo=UTC))
    assert leap.timestamp == datetime(2024, 2, 29, 10, 0, 0, tzinfo=UTC)


def test_rfc3164_pid_padded_day_and_no_host() -> None:
    msg = parse_syslog(b"<13>Feb  5 17:32:18 sshd[4321]: Accepted publickey", NOW)
    assert msg.timestamp == datetime(2024, 2, 5, 17, 32, 18, tzinfo=UTC)
    assert (msg.hostname, msg.app_name, msg.procid) == ("", "sshd", "4321")
    assert msg.message == "Accepted publickey"


def test_rfc3164_cisco_year_milliseconds_and_colon() -> None:
    msg = parse_syslog(b"<189>*Mar  1 2024 00:00:01.123: %SYS-5-CONFIG_I: Configured", NOW)
    assert msg.timestamp == datetime(2024, 3, 1, 0, 0, 1, 123000, tzinfo=UTC)
    assert msg.hostname == ""  # "%SYS-5-CONFIG_I:" is the tag, not a host
    assert msg.app_name == "%SYS-5-CONFIG_I"
    assert msg.message == "Configured"


def test_rfc3164_with_rfc3339_timestamp() -> None:
    msg = parse_syslog(b"<13>2024-01-02T03:04:05.678+01:00 host app[12]: forwarded", NOW)
    assert msg.timestamp == datetime(2024, 1, 2, 2, 4, 5, 678000, tzinfo=UTC)
    assert (msg.hostname, msg.app_name, msg.procid, msg.message) == (
        "host",
        "app",
        "12",
        "forwarded",
    )


def test_rfc3164_without_timestamp_is_all_message() -> None:
    msg = parse_syslog(b"<37>CEF:0|TippingPoint|UnityOne|1.0.0.17|1|n|1|act=Block", NOW)
    assert msg.timestamp is None
    assert (msg.hostname, msg.app_name) == ("", "")
    assert msg.message == "CEF:0|TippingPoint|UnityOne|1.0.0.17|1|n|1|act=Block"


def test_rfc3164_cef_after_timestamp_is_not_a_host_or_tag() -> None:
    msg = parse_syslog(b"<37>Oct 12 12:46:01 CEF:0|TippingPoint|UnityOne|1|2|n|1|", NOW)
    assert (msg.hostname, msg.app_name) == ("", "")
    assert msg.message.startswith("CEF:0|")
    with_host = parse_syslog(b"<37>Oct 12 12:46:01 sms01 CEF:0|TippingPoint|UnityOne|1|2|n|1|", NOW)
    assert (with_host.hostname, with_host.app_name) == ("sms01", "")
    assert with_host.message.startswith("CEF:0|")


def test_rfc3164_latin1_and_trailing_newline() -> None:
    msg = parse_syslog(b"<13>Oct 11 22:14:15 h app: caf\xe9\r\n", NOW)
    assert msg.message == "café"
