"""A device's health history summed up in time buckets, for the console's charts.

Thirty days of samples at one a minute are 43,200 rows a device; a chart shows a hundred
or two points. The database averages each bucket over the ``(device_id, at)`` index range
and returns only the buckets, so the device page never loads the raw history.

Buckets are whole multiples of their size in seconds since the Unix epoch (UTC). Each
backend has its own words for "seconds since the epoch" of a naive UTC DATETIME:
`epoch_seconds` holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, case, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from garrison.store.devices import DeviceHealth

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01 of a naive-UTC timestamp column."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # EXTRACT(EPOCH) of a timestamp without time zone ignores the session's zone.
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "mysql")
@compiles(epoch_seconds, "mariadb")
def _mysql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # Not UNIX_TIMESTAMP(), which reads a DATETIME in the session's time zone.
    return (
        f"TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {compiler.process(element.clauses, **kw)})"
    )


@dataclass(frozen=True, slots=True)
class HealthBucket:
    """The samples of one device from ``start`` for one bucket: how many, how many found
    it unreachable or degraded, and the mean and peak of each measure (None when no
    sample had it)."""

    start: datetime
    samples: int
    unreachable: int
    degraded: int
    cpu_avg: float | None
    cpu_max: float | None
    memory_avg: float | None
    memory_max: float | None
    rtt_avg: float | None
    rtt_max: float | None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class HealthBuckets:
    """Bucketed health history, in the session of one `Store.transaction()`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def of_device(
        self, device_id: int, since: datetime, until: datetime, seconds: int
    ) -> list[HealthBucket]:
        """The buckets of ``seconds`` between ``since`` and ``until`` that hold samples,
        oldest first (empty buckets are left out)."""
        if seconds < 1:
            raise ValueError("a bucket is at least one second")
        h = DeviceHealth
        # A literal for the same reason as in event_counts: one GROUP BY expression.
        bucket = (epoch_seconds(h.at) // literal_column(str(int(seconds)), BigInteger)).label("b")
        query = (
            select(
                bucket,
                func.count(),
                func.sum(case((h.reachable, 0), else_=1)),
                func.sum(case((h.state == "degraded", 1), else_=0)),
                func.avg(h.cpu_percent),
                func.max(h.cpu_percent),
                func.avg(h.memory_percent),
                func.max(h.memory_percent),
                func.avg(h.rtt_ms),
                func.max(h.rtt_ms),
            )
            .where(h.device_id == device_id, h.at >= since, h.at < until)
            .group_by(bucket)
            .order_by(bucket)
        )
        return [_bucket(row, seconds) for row in self._session.execute(query)]


def _bucket(row: Any, seconds: int) -> HealthBucket:
    b, n, down, degraded, cpu_avg, cpu_max, memory_avg, memory_max, rtt_avg, rtt_max = row
    return HealthBucket(
        start=EPOCH + timedelta(seconds=int(b) * seconds),
        samples=int(n),
        unreachable=int(down or 0),
        degraded=int(degraded or 0),
        cpu_avg=_float(cpu_avg),
        cpu_max=_float(cpu_max),
        memory_avg=_float(memory_avg),
        memory_max=_float(memory_max),
        rtt_avg=_float(rtt_avg),
        rtt_max=_float(rtt_max),
    )
