"""rsyslogd as the receiving syslog server of the syslog action's tests: one input (UDP,
TCP, or TLS with the ``ossl`` driver and a throwaway CA's certificate) on a free loopback
port, writing each message as it arrived (``%rawmsg%``) to a file. Starting and stopping
rsyslogd, and the CA, come from the syslog collector's test helpers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.collectors.syslog_peers import PEER_TIMEOUT, Rsyslog, make_pki

_PROC_NET = {"udp": "/proc/net/udp", "tcp": "/proc/net/tcp"}
_TCP_LISTEN = "0A"


@dataclass
class Receiver:
    """A running rsyslogd: where it listens, and what it wrote."""

    transport: str
    port: int
    output: Path
    ca: Path  # the CA that signed its TLS certificate

    def lines(self) -> list[bytes]:
        if not self.output.exists():
            return []
        return [line for line in self.output.read_bytes().split(b"\n") if line]

    async def wait_lines(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """The first ``count`` lines, once rsyslogd has written them; fail after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(lines := self.lines()) < count:
            if loop.time() > deadline:
                raise AssertionError(f"{len(lines)} of {count} lines after {timeout}s: {lines}")
            await asyncio.sleep(0.05)
        return lines[:count]


def free_port(transport: str) -> int:
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config(work: Path, transport: str, port: int, output: Path, pki: Path) -> str:
    if transport == "udp":
        inputs = (
            'module(load="imudp")\n'
            f'input(type="imudp" address="127.0.0.1" port="{port}" ruleset="out")'
        )
    else:
        tls = transport == "tls"
        driver = (
            ' StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"'
            if tls
            else ""
        )
        inputs = (
            f'module(load="imtcp"{driver})\n'
            f'input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="out")'
        )
    return f"""\
global(workDirectory="{work}" maxMessageSize="64k"
       DefaultNetstreamDriverCAFile="{pki / "ca.crt"}"
       DefaultNetstreamDriverCertFile="{pki / "server.crt"}"
       DefaultNetstreamDriverKeyFile="{pki / "server.key"}")
template(name="raw" type="string" string="%rawmsg%\\n")
{inputs}
# Only what arrives on the input: rsyslogd's own notices stay in the default ruleset.
ruleset(name="out") {{
  action(type="omfile" file="{output}" template="raw")
}}
"""


def _bound(transport: str, port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (from /proc/net, no probe packets)."""
    wanted = f"0100007F:{port:04X}"
    with open(_PROC_NET["udp" if transport == "udp" else "tcp"]) as table:
        for row in table.readlines()[1:]:
            fields = row.split()
            if fields[1] == wanted and (transport == "udp" or fields[3] == _TCP_LISTEN):
                return True
    return False


@contextlib.asynccontextmanager
async def rsyslog_receiver(directory: Path, transport: str) -> AsyncIterator[Receiver]:
    """rsyslogd listening on ``transport``; stopped (by its pidfile) on the way out."""
    pki = directory / "pki"
    ca = make_pki(pki)
    port = free_port(transport)
    output = directory / "received.log"
    rsyslog = Rsyslog(directory / "rs", config(directory / "rs", transport, port, output, pki))
    await rsyslog.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PEER_TIMEOUT
        while not _bound(transport, port):
            if loop.time() > deadline:
                raise AssertionError(f"rsyslogd did not open {transport} port {port}")
            await asyncio.sleep(0.05)
        yield Receiver(transport, port, output, ca)
    finally:
        await rsyslog.stop()
