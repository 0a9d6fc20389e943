"""rsyslogd as the sender: it takes messages in on a local port and forwards them to the
receivers over TLS (RFC 5425: the `ossl` netstream driver, octet-counted, RFC 5424
template, checking Garrison's certificate against a CA made here) and over plain TCP
(octet-counted, the traditional BSD template)."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import pytest

from garrison.events import Action, Event, EventKind, Severity
from tests.collectors.syslog_peers import (
    DATA,
    DEVICE_ID,
    Receivers,
    Rsyslog,
    logger,
    run,
    started_receivers,
)

pytestmark = [
    pytest.mark.skipif(
        shutil.which("rsyslogd") is None or shutil.which("logger") is None,
        reason="needs rsyslogd (apt-get install rsyslog rsyslog-openssl) and logger",
    ),
    pytest.mark.timeout(90),
]

CEF = (DATA / "tippingpoint_cef_v42.log").read_text().splitlines()[0].split(">", 1)[1]
HOST = socket.gethostname().split(".")[0]


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rsyslog_config(work: Path, rx: Receivers, in_port: int, *, tls: bool, tcp: bool) -> str:
    actions = []
    if tls:
        actions.append(
            f'action(type="omfwd" target="127.0.0.1" port="{rx.tls.port}" protocol="tcp"\n'
            '       StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name"\n'
            '       StreamDriverPermittedPeers="localhost" TCP_Framing="octet-counted"\n'
            '       template="RSYSLOG_SyslogProtocol23Format"\n'
            '       action.resumeRetryCount="-1" action.resumeInterval="1")'
        )
    if tcp:
        actions.append(
            f'action(type="omfwd" target="127.0.0.1" port="{rx.tcp.port}" protocol="tcp"\n'
            '       TCP_Framing="octet-counted" template="RSYSLOG_TraditionalForwardFormat"\n'
            '       action.resumeRetryCount="-1" action.resumeInterval="1")'
        )
    forward = "\n  ".join(actions)
    return f"""\
global(workDirectory="{work}" DefaultNetstreamDriverCAFile="{rx.ca}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{in_port}")
# Only the test's messages: rsyslogd's own start-up notices stay here.
if $programname == "tpsms" or $programname == "ntpd" then {{
  {forward}
}}
"""


async def send_to_rsyslog(port: int, *args: str, message: str) -> None:
    """logger to rsyslogd's input, retried while the input is still opening."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while True:
        try:
            await run(logger(port, "-T", *args, message=message))
            return
        except AssertionError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


def check_alert(event: Event) -> None:
    assert event.kind is EventKind.ALERT
    assert (event.collector, event.source_address, event.device_id) == (
        "syslog",
        "127.0.0.1",
        DEVICE_ID,
    )
    assert event.device_name == "PAS-TIP2600NX-01"
    assert (event.signature_number, event.name) == (7610, "Adlumin RepDV Manual Block")
    assert (event.severity, event.action, event.alert_type) == (Severity.LOW, Action.BLOCK, 2)
    assert event.policy_id == "6e664408-b90a-48e2-9a2d-c01cb9258381"
    assert event.signature_id == "00000001-0001-0001-0001-000000007610"
    assert (event.sequence, event.hit_count, event.category) == (19278229, 3, "Reputation")
    assert (event.src_ip, event.src_port, event.dst_ip, event.dst_port) == (
        "50.227.44.198",
        10162,
        "52.10.98.6",
        443,
    )
    assert (event.vlan, event.segment, event.physical_port_in) == (0, "1-1B 1-1A", 3)
    assert (event.protocol, event.packet_trace, event.message_params) == (
        "ip",
        False,
        "50.227.44.198",
    )
    assert event.begin_time is not None and event.begin_time.year == 2018
    assert event.extra["syslog_host"].split(".")[0] == HOST
    assert event.extra["profile_name"] == "WCU-External-Outbound"


@pytest.mark.parametrize("transport", ["tls", "tcp"])
async def test_rsyslog_forwards_cef_and_plain_lines(tmp_path: Path, transport: str) -> None:
    async with started_receivers(tmp_path / "d") as rx:
        in_port = free_tcp_port()
        config = rsyslog_config(
            tmp_path / "rs", rx, in_port, tls=transport == "tls", tcp=transport == "tcp"
        )
        rsyslog = Rsyslog(tmp_path / "rs", config)
        await rsyslog.start()
        try:
            await send_to_rsyslog(in_port, "--rfc3164", "-p", "local4.notice", "-t", "tpsms",
                                  message=CEF)  # fmt: skip
            # rsyslog's BSD template writes an RFC 5424 input's tag without its ':' ("ntpd
            # clock ..."), which no reader can split; so the BSD leg gets a BSD input.
            fmt = "--rfc5424" if transport == "tls" else "--rfc3164"
            await send_to_rsyslog(in_port, fmt, "-p", "daemon.warning", "-t", "ntpd",
                                  message="clock unsynchronized")  # fmt: skip
            alert, line = await rx.events(2, timeout=20)
        finally:
            stderr = await rsyslog.stop()
        check_alert(alert)
        assert line.kind is EventKind.SYSLOG
        assert (line.severity, line.message) == (Severity.MINOR, "clock unsynchronized")
        assert line.extra["app"] == "ntpd"
        assert rx.received(transport) == 2
        other = "tcp" if transport == "tls" else "tls"
        assert rx.received(other) == 0
        assert rx.dropped("tls-handshake") == 0, stderr
        assert rx.dropped("framing") == 0


async def test_rsyslog_reconnects_after_a_restart_of_the_receiver(tmp_path: Path) -> None:
    """A receiver stop closes rsyslog's TLS connection; rsyslog reconnects and resends."""
    async with started_receivers(tmp_path / "d") as rx:
        in_port = free_tcp_port()
        rsyslog = Rsyslog(tmp_path / "rs", rsyslog_config(tmp_path / "rs", rx, in_port,
                                                          tls=True, tcp=False))  # fmt: skip
        await rsyslog.start()
        try:
            await send_to_rsyslog(in_port, "-t", "ntpd", message="before")
            (before,) = await rx.events(1, timeout=20)
            assert rx.tls.connections == 1
            await rx.tls.stop()
            assert rx.tls.connections == 0
            await rx.tls.start()  # the same port, which rsyslog still targets
            # rsyslog learns that its connection is gone only when a send fails, and the
            # message of that send is lost (plain TCP and TLS forwarding have no
            # application-level acks; RELP would), so keep sending until one arrives.
            after: list[Event] = []
            for attempt in range(10):
                await send_to_rsyslog(in_port, "-t", "ntpd", message=f"after {attempt}")
                try:
                    after = await rx.events(
                        1, timeout=3, where=lambda e: e.message.startswith("after")
                    )
                    break
                except AssertionError:
                    continue
            assert rx.tls.connections == 1  # the new connection
        finally:
            await rsyslog.stop()
        assert before.message == "before"
        assert after and after[0].kind is EventKind.SYSLOG
