"""The reputation store: entries (addresses, DNS names, URLs), tag categories, and tags.

Built for millions of entries; every lookup is an index seek on all three databases:

- Identity. Each entry has a ``digest`` (SHA-256 of its canonical key, such as
  ``ipv4:10.0.0.0/8`` or ``dns:[foo.com]``), unique: exact lookups, upserts and deletes go
  through it whatever the length of a URL (MariaDB cannot index long text).
- Addresses. A network is (first address, prefix length) in the shared 128-bit space of
  `garrison.events.addresses`, the number kept as two biased 64-bit halves as the events
  table keeps it (`garrison.store.events.split_number`: signed BIGINT order is address
  order). Index ``(addr_hi, addr_lo, prefix)``. The blocks containing address X are X's
  network at each prefix length, so "which entries contain X" is one point lookup per
  prefix length actually in use (found by a seek per distinct length on ``prefix``), and
  "which entries lie inside block B" is one range scan.
- Names. A substring entry keeps its length in ``name_length`` (indexed); the entries a
  name N matches are N itself as an exact entry, plus N's substrings of each length in
  use, all looked up by digest.
- Expiry. ``expires_at`` (indexed) comes from the ``Reputation Entries TTL`` tag; reads
  skip expired entries, and `ReputationEntries.expire` deletes them in bounded chunks.

Tags are rows of ``reputation_tags`` (entry, category, canonical text), so a category in
use is found by index and an entry's tags by its primary key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Select,
    SmallInteger,
    String,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from garrison.events.addresses import IPV4_MAPPED
from garrison.reputation.model import Entry, EntryKind, TagCategory, TagKind, network_key
from garrison.store.events import BIAS, HALF, split_number
from garrison.store.models import Base, UTCDateTime, utcnow

# SQLite numbers only an INTEGER PRIMARY KEY automatically; it is 64-bit there anyway.
EntryId = BigInteger().with_variant(Integer(), "sqlite")
CHUNK = 500  # values per IN (...): under every backend's parameter limit
NETWORK_SLOTS = 100  # network keys per lookup statement (3 parameters each)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SOURCES = ("user", "repdv")


class ReputationEntryRow(Base):
    __tablename__ = "reputation_entries"
    __table_args__ = (Index("ix_reputation_entries_network", "addr_hi", "addr_lo", "prefix"),)

    id: Mapped[int] = mapped_column(EntryId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(2048))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    addr_hi: Mapped[int | None] = mapped_column(BigInteger)
    addr_lo: Mapped[int | None] = mapped_column(BigInteger)
    prefix: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    name_length: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    source: Mapped[str] = mapped_column(String(16), index=True)
    added_by: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class TagCategoryRow(Base):
    __tablename__ = "reputation_tag_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(String(255), default="")
    minimum: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    maximum: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    choices: Mapped[str] = mapped_column(Text, default="")  # JSON list, for a list kind
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TagRow(Base):
    __tablename__ = "reputation_tags"

    entry_id: Mapped[int] = mapped_column(
        EntryId, ForeignKey("reputation_entries.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("reputation_tag_categories.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    value: Mapped[str] = mapped_column(Text)


ENTRIES = ReputationEntryRow.__table__
E = ENTRIES.c
TAGS = TagRow.__table__
CATEGORIES = TagCategoryRow.__table__


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReputationEntryRecord:
    """An entry as services see it; ``tags`` are (category, canonical text) pairs in
    category-name order, list values joined with ``~~~``."""

    id: int
    kind: str
    value: str
    source: str
    added_by: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    tags: tuple[tuple[str, str], ...] = ()

    def tag(self, category: str) -> str | None:
        return dict(self.tags).get(category)


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to add: parsed, its tags checked (category name -> canonical text)."""

    entry: Entry
    tags: Mapping[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    added: int = 0
    updated: int = 0
    over_cap: tuple[str, ...] = ()  # entries refused because the owner's cap was reached


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@functools.cache
def _network_query() -> Select[Any]:
    """Entries at any of NETWORK_SLOTS (hi, lo, prefix) keys: an OR of point lookups, each
    an index seek on every backend (SQLite scans the whole index for a row-value IN)."""
    slots = [
        and_(
            E.addr_hi == bindparam(f"h{slot}"),
            E.addr_lo == bindparam(f"l{slot}"),
            E.prefix == bindparam(f"p{slot}"),
        )
        for slot in range(NETWORK_SLOTS)
    ]
    live = or_(E.expires_at.is_(None), E.expires_at > bindparam("now", type_=UTCDateTime()))
    return select(ENTRIES).where(or_(*slots), live)


def _halves(number: int) -> tuple[int, int]:
    hi, lo = split_number(number)
    assert hi is not None and lo is not None
    return hi, lo


def _network_keys(
    number: int, longest: int, prefixes: Iterable[int]
) -> Iterator[tuple[int, int, int]]:
    """The (hi, lo, prefix) keys of the networks in use holding ``number``'s block of
    length ``longest``."""
    is_v4 = number >> 32 == IPV4_MAPPED >> 32
    for prefix in prefixes:
        if prefix > longest:
            return
        # A block wider than ::ffff:0:0/96 means IPv6 only (as the events filters do).
        if is_v4 and prefix < 96:
            continue
        hi, lo = _halves(network_key(number, prefix))
        yield hi, lo, prefix


def _substring(entry: Entry) -> bool:
    return entry.kind is EntryKind.DNS and not entry.exact


def _live(now: datetime | None) -> ColumnElement[bool]:
    if now is None:
        return E.id.is_not(None)
    return or_(E.expires_at.is_(None), E.expires_at > now)


def _category(row: Any) -> TagCategory:
    return TagCategory(
        id=row.id,
        name=row.name,
        kind=TagKind(row.kind),
        description=row.description,
        minimum=row.minimum,
        maximum=row.maximum,
        choices=tuple(json.loads(row.choices)) if row.choices else (),
        multiple=row.multiple,
        read_only=row.read_only,
        created_at=row.created_at,
    )


def _address_order(row: Any) -> tuple[int, int, int, str]:
    if row.addr_hi is None:
        return (1, 0, 0, row.value)
    return (0, (row.addr_hi + BIAS) << HALF | (row.addr_lo + BIAS), row.prefix, row.value)


# -- repositories -------------------------------------------------------------------------


class TagCategories:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, category: TagCategory) -> TagCategory:
        row = TagCategoryRow(
            name=category.name,
            kind=str(category.kind),
            description=category.description,
            minimum=category.minimum,
            maximum=category.maximum,
            choices=json.dumps(list(category.choices)) if category.choices else "",
            multiple=category.multiple,
            read_only=category.read_only,
        )
        self._session.add(row)
        self._session.flush()
        return _category(row)

    def by_name(self, name: str) -> TagCategory | None:
        row = self._session.scalar(select(TagCategoryRow).where(TagCategoryRow.name == name))
        return None if row is None else _category(row)

    def list(self) -> list[TagCategory]:
        rows = self._session.scalars(select(TagCategoryRow).order_by(TagCategoryRow.name))
        return [_category(r) for r in rows]

    def in_use(self, category_id: int) -> bool:
        query = select(TAGS.c.entry_id).where(TAGS.c.category_id == category_id).limit(1)
        return self._session.scalar(query) is not None

    def delete(self, category_id: int) -> bool:
        result = self._session.execute(delete(CATEGORIES).where(CATEGORIES.c.id == category_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


class ReputationEntries:
    """The entries, in the session of one `Store.transaction()`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- writing ------------------------------------------------------------------------

    def upsert(
        self,
        items: Sequence[NewEntry],
        *,
        categories: Mapping[str, TagCategory],
        source: str = "user",
        added_by: str = "",
        cap: int | None = None,
        now: datetime | None = None,
    ) -> UpsertOutcome:
        """Add new entries and update existing ones (given tags replace those of the same
        category; others stay; the owner stays the first adder). With ``cap``, new
        entries are added only while ``added_by`` owns fewer than ``cap`` entries."""
        if not items:
            return UpsertOutcome()
        now = now or utcnow()
        latest: dict[str, NewEntry] = {}
        for item in items:  # the last word on one entry wins
            latest[digest_of(item.entry.key)] = item
        existing = self._existing(list(latest))
        fresh = [d for d in latest if d not in existing]
        refused: list[str] = []
        if cap is not None:
            room = max(cap - self.count_added_by(added_by), 0)
            refused = [latest[d].entry.text for d in fresh[room:]]
            fresh = fresh[:room]
        rows = [self._row(d, latest[d], source, added_by, now) for d in fresh]
        for chunk in _chunks(rows, 1000):
            self._session.execute(insert(ENTRIES), list(chunk))
        ids = {d: entry_id for d, (entry_id, _) in existing.items()} | self._ids(fresh)
        # A refresh: a new expiry when one is given, and an entry that had expired (not
        # yet swept) lives again as if new. One statement executed many times per shape.
        touched: list[dict[str, Any]] = []
        renewed: list[dict[str, Any]] = []
        for digest, (entry_id, expires_at) in existing.items():
            item = latest[digest]
            if item.expires_at is not None or (expires_at is not None and expires_at <= now):
                renewed.append({"row": entry_id, "at": now, "until": item.expires_at})
            else:
                touched.append({"row": entry_id, "at": now})
        by_id = E.id == bindparam("row")
        if touched:
            statement = update(ENTRIES).where(by_id).values(updated_at=bindparam("at"))
            self._session.connection().execute(statement, touched)
        if renewed:
            statement = (
                update(ENTRIES)
                .where(by_id)
                .values(updated_at=bindparam("at"), expires_at=bindparam("until"))
            )
            self._session.connection().execute(statement, renewed)
        tagged = [(ids[d], latest[d].tags) for d in (*existing, *fresh)]
        self._write_tags(tagged, categories, replace={ids[d] for d in existing})
        return UpsertOutcome(added=len(fresh), updated=len(existing), over_cap=tuple(refused))

    @staticmethod
    def _row(
        digest: str, item: NewEntry, source: str, added_by: str, now: datetime
    ) -> dict[str, Any]:
        entry = item.entry
        hi = lo = None
        if entry.first is not None:
            hi, lo = split_number(entry.first)
        return {
            "kind": str(entry.kind),
            "value": entry.text,
            "digest": digest,
            "addr_hi": hi,
            "addr_lo": lo,
            "prefix": entry.prefix,
            "name_length": len(entry.name)
            if entry.kind is EntryKind.DNS and not entry.exact
            else None,
            "source": source,
            "added_by": added_by[:128],
            "created_at": now,
            "updated_at": now,
            "expires_at": item.expires_at,
        }

    def _ids(self, digests: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(digests):
            query = select(E.digest, E.id).where(E.digest.in_(chunk))
            found.update({d: i for d, i in self._session.execute(query)})
        return found

    def _existing(self, digests: Sequence[str]) -> dict[str, tuple[int, datetime | None]]:
        found: dict[str, tuple[int, datetime | None]] = {}
        for chunk in _chunks(digests):
            query = select(E.digest, E.id, E.expires_at).where(E.digest.in_(chunk))
            found.update({d: (i, x) for d, i, x in self._session.execute(query)})
        return found

    def _write_tags(
        self,
        tagged: Sequence[tuple[int, Mapping[str, str]]],
        categories: Mapping[str, TagCategory],
        replace: Collection[int],
    ) -> None:
        """Write the tags; those of the entries in ``replace`` (already stored, so maybe
        tagged) replace their old tags of the same category. New entries have none to
        replace, so a large import of new entries deletes nothing."""
        by_category: dict[int, list[int]] = {}
        rows: list[dict[str, Any]] = []
        for entry_id, tags in tagged:
            for name, value in tags.items():
                category_id = categories[name].id
                if entry_id in replace:
                    by_category.setdefault(category_id, []).append(entry_id)
                rows.append({"entry_id": entry_id, "category_id": category_id, "value": value})
        for category_id, entry_ids in by_category.items():
            for chunk in _chunks(entry_ids):
                self._session.execute(
                    delete(TAGS).where(
                        TAGS.c.category_id == category_id, TAGS.c.entry_id.in_(chunk)
                    )
                )
        for chunk in _chunks(rows, 1000):
            self._session.execute(insert(TAGS), list(chunk))

    def delete(self, entries: Iterable[Entry]) -> int:
        """Delete these exact entries; return how many there were."""
        digests = [digest_of(e.key) for e in entries]
        return self._delete_ids(list(self._ids(digests).values()))

    def delete_owned(self, entries: Iterable[Entry], added_by: str) -> int:
        """Delete these entries where ``added_by`` added them; others stay."""
        digests = [digest_of(e.key) for e in entries]
        ids: list[int] = []
        for chunk in _chunks(digests):
            query = select(E.id).where(E.digest.in_(chunk), E.added_by == added_by)
            ids.extend(self._session.scalars(query))
        return self._delete_ids(ids)

    def _delete_ids(self, ids: Sequence[int]) -> int:
        # Tags first, explicitly: MariaDB and SQLite cascade too, but doing it here keeps
        # the count right even where foreign keys are off.
        deleted = 0
        for chunk in _chunks(ids):
            self._session.execute(delete(TAGS).where(TAGS.c.entry_id.in_(chunk)))
            result = self._session.execute(delete(ENTRIES).where(E.id.in_(chunk)))
            deleted += result.rowcount  # type: ignore[attr-defined]
        return deleted

    def delete_source(self, source: str | None, chunk: int = 10_000) -> int:
        """Delete at most ``chunk`` entries of ``source`` (``user`` or ``repdv``; None:
        any)."""
        condition = E.id.is_not(None) if source is None else E.source == source
        return self._delete_chunk(condition, chunk)

    def clear(self, source: str | None = None) -> int | None:
        """Delete every entry (of ``source``) with two whole-table statements, when no
        entry of another source would go with them; return how many went, or None when
        others exist (the caller then deletes in chunks). The check is an index seek."""
        if source is not None:
            others = [s for s in SOURCES if s != source]
            if self._session.scalar(select(E.id).where(E.source.in_(others)).limit(1)):
                return None
        count = self.count()
        self._session.execute(delete(TAGS))
        self._session.execute(delete(ENTRIES))
        return count

    def expire(self, now: datetime, chunk: int = 10_000) -> int:
        """Delete at most ``chunk`` entries expired at ``now``, oldest expiry first;
        callers loop until fewer than ``chunk`` go. Ordered by ``expires_at`` so the
        chunk is a seek on its index (by id, SQLite would scan the table)."""
        return self._delete_chunk(E.expires_at <= now, chunk, E.expires_at)

    def _delete_chunk(self, condition: ColumnElement[bool], chunk: int, order: Any = E.id) -> int:
        query = select(E.id).where(condition).order_by(order).limit(chunk)
        return self._delete_ids(list(self._session.scalars(query)))

    # -- reading ------------------------------------------------------------------------

    def get(self, entry: Entry, now: datetime | None = None) -> ReputationEntryRecord | None:
        found = self.exact([entry], now)
        return found[0] if found else None

    def exact(
        self, entries: Iterable[Entry], now: datetime | None = None
    ) -> list[ReputationEntryRecord]:
        """The stored entries among ``entries`` (by identity), sorted."""
        digests = sorted({digest_of(e.key) for e in entries})
        return self._by_digests(digests, now)

    def _by_digests(
        self, digests: Sequence[str], now: datetime | None
    ) -> list[ReputationEntryRecord]:
        rows: list[Any] = []
        for chunk in _chunks(digests):
            rows.extend(
                self._session.execute(select(ENTRIES).where(E.digest.in_(chunk), _live(now)))
            )
        return self._records(rows)

    def prefixes(self) -> list[int]:
        """The prefix lengths (shared space) that address entries use: one index seek per
        distinct length, so a few even over millions of entries."""
        found: list[int] = []
        last = -1
        while True:
            value = self._session.scalar(select(func.min(E.prefix)).where(E.prefix > last))
            if value is None:
                return found
            found.append(value)
            last = value

    def name_lengths(self) -> list[int]:
        """The lengths of the substring DNS entries, found as `prefixes` finds lengths."""
        found: list[int] = []
        last = -1
        while True:
            value = self._session.scalar(
                select(func.min(E.name_length)).where(E.name_length > last)
            )
            if value is None:
                return found
            found.append(value)
            last = value

    def containing(
        self,
        numbers: Iterable[int],
        now: datetime | None = None,
        *,
        blocks: Iterable[Entry] = (),
    ) -> list[ReputationEntryRecord]:
        """The address entries containing any of the addresses ``numbers`` (128-bit, IPv4
        mapped) or the whole of any of the ``blocks``, each once, sorted by address."""
        prefixes = self.prefixes()
        keys: set[tuple[int, int, int]] = set()
        for number in set(numbers):
            keys.update(_network_keys(number, 128, prefixes))
        for block in blocks:
            assert block.first is not None and block.prefix is not None
            keys.update(_network_keys(block.first, block.prefix, prefixes))
        return self._by_networks(sorted(keys), now)

    def _by_networks(
        self, keys: Sequence[tuple[int, int, int]], now: datetime | None
    ) -> list[ReputationEntryRecord]:
        rows: list[Any] = []
        query = _network_query()
        moment = now or EPOCH
        for chunk in _chunks(keys, NETWORK_SLOTS):
            # The last chunk is padded with its own last key: the statement stays the one
            # compiled (and cached) once, however many keys a query has.
            padded = [*chunk, *[chunk[-1]] * (NETWORK_SLOTS - len(chunk))]
            params: dict[str, Any] = {"now": moment}
            for slot, (hi, lo, prefix) in enumerate(padded):
                params.update({f"h{slot}": hi, f"l{slot}": lo, f"p{slot}": prefix})
            rows.extend(self._session.execute(query, params))
        return self._records(rows)

    def inside(
        self, entry: Entry, now: datetime | None = None, limit: int = 10_000
    ) -> list[ReputationEntryRecord]:
        """The address entries lying within the block of ``entry``: one range scan."""
        assert entry.first is not None and entry.prefix is not None
        last = entry.first | ((1 << (128 - entry.prefix)) - 1)
        (first_hi, first_lo), (last_hi, last_lo) = _halves(entry.first), _halves(last)
        if first_hi == last_hi:
            where = and_(E.addr_hi == first_hi, E.addr_lo.between(first_lo, last_lo))
        else:  # a prefix of 64 bits or less: whole high halves
            where = E.addr_hi.between(first_hi, last_hi)
        query = (
            select(ENTRIES)
            .where(where, E.prefix >= entry.prefix, _live(now))
            .order_by(E.addr_hi, E.addr_lo, E.prefix)
            .limit(limit)
        )
        return self._records(list(self._session.execute(query)))

    def matching_names(
        self, names: Iterable[str], now: datetime | None = None
    ) -> list[ReputationEntryRecord]:
        """The DNS entries matching any of ``names`` (normalised): an exact entry equal to
        the name, or a substring entry contained in it."""
        lengths = self.name_lengths()
        keys: set[str] = set()
        for name in set(names):
            keys.add(f"{EntryKind.DNS}:[{name}]")
            for length in lengths:
                if length > len(name):
                    break
                for start in range(len(name) - length + 1):
                    keys.add(f"{EntryKind.DNS}:{name[start : start + length]}")
        return self._by_digests(sorted(digest_of(k) for k in keys), now)

    def page(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        kind: EntryKind | None = None,
        source: str | None = None,
        now: datetime | None = None,
    ) -> list[ReputationEntryRecord]:
        """Live entries with an id above ``after``, by id (keyset paging on the primary
        key: the same cost on page one and page 60,000)."""
        query = select(ENTRIES).where(E.id > after, _live(now))
        if kind is not None:
            query = query.where(E.kind == str(kind))
        if source is not None:
            query = query.where(E.source == source)
        rows = list(self._session.execute(query.order_by(E.id).limit(limit)))
        return sorted(self._records(rows), key=lambda record: record.id)

    def refresh_statistics(self, written: int) -> bool:
        """On PostgreSQL, ``ANALYZE`` the entries and tags when the planner's figures are
        stale: never gathered, or ``written`` rows (just committed, maybe not counted yet)
        plus those changed since the last ANALYZE exceed a tenth of the table. Without
        this, after a bulk import and before autovacuum's next round, PostgreSQL plans the
        point lookups as scans: a 10,000-address query took 10 s instead of 0.5 s. The
        check is two catalog reads; the geometric rule keeps ANALYZEs few (about fifty
        while a table grows to a million rows). Other backends estimate by index dives
        (MariaDB) or need no statistics for these lookups (SQLite). Returns whether it
        analysed."""
        if self._session.get_bind().dialect.name != "postgresql":
            return False
        row = self._session.execute(
            text(
                "SELECT c.reltuples, coalesce(s.n_mod_since_analyze, 0) FROM pg_class c"
                " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
                " WHERE c.oid = to_regclass(:table)"
            ),
            {"table": ENTRIES.name},
        ).first()
        if row is None:
            return False
        rows, changed = float(row[0]), int(row[1]) + written
        if rows >= 0 and changed <= max(rows * 0.1, 1000):
            return False
        self._session.execute(text(f"ANALYZE {ENTRIES.name}, {TAGS.name}"))
        return True

    def count(self, *, kind: EntryKind | None = None, source: str | None = None) -> int:
        query = select(func.count()).select_from(ENTRIES)
        if kind is not None:
            query = query.where(E.kind == str(kind))
        if source is not None:
            query = query.where(E.source == source)
        return self._session.scalar(query) or 0

    def count_added_by(self, added_by: str) -> int:
        query = select(func.count()).select_from(ENTRIES).where(E.added_by == added_by)
        return self._session.scalar(query) or 0

    def _records(self, rows: Sequence[Any]) -> list[ReputationEntryRecord]:
        unique = {row.id: row for row in rows}
        tags: dict[int, list[tuple[str, str]]] = {}
        ids = sorted(unique)
        for chunk in _chunks(ids):
            query = (
                select(TAGS.c.entry_id, CATEGORIES.c.name, TAGS.c.value)
                .join(CATEGORIES, CATEGORIES.c.id == TAGS.c.category_id)
                .where(TAGS.c.entry_id.in_(chunk))
            )
            for entry_id, name, value in self._session.execute(query):
                tags.setdefault(entry_id, []).append((name, value))
        return [
            ReputationEntryRecord(
                id=row.id,
                kind=row.kind,
                value=row.value,
                source=row.source,
                added_by=row.added_by,
                created_at=row.created_at,
                updated_at=row.updated_at,
                expires_at=row.expires_at,
                tags=tuple(sorted(tags.get(row.id, []))),
            )
            for row in sorted(unique.values(), key=_address_order)
        ]
