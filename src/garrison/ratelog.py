"""Logging that does not flood: a thing is said at most once per interval per key, and
the next time it is said, the line tells how many like it were held back. A sender
spraying garbage costs a counter increment per message, not a log line."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self._clock = clock
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}

    def warning(self, key: Hashable, message: str, *args: object) -> bool:
        """Log at warning level unless ``key`` was logged less than an interval ago;
        returns whether it was."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            message += " (and %d more like it)"
            args = (*args, held)
        self.logger.warning(message, *args)
        return True
