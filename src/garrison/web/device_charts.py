"""A device's health history as charts: its state, CPU and memory, and round-trip time,
over the last hour, day, week or all the history kept.

The samples are summed up by the database in buckets (`garrison.store.health_buckets`),
at most a couple of hundred a chart whatever the range, so a month of one-a-minute polls
costs one indexed range read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from garrison.auth import Capability, Principal
from garrison.services import Services
from garrison.store.health_buckets import EPOCH, HealthBucket, HealthBuckets
from garrison.web.charts import (
    Series,
    TimeSeries,
    legend,
    line_chart,
    milliseconds,
    percent,
    stacked_bars,
)

MAX_SLOTS = 180  # the "all kept" range is cut into at most this many buckets

STATES = (
    Series("reachable", "Reachable", "state-reachable"),
    Series("degraded", "Degraded", "state-degraded"),
    Series("unreachable", "Unreachable", "state-unreachable"),
)
LOAD = (Series("cpu", "CPU", "series-cpu"), Series("memory", "Memory", "series-memory"))
RTT = (Series("rtt", "Round trip", "series-rtt"),)


@dataclass(frozen=True, slots=True)
class HealthRange:
    key: str
    label: str
    words: str
    seconds: int
    step: int  # seconds a bucket
    time_format: str  # in tooltips
    label_every: int | None  # a time under every n-th bucket (None: about six)
    label_format: str  # under the buckets


def ranges(history_days: int) -> dict[str, HealthRange]:
    """The ranges offered; "kept" covers the poller's whole history."""
    kept = history_days * 86_400
    kept_step = max(3600, math.ceil(kept / MAX_SLOTS / 3600) * 3600)  # whole hours
    return {
        r.key: r
        for r in (
            HealthRange("hour", "Hour", "the last hour", 3600, 60, "%H:%M", 10, "%H:%M"),
            HealthRange("day", "Day", "the last day", 86_400, 600, "%H:%M", 24, "%H:%M"),
            HealthRange("week", "Week", "the last week", 7 * 86_400, 3600, "%a %H:%M", 24, "%a %d"),
            HealthRange(
                "kept",
                "All kept",
                f"the last {history_days} days",
                kept,
                kept_step,
                "%b %d %H:%M",
                None,
                "%b %d",
            ),
        )
    }


DEFAULT_RANGE = "day"


def pick(history_days: int, key: str | None) -> tuple[HealthRange, list[HealthRange]]:
    offered = ranges(history_days)
    return offered.get(key or DEFAULT_RANGE, offered[DEFAULT_RANGE]), list(offered.values())


def health_charts(
    svc: Services, actor: Principal, device_id: int, span: HealthRange, now: datetime
) -> dict[str, Any]:
    """The three charts of one device over ``span``, and how many samples they sum up."""
    actor.require(Capability.DEVICES_READ)
    step = span.step
    now_seconds = int((now - EPOCH).total_seconds())
    end = (now_seconds // step + 1) * step  # the end of the bucket that holds now
    slots = math.ceil(span.seconds / step)
    start = end - slots * step  # aligned like the buckets the database makes
    since = EPOCH + timedelta(seconds=start)
    with svc.store.transaction() as tx:
        buckets = HealthBuckets(tx.session).of_device(
            device_id, since, EPOCH + timedelta(seconds=end), step
        )
    placed: list[HealthBucket | None] = [None] * slots
    for bucket in buckets:
        index = (int((bucket.start - EPOCH).total_seconds()) - start) // step
        if 0 <= index < slots:
            placed[index] = bucket
    starts = [since + timedelta(seconds=i * step) for i in range(slots)]

    def frame(
        series: tuple[Series, ...], pick: Callable[[HealthBucket, str], float | None]
    ) -> TimeSeries:
        return TimeSeries(
            starts=starts,
            step=timedelta(seconds=step),
            series=series,
            values={s.key: [None if b is None else pick(b, s.key) for b in placed] for s in series},
        )

    def state_count(bucket: HealthBucket, key: str) -> float:
        if key == "unreachable":
            return bucket.unreachable
        if key == "degraded":
            return bucket.degraded
        return max(bucket.samples - bucket.unreachable - bucket.degraded, 0)

    words = span.words
    fmt = span.time_format
    axis = {"label_every": span.label_every, "label_format": span.label_format}
    return {
        "span": span,
        "samples": sum(b.samples for b in buckets),
        "state_chart": stacked_bars(
            frame(STATES, state_count),
            chart_id="health-state",
            title=f"Polls by state over {words}",
            time_format=fmt,
            **axis,
            unit="polls",
            empty=f"No polls in {words}",
        ),
        "state_legend": legend(STATES),
        "load_chart": line_chart(
            frame(LOAD, lambda b, k: b.cpu_avg if k == "cpu" else b.memory_avg),
            chart_id="health-load",
            title=f"CPU and memory use over {words} (average per slot)",
            fmt=percent,
            time_format=fmt,
            **axis,
            y_max=100,
            empty=f"No CPU or memory readings in {words}",
        ),
        "load_legend": legend(LOAD),
        "rtt_chart": line_chart(
            frame(RTT, lambda b, _k: b.rtt_avg),
            chart_id="health-rtt",
            title=f"SNMP round-trip time over {words} (average per slot)",
            fmt=milliseconds,
            time_format=fmt,
            **axis,
            empty=f"No round-trip times in {words}",
        ),
    }


def utc_now() -> datetime:
    return datetime.now(UTC)
