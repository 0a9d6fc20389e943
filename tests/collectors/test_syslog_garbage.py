"""Garbage, truncated frames, oversized messages, strangers, failed TLS handshakes: each is
counted by reason and logged at a limited rate, and the next good message still arrives."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from pathlib import Path

import pytest

from garrison.collectors.syslog.drops import DropRecorder
from garrison.events import EventKind
from garrison.metrics import Metrics
from tests.collectors.syslog_peers import DEVICE_ID, Receivers, started_receivers
from tests.support import make_settings, start_server

pytestmark = pytest.mark.timeout(60)

GOOD = b"<13>Jun 15 12:00:00 host app: good line"


async def send_udp(port: int, *datagrams: bytes, source: str = "127.0.0.1") -> None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.setblocking(False)
        for datagram in datagrams:
            await loop.sock_sendto(sock, datagram, ("127.0.0.1", port))


async def open_tcp(
    port: int, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    try:
        return await asyncio.wait_for(reader.read(100), timeout) == b""
    except ConnectionError:
        return True


async def good_line_arrives(rx: Receivers, text: str) -> None:
    events = await rx.events(1, where=lambda e: e.message == text)
    assert events[0].device_id == DEVICE_ID


async def test_udp_garbage_is_counted_by_reason(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d", max_message_bytes=480) as rx:
        garbage = {
            "empty": [b"", b"\n"],
            "no-pri": [b"hello", b"\x00\x01\x02"],
            "bad-pri": [b"<999>x", b"<ab>x", b"<13"],
            "bad-header": [b"<13>1 2024-02-30T00:00:00Z h a p m - x"],
            "bad-structured-data": [b'<13>1 - h a p m [id k="unterminated'],
            "bad-cef": [b"<13>CEF:0|TippingPoint|UnityOne|1.0|cut"],
            "oversized": [b"<13>" + b"x" * 600],
        }
        await send_udp(rx.udp.port, *(d for group in garbage.values() for d in group))
        await send_udp(rx.udp.port, GOOD)
        await good_line_arrives(rx, "good line")
        assert await rx.quiet() == []
        for reason, datagrams in garbage.items():
            assert rx.dropped(reason) == len(datagrams), reason
        assert rx.received("udp") == sum(len(g) for g in garbage.values()) + 1
        assert len(rx.seen) == 1


async def test_tcp_garbage_framing_closes_only_that_connection(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d") as rx:
        _, writer_a = await open_tcp(rx.tcp.port)
        writer_a.write(b"<13>Jun 15 12:00:00 host app: a1\n")
        await good_line_arrives(rx, "a1")
        reader_b, writer_b = await open_tcp(rx.tcp.port)
        writer_b.write(b"\x16\x03\x01\x00\x05hello")  # a TLS ClientHello on the plain port
        await writer_b.drain()
        assert await closed_by_peer(reader_b)
        writer_a.write(b"<13>Jun 15 12:00:01 host app: a2\n")
        await good_line_arrives(rx, "a2")
        reader_c, writer_c = await open_tcp(rx.tcp.port)
        writer_c.write(b"9 <13>a: c1" + b"12x <13>junk")  # a good frame, then a bad count
        await writer_c.drain()
        assert await closed_by_peer(reader_c)
        await good_line_arrives(rx, "c1")
        assert rx.dropped("framing") == 2
        assert rx.tcp.connections == 1
        for writer in (writer_a, writer_b, writer_c):
            writer.close()


async def test_truncated_and_oversized_frames(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d", max_message_bytes=480) as rx:
        # Octet counting: an oversized frame is skipped and the next one read.
        big = b"<13>" + b"y" * 1000
        _, writer = await open_tcp(rx.tcp.port)
        writer.write(b"%d %s" % (len(big), big) + b"14 <13>app: after")
        await good_line_arrives(rx, "after")
        # LF framing: an oversized line is skipped up to its LF.
        _, lf_writer = await open_tcp(rx.tcp.port)
        lf_writer.write(b"<13>" + b"z" * 1000 + b"\n<13>app: after lf\n")
        await good_line_arrives(rx, "after lf")
        # A frame cut short by the sender closing.
        _, cut = await open_tcp(rx.tcp.port)
        cut.write(b"100 <13>app: only part of it")
        await cut.drain()
        cut.close()
        await cut.wait_closed()
        _, next_writer = await open_tcp(rx.tcp.port)
        next_writer.write(b"<13>app: next\n")
        await good_line_arrives(rx, "next")
        deadline = time.monotonic() + 5
        while rx.dropped("truncated") < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert rx.dropped("oversized") == 2
        assert rx.dropped("truncated") == 1
        for w in (writer, lf_writer, next_writer):
            w.close()


async def test_unknown_sources_are_dropped(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d") as rx:
        await send_udp(rx.udp.port, b"<13>app: from a stranger", source="127.0.0.2")
        reader, writer = await open_tcp(rx.tcp.port, source="127.0.0.2")
        writer.write(b"<13>app: from a stranger\n")
        assert await closed_by_peer(reader)
        writer.close()
        await send_udp(rx.udp.port, b"<13>app: from a device")
        await good_line_arrives(rx, "from a device")
        assert rx.dropped("unknown-source") == 2
        assert len(rx.seen) == 1


async def test_unknown_sources_accepted_when_configured(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d", accept_unknown_sources=True) as rx:
        await send_udp(rx.udp.port, b"<13>app: from a stranger", source="127.0.0.2")
        (event,) = await rx.events(1)
        assert (event.source_address, event.device_id) == ("127.0.0.2", None)


async def test_tls_handshake_failure_then_a_good_client(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d") as rx:
        reader, writer = await open_tcp(rx.tls.port)
        writer.write(b"<13>app: plain text on the TLS port\n")
        assert await closed_by_peer(reader, timeout=15)
        writer.close()
        context = ssl.create_default_context(cafile=str(rx.ca))
        tls_reader, tls_writer = await asyncio.open_connection(
            "127.0.0.1", rx.tls.port, ssl=context, server_hostname="localhost"
        )
        tls_writer.write(b"21 <13>app: over TLS now")
        await good_line_arrives(rx, "over TLS now")
        assert rx.dropped("tls-handshake") == 1
        assert rx.received("tls") == 1
        tls_writer.close()
        del tls_reader


async def test_idle_connections_are_closed(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d", idle_timeout_seconds=0.3) as rx:
        reader, writer = await open_tcp(rx.tcp.port)
        writer.write(b"<13>app: then silence\n")
        await good_line_arrives(rx, "then silence")
        started = time.monotonic()
        assert await closed_by_peer(reader)
        assert time.monotonic() - started < 3
        writer.close()


async def test_connection_limit(tmp_path: Path) -> None:
    async with started_receivers(tmp_path / "d", max_connections=1) as rx:
        _, first = await open_tcp(rx.tcp.port)
        first.write(b"<13>app: first\n")
        await good_line_arrives(rx, "first")
        reader, second = await open_tcp(rx.tcp.port)
        assert await closed_by_peer(reader)
        assert rx.dropped("too-many-connections") == 1
        first.write(b"<13>app: still here\n")
        await good_line_arrives(rx, "still here")
        first.close()
        second.close()


async def test_drops_are_logged_once_per_reason_per_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="garrison.collectors.syslog")
    async with started_receivers(tmp_path / "d") as rx:
        await send_udp(rx.udp.port, *[b"no pri %d" % i for i in range(50)], b"<x>", GOOD)
        await good_line_arrives(rx, "good line")
    lines = [r.getMessage() for r in caplog.records if r.name == "garrison.collectors.syslog"]
    assert len([line for line in lines if "(no-pri)" in line]) == 1
    assert len([line for line in lines if "(bad-pri)" in line]) == 1
    assert rx.dropped("no-pri") == 50


def test_rate_limited_log_reports_what_it_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    metrics = Metrics()
    recorder = DropRecorder(metrics.syslog_dropped, interval=10, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="garrison.collectors.syslog")
    for _ in range(5):
        recorder.record("no-pri", "udp", "192.0.2.1", "junk")
    now[0] += 10
    recorder.record("no-pri", "udp", "192.0.2.1", "junk")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "(and 4 more like it)" in messages[1]
    value = metrics.registry.get_sample_value("garrison_syslog_dropped_total", {"reason": "no-pri"})
    assert value == 6


def test_served_process_runs_the_receivers_and_shows_the_counts(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data",
        ports={"https": 0, "client-api": 0, "syslog-udp": 0, "syslog-tcp": 0, "syslog-tls": 0},
        syslog={"enabled": True, "accept_unknown_sources": True},
        snmp_trap={"enabled": False},
        poller={"enabled": False},
    )
    server = start_server(settings)
    running = next(server)
    try:
        assert {"syslog-udp", "syslog-tcp", "syslog-tls"} <= set(running.ports)
        subscription = running.services.bus.subscribe("test")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"garbage", ("127.0.0.1", running.ports["syslog-udp"]))
            sock.sendto(GOOD, ("127.0.0.1", running.ports["syslog-udp"]))
        with running.admin() as client:
            deadline = time.monotonic() + 10
            while True:
                text = client.get("/metrics").text
                if 'garrison_syslog_received_total{transport="udp"} 2.0' in text:
                    break
                assert time.monotonic() < deadline, text
                time.sleep(0.05)
        assert 'garrison_syslog_dropped_total{reason="no-pri"} 1.0' in text
        (event,) = asyncio.run(subscription.next_batch(10, timeout=1))
        assert (event.kind, event.message) == (EventKind.SYSLOG, "good line")
    finally:
        server.close()


def test_off_unless_enabled(tmp_path: Path) -> None:
    from garrison.collectors.syslog import build_syslog_receivers
    from garrison.events import EventBus

    settings = make_settings(tmp_path / "d")
    assert settings.syslog.enabled is False
    assert build_syslog_receivers(settings, EventBus(), Metrics()) == []
    only_udp = make_settings(tmp_path / "d", syslog={"enabled": True, "tcp": False, "tls": False})
    (receiver,) = build_syslog_receivers(only_udp, EventBus(), Metrics())
    assert receiver.name == "syslog-udp"
