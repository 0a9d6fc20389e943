"""The events table and its repository: the big table, written in batches, read with filters.

Addresses. Each address is kept twice: as text (``src_ip``, what the device said) and as a
128-bit number in two signed 64-bit halves (``src_ip_hi``, ``src_ip_lo``), as the SMS keeps
SRC_IP_ADDR_HIGH and SRC_IP_ADDR. IPv4 is stored as IPv4-mapped IPv6 (::ffff:a.b.c.d), so
both families live in one space (see `garrison.events.addresses`). Each half is biased by
2**63 (stored = unsigned - 2**63) so that signed BIGINT order is address order on all three
databases. A CIDR block is then one indexed range scan on ``(hi, lo)``: a prefix of 64 bits
or less is a range of ``hi``; a longer one fixes ``hi`` and is a range of ``lo``. (An IPv6
block wider than ::ffff:0:0/96 is two such ranges around it: IPv6 filters mean IPv6.)

Writes use one ``INSERT`` executed many times (no ORM objects): on SQLite, the hot path of
trap ingest, rows are built as plain tuples in the form SQLAlchemy would bind them and
handed to the driver's ``executemany`` (`sqlite_row`); elsewhere through a Core
``insert()`` with SQLAlchemy's bind processing (`_row`, also the reference the tests hold
the SQLite rows to). Reads return `StoredEvent`s, the plain `Event` with its row id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Index,
    Integer,
    Select,
    SmallInteger,
    String,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import TypeEngine

from garrison.events.addresses import Network, address_number, network_spans
from garrison.events.filters import LATEST, SORT_FIELDS, EventFilters, Sort
from garrison.events.model import Action, Event, EventKind, Severity
from garrison.store.models import Base, UTCDateTime

HALF = 64
LOW_MASK = (1 << HALF) - 1
BIAS = 1 << 63
TOP_FIELDS = ("src_ip", "dst_ip", "signature", "device")


class EventTime(UTCDateTime):
    """UTCDateTime with microseconds on MariaDB too (its DATETIME keeps whole seconds
    unless asked): device times are in milliseconds and ordering needs them."""

    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(self.impl)


# SQLite numbers only an INTEGER PRIMARY KEY automatically; it is 64-bit there anyway.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_src_ip_number", "src_ip_hi", "src_ip_lo"),
        Index("ix_events_dst_ip_number", "dst_ip_hi", "dst_ip_lo"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(EventTime, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    collector: Mapped[str] = mapped_column(String(32))
    source_address: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(SmallInteger, index=True)
    device_id: Mapped[int | None] = mapped_column(Integer, index=True)
    device_name: Mapped[str] = mapped_column(String(128), index=True)
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    alert_type: Mapped[int | None] = mapped_column(BigInteger)
    policy_id: Mapped[str] = mapped_column(String(64))
    signature_id: Mapped[str] = mapped_column(String(64), index=True)
    signature_number: Mapped[int | None] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(64))
    begin_time: Mapped[datetime | None] = mapped_column(EventTime)
    end_time: Mapped[datetime | None] = mapped_column(EventTime, index=True)
    hit_count: Mapped[int] = mapped_column(BigInteger)
    protocol: Mapped[str] = mapped_column(String(32))
    src_ip: Mapped[str] = mapped_column(String(64))
    src_ip_hi: Mapped[int | None] = mapped_column(BigInteger)
    src_ip_lo: Mapped[int | None] = mapped_column(BigInteger)
    src_port: Mapped[int | None] = mapped_column(Integer)
    dst_ip: Mapped[str] = mapped_column(String(64))
    dst_ip_hi: Mapped[int | None] = mapped_column(BigInteger)
    dst_ip_lo: Mapped[int | None] = mapped_column(BigInteger)
    dst_port: Mapped[int | None] = mapped_column(Integer)
    vlan: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(64))
    physical_port_in: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    action_set: Mapped[str] = mapped_column(String(128))
    packet_trace: Mapped[bool] = mapped_column(Boolean)
    message_params: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    extra: Mapped[str] = mapped_column(Text)


EVENTS = EventRow.__table__
COLUMNS = EVENTS.c


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    event: Event


@dataclass(frozen=True, slots=True)
class TopEntry:
    """One line of a top-N: ``key`` is what was counted (an address, a filter number, a
    device id), ``label`` names it where a name exists."""

    key: str
    label: str
    count: int


# -- rows <-> events --------------------------------------------------------------------

EVENT_FIELDS = tuple(f.name for f in fields(Event))
# MariaDB's TEXT holds 65,535 bytes: 16,000 characters of up to 4 bytes each fit.
TEXT_LIMIT = 16_000
_TEXT_LIMITS = {
    c.name: TEXT_LIMIT if isinstance(c.type, Text) else c.type.length
    for c in EVENTS.columns
    if isinstance(c.type, String) and c.name in EVENT_FIELDS and c.name != "extra"
}


def clean_text(value: str, limit: int) -> str:
    """Text every backend stores: no NUL (PostgreSQL refuses it), no lone surrogate (not
    UTF-8), at most ``limit`` characters (MariaDB refuses longer)."""
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:limit]


def split_number(number: int | None) -> tuple[int | None, int | None]:
    """The biased (hi, lo) halves of a 128-bit address number."""
    if number is None:
        return None, None
    return (number >> HALF) - BIAS, (number & LOW_MASK) - BIAS


def _row(event: Event) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(event, name) for name in EVENT_FIELDS}
    for name, limit in _TEXT_LIMITS.items():
        row[name] = clean_text(row[name], limit)
    row["kind"] = str(event.kind)
    row["action"] = str(event.action)
    row["severity"] = int(event.severity)
    row["extra"] = _extra(event.extra)
    row["src_ip_hi"], row["src_ip_lo"] = split_number(address_number(event.src_ip))
    row["dst_ip_hi"], row["dst_ip_lo"] = split_number(address_number(event.dst_ip))
    return row


# json.dumps(value, ensure_ascii=False) builds this encoder on every call; one is enough.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _extra(extra: dict[str, str]) -> str:
    """The JSON of ``extra``; when too long for the column, the pairs that fit, and a note
    (cutting the JSON text itself would leave it unreadable)."""
    if not extra:
        return ""
    text = clean_text(_to_json(extra), TEXT_LIMIT + 1)
    if len(text) <= TEXT_LIMIT:
        return text
    kept: dict[str, str] = {"garrison.truncated": "true"}
    for key, value in extra.items():
        kept[key] = value
        if len(_to_json(kept)) > TEXT_LIMIT // 2:
            del kept[key]
            break
    return clean_text(_to_json(kept), TEXT_LIMIT)


# -- the SQLite write path: rows as the driver takes them --------------------------------

# Every column but the id, in table order; the text columns that get cleaned, in the
# order sqlite_row lists them.
SQLITE_COLUMNS = tuple(c.name for c in EVENTS.columns if c.name != "id")
SQLITE_INSERT = (
    f"INSERT INTO {EVENTS.name} ({', '.join(SQLITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in SQLITE_COLUMNS)})"
)
_CLEANED = (
    "collector",
    "source_address",
    "device_name",
    "policy_id",
    "signature_id",
    "name",
    "category",
    "protocol",
    "src_ip",
    "dst_ip",
    "segment",
    "action_set",
    "message_params",
    "message",
)
assert set(_CLEANED) == set(_TEXT_LIMITS) - {"kind", "action"}, "a text column is not cleaned"
(
    _COLLECTOR,
    _SOURCE,
    _DEVICE_NAME,
    _POLICY_ID,
    _SIGNATURE_ID,
    _NAME,
    _CATEGORY,
    _PROTOCOL,
    _SRC_IP,
    _DST_IP,
    _SEGMENT,
    _ACTION_SET,
    _MESSAGE_PARAMS,
    _MESSAGE,
) = (_TEXT_LIMITS[name] for name in _CLEANED)


def sqlite_time(value: datetime | None) -> str | None:
    """A timestamp as UTCDateTime and SQLite's DATETIME bind it: naive UTC text with
    microseconds ("2026-01-31 12:00:00.000000")."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
    # Cutting "+00:00" off the text is much cheaper than replace(tzinfo=None).
    return value.isoformat(" ", "microseconds")[:-6]


