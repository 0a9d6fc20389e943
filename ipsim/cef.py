"""The same IPS events as TippingPoint CEF syslog lines ("ArcSight CEF Format v4.2"), and
a Notifier that sends them over UDP or TCP.

The line shape follows real SMS samples (spec/sms-facts.md 3.1): `<PRI>CEF:0|TippingPoint|
UnityOne|1.0.0.17|<filter number>|<filter name>|<CEF severity>|<extension>` with the same
extension keys in the same order. TRHA, quarantine and system-log events have no CEF form in
the samples, so they go as plain syslog text lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ipsim.device import (
    SYSLOG_SEVERITIES,
    TRHA_NAMES,
    DeviceState,
    QuarantineEntry,
    SystemLogEntry,
)
from ipsim.traffic import AttackEvent

log = logging.getLogger("ipsim.cef")

CEF_VENDOR = "TippingPoint"
CEF_PRODUCT = "UnityOne"
CEF_VERSION = "1.0.0.17"
CEF_SEVERITY = {"Low": 1, "Minor": 4, "Major": 7, "Critical": 10}
# Facility 4 (security/auth) with a syslog severity per event: <37> <36> <35> <34>.
SYSLOG_FACILITY = 4
PRI_SEVERITY = {"Low": 5, "Minor": 4, "Major": 3, "Critical": 2}
# tptSystemLogNotifySeverity name -> RFC 5424 severity
SYSTEM_TO_SYSLOG = {
    "emergency": 0,
    "alert": 1,
    "critical": 2,
    "error": 3,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}


def escape_header(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def escape_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")


def format_policy(
    device_name: str, event: AttackEvent, *, sms_name: str = "", in_port_index: int = 0
) -> str:
    pri = SYSLOG_FACILITY * 8 + PRI_SEVERITY[event.severity]
    header = "|".join(
        [
            "CEF:0",
            CEF_VENDOR,
            CEF_PRODUCT,
            CEF_VERSION,
            str(event.filter_number),
            escape_header(event.filter_name),
            str(CEF_SEVERITY[event.severity]),
        ]
    )
    proto = event.protocol.upper()
    extension = [
        ("app", proto),
        ("cnt", str(event.hit_count)),
        ("dst", event.dst_ip),
        ("dpt", str(event.dst_port)),
        ("act", event.action),
        ("cn1", str(event.vlan)),
        ("cn1Label", "VLAN ID"),
        ("cn2", str(event.taxonomy)),
        ("cn2Label", "Taxonomy"),
        ("cn3", "1" if event.packet_trace else "0"),
        ("cn3Label", "Packet Trace"),
        ("cs1", event.profile),
        ("cs1Label", "Profile Name"),
        ("cs2", event.policy_uuid),
        ("cs2Label", "Policy UUID"),
        ("cs3", event.signature_uuid),
        ("cs3Label", "Signature UUID"),
        ("cs4", f"1-{event.in_port} 1-{event.out_port}"),
        ("cs4Label", "ZoneNames"),
        ("cs5", sms_name),
        ("cs5Label", "SMS Name"),
        ("dvchost", device_name),
        ("cs6", event.message_params),
        ("cs6Label", "Filter Message Parms"),
        ("src", event.src_ip),
        ("spt", str(event.src_port)),
        ("externalId", str(event.seq)),
        ("rt", str(event.time_ns // 1_000_000)),
        ("cat", event.category),
        ("proto", proto),
        ("deviceInboundInterface", str(in_port_index)),
        ("c6a2", ""),
        ("c6a2Label", "Source IPv6"),
        ("c6a3", ""),
        ("c6a3Label", "Destination IPv6"),
        ("request", ""),
        ("requestMethod", ""),
        ("dhost", ""),
        ("sourceTranslatedAddress", event.src_ip),
        ("c6a1", ""),
        ("c6a1Label", "Client IPv6"),
        ("suser", ""),
        ("sntdom", ""),
        ("duser", ""),
        ("dntdom", ""),
    ]
    body = " ".join(f"{key}={escape_value(value)}" for key, value in extension)
    return f"<{pri}>{header}|{body}"


def format_text(
    device_name: str, severity: int, tag: str, text: str, time_ns: int | None = None
) -> str:
    """A plain RFC 3164 line: <PRI>Mmm dd hh:mm:ss host tag: text (facility 4)."""
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime((time_ns or time.time_ns()) / 1e9))
    return f"<{SYSLOG_FACILITY * 8 + severity}>{stamp} {device_name} {tag}: {text}"


class SyslogSender:
    """Sends lines to a collector over UDP (one datagram each) or TCP (newline-framed, RFC 6587)."""

    def __init__(
        self, host: str, port: int, transport: str = "udp", *, queue_size: int = 100_000
    ) -> None:
        self.host = host
        self.port = port
        self.protocol = transport
        self._udp: asyncio.DatagramTransport | None = None
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task | None = None
        self.sent = 0
        self.dropped = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.protocol == "udp":
            self._udp, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=(self.host, self.port)
            )
        else:
            self._task = asyncio.create_task(self._tcp_writer(), name="ipsim-syslog-tcp")

    def send(self, line: str) -> None:
        data = line.encode()
        if self._udp is not None:
            self._udp.sendto(data)
            self.sent += 1
            return
        try:
            self._queue.put_nowait(data + b"\n")
        except asyncio.QueueFull:
            self.dropped += 1  # the collector is gone or slow; keep the newest, lose this one

    async def _tcp_writer(self) -> None:
        # Reconnect forever: a collector restart must not stop the device's feed.
        while True:
            try:
                _reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(1.0)
                continue
            try:
                while True:
                    data = await self._queue.get()
                    writer.write(data)
                    self.sent += 1
                    if self._queue.empty():
                        await writer.drain()
            except (OSError, ConnectionError):
                log.info("syslog TCP connection to %s:%s lost; reconnecting", self.host, self.port)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def stop(self) -> None:
        if self._task is not None:
            # Give queued lines a moment to leave before closing.
            for _ in range(20):
                if self._queue.empty():
                    break
                await asyncio.sleep(0.05)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._udp is not None:
            self._udp.close()


class CefNotifier:
    def __init__(self, sender: SyslogSender, *, sms_name: str = "") -> None:
        self.sender = sender
        self.sms_name = sms_name

    def policy(self, state: DeviceState, event: AttackEvent) -> None:
        index = state.identity.segment_ports().index(event.in_port) + 1
        self.sender.send(
            format_policy(state.identity.name, event, sms_name=self.sms_name, in_port_index=index)
        )

    def trha(self, state: DeviceState, new_state: int, time_ns: int) -> None:
        text = (
            f"Transparent HA state changed to {TRHA_NAMES[new_state]} (partner {state.ha_partner})"
        )
        self.sender.send(
            format_text(state.identity.name, 4 if new_state != 2 else 5, "trha", text, time_ns)
        )

    def quarantine(self, state: DeviceState, entry: QuarantineEntry, added: bool) -> None:
        verb = "added" if added else "removed"
        text = f"Quarantine {verb}: host={entry.ip} segment={entry.segment} reason={entry.reason}"
        self.sender.send(format_text(state.identity.name, 5, "quarantine", text))

    def system_log(self, state: DeviceState, entry: SystemLogEntry) -> None:
        assert entry.severity in SYSLOG_SEVERITIES
        self.sender.send(
            format_text(
                state.identity.name,
                SYSTEM_TO_SYSLOG[entry.severity],
                "system",
                entry.text,
                entry.time_ns,
            )
        )
