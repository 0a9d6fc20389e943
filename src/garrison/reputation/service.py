"""The reputation store's service: entries and tag categories, capability-checked and
audited, plain records in and out.

The Web services (``repEntries``), the REST API, the CLI, TAXII and the Responder's
reputation-entry action all come through here. Every write is one transaction with one
audit line, however many entries it holds, so a 10,000-line import or a batch of the
Responder's adds costs one commit; every input is checked before anything is written,
so a write is all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from garrison.auth import Capability, Principal
from garrison.auth.audit import audited
from garrison.errors import Conflict, Invalid, NotFound
from garrison.reputation.model import (
    TTL_CATEGORY,
    Entry,
    EntryKind,
    TagCategory,
    TagInput,
    TagKind,
    UnknownCategory,
    check_category,
    check_category_name,
    check_tags,
    entry_kind,
    format_ttl,
    normalise_name,
    parse_address,
    parse_entry,
    parse_ttl,
)
from garrison.store import Store
from garrison.store.models import utcnow
from garrison.store.reputation import (
    SOURCES,
    NewEntry,
    ReputationEntries,
    ReputationEntryRecord,
    TagCategories,
    UpsertOutcome,
)

MAX_QUERY = 10_000  # values one query may name (the SMS's limit)
EXPIRE_CHUNK = 10_000
ANALYZE_AFTER = 1_000  # new entries in one write that make the store check its statistics


@dataclass(frozen=True, slots=True)
class EntryInput:
    """An entry as a caller gives it: the value, its tags (category -> value), and the
    kind when known (else guessed from the value). ``line``, when the entry came from a
    file, is its 1-based line there: errors about it name that line."""

    value: str
    tags: Mapping[str, TagInput] = field(default_factory=dict)
    kind: EntryKind | str | None = None
    expires_at: datetime | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """Entries one owner adds, with that owner's cap (None: no cap)."""

    items: Sequence[NewEntry]
    added_by: str
    cap: int | None = None