def sqlite_row(event: Event) -> tuple[Any, ...]:
    """The values of SQLITE_COLUMNS for ``event``: what `_row` gives after SQLAlchemy's
    bind processing on SQLite, without it (the tests compare the stored rows)."""
    e = event
    texts = (
        e.collector,
        e.source_address,
        e.device_name,
        e.policy_id,
        e.signature_id,
        e.name,
        e.category,
        e.protocol,
        e.src_ip,
        e.dst_ip,
        e.segment,
        e.action_set,
        e.message_params,
        e.message,
    )
    joined = "".join(texts)
    if joined.isascii() and "\x00" not in joined:
        # The common case: only the lengths to cut (a slice that fits is the same str).
        (
            collector,
            source,
            device_name,
            policy_id,
            signature_id,
            name,
            category,
            protocol,
            src_ip,
            dst_ip,
            segment,
            action_set,
            message_params,
            message,
        ) = texts
        collector = collector[:_COLLECTOR]
        source = source[:_SOURCE]
        device_name = device_name[:_DEVICE_NAME]
        policy_id = policy_id[:_POLICY_ID]
        signature_id = signature_id[:_SIGNATURE_ID]
        name = name[:_NAME]
        category = category[:_CATEGORY]
        protocol = protocol[:_PROTOCOL]
        src_ip = src_ip[:_SRC_IP]
        dst_ip = dst_ip[:_DST_IP]
        segment = segment[:_SEGMENT]
        action_set = action_set[:_ACTION_SET]
        message_params = message_params[:_MESSAGE_PARAMS]
        message = message[:_MESSAGE]
    else:
        (
            collector,
            source,
            device_name,
            policy_id,
            signature_id,
            name,
            category,
            protocol,
            src_ip,
            dst_ip,
            segment,
            action_set,
            message_params,
            message,
        ) = (clean_text(v, _TEXT_LIMITS[k]) for k, v in zip(_CLEANED, texts, strict=True))
    src_hi, src_lo = split_number(address_number(e.src_ip))
    dst_hi, dst_lo = split_number(address_number(e.dst_ip))
    begin_time = e.begin_time
    end_time = e.end_time
    packet_trace = e.packet_trace
    return (
        sqlite_time(e.received_at),
        str(e.kind),
        collector,
        source,
        int(e.severity),
        e.device_id,
        device_name,
        e.sequence,
        e.alert_type,
        policy_id,
        signature_id,
        e.signature_number,
        name,
        category,
        None if begin_time is None else sqlite_time(begin_time),
        None if end_time is None else sqlite_time(end_time),
        e.hit_count,
        protocol,
        src_ip,
        src_hi,
        src_lo,
        e.src_port,
        dst_ip,
        dst_hi,
        dst_lo,
        e.dst_port,
        e.vlan,
        segment,
        e.physical_port_in,
        str(e.action),
        action_set,
        None if packet_trace is None else int(packet_trace),
        message_params,
        message,
        _extra(e.extra),
    )


