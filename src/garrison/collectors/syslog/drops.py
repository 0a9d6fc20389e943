"""Counting what the receivers drop, and saying so in the log without flooding it.

Every drop is counted (garrison_syslog_dropped_total{reason}); the log gets at most one
line per reason per interval, and that line says how many like it were suppressed since
the last one. A sender spraying garbage costs a counter increment per message, not a log
line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import Counter

from garrison.ratelog import RateLimitedLog

log = logging.getLogger("garrison.collectors.syslog")

DEFAULT_LOG_INTERVAL = 60.0


class DropRecorder:
    """Shared by the three transports of one process, so the limit is per reason overall."""

    def __init__(
        self,
        counter: Counter,
        *,
        interval: float = DEFAULT_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self._counter = counter
        self._log = RateLimitedLog(logger, interval, clock)

    def record(self, reason: str, transport: str, peer: str, detail: str) -> None:
        self._counter.labels(reason).inc()
        self._log.warning(
            reason, "syslog %s from %s dropped (%s): %s", transport, peer, reason, detail
        )
