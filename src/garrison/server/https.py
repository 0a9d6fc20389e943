"""An HTTPS listener: one uvicorn server on a socket we bind, with our TLS context."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl

import uvicorn
from starlette.types import ASGIApp

from garrison.server.sockets import ListenerError, bind_tcp

__all__ = ["HttpsListener", "ListenerError"]

log = logging.getLogger("garrison.server")


class HttpsListener:
    """Serves ``app`` over TLS on ``host:port``."""

    def __init__(
        self,
        name: str,
        app: ASGIApp,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext,
        *,
        grace_seconds: float = 10.0,
    ) -> None:
        self.name = name
        self._app = app
        self._host = host
        self._port = port
        self._ssl_context = ssl_context
        self._grace = grace_seconds
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (differs from the configured one when that was 0)."""
        if self._socket is None:
            return self._port
        return self._socket.getsockname()[1]

    async def start(self) -> None:
        self._socket = bind_tcp(self._host, self._port, self.name)
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            log_config=None,
            access_log=False,  # ObserveRequests logs each request without its query
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=int(self._grace),
            ssl_context_factory=lambda _config, _default: self._ssl_context,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[self._socket])
        self._server = server
        # uvicorn's main loop refreshes the Date header and notices should_exit.
        self._ticker = asyncio.create_task(server.main_loop(), name=f"{self.name}-ticker")
        log.info("%s listening on https://%s:%d", self.name, self._host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            if self._socket is not None:
                self._socket.close()
            return
        self._server.should_exit = True
        if self._ticker is not None:
            await self._ticker
        await self._server.shutdown(sockets=[self._socket] if self._socket else None)
        self._server = None
        log.info("%s stopped", self.name)