def _enum(kind: Any, value: Any, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default


def _load_extra(text: str) -> dict[str, str]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:  # written by hand, not by Garrison
        return {}
    return value if isinstance(value, dict) else {}


def stored_event(row: Any) -> StoredEvent:
    values = {name: getattr(row, name) for name in EVENT_FIELDS}
    values["kind"] = _enum(EventKind, values["kind"], EventKind.SYSTEM)
    values["severity"] = _enum(Severity, values["severity"], Severity.LOW)
    values["action"] = _enum(Action, values["action"], Action.NONE)
    values["extra"] = _load_extra(values["extra"])
    return StoredEvent(id=row.id, event=Event(**values))


# -- filters and order ------------------------------------------------------------------


def _in_network(hi: Any, lo: Any, network: Network) -> ColumnElement[bool]:
    ranges = []
    for first, last in network_spans(network):
        (first_hi, first_lo), (last_hi, last_lo) = split_number(first), split_number(last)
        if first_hi == last_hi:
            ranges.append(and_(hi == first_hi, lo.between(first_lo, last_lo)))
        elif first_lo == -BIAS and last_lo == LOW_MASK - BIAS:
            # Whole high halves (a prefix of 64 bits or less): only hi ranges.
            ranges.append(hi.between(first_hi, last_hi))
        else:  # a range cut at the IPv4-mapped block: partial first and last high halves
            ranges.append(
                or_(
                    and_(hi == first_hi, lo >= first_lo),
                    hi.between(first_hi + 1, last_hi - 1),
                    and_(hi == last_hi, lo <= last_lo),
                )
            )
    return or_(*ranges)


def conditions(filters: EventFilters) -> list[ColumnElement[bool]]:
    c = COLUMNS
    where: list[ColumnElement[bool]] = []
    moment = c.received_at if filters.time_field == "received" else c.end_time
    if filters.since is not None:
        where.append(moment >= filters.since)
    if filters.until is not None:
        where.append(moment < filters.until)
    if filters.device_ids or filters.device_names:
        where.append(
            or_(c.device_id.in_(filters.device_ids), c.device_name.in_(filters.device_names))
        )
    if filters.signature_numbers or filters.signature_ids:
        where.append(
            or_(
                c.signature_number.in_(filters.signature_numbers),
                c.signature_id.in_(filters.signature_ids),
            )
        )
    for column, wanted in (
        (c.severity, [int(s) for s in filters.severities]),
        (c.category, filters.categories),
        (c.src_port, filters.src_ports),
        (c.dst_port, filters.dst_ports),
        (c.action, [str(a) for a in filters.actions]),
        (c.kind, [str(k) for k in filters.kinds]),
    ):
        if wanted:
            where.append(column.in_(wanted))
    for hi, lo, networks in (
        (c.src_ip_hi, c.src_ip_lo, filters.src),
        (c.dst_ip_hi, c.dst_ip_lo, filters.dst),
    ):
        if networks:
            where.append(or_(*(_in_network(hi, lo, n) for n in networks)))
    if filters.name:
        where.append(c.name.icontains(filters.name, autoescape=True))
    return where


SORT_COLUMNS: dict[str, tuple[Any, ...]] = {
    "id": (COLUMNS.id,),
    "received_at": (COLUMNS.received_at,),
    "end_time": (COLUMNS.end_time,),
    "severity": (COLUMNS.severity,),
    "device": (COLUMNS.device_name,),
    "signature": (COLUMNS.signature_number,),
    "name": (COLUMNS.name,),
    "category": (COLUMNS.category,),
    "src_ip": (COLUMNS.src_ip_hi, COLUMNS.src_ip_lo),
    "dst_ip": (COLUMNS.dst_ip_hi, COLUMNS.dst_ip_lo),
    "src_port": (COLUMNS.src_port,),
    "dst_port": (COLUMNS.dst_port,),
    "action": (COLUMNS.action,),
    "kind": (COLUMNS.kind,),
    "hit_count": (COLUMNS.hit_count,),
}
assert set(SORT_COLUMNS) == set(SORT_FIELDS), "every sort field needs its columns"


def _ordered(query: Select[Any], sort: Sort) -> Select[Any]:
    columns = SORT_COLUMNS[sort.field]
    if sort.field != "id":
        columns = (*columns, COLUMNS.id)  # ties broken by id: stable pages
    return query.order_by(*(col.desc() if sort.descending else col.asc() for col in columns))


# -- the repository ---------------------------------------------------------------------


class EventRows:
    """The events table, in the session of one `Store.transaction()`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def insert_many(self, events: Sequence[Event]) -> int:
        """Insert ``events`` with one statement executed many times; return how many."""
        if not events:
            return 0
        connection = self._session.connection()
        if connection.dialect.name == "sqlite":
            # Driver-level SQL: SQLAlchemy still wraps the driver's errors (the writer
            # tells a locked database from bad data by them) but binds nothing itself.
            connection.exec_driver_sql(SQLITE_INSERT, [sqlite_row(e) for e in events])
        else:
            self.insert_many_core(events)
        return len(events)

    def insert_many_core(self, events: Sequence[Event]) -> None:
        """Insert through a Core ``insert()`` and SQLAlchemy's bind processing: the path
        of PostgreSQL and MariaDB, and the reference for the SQLite one in the tests."""
        self._session.execute(insert(EVENTS), [_row(e) for e in events])

    def get(self, event_id: int) -> StoredEvent | None:
        row = self._session.execute(select(EVENTS).where(COLUMNS.id == event_id)).first()
        return None if row is None else stored_event(row)

    def query(
        self, filters: EventFilters, sort: Sort = Sort(), offset: int = 0, limit: int = 100
    ) -> list[StoredEvent]:
        query = _ordered(select(EVENTS).where(*conditions(filters)), sort)
        return [stored_event(r) for r in self._session.execute(query.offset(offset).limit(limit))]

    def count(self, filters: EventFilters) -> int:
        query = select(func.count()).select_from(EVENTS).where(*conditions(filters))
        return self._session.scalar(query) or 0

    def stream(
        self, filters: EventFilters, sort: Sort = Sort("id", False), chunk: int = 2000
    ) -> Iterator[StoredEvent]:
        """Every matching event, fetched ``chunk`` rows at a time from a server-side cursor
        (a plain cursor on SQLite): an export of millions never holds them all."""
        query = _ordered(select(EVENTS).where(*conditions(filters)), sort)
        connection = self._session.connection().execution_options(
            stream_results=True, yield_per=chunk
        )
        result = connection.execute(query)
        try:
            for row in result:
                yield stored_event(row)
        finally:
            result.close()

    def top(self, field: str, filters: EventFilters, n: int = 10) -> list[TopEntry]:
        """The ``n`` most frequent values of ``field`` (one of TOP_FIELDS) among matches."""
        c = COLUMNS
        count = func.count().label("n")
        where = conditions(filters)
        if filters.since is not None and filters.until is None:
            # A closed range: with a lower bound alone SQLite walks a whole index (the
            # grouping column's) instead of the time range, a full scan on a big table.
            moment = c.received_at if filters.time_field == "received" else c.end_time
            where.append(moment <= LATEST)
        if field in ("src_ip", "dst_ip"):
            column = c[field]
            query = select(column, count).where(column != "", *where).group_by(column)
            ties = (column,)
        elif field == "signature":
            label = func.max(c.name)
            query = select(c.signature_number, label, count)
            query = query.where(c.signature_number.is_not(None), *where)
            query = query.group_by(c.signature_number)
            ties = (c.signature_number,)
        elif field == "device":
            query = select(c.device_id, c.device_name, count)
            query = query.where(or_(c.device_id.is_not(None), c.device_name != ""), *where)
            query = query.group_by(c.device_id, c.device_name)
            ties = (c.device_id, c.device_name)
        else:
            raise ValueError(f"top: {field!r} is not one of {TOP_FIELDS}")
        query = query.order_by(count.desc(), *ties).limit(n)
        entries = []
        for row in self._session.execute(query):
            key, *rest = row
            label = rest[0] if len(rest) == 2 else ""
            entries.append(TopEntry("" if key is None else str(key), label or "", rest[-1]))
        return entries

    def newest_id(self) -> int | None:
        return self._session.scalar(select(func.max(COLUMNS.id)))

    def since_id(
        self, after: int, filters: EventFilters = EventFilters(), limit: int = 1000
    ) -> list[StoredEvent]:
        """Events stored after id ``after``, oldest first: a tail's next page."""
        query = select(EVENTS).where(COLUMNS.id > after, *conditions(filters))
        query = query.order_by(COLUMNS.id).limit(limit)
        return [stored_event(r) for r in self._session.execute(query)]

    # -- retention: every delete is bounded, so each transaction stays short ----------

    def delete_older_than(self, moment: datetime, chunk: int = 10_000) -> int:
        """Delete at most ``chunk`` events received before ``moment``, oldest ids first."""
        old = COLUMNS.received_at < moment
        return self._delete_chunk(old, chunk)

    def cutoff_id(self, keep: int) -> int | None:
        """The highest id outside the newest ``keep`` events; None when there are no more
        than ``keep``."""
        query = select(COLUMNS.id).order_by(COLUMNS.id.desc()).offset(keep).limit(1)
        return self._session.scalar(query)

    def delete_through(self, last_id: int, chunk: int = 10_000) -> int:
        """Delete at most ``chunk`` events with ids up to ``last_id``, lowest first."""
        return self._delete_chunk(COLUMNS.id <= last_id, chunk)

    def _delete_chunk(self, condition: ColumnElement[bool], chunk: int) -> int:
        # The chunk ends at the chunk-th lowest matching id, so "matching and id <= that"
        # is exactly the chunk: a bounded range delete that every backend can do (MariaDB
        # refuses LIMIT inside IN (...), and SQLite caps bound parameters).
        boundary = self._session.scalar(
            select(COLUMNS.id).where(condition).order_by(COLUMNS.id).offset(chunk - 1).limit(1)
        )
        if boundary is not None:
            condition = and_(condition, COLUMNS.id <= boundary)
        result = self._session.execute(delete(EVENTS).where(condition))
        return result.rowcount  # type: ignore[attr-defined, no-any-return]
