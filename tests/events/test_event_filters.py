"""Event filters from query strings: what each parameter accepts, the error that names it,
and the same conditions applied to events that are not stored yet."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_network

import pytest

from garrison.errors import Invalid
from garrison.events import Action, EventKind, Severity
from garrison.events.filters import (
    EventFilters,
    Sort,
    parse_filters,
    parse_query,
    parse_sort,
    parse_time,
)
from tests.events.samples import T0, alert, full_alert


def test_times_are_iso_with_a_zone_or_epoch_milliseconds() -> None:
    moment = datetime(2026, 1, 31, 8, 0, 0, 123000, tzinfo=UTC)
    assert parse_time("2026-01-31T08:00:00.123Z", "since") == moment
    assert parse_time("2026-01-31T09:00:00.123+01:00", "since") == moment
    assert parse_time("1769846400123", "since") == moment
    assert parse_time(1769846400123, "since") == moment


def test_lists_come_repeated_or_comma_separated_and_values_normalize() -> None:
    filters = parse_filters(
        severity=["Critical", "2"],
        device=["7,edge-1", " "],
        signature=["7001", "00000001-0001-0001-0001-00000004375A"],
        src="10.1.2.3/8",
        dst_port="80,443,80",
        action="BLOCK",
        kind="device-log",
    )
    assert filters.severities == (Severity.CRITICAL, Severity.MINOR)
    assert (filters.device_ids, filters.device_names) == ((7,), ("edge-1",))
    assert filters.signature_numbers == (7001,)
    assert filters.signature_ids == ("00000001-0001-0001-0001-00000004375a",)
    assert filters.src == (ip_network("10.0.0.0/8"),)
    assert filters.dst_ports == (80, 443)
    assert (filters.actions, filters.kinds) == ((Action.BLOCK,), (EventKind.DEVICE_LOG,))
    assert parse_filters(min_severity="major").severities == (Severity.MAJOR, Severity.CRITICAL)
    assert parse_filters(severity="low,critical", min_severity="minor").severities == (
        Severity.CRITICAL,
    )
    assert parse_filters() == EventFilters()
    assert parse_filters(name="a, b").name == "a, b"  # one value, commas and all


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"since": "2026-01-31T08:00:00"}, "since: '2026-01-31T08:00:00' needs a time zone"),
        ({"since": "last week"}, "since: 'last week' is neither ISO 8601"),
        ({"until": "99999999999999999"}, "until: 99999999999999999 epoch milliseconds is after"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "since: '0001-01-01T00:00:00+14:00' is outside"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until: must be"),
        ({"since": ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]}, "since: give it once"),
        ({"time_field": "begin"}, "time_field: 'begin' is not one of received, end"),
        ({"severity": "5"}, "severity: '5' is not a severity"),
        ({"device": "2147483648"}, "device: 2147483648 is larger than any device id"),
        ({"severity": "low", "min_severity": "major"}, "min_severity: excludes every"),
        ({"signature": "sig-1"}, "signature: 'sig-1' is neither a filter number nor a UUID"),
        ({"src": "10.0.0.0/33"}, "src: '10.0.0.0/33' is not an IPv4 or IPv6"),
        ({"dst": "10.0.0.0/8/8"}, "dst: '10.0.0.0/8/8' is not"),
        ({"src_port": "-1"}, "src_port: '-1' is not a port number"),
        ({"dst_port": "65536"}, "dst_port: '65536' is not a port number"),
        ({"action": "drop"}, "action: 'drop' is not one of block, permit"),
        ({"kind": "weather"}, "kind: 'weather' is not one of alert"),
        ({"name": "x" * 256}, "name: at most 255 characters"),
        ({"category": ",".join(["c"] * 101)}, "category: at most 100 values"),
    ],
)
def test_errors_name_the_parameter(params: dict[str, object], named: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_filters(**params)  # type: ignore[arg-type]
    assert str(refused.value).startswith(named)


def test_query_pairs_refuse_unknown_names_but_skip_the_ignored() -> None:
    pairs = [("src", "10.0.0.0/8"), ("src", "::1"), ("api_key", "secret")]
    assert len(parse_query(pairs, ignore=["api_key"]).src) == 2
    with pytest.raises(Invalid, match=r"^api_key: not a filter"):
        parse_query(pairs)


def test_sort_whitelist() -> None:
    assert parse_sort(None) == Sort("id", True)
    assert parse_sort("severity") == Sort("severity", False)
    assert parse_sort("-src_ip") == Sort("src_ip", True)
    with pytest.raises(Invalid, match=r"^sort: 'password' is not one of"):
        parse_sort("-password")


def test_matches_applies_the_conditions_to_live_events() -> None:
    event = full_alert()  # src 2001:db8:85a3::..., dst 198.51.100.7, critical, edge-1
    yes = [
        {},
        {"src": "2001:db8::/32", "dst": "198.51.100.0/24"},
        {"dst": "::ffff:198.51.100.0/120"},  # the IPv4-mapped form is the same address
        {"device": "edge-1"},
        {"device": "7"},
        {"signature": "43756"},
        {"min_severity": "major", "action": "block,permit"},
        {"name": "isakmp"},
        {"since": "2026-01-31T08:00:00Z", "until": "2026-01-31T08:00:01Z"},
        {"time_field": "end", "until": "2026-01-31T08:00:00.124Z"},
    ]
    no = [
        {"src": "10.0.0.0/8"},
        {"dst": "::/0"},  # IPv6 blocks mean IPv6
        {"device": "edge-2"},
        {"severity": "low"},
        {"kind": "syslog"},
        {"dst_port": "80"},
        {"since": "2026-02-01T00:00:00Z"},
    ]
    assert all(parse_filters(**p).matches(event) for p in yes)  # type: ignore[arg-type]
    assert not any(parse_filters(**p).matches(event) for p in no)  # type: ignore[arg-type]
    bare = alert(1, received_at=T0)
    assert not parse_filters(src="0.0.0.0/0").matches(bare)  # no address at all
    assert not parse_filters(time_field="end", since="1970-01-01T00:00:00Z").matches(bare)
