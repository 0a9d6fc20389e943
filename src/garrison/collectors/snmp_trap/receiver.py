"""The trap receiver component: UDP sockets on the two trap ports of the catalog, each
datagram checked, decoded, mapped and published on the bus in the datagram callback.

Checks run cheapest first (size, sender, then decoding and credentials), so a flood of
junk costs as little as possible. Every refusal is counted by reason in
``garrison_trap_dropped_total`` and logged at most once a minute per reason; nothing a
sender does stops the receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from garrison.collectors.snmp_trap.ber import DecodeError
from garrison.collectors.snmp_trap.fastpath import decode_known
from garrison.collectors.snmp_trap.messages import V3, decode, inform_response, message_version
from garrison.collectors.snmp_trap.tippingpoint import to_event
from garrison.collectors.snmp_trap.usm import Usm, UsmError
from garrison.config import Settings
from garrison.events import EventBus
from garrison.metrics import Metrics
from garrison.ratelog import RateLimitedLog
from garrison.server.sockets import ListenerError, bind_udp, kernel_drops

log = logging.getLogger("garrison.collectors.snmp_trap")

PORT_KEYS = ("snmp-trap", "snmp-trap-alt")
SourceLookup = Callable[[str], int | None]
KERNEL_DROPS_INTERVAL = 5.0  # seconds between reads of /proc/net/udp


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: TrapReceiver, key: str) -> None:
        self._receiver = receiver
        self._key = key
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._receiver.handle(data, addr, self._key, self.transport)

    def error_received(self, exc: Exception) -> None:
        self._receiver.drop("socket-error", "", str(exc))


class TrapReceiver:
    """Receives SNMP v1/v2c/v3 traps on the ``snmp-trap`` and ``snmp-trap-alt`` ports."""

    name = "snmp-trap"

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        metrics: Metrics,
        source_lookup: SourceLookup,
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._metrics = metrics
        self._lookup = source_lookup
        config = settings.snmp_trap
        self._communities = frozenset(c.encode() for c in config.communities)
        self._accept_unknown = config.accept_unknown_sources
        self._max_size = config.max_datagram_bytes
        self._usm = Usm(config.v3_users)
        self._log = RateLimitedLog(log)
        self._received = {key: metrics.trap_received.labels(key) for key in PORT_KEYS}
        self._dropped: dict[str, Any] = {}
        self._sockets: dict[str, socket.socket] = {}
        self._transports: list[asyncio.BaseTransport] = []
        self._watcher: asyncio.Task[None] | None = None
        self.accepted = 0  # traps published (a plain int: the benchmark reads it)

    @property
    def ports(self) -> dict[str, int]:
        """The bound port of each catalog key (differs from the setting when that was 0)."""
        return {key: sock.getsockname()[1] for key, sock in self._sockets.items()}

    @property
    def port(self) -> int:
        return self.ports.get(PORT_KEYS[0], self._settings.port(PORT_KEYS[0]))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        host = self._settings.server.host
        buffer = self._settings.snmp_trap.receive_buffer_bytes
        try:
            for key in PORT_KEYS:
                self._sockets[key] = bind_udp(host, self._settings.port(key), key, buffer)
        except ListenerError:
            await self.stop()
            raise
        for key, sock in self._sockets.items():
            transport, _ = await loop.create_datagram_endpoint(
                lambda key=key: _Protocol(self, key), sock=sock
            )
            self._transports.append(transport)
        self._watcher = asyncio.create_task(self._watch_kernel_drops(), name="snmp-trap-drops")
        ports = ", ".join(f"{k} udp {host}:{p}" for k, p in self.ports.items())
        log.info("snmp-trap listening on %s", ports)

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        for transport in self._transports:
            transport.close()
        if not self._transports:
            for sock in self._sockets.values():
                sock.close()
        self._transports = []
        self._sockets = {}

    def handle(
        self,
        data: bytes,
        addr: tuple[Any, ...],
        key: str,
        transport: asyncio.DatagramTransport | None = None,
    ) -> None:
        """One datagram, start to end. Never raises: the loop must keep receiving."""
        self._received[key].inc()
        host = addr[0]
        if host.startswith("::ffff:"):
            host = host[7:]
        try:
            self._handle(data, addr, host, transport)
        except Exception as exc:  # a bug must cost one trap, not the receiver
            self.drop("internal-error", host, repr(exc))
            log.debug("trap from %s failed", host, exc_info=True)

    def _handle(
        self,
        data: bytes,
        addr: tuple[Any, ...],
        host: str,
        transport: asyncio.DatagramTransport | None,
    ) -> None:
        if len(data) > self._max_size:
            self.drop("oversized", host, f"{len(data)} octets")
            return
        device_id = self._lookup(host)
        if device_id is None and not self._accept_unknown:
            self.drop("unknown-source", host, "not in the inventory")
            return
        # Most traffic is a v2c TippingPoint trap: decoded and mapped in one pass. Anything
        # else (or anything odd about it) takes the general path, which names the fault.
        known = decode_known(data, host, device_id)
        if known is not None:
            community, event = known
            if community not in self._communities:
                self.drop("bad-community", host, "community not configured")
                return
            self._bus.publish(event)
            self.accepted += 1
            return
        try:
            message = decode(data, self._max_size)
        except DecodeError as exc:
            if exc.reason != "bad-version" or _version(data) != V3:
                self.drop(exc.reason, host, str(exc))
                return
            try:
                message = self._usm.unwrap(data)
            except UsmError as refused:
                self.drop(refused.reason, host, str(refused))
                return
        else:
            if message.community not in self._communities:
                self.drop("bad-community", host, "community not configured")
                return
            if message.inform and transport is not None:
                transport.sendto(inform_response(data), addr)
        self._bus.publish(to_event(message, host, device_id))
        self.accepted += 1

    def drop(self, reason: str, host: str, detail: str) -> None:
        counter = self._dropped.get(reason)
        if counter is None:
            counter = self._dropped[reason] = self._metrics.trap_dropped.labels(reason)
        counter.inc()
        self._log.warning(
            reason, "snmp-trap dropped a datagram from %s (%s): %s", host or "?", reason, detail
        )

    def kernel_drops(self) -> dict[str, int]:
        counts = {key: kernel_drops(sock) for key, sock in self._sockets.items()}
        return {key: count for key, count in counts.items() if count is not None}

    async def _watch_kernel_drops(self) -> None:
        while True:
            for key, count in self.kernel_drops().items():
                self._metrics.trap_kernel_drops.labels(key).set(count)
            await asyncio.sleep(KERNEL_DROPS_INTERVAL)


def _version(data: bytes) -> int | None:
    try:
        return message_version(data)
    except DecodeError:
        return None
