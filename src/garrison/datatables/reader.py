"""Reading a data table's rows from the store, page by page, so that a million ALERTS rows
stream with flat memory and never hold a lock a writer waits for.

Every page is its own short read transaction, fetched by keyset along the table's primary
key (``WHERE id > <last id> ORDER BY id LIMIT n``), never by OFFSET: each page costs the
same, nothing is held between pages (on SQLite a reader in WAL mode takes no write lock,
and short reads let checkpoints finish), and rows stored meanwhile beyond the last page
are simply not seen. Rows come in key order: for ALERTS, the order Garrison stored them.

A time range (GetData of an event table) is read in two steps: the time columns' indexes
give the lowest and highest key in the range (index-only on SQLite and MariaDB, whose
secondary indexes hold the key), then the pages walk the key from one to the other with
the range as a filter, each page within a bounded window of keys (`_windows`). The filter
is written so that no index answers it, or a planner could pick the time index and sort
the rest of the range for every page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from garrison.datatables.model import Table, TimeSlice
from garrison.store import Store

PAGE = 2000
MILLISECOND = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Row = tuple[Any, ...]


def moment(epoch_ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=epoch_ms)


class Shaper:
    """One SELECT for a table's columns (each distinct input selected once), plus hidden
    key columns after them, and the step from a fetched row to the SMS row.

    Converted columns are grouped by their input: the dozen ALERTS columns that read the
    ``extra`` text are all NULL when it is empty (most events), at the cost of one test."""

    def __init__(self, table: Table, keys: Sequence[ColumnElement[Any]] = ()) -> None:
        inputs: list[ColumnElement[Any]] = []
        positions: dict[int, int] = {}
        sources: list[int] = []
        groups: dict[int, list[tuple[int, Callable[[Any], Any]]]] = {}
        for place, column in enumerate(table.columns):
            assert column.sql is not None, f"{table.name} is a constant table"
            index = positions.setdefault(id(column.sql), len(inputs))
            if index == len(inputs):
                inputs.append(column.sql)
            sources.append(index)
            if column.convert is not None:
                groups.setdefault(index, []).append((place, column.convert.function))
        self.width = len(inputs)
        labelled = [e.label(f"c{i}") for i, e in enumerate(inputs)]
        hidden = [k.label(f"k{i}") for i, k in enumerate(keys)]
        query = select(*labelled, *hidden)
        query = query.select_from(table.source) if table.source is not None else query
        self.query: Select[Any] = query if table.where is None else query.where(table.where)
        self._pick = itemgetter(*sources) if len(sources) > 1 else lambda row: (row[0],)
        self._groups = [(index, tuple(outputs)) for index, outputs in groups.items()]

    def shape(self, row: Sequence[Any]) -> Row:
        values = self._pick(row)
        if not self._groups:
            return values  # type: ignore[no-any-return]
        shaped = list(values)
        for index, outputs in self._groups:
            given = row[index]
            for place, convert in outputs:
                # A conversion of nothing is nothing (`Conversion`): skip the calls.
                shaped[place] = convert(given) if given else None
        return tuple(shaped)

    def keys(self, row: Sequence[Any]) -> Row:
        return tuple(row[self.width :])


def _pages(
    store: Store, shaper: Shaper, key: ColumnElement[Any], limit: int | None, page: int
) -> Iterator[Row]:
    """The SMS rows in key order, ``page`` rows a transaction, at most ``limit``."""
    last: Any = None
    left = limit
    while left is None or left > 0:
        size = page if left is None else min(page, left)
        query = shaper.query
        if last is not None:
            query = query.where(key > last)
        with store.transaction() as tx:
            rows = tx.session.execute(query.order_by(key).limit(size)).all()
        for row in rows:
            yield shaper.shape(row)
        if len(rows) < size:
            return
        last = shaper.keys(rows[-1])[0]
        if left is not None:
            left -= len(rows)


def _key(table: Table) -> ColumnElement[Any]:
    assert table.page_key is not None, f"{table.name} is a constant table"
    return table.page_key


def read_all(
    store: Store, table: Table, *, limit: int | None = None, page: int = PAGE
) -> Iterator[Row]:
    """Every row of ``table``, in key order."""
    if table.is_constant:
        yield from table.rows if limit is None else table.rows[:limit]
        return
    key = _key(table)
    yield from _pages(store, Shaper(table, (key,)), key, limit, page)


def _window(piece: TimeSlice, begin: datetime, end: datetime) -> list[ColumnElement[bool]]:
    # END_TIME is whole milliseconds (floor): "<= end" is "before end + 1 ms".
    return [piece.time >= begin, piece.time < end + MILLISECOND]


def _key_range(store: Store, table: Table, begin: datetime, end: datetime) -> tuple[Any, Any]:
    """The lowest and highest key of the rows in the window: a superset's, from the time
    indexes alone (no join, no other filter), so it costs an index range scan."""
    key = _key(table)
    # "key + 0": a plain MIN/MAX lets a planner walk the key's index until a row falls in
    # the window (all of an old table, for a recent window); this walks the time index.
    shifted = key + 0
    lows, highs = [], []
    with store.transaction() as tx:
        for piece in table.slices:
            query = select(func.min(shifted), func.max(shifted))
            query = query.where(*_window(piece, begin, end))
            low, high = tx.session.execute(query).one()
            if low is not None:
                lows.append(low)
                highs.append(high)
    return (min(lows), max(highs)) if lows else (None, None)


def _windows(
    store: Store,
    shaper: Shaper,
    key: ColumnElement[int],
    where: Sequence[ColumnElement[bool]],
    bounds: tuple[int, int],
    limit: int | None,
    page: int,
) -> Iterator[Row]:
    """The rows with whole-number keys in ``bounds`` (inclusive) in key order, each page
    asked of a bounded window of keys: whatever plan a database picks (PostgreSQL without
    statistics sorts what it fetched), a page never costs more than its window. A window
    that comes back short was sparse: the next one is twice as wide."""
    low, high = bounds
    step = page
    left = limit
    while low <= high and (left is None or left > 0):
        size = page if left is None else min(page, left)
        stop = min(low + step, high + 1)
        query = shaper.query.where(*where, key >= low, key < stop).order_by(key).limit(size)
        with store.transaction() as tx:
            rows = tx.session.execute(query).all()
        for row in rows:
            yield shaper.shape(row)
        if left is not None:
            left -= len(rows)
        if len(rows) == size:  # dense: go on from the last key, a page's width ahead
            low, step = shaper.keys(rows[-1])[0] + 1, page
        else:
            low, step = stop, step * 2


def read_range(
    store: Store,
    table: Table,
    begin_ms: int,
    end_ms: int,
    *,
    limit: int | None = None,
    page: int = PAGE,
) -> Iterator[Row]:
    """The rows of an event table whose time column is in [begin_ms, end_ms], in key
    order, at most ``limit``."""
    if table.is_constant:
        yield from read_all(store, table, limit=limit)
        return
    begin, end = moment(begin_ms), moment(end_ms)
    low, high = _key_range(store, table, begin, end)
    if low is None:
        return
    key = _key(table)
    inside = or_(
        *(
            and_(*([] if p.where is None else [p.where]), *_window(p, begin, end))
            for p in table.slices
        )
    )
    # As a CASE no index answers it: the pages walk the key, in order.
    where = [case((inside, 1)) == 1]
    yield from _windows(store, Shaper(table, (key,)), key, where, (low, high), limit, page)


def edge(store: Store, table: Table, *, newest: bool) -> Row | None:
    """The newest (or oldest) row of an event table by its time; None when it is empty.
    Rows of the same time: any one of them."""
    if table.is_constant:
        return None
    found: list[tuple[Any, Row]] = []
    for piece in table.slices:
        shaper = Shaper(table, (piece.time,))
        query = shaper.query if piece.where is None else shaper.query.where(piece.where)
        order = piece.time.desc() if newest else piece.time
        with store.transaction() as tx:
            row = tx.session.execute(query.order_by(order).limit(1)).first()
        if row is not None:
            found.append((shaper.keys(row)[0], shaper.shape(row)))
    if not found:
        return None
    pick = max if newest else min
    return pick(found, key=lambda tr: tr[0])[1]
