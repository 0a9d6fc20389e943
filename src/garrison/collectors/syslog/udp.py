"""Syslog over UDP (RFC 5426): one datagram, one message."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from garrison.collectors.syslog.drops import DEFAULT_LOG_INTERVAL, DropRecorder
from garrison.collectors.syslog.errors import OVERSIZED, UNKNOWN_SOURCE, ParseError
from garrison.collectors.syslog.pipeline import (
    Admission,
    MessageHandler,
    SourceLookup,
    plain_address,
)
from garrison.config.settings import Settings
from garrison.events.bus import EventBus
from garrison.metrics import Metrics
from garrison.server.udp_listener import UdpListener

log = logging.getLogger("garrison.collectors.syslog")

CATALOG_KEY = "syslog-udp"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: SyslogUdpReceiver) -> None:
        self._receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._receiver.datagram(data, str(addr[0]))

    def error_received(self, exc: Exception) -> None:
        log.debug("syslog-udp: %s", exc)


class SyslogUdpReceiver:
    """Listens on the catalog's ``syslog-udp`` port."""

    name = CATALOG_KEY

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        metrics: Metrics,
        source_lookup: SourceLookup,
        *,
        log_interval: float = DEFAULT_LOG_INTERVAL,
    ) -> None:
        self._listener = UdpListener(settings.server.host, settings.port(CATALOG_KEY), self.name)
        self._max_bytes = settings.syslog.max_message_bytes
        self._admission = Admission(source_lookup, settings.syslog.accept_unknown_sources)
        drops = DropRecorder(metrics.syslog_dropped, interval=log_interval)
        self.handler = MessageHandler("udp", bus, metrics, drops)

    @property
    def port(self) -> int:
        """The bound port (differs from the configured one when that was 0)."""
        return self._listener.port

    async def start(self) -> None:
        await self._listener.open(lambda: _Protocol(self))
        log.info("%s listening on %s:%d/udp", self.name, self._listener.host, self.port)

    async def stop(self) -> None:
        # Datagrams are handled as they arrive, so there is nothing to drain.
        if self._listener.close():
            log.info("%s stopped", self.name)

    def datagram(self, data: bytes, address: str) -> None:
        peer = plain_address(address)
        heard, device_id = self._admission.admit(peer)
        if not heard:
            detail = "not in the inventory ([syslog] accept_unknown_sources)"
            self.handler.handle(ParseError(UNKNOWN_SOURCE, detail), peer, None)
            return
        data = data.rstrip(b"\r\n\0")  # some senders end a datagram like a line
        if len(data) > self._max_bytes:
            detail = f"{len(data)} bytes, over the limit of {self._max_bytes}"
            self.handler.handle(ParseError(OVERSIZED, detail), peer, device_id)
            return
        self.handler.handle(data, peer, device_id)
