"""The audit log a page at a time, newest first, however long the log grows.

Every Web services call adds a row, so the log reaches millions. A page is a keyset
seek on the primary key (``id < before``), never an OFFSET. The filters on who acted and
how it ended have no index, so a filtered page looks through at most `WINDOW` rows below
``before``: when fewer than a page match there, the page says how far back it looked and
offers to go on from there, instead of scanning the whole log for a rare match.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from garrison.store import AuditRecord, Store
from garrison.store.models import AuditEntry
from garrison.store.records import record_of

WINDOW = 50_000  # rows one filtered page may look through
EXPORT_LIMIT = 10_000  # rows one CSV export holds, newest first
EXPORT_WINDOWS = 20  # windows one filtered export looks through: a million rows at most


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str = ""  # exactly this user name
    action: str = ""  # this action, or those starting with it ("user." finds user.create)
    outcome: str = ""  # "success" or "failure"
    since: datetime | None = None
    until: datetime | None = None

    @property
    def any(self) -> bool:
        return bool(self.actor or self.action or self.outcome or self.since or self.until)


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: list[AuditRecord]
    older: int | None  # the ``before`` of the next (older) page; None at the end
    searched_to: int | None  # a filtered page that ran out of window: the lowest id looked at


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page(store: Store, wanted: AuditFilter, *, before: int | None, limit: int) -> AuditPage:
    columns = AuditEntry
    with store.transaction() as tx:
        session = tx.session
        top = before
        if top is None:
            newest = session.scalar(select(func.max(columns.id)))
            if newest is None:
                return AuditPage(rows=[], older=None, searched_to=None)
            top = newest + 1
        query = select(columns).where(columns.id < top)
        floor = None
        if wanted.any:
            oldest = session.scalar(select(func.min(columns.id))) or 0
            floor = top - WINDOW if top - WINDOW > oldest else None
            if floor is not None:
                query = query.where(columns.id >= floor)
        if wanted.actor:
            query = query.where(columns.actor == wanted.actor)
        if wanted.action:
            pattern = _escaped(wanted.action) + "%"
            query = query.where(columns.action.like(pattern, escape="\\"))
        if wanted.outcome:
            query = query.where(columns.outcome == wanted.outcome)
        if wanted.since is not None:
            query = query.where(columns.at >= wanted.since)
        if wanted.until is not None:
            query = query.where(columns.at < wanted.until)
        found = list(session.scalars(query.order_by(columns.id.desc()).limit(limit + 1)))
        rows = [record_of(AuditRecord, r) for r in found[:limit]]
    if len(found) > limit:
        return AuditPage(rows=rows, older=rows[-1].id, searched_to=None)
    return AuditPage(rows=rows, older=floor, searched_to=floor)


def export(store: Store, wanted: AuditFilter) -> Iterator[AuditRecord]:
    """Up to `EXPORT_LIMIT` matching rows, newest first, a window at a time."""
    before: int | None = None
    left = EXPORT_LIMIT
    for _ in range(EXPORT_WINDOWS):
        chunk = page(store, wanted, before=before, limit=min(left, 1000))
        yield from chunk.rows
        left -= len(chunk.rows)
        if chunk.older is None or left <= 0:
            return
        before = chunk.older
