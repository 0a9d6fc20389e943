"""pysnmp engines kept per set of credentials (see :func:`credentials.credentials_key`).

An engine is costly to make (tens of milliseconds) and holds a socket, so callers keep one
per distinct set of credentials and reuse it. Engines belong to the event loop they were
made on: when the running loop changes, the old ones are closed and new ones made.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine


class EnginePool:
    """One pysnmp engine per key, for the running event loop.

    ``on_reset`` is called when a change of event loop throws the engines away, for a
    caller that keeps other loop-bound things beside them.
    """

    def __init__(self, on_reset: Callable[[], None] | None = None) -> None:
        self._engines: dict[Hashable, SnmpEngine] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_reset = on_reset

    def get(self, key: Hashable, make: Callable[[], SnmpEngine] = SnmpEngine) -> SnmpEngine:
        """The engine for ``key``, made with ``make`` if there is none yet."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # engines belong to the loop they were made on
            self.close()
            if self._on_reset is not None:
                self._on_reset()
            self._loop = loop
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = make()
        return engine

    def close(self) -> None:
        for engine in self._engines.values():
            # Closing a half-started engine must not hide the error that stopped it.
            with contextlib.suppress(Exception):
                engine.close_dispatcher()
        self._engines.clear()
        self._loop = None
