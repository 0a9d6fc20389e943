"""Events per minute and severity: the rollup the console's events-over-time chart reads.

A week of events over time must not scan the events table (10 million rows); this table
holds at most one row per minute and severity (5,760 a day). The event writer adds each
batch's counts in the batch's own transaction (`EventCounts.add`), so the rollup counts
exactly the events stored, and a batch that fails leaves neither behind.

A minute is an integer: minutes since the Unix epoch, of the event's ``received_at`` (UTC).
That keeps SQLite, PostgreSQL and MariaDB alike (no zones, no DATETIME precision), makes
the writer's grouping one integer division, and lets the database sum buckets of any size
(``minute // 15``) over an indexed range of the primary key.

Retention trims it with the events (`EventCounts.trim`): minutes before the oldest event
kept go. The minute that holds the oldest kept event keeps its whole count, so after a
prune by row cap the first bar of a chart may count a few events already gone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, SmallInteger, delete, func, literal_column, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.dml import Insert

from garrison.events.model import Event
from garrison.store.events import COLUMNS as EVENT_COLUMNS
from garrison.store.models import Base

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EventCountRow(Base):
    __tablename__ = "event_counts"

    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    severity: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    total: Mapped[int] = mapped_column(BigInteger)


COUNTS = EventCountRow.__table__
C = COUNTS.c


def minute_of(moment: datetime) -> int:
    """The epoch minute ``moment`` falls in (an aware time)."""
    return int(moment.timestamp()) // 60


def moment_of(minute: int) -> datetime:
    """The start of an epoch minute, as an aware UTC time."""
    return EPOCH + timedelta(minutes=minute)


def counts_of(events: Iterable[Event]) -> Counter[tuple[int, int]]:
    """How many of ``events`` fall in each (epoch minute, severity)."""
    return Counter((int(e.received_at.timestamp()) // 60, int(e.severity)) for e in events)


def _upsert(dialect: str) -> Insert:
    """``INSERT ... add to the total when the (minute, severity) row exists``, in the
    words each backend has for it."""
    if dialect == "sqlite":
        lite = sqlite.insert(COUNTS)
        return lite.on_conflict_do_update(
            index_elements=[C.minute, C.severity], set_={"total": C.total + lite.excluded.total}
        )
    if dialect == "postgresql":
        pg = postgresql.insert(COUNTS)
        return pg.on_conflict_do_update(
            index_elements=[C.minute, C.severity], set_={"total": C.total + pg.excluded.total}
        )
    if dialect in ("mysql", "mariadb"):
        maria = mysql.insert(COUNTS)
        return maria.on_duplicate_key_update(total=C.total + maria.inserted.total)
    raise ValueError(f"event counts: no upsert for the {dialect!r} backend")


_UPSERTS: dict[str, Insert] = {}


@dataclass(frozen=True, slots=True)
class BucketCount:
    """``total`` events of ``severity`` received in the bucket that starts at ``start``."""

    start: datetime
    severity: int
    total: int


class EventCounts:
    """The rollup, in the session of one `Store.transaction()`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, events: Sequence[Event]) -> None:
        """Count ``events`` in: grouped here first, then one upsert for the batch."""
        if not events:
            return
        counts = counts_of(events)
        dialect = self._session.get_bind().dialect.name
        statement = _UPSERTS.get(dialect)
        if statement is None:
            statement = _UPSERTS[dialect] = _upsert(dialect)
        # Sorted: concurrent writers (several nodes on one database) lock rows in one order.
        rows = [
            {"minute": minute, "severity": severity, "total": total}
            for (minute, severity), total in sorted(counts.items())
        ]
        self._session.execute(statement, rows)

    def buckets(self, since: datetime, until: datetime, minutes: int) -> list[BucketCount]:
        """Totals per severity in buckets of ``minutes``, aligned to the epoch (15-minute
        buckets start at :00, :15, ...), for the minutes from ``since`` to ``until``
        (exclusive). Summed by the database over a primary-key range."""
        if minutes < 1:
            raise ValueError("a bucket is at least one minute")
        # A literal, not a bound parameter: PostgreSQL matches GROUP BY to the select list
        # by text, and two parameters would be two expressions. Typed, so that SQLite and
        # PostgreSQL divide integers as integers (no FLOOR, which SQLite may lack).
        step = literal_column(str(int(minutes)), BigInteger)
        bucket = (C.minute // step).label("bucket")
        query = (
            select(bucket, C.severity, func.sum(C.total))
            .where(C.minute >= minute_of(since), C.minute < minute_of(until))
            .group_by(bucket, C.severity)
        )
        return [
            BucketCount(moment_of(int(b) * minutes), int(severity), int(total))
            for b, severity, total in self._session.execute(query)
        ]

    def total(self, since: datetime | None = None, until: datetime | None = None) -> int:
        """Events counted in the minutes from ``since`` to ``until`` (either open)."""
        query = select(func.coalesce(func.sum(C.total), 0))
        if since is not None:
            query = query.where(C.minute >= minute_of(since))
        if until is not None:
            query = query.where(C.minute < minute_of(until))
        return int(self._session.scalar(query) or 0)

    def trim(self, fallback: datetime | None = None) -> int:
        """Forget the minutes before the oldest event kept (``fallback`` when no event is
        left); return how many rows went. Called by retention after it pruned."""
        oldest = self._session.scalar(select(func.min(EVENT_COLUMNS.received_at)))
        boundary = oldest if oldest is not None else fallback
        if boundary is None:
            return 0
        older = C.minute < minute_of(boundary)
        # Most runs find nothing to trim: then no DELETE (and no write lock) at all.
        if self._session.scalar(select(C.minute).where(older).limit(1)) is None:
            return 0
        result = self._session.execute(delete(COUNTS).where(older))
        return int(getattr(result, "rowcount", 0) or 0)


def backfill(
    rows: Iterable[tuple[datetime, int]], insert: Callable[[list[dict[str, Any]]], None]
) -> int:
    """Count existing events' (received_at, severity) pairs and hand the rows to
    ``insert`` in chunks: the migration that creates the table fills it this way."""
    counts: Counter[tuple[int, int]] = Counter()
    for received_at, severity in rows:
        if received_at.tzinfo is None:
            received_at = received_at.replace(tzinfo=UTC)
        counts[(minute_of(received_at), int(severity))] += 1
    chunk: list[dict[str, Any]] = []
    for (minute, severity), total in sorted(counts.items()):
        chunk.append({"minute": minute, "severity": severity, "total": total})
        if len(chunk) == 5000:
            insert(chunk)
            chunk = []
    if chunk:
        insert(chunk)
    return len(counts)
