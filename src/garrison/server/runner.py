"""Run components until SIGTERM or SIGINT, then stop them in reverse order."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Sequence

from garrison.server.component import Component

log = logging.getLogger("garrison.server")


async def start_all(components: Sequence[Component]) -> list[Component]:
    """Start in order; if one fails, stop those already started and re-raise."""
    started: list[Component] = []
    try:
        for component in components:
            await component.start()
            started.append(component)
    except BaseException:
        await stop_all(started)
        raise
    return started


async def stop_all(components: Sequence[Component]) -> None:
    for component in reversed(components):
        try:
            await component.stop()
        except Exception:
            log.exception("%s did not stop cleanly", component.name)


async def run_until_signalled(
    components: Sequence[Component], stop_event: asyncio.Event | None = None
) -> None:
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started = await start_all(components)
    # Everything made at start-up lives as long as the process: keep it out of the
    # collector's scans, which otherwise stall the loop for tens of milliseconds.
    gc.freeze()
    log.info("garrison is serving; SIGTERM or Ctrl-C stops it")
    try:
        await stop.wait()
        log.info("stopping: draining connections")
    finally:
        await stop_all(started)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("garrison stopped")
