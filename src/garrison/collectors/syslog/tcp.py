"""Syslog over TCP (RFC 6587) and over TLS (RFC 5425): a stream of frames per connection.

Each connection has its own FrameDecoder (octet counting or LF framing, whichever the
sender starts with). A connection is closed when its framing is garbage, when it has been
silent for [syslog] idle_timeout_seconds, or at stop; no other connection notices.

TLS is negotiated after the accept, not by the server: a failed handshake is then ours to
count and log (rate-limited) instead of a traceback from asyncio's default handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl

from garrison.collectors.syslog.drops import DEFAULT_LOG_INTERVAL, DropRecorder
from garrison.collectors.syslog.errors import TLS_HANDSHAKE, TOO_MANY_CONNECTIONS
from garrison.collectors.syslog.framing import FrameDecoder, FramingError
from garrison.collectors.syslog.pipeline import (
    Admission,
    MessageHandler,
    SourceLookup,
    plain_address,
)
from garrison.config.settings import Settings
from garrison.events.bus import EventBus
from garrison.metrics import Metrics
from garrison.server.sockets import bind_tcp
from garrison.tls import server_context

log = logging.getLogger("garrison.collectors.syslog")

READ_BYTES = 65_536
HANDSHAKE_SECONDS = 10.0
CLOSE_SECONDS = 2.0


class _StreamReceiver:
    """The shared body of the TCP and TLS receivers."""

    name: str
    transport: str

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        metrics: Metrics,
        source_lookup: SourceLookup,
        *,
        ssl_context: ssl.SSLContext | None,
        log_interval: float,
    ) -> None:
        self._host = settings.server.host
        self._port = settings.port(self.name)
        self._max_bytes = settings.syslog.max_message_bytes
        self._idle = settings.syslog.idle_timeout_seconds
        self._max_connections = settings.syslog.max_connections
        self._admission = Admission(source_lookup, settings.syslog.accept_unknown_sources)
        self._ssl_context = ssl_context
        drops = DropRecorder(metrics.syslog_dropped, interval=log_interval)
        self.handler = MessageHandler(self.transport, bus, metrics, drops)
        self._socket: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (differs from the configured one when that was 0)."""
        if self._socket is None:
            return self._port
        return self._socket.getsockname()[1]

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        self._socket = bind_tcp(self._host, self._port, self.name)
        self._port = self.port  # a restart binds the same port, even when 0 was asked
        self._server = await asyncio.start_server(self._connected, sock=self._socket)
        log.info("%s listening on %s:%d/tcp", self.name, self._host, self.port)

    async def stop(self) -> None:
        """Stop accepting, then close every connection; what was read is already handled
        (a frame cut short by the stop is not counted: the sender will resend it)."""
        if self._server is None:
            if self._socket is not None:
                self._socket.close()
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
        self._socket = None
        log.info("%s stopped", self.name)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # stop() closes connections this way. The task is asyncio's own; ending it
            # normally keeps its done-callback from logging the cancellation as an error.
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_SECONDS)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = plain_address(str(peername[0])) if peername else "?"
        if len(self._connections) > self._max_connections:
            self.handler.drop(TOO_MANY_CONNECTIONS, peer, f"over {self._max_connections} open")
            return
        heard, device_id = self._admission.admit(peer)
        if not heard:
            self.handler.unknown_source(peer)
            return
        if self._ssl_context is not None:
            try:
                await writer.start_tls(self._ssl_context, ssl_handshake_timeout=HANDSHAKE_SECONDS)
            except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
                self.handler.drop(TLS_HANDSHAKE, peer, str(exc) or type(exc).__name__)
                return
        decoder = FrameDecoder(self._max_bytes)
        while True:
            try:
                data = await asyncio.wait_for(reader.read(READ_BYTES), self._idle)
            except TimeoutError:
                log.debug("%s: %s silent for %ss; closing", self.name, peer, self._idle)
                break
            except (OSError, ssl.SSLError, ConnectionError):
                break
            if not data:
                break
            for item in decoder.feed(data):
                if isinstance(item, FramingError):
                    self.handler.drop(item.reason, peer, item.detail)
                    return
                self.handler.handle(item, peer, device_id)
        for item in decoder.close():
            self.handler.handle(item, peer, device_id)


class SyslogTcpReceiver(_StreamReceiver):
    """Listens on the catalog's ``syslog-tcp`` port."""

    name = "syslog-tcp"
    transport = "tcp"

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        metrics: Metrics,
        source_lookup: SourceLookup,
        *,
        log_interval: float = DEFAULT_LOG_INTERVAL,
    ) -> None:
        super().__init__(
            settings, bus, metrics, source_lookup, ssl_context=None, log_interval=log_interval
        )


class SyslogTlsReceiver(_StreamReceiver):
    """Listens on the catalog's ``syslog-tls`` port with the configured TLS profile and
    Garrison's server certificate. Clients are not asked for a certificate: senders are
    recognised by address, as on the other transports."""

    name = "syslog-tls"
    transport = "tls"

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        metrics: Metrics,
        source_lookup: SourceLookup,
        *,
        ssl_context: ssl.SSLContext | None = None,
        log_interval: float = DEFAULT_LOG_INTERVAL,
    ) -> None:
        context = ssl_context or server_context(
            settings.tls.profile, settings.certificate_path, settings.key_path
        )
        super().__init__(
            settings, bus, metrics, source_lookup, ssl_context=context, log_interval=log_interval
        )
