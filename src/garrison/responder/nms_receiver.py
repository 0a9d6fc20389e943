"""The NMS command listener: UDP 162 (catalog ``responder-trap``), where a network
management system sends tptSmsQuarantineCommand and tptSmsUnQuarantineRequest traps.

Each datagram is checked cheapest first: size, then the sender's address against
``[responder] nms_allowed_sources``, then decoding and credentials (a v1/v2c community of
``nms_communities``, or a v3 authPriv user of ``nms_v3_users``, with the trap receiver's
USM), then the command itself (``garrison.responder.nms_commands``). A v2c inform is
answered once its community is accepted. A good command goes to the injected async
``handler`` in a task of its own, so a slow engine never holds up the socket; at most
``max_pending`` commands wait at once, beyond that they are dropped (``busy``).

Every refusal is counted by reason in ``drops`` (and in the metrics' NMS counters when
they exist) and logged at most once a minute per reason, never with the community or
keys. Nothing a sender does stops the listener.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from garrison.collectors.snmp_trap.ber import DecodeError
from garrison.collectors.snmp_trap.messages import (
    DEFAULT_MAX_SIZE,
    V3,
    TrapMessage,
    inform_response,
    message_version,
)
from garrison.collectors.snmp_trap.usm import Usm, UsmError
from garrison.config import Settings
from garrison.errors import Invalid
from garrison.metrics import Metrics
from garrison.ratelog import RateLimitedLog
from garrison.responder.nms_commands import (
    ACKNOWLEDGEMENT,
    MALFORMED,
    Command,
    MalformedCommand,
    decode_message,
    parse_command,
)
from garrison.server.udp_listener import UdpListener

log = logging.getLogger("garrison.responder.nms")

PORT_KEY = "responder-trap"
Handler = Callable[[Command], Awaitable[None]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Drop reasons besides MalformedCommand's and UsmError's.
OVERSIZED = "oversized"
UNKNOWN_SOURCE = "unknown-source"
BAD_COMMUNITY = "bad-community"
BUSY = "busy"
HANDLER_ERROR = "handler-error"
INTERNAL_ERROR = "internal-error"
SOCKET_ERROR = "socket-error"


def allowed_networks(entries: list[str]) -> tuple[Network, ...]:
    """``nms_allowed_sources`` as networks; ``Invalid`` names a malformed entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise Invalid(
                f"[responder] nms_allowed_sources: {entry!r} is not an address or CIDR"
            ) from None
    return tuple(networks)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: NmsTrapReceiver) -> None:
        self._receiver = receiver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._receiver.handle(data, addr, self.transport)

    def error_received(self, exc: Exception) -> None:
        self._receiver.drop(SOCKET_ERROR, "", str(exc))


class NmsTrapReceiver:
    """Takes NMS quarantine commands on UDP 162 and hands them to ``handler``."""

    name = "responder-trap"

    def __init__(
        self,
        settings: Settings,
        handler: Handler,
        metrics: Metrics | None = None,
        *,
        max_pending: int = 1000,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        config = settings.responder
        self._settings = settings
        self._handler = handler
        self._communities = frozenset(c.encode() for c in config.nms_communities)
        self._usm = Usm(config.nms_v3_users)
        self._allowed = allowed_networks(config.nms_allowed_sources)
        self._max_pending = max_pending
        self._max_size = max_size
        self._log = RateLimitedLog(log)
        # The metrics' NMS counters, where metrics.py has them (see the module docstring).
        self._received_counter = getattr(metrics, "nms_commands_received", None)
        self._dropped_counter = getattr(metrics, "nms_commands_dropped", None)
        self._listener = UdpListener(settings.server.host, settings.port(PORT_KEY), PORT_KEY)
        self._tasks: set[asyncio.Task[None]] = set()
        self.drops: dict[str, int] = {}
        self.accepted = 0  # commands handed to the handler

    @property
    def port(self) -> int:
        return self._listener.port

    async def start(self) -> None:
        await self._listener.open(lambda: _Protocol(self))
        log.info(
            "responder-trap listening for NMS commands on udp %s:%d",
            self._listener.host,
            self.port,
        )

    async def stop(self, grace: float = 5.0) -> None:
        self._listener.close()
        # Commands already accepted get a moment to finish; then they are cancelled.
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    def handle(
        self,
        data: bytes,
        addr: tuple[Any, ...],
        transport: asyncio.DatagramTransport | None = None,
    ) -> None:
        """One datagram, start to end. Never raises: the loop must keep receiving."""
        if self._received_counter is not None:
            self._received_counter.inc()
        host = str(addr[0]).split("%", 1)[0]
        if host.startswith("::ffff:"):
            host = host[7:]
        try:
            self._handle(data, addr, host, transport)
        except Exception as exc:  # a bug must cost one datagram, not the listener
            self.drop(INTERNAL_ERROR, host, repr(exc))
            log.debug("NMS datagram from %s failed", host, exc_info=True)

    def _handle(
        self,
        data: bytes,
        addr: tuple[Any, ...],
        host: str,
        transport: asyncio.DatagramTransport | None,
    ) -> None:
        if len(data) > self._max_size:
            self.drop(OVERSIZED, host, f"{len(data)} octets")
            return
        if not self._allowed_source(host):
            self.drop(UNKNOWN_SOURCE, host, "not in [responder] nms_allowed_sources")
            return
        message = self._authenticated(data, addr, host, transport)
        if message is None:
            return
        try:
            command = parse_command(message, host)
        except MalformedCommand as exc:
            self.drop(exc.reason, host, str(exc))
            return
        if len(self._tasks) >= self._max_pending:
            self.drop(BUSY, host, f"{len(self._tasks)} commands are waiting for the engine")
            return
        task = asyncio.get_running_loop().create_task(
            self._dispatch(command), name="responder-trap-command"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.accepted += 1

    def _authenticated(
        self,
        data: bytes,
        addr: tuple[Any, ...],
        host: str,
        transport: asyncio.DatagramTransport | None,
    ) -> TrapMessage | None:
        """The notification if its credentials are good; otherwise counted, and None."""
        try:
            message = decode_message(data, self._max_size)
        except MalformedCommand as exc:
            if _version(data) != V3:
                self.drop(MALFORMED, host, exc.detail)
                return None
            try:
                return self._usm.unwrap(data)
            except UsmError as refused:
                self.drop(refused.reason, host, str(refused))
                return None
        if message.community not in self._communities:
            self.drop(BAD_COMMUNITY, host, "community not configured")
            return None
        if message.inform and transport is not None:
            transport.sendto(inform_response(data), addr)
        return message

    def _allowed_source(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._allowed)

    async def _dispatch(self, command: Command) -> None:
        try:
            await self._handler(command)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the engine's error must not reach the loop's handler
            self.drop(HANDLER_ERROR, command.source, f"{type(exc).__name__}: {exc}")
            log.debug("NMS command %r failed", command, exc_info=True)

    def drop(self, reason: str, host: str, detail: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        if self._dropped_counter is not None:
            self._dropped_counter.labels(reason).inc()
        if reason == ACKNOWLEDGEMENT:
            # An NMS acknowledging our quarantine request is expected traffic.
            log.debug("NMS acknowledgement from %s: %s", host, detail)
            return
        self._log.warning(
            reason,
            "responder-trap dropped a datagram from %s (%s): %s",
            host or "?",
            reason,
            detail,
        )


def _version(data: bytes) -> int | None:
    try:
        return message_version(data)
    except DecodeError:
        return None
