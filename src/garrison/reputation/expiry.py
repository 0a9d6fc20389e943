"""Deletes reputation entries whose TTL has passed, every ``interval`` seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from garrison.reputation.service import ReputationService

log = logging.getLogger("garrison.reputation")


class ReputationExpiry:
    name = "reputation-expiry"

    def __init__(self, service: ReputationService, interval: float) -> None:
        self.service = service
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                removed = await asyncio.to_thread(self.service.expire)
                if removed:
                    log.info("reputation: %d expired entries removed", removed)
            except Exception:
                log.exception("reputation: expiring entries failed; trying again later")
            await asyncio.sleep(self.interval)
