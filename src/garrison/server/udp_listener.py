"""A UDP listener's socket and asyncio transport, for the components that receive
datagrams on a catalog port (syslog over UDP, the RADIUS proxy, NMS commands)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from garrison.server.sockets import ListenerError, bind_udp


class UdpListener:
    """Binds ``host:port`` on :meth:`open` and closes it on :meth:`close`.

    After the first bind the bound port is kept, so a restart listens where the first start
    did even when port 0 was asked for.
    """

    def __init__(self, host: str, port: int, name: str) -> None:
        self.host = host
        self.name = name
        self._port = port
        self._socket: socket.socket | None = None
        self.transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        """The bound port (differs from the configured one when that was 0)."""
        if self._socket is None:
            return self._port
        return int(self._socket.getsockname()[1])

    async def open(self, protocol: Callable[[], asyncio.DatagramProtocol]) -> None:
        sock = self._socket = bind_udp(self.host, self._port, self.name)
        self._port = self.port
        loop = asyncio.get_running_loop()
        try:
            self.transport, _ = await loop.create_datagram_endpoint(protocol, sock=sock)
        except OSError as exc:
            sock.close()
            self._socket = None
            raise ListenerError(f"{self.name}: cannot listen on udp {self.host}: {exc}") from None

    def close(self) -> bool:
        """Stop listening; True when an open transport was closed."""
        was_open = self.transport is not None
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        elif self._socket is not None:
            self._socket.close()
        self._socket = None
        return was_open