class ReputationService:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    # -- tag categories -----------------------------------------------------------------

    def create_category(
        self,
        actor: Principal,
        name: str,
        kind: TagKind | str,
        *,
        description: str = "",
        minimum: int | None = None,
        maximum: int | None = None,
        values: Iterable[str] = (),
        multiple: bool = False,
    ) -> TagCategory:
        actor.require(Capability.REPUTATION_WRITE)
        category = check_category(
            name,
            kind,
            description=description,
            minimum=minimum,
            maximum=maximum,
            choices=values,
            multiple=multiple,
        )
        with audited(
            self.store,
            actor,
            "reputation.category.create",
            f"tag-category:{category.name}",
            kind=str(category.kind),
        ) as tx:
            categories = TagCategories(tx.session)
            if categories.by_name(category.name) is not None:
                raise Conflict(f"a tag category named {category.name!r} already exists")
            return categories.add(category)

    def list_categories(self, actor: Principal) -> list[TagCategory]:
        actor.require(Capability.REPUTATION_READ)
        with self.store.transaction() as tx:
            return TagCategories(tx.session).list()

    def delete_category(self, actor: Principal, name: str, *, force: bool = False) -> None:
        """Delete a category; one still used by entries only with ``force`` (their tags of
        it go too)."""
        actor.require(Capability.REPUTATION_WRITE)
        name = check_category_name(name)
        with audited(self.store, actor, "reputation.category.delete", f"tag-category:{name}") as tx:
            categories = TagCategories(tx.session)
            category = categories.by_name(name)
            if category is None:
                raise NotFound(f"tag category {name!r} does not exist")
            if category.read_only:
                raise Invalid(f"tag category {name!r} is read-only")
            if category.name == TTL_CATEGORY:
                raise Invalid(f"tag category {name!r} is built in: expiry depends on it")
            if not force and categories.in_use(category.id):
                raise Conflict(f"tag category {name!r} is used by entries")
            categories.delete(category.id)

    # -- adding -------------------------------------------------------------------------

    def prepare(
        self, items: Sequence[EntryInput], categories: Mapping[str, TagCategory]
    ) -> list[NewEntry]:
        """Parse and check every item against ``categories``; raise `Invalid` naming the
        first bad one (its file line, else its position when there are several) before
        anything is written. The error keeps its kind (`UnknownCategory`)."""
        now = self.clock()
        prepared: list[NewEntry] = []
        for index, item in enumerate(items):
            try:
                prepared.append(self._prepare(item, categories, now))
            except Invalid as exc:
                raise _located(exc, item, index, len(items)) from None
        return prepared

    @staticmethod
    def _prepare(
        item: EntryInput, categories: Mapping[str, TagCategory], now: datetime
    ) -> NewEntry:
        entry = parse_entry(item.value, item.kind)
        tags = check_tags(categories, item.tags)
        expires_at = item.expires_at
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise Invalid("an expiry needs a time zone")
            if TTL_CATEGORY in categories:
                tags[TTL_CATEGORY] = format_ttl(expires_at)
        elif TTL_CATEGORY in tags:
            expires_at = parse_ttl(tags[TTL_CATEGORY])
        if expires_at is not None and expires_at <= now:
            raise Invalid(f"{TTL_CATEGORY} {format_ttl(expires_at)} is already past")
        return NewEntry(entry=entry, tags=tags, expires_at=expires_at)

    def categories(self) -> dict[str, TagCategory]:
        """Every category by name (no capability: a helper for writers already checked)."""
        with self.store.transaction() as tx:
            return {c.name: c for c in TagCategories(tx.session).list()}

    def add(
        self,
        actor: Principal,
        value: str,
        tags: Mapping[str, TagInput] | None = None,
        *,
        kind: EntryKind | str | None = None,
        expires_at: datetime | None = None,
    ) -> UpsertOutcome:
        """Add one entry, or update its tags if it exists."""
        return self.add_many(
            actor, [EntryInput(value=value, tags=tags or {}, kind=kind, expires_at=expires_at)]
        )

    def add_many(
        self,
        actor: Principal,
        items: Sequence[EntryInput],
        *,
        source: str = "user",
        added_by: str | None = None,
        cap: int | None = None,
    ) -> UpsertOutcome:
        """Add or update ``items`` in one transaction: all or nothing."""
        actor.require(Capability.REPUTATION_WRITE)
        if source not in SOURCES:
            raise Invalid(f"unknown entry source {source!r}; use one of {', '.join(SOURCES)}")
        prepared = self.prepare(items, self.categories())
        batch = Batch(items=prepared, added_by=added_by or actor.username, cap=cap)
        return self._write(actor, [batch], source)[0]

    def add_batches(self, actor: Principal, batches: Sequence[Batch]) -> list[UpsertOutcome]:
        """Several owners' prepared entries in one transaction (the batcher's flush)."""
        actor.require(Capability.REPUTATION_WRITE)
        return self._write(actor, batches, "user")

    def _write(
        self, actor: Principal, batches: Sequence[Batch], source: str
    ) -> list[UpsertOutcome]:
        try:
            outcomes = self._write_once(actor, batches, source)
        except IntegrityError:
            # Another writer added one of these entries between our look-up and insert;
            # on the second try it exists, and is updated instead.
            outcomes = self._write_once(actor, batches, source)
        added = sum(o.added for o in outcomes)
        if added >= ANALYZE_AFTER:
            # After the commit, in a transaction of its own: planner figures for a bulk
            # import, so the next query is planned for the table as it now is.
            with self.store.transaction() as tx:
                ReputationEntries(tx.session).refresh_statistics(added)
        return outcomes

    def _write_once(
        self, actor: Principal, batches: Sequence[Batch], source: str
    ) -> list[UpsertOutcome]:
        total = sum(len(b.items) for b in batches)
        first = batches[0].items[0].entry.text if total == 1 else f"{total} entries"
        with self.store.transaction() as tx:
            categories = {c.name: c for c in TagCategories(tx.session).list()}
            entries = ReputationEntries(tx.session)
            now = self.clock()
            outcomes = []
            for batch in batches:
                # A category deleted since the items were checked: refuse, nothing written.
                for item in batch.items:
                    for name in item.tags:
                        if name not in categories:
                            raise UnknownCategory(f"tag category {name!r} does not exist")
                outcomes.append(
                    entries.upsert(
                        batch.items,
                        categories=categories,
                        source=source,
                        added_by=batch.added_by,
                        cap=batch.cap,
                        now=now,
                    )
                )
            added = sum(o.added for o in outcomes)
            updated = sum(o.updated for o in outcomes)
            refused = sum(len(o.over_cap) for o in outcomes)
            # One audit line for the whole write, in its commit, with what it did.
            tx.audit.add(
                actor=actor.username,
                action="reputation.add",
                target=f"reputation:{first}",
                client_address=actor.client_address,
                detail=json.dumps({"added": added, "updated": updated, "over_cap": refused}),
            )
        return outcomes

    # -- deleting -----------------------------------------------------------------------

    def delete(
        self, actor: Principal, values: Sequence[str], *, kind: EntryKind | str | None = None
    ) -> int:
        """Delete these exact entries (``10.1.2.3/8`` names ``10.0.0.0/8``); return how
        many existed."""
        actor.require(Capability.REPUTATION_WRITE)
        entries = self._parse_all(values, kind)
        target = entries[0].text if len(entries) == 1 else f"{len(entries)} entries"
        with audited(self.store, actor, "reputation.delete", f"reputation:{target}") as tx:
            return ReputationEntries(tx.session).delete(entries)

    def delete_many(self, actor: Principal, items: Sequence[EntryInput]) -> int:
        """Delete the entries ``items`` name (each with its kind, and its file line for
        errors) in one transaction; return how many existed. Tags are ignored."""
        actor.require(Capability.REPUTATION_WRITE)
        if not items:
            raise Invalid("name at least one entry")
        entries = []
        for index, item in enumerate(items):
            try:
                entries.append(parse_entry(item.value, item.kind))
            except Invalid as exc:
                raise _located(exc, item, index, len(items)) from None
        target = entries[0].text if len(entries) == 1 else f"{len(entries)} entries"
        with audited(self.store, actor, "reputation.delete", f"reputation:{target}") as tx:
            return ReputationEntries(tx.session).delete(entries)

    def delete_owned(
        self,
        actor: Principal,
        values: Sequence[str],
        added_by: str,
        *,
        kind: EntryKind | str | None = None,
    ) -> int:
        """Delete these entries only where ``added_by`` added them (the Responder takes
        back its own entries, never a user's)."""
        actor.require(Capability.REPUTATION_WRITE)
        entries = self._parse_all(values, kind)
        target = entries[0].text if len(entries) == 1 else f"{len(entries)} entries"
        with audited(
            self.store, actor, "reputation.delete", f"reputation:{target}", added_by=added_by
        ) as tx:
            return ReputationEntries(tx.session).delete_owned(entries, added_by)

    def delete_all(
        self, actor: Principal, source: str | None = None, *, chunk: int = EXPIRE_CHUNK
    ) -> int:
        """Delete every entry, or every entry of ``source`` (``user``: all added by users,
        the SMS's ``criteria=user``; ``repdv``); return how many went. When nothing else
        is stored it is two whole-table statements; otherwise ``chunk`` entries a
        transaction, so a large wipe never holds the database for long."""
        actor.require(Capability.REPUTATION_WRITE)
        if source is not None and source not in SOURCES:
            raise Invalid(f"unknown entry source {source!r}; use one of {', '.join(SOURCES)}")
        with self.store.transaction() as tx:
            cleared = ReputationEntries(tx.session).clear(source)
        total = cleared or 0
        while cleared is None:  # other sources' entries stay: chunk by chunk
            with self.store.transaction() as tx:
                removed = ReputationEntries(tx.session).delete_source(source, chunk)
            total += removed
            if removed < chunk:
                break
        with audited(
            self.store, actor, "reputation.delete", f"reputation:{source or 'all'}", deleted=total
        ):
            pass
        return total

    def expire(self, now: datetime | None = None, chunk: int = EXPIRE_CHUNK) -> int:
        """Delete every entry whose TTL has passed, ``chunk`` at a time (each its own short
        transaction); return how many went. Housekeeping: no actor, no audit line each."""
        now = now or self.clock()
        total = 0
        while True:
            with self.store.transaction() as tx:
                removed = ReputationEntries(tx.session).expire(now, chunk)
            total += removed
            if removed < chunk:
                return total

    # -- reading ------------------------------------------------------------------------

    def get(
        self, actor: Principal, value: str, *, kind: EntryKind | str | None = None
    ) -> ReputationEntryRecord | None:
        """The entry ``value`` itself (exact identity), if stored and not expired."""
        actor.require(Capability.REPUTATION_READ)
        entry = parse_entry(value, kind)
        with self.store.transaction() as tx:
            return ReputationEntries(tx.session).get(entry, self.clock())

    def query_addresses(
        self, actor: Principal, addresses: Sequence[str]
    ) -> list[ReputationEntryRecord]:
        """The entries containing any of ``addresses`` (an address, or a whole block),
        each once, sorted by address."""
        actor.require(Capability.REPUTATION_READ)
        _check_count(addresses)
        parsed = [parse_address(a) for a in addresses]
        now = self.clock()
        with self.store.transaction() as tx:
            entries = ReputationEntries(tx.session)
            hosts = [p.first for p in parsed if p.prefix == 128 and p.first is not None]
            blocks = [p for p in parsed if p.prefix != 128]
            return entries.containing(hosts, now, blocks=blocks)

    def query_names(self, actor: Principal, names: Sequence[str]) -> list[ReputationEntryRecord]:
        """The DNS entries matching any of ``names``: exact entries equal to a name, and
        substring entries contained in one."""
        actor.require(Capability.REPUTATION_READ)
        _check_count(names)
        normalised = []
        for name in names:
            value = normalise_name(name.strip().strip("[]"))
            if not value:
                raise Invalid("a DNS query needs a name")
            normalised.append(value)
        with self.store.transaction() as tx:
            return ReputationEntries(tx.session).matching_names(normalised, self.clock())

    def query_exact(
        self, actor: Principal, values: Sequence[str], *, kind: EntryKind | str | None = None
    ) -> list[ReputationEntryRecord]:
        """The stored entries named exactly by ``values`` (URLs are matched this way)."""
        actor.require(Capability.REPUTATION_READ)
        _check_count(values)
        entries = self._parse_all(values, kind)
        with self.store.transaction() as tx:
            return ReputationEntries(tx.session).exact(entries, self.clock())

    def list_entries(
        self,
        actor: Principal,
        *,
        after: int = 0,
        limit: int = 100,
        kind: EntryKind | str | None = None,
        source: str | None = None,
    ) -> list[ReputationEntryRecord]:
        """Live entries with an id above ``after``, by id: a page of at most ``limit``
        (pass the last id seen as the next ``after``)."""
        actor.require(Capability.REPUTATION_READ)
        chosen = None if kind is None else entry_kind(kind)
        if source is not None and source not in SOURCES:
            raise Invalid(f"unknown entry source {source!r}; use one of {', '.join(SOURCES)}")
        with self.store.transaction() as tx:
            return ReputationEntries(tx.session).page(
                after=after, limit=limit, kind=chosen, source=source, now=self.clock()
            )

    def count_added_by(self, actor: Principal, added_by: str) -> int:
        actor.require(Capability.REPUTATION_READ)
        with self.store.transaction() as tx:
            return ReputationEntries(tx.session).count_added_by(added_by)

    def owned(self, actor: Principal, value: str, added_by: str) -> bool:
        """Whether ``value`` is stored as an entry ``added_by`` added."""
        record = self.get(actor, value)
        return record is not None and record.added_by == added_by

    @staticmethod
    def _parse_all(values: Sequence[str], kind: EntryKind | str | None) -> list[Entry]:
        if not values:
            raise Invalid("name at least one entry")
        return [parse_entry(v, kind) for v in values]


def _located(error: Invalid, item: EntryInput, index: int, count: int) -> Invalid:
    """``error`` about ``item`` saying which entry it is: its file line, else its position
    among several; of the same kind (an `UnknownCategory` stays one)."""
    if item.line is not None:  # the caller has the file: the line is enough
        return type(error)(f"line {item.line}: {error}")
    if count == 1:
        return error
    return type(error)(f"entry {index + 1} ({item.value.strip()[:80]!r}): {error}")


def _check_count(values: Sequence[str]) -> None:
    if not values:
        raise Invalid("name at least one value to look up")
    if len(values) > MAX_QUERY:
        raise Invalid(f"at most {MAX_QUERY} values in one query; {len(values)} given")
