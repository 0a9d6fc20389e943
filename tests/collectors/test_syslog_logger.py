"""The receivers against util-linux `logger`, a real sender, over UDP and TCP (LF and
octet-counted framing, RFC 3164 and RFC 5424), and the SMS's own bare CEF bytes."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from garrison.collectors.syslog import parse_syslog, to_event
from garrison.events import Action, Event, EventKind, Severity
from tests.collectors.syslog_peers import DATA, DEVICE_ID, logger, run, started_receivers

pytestmark = [
    pytest.mark.skipif(shutil.which("logger") is None, reason="needs util-linux logger"),
    pytest.mark.timeout(60),
]

SMS_LINE = (DATA / "tippingpoint_cef_v42.log").read_bytes().splitlines()[0]
CEF = SMS_LINE.split(b">", 1)[1].decode()  # the CEF text without the SMS's <37>
HOST = socket.gethostname()


def expected_alert() -> Event:
    """The event the sample gives when parsed directly: what every transport must match."""
    return to_event(
        parse_syslog(SMS_LINE, datetime.now(UTC)),
        source_address="127.0.0.1",
        device_id=DEVICE_ID,
    )


def assert_same_alert(event: Event) -> None:
    expected = expected_alert()
    assert event.kind is EventKind.ALERT
    assert event.extra.pop("syslog_host").split(".")[0] == HOST.split(".")[0]
    fields = [f.name for f in dataclasses.fields(Event) if f.name != "received_at"]
    for name in fields:
        assert getattr(event, name) == getattr(expected, name), name
    # And the values themselves, not only their agreement:
    assert (event.device_id, event.device_name) == (DEVICE_ID, "PAS-TIP2600NX-01")
    assert (event.signature_number, event.sequence, event.hit_count) == (7610, 19278229, 3)
    assert (event.action, event.severity, event.category) == (
        Action.BLOCK,
        Severity.LOW,
        "Reputation",
    )
    assert (event.src_ip, event.src_port, event.dst_ip, event.dst_port) == (
        "50.227.44.198",
        10162,
        "52.10.98.6",
        443,
    )


def assert_recent(stamp: datetime | None) -> None:
    assert stamp is not None
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=2)


@pytest.mark.parametrize("fmt", ["--rfc3164", "--rfc5424"])
async def test_plain_line_over_udp(tmp_path: Path, fmt: str) -> None:
    async with started_receivers(tmp_path / "d") as rx:
        await run(logger(rx.udp.port, "-d", fmt, "-p", "daemon.warning", "-t", "ntpd",
                         message="clock unsynchronized over udp"))  # fmt: skip
        (event,) = await rx.events(1)
        assert event.kind is EventKind.SYSLOG
        assert (event.collector, event.source_address, event.device_id) == (
            "syslog",
            "127.0.0.1",
            DEVICE_ID,
        )
        assert event.severity is Severity.MINOR
        assert event.message == "clock unsynchronized over udp"
        assert event.extra["app"] == "ntpd"
        assert event.extra["facility"] == "daemon"
        assert event.extra["syslog_severity"] == "warning"
        assert event.extra["host"].split(".")[0] == HOST.split(".")[0]
        assert_recent(event.begin_time)
        assert event.end_time == event.begin_time
        if fmt == "--rfc5424":
            assert event.extra["sd.timeQuality.tzKnown"] == "1"  # logger's own SD element
        assert rx.received("udp") == 1


async def test_rfc5424_msgid_and_structured_data_over_udp(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d") as rx:
        await run(logger(rx.udp.port, "-d", "--rfc5424", "--msgid", "DISK", "-p", "local0.err",
                         "--sd-id", "disk@32473", "--sd-param", 'slot="3"',
                         "--sd-param", 'state="fail \\]ed \\"x\\""',
                         message="disk in slot 3 failed"))  # fmt: skip
        (event,) = await rx.events(1)
        assert event.severity is Severity.MAJOR
        assert event.extra["msgid"] == "DISK"
        assert event.extra["sd.disk@32473.slot"] == "3"
        assert event.extra["sd.disk@32473.state"] == 'fail ]ed "x"'
        assert event.message == "disk in slot 3 failed"


@pytest.mark.parametrize(
    "args",
    [
        ["-T", "--rfc3164"],
        ["-T", "--rfc5424"],
        ["-T", "--octet-count", "--rfc3164"],
        ["-T", "--octet-count", "--rfc5424"],
    ],
    ids=["lf-3164", "lf-5424", "octet-3164", "octet-5424"],
)
async def test_plain_line_over_tcp(tmp_path: Path, args: list[str]) -> None:
    async with started_receivers(tmp_path / "d") as rx:
        await run(logger(rx.tcp.port, *args, "-p", "auth.crit", "-t", "sshd",
                         message="first line"))  # fmt: skip
        await run(logger(rx.tcp.port, *args, "-p", "user.info", "-t", "app",
                         message="second line with = and | and \\ inside"))  # fmt: skip
        first, second = await rx.events(2)
        assert (first.kind, first.severity, first.message) == (
            EventKind.SYSLOG,
            Severity.CRITICAL,
            "first line",
        )
        assert (second.severity, second.message) == (
            Severity.LOW,
            "second line with = and | and \\ inside",
        )
        assert first.device_id == second.device_id == DEVICE_ID
        assert rx.received("tcp") == 2
        assert sum(rx.dropped(r) for r in ("truncated", "framing", "oversized")) == 0


@pytest.mark.parametrize(
    "args",
    [
        ["-d", "--rfc3164"],
        ["-d", "--rfc5424"],
        ["-T", "--rfc3164"],
        ["-T", "--octet-count", "--rfc5424"],
    ],
    ids=["udp-3164", "udp-5424", "tcp-lf-3164", "tcp-octet-5424"],
)
async def test_tippingpoint_cef_via_logger(tmp_path: Path, args: list[str]) -> None:
    async with started_receivers(tmp_path / "d") as rx:
        port = rx.udp.port if "-d" in args else rx.tcp.port
        await run(logger(port, *args, "-p", "local4.notice", "-t", "tpsms", message=CEF))
        (event,) = await rx.events(1)
        assert_same_alert(event)


async def test_the_sms_bare_bytes_over_udp_and_tcp(tmp_path: Path) -> None:
    """What an SMS sends has no timestamp and no host: <37>CEF:0|... as is."""
    async with started_receivers(tmp_path / "d") as rx:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.setblocking(False)
            await loop.sock_sendto(udp, SMS_LINE, ("127.0.0.1", rx.udp.port))
        _, writer = await asyncio.open_connection("127.0.0.1", rx.tcp.port)
        writer.write(SMS_LINE + b"\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        for event in await rx.events(2):
            expected = expected_alert()
            expected.received_at = event.received_at
            assert event == expected


async def test_every_sms_sample_over_udp(tmp_path: Path) -> None:
    lines = [
        *(DATA / "tippingpoint_cef_v42.log").read_bytes().splitlines(),
        *(DATA / "tippingpoint_cef_v42_completed.log").read_bytes().splitlines(),
    ]
    async with started_receivers(tmp_path / "d") as rx:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.setblocking(False)
            for line in lines:
                await loop.sock_sendto(udp, line, ("127.0.0.1", rx.udp.port))
        events = await rx.events(len(lines))
        assert [e.kind for e in events] == [EventKind.ALERT] * len(lines)
        assert [e.signature_number for e in events] == [7610, 13012, 32391, 13012, 32391]
        assert [e.severity for e in events] == [
            Severity.LOW,
            Severity.MAJOR,
            Severity.CRITICAL,
            Severity.MAJOR,
            Severity.CRITICAL,
        ]
