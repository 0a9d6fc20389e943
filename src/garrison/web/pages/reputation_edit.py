"""The two reputation writes the console needs beyond `ReputationService`: saving an
edited entry whole, and expiring an entry now.

The service's add keeps the tags a caller does not name (the SMS's ``repEntries/add``
rule), so clearing a tag in the edit form would do nothing; an edit here replaces the
entry's writable tags and its expiry with exactly what the form holds. "Expire now" sets
the entry's expiry (and its TTL tag) to this moment: it leaves every query at once and
the expiry sweep deletes it, as if its TTL had run out. Each is one audited transaction
on the entry's primary key; the checks are the service's own (`ReputationService.prepare`).
"""

from __future__ import annotations

from sqlalchemy import delete, update

from garrison.auth import Capability, Principal
from garrison.auth.audit import audited
from garrison.errors import NotFound
from garrison.reputation.model import TTL_CATEGORY, EntryKind, format_ttl, parse_entry
from garrison.reputation.service import EntryInput, ReputationService
from garrison.store.reputation import ENTRIES, TAGS, NewEntry, ReputationEntries, TagCategories


def replace_entry(reputation: ReputationService, actor: Principal, item: EntryInput) -> str:
    """Make the stored entry ``item`` names hold exactly ``item``'s tags and expiry
    (read-only tags, such as a feed's, stay); return its canonical value. Raises
    `NotFound` when it is not stored, `Invalid` for a bad value or tag."""
    actor.require(Capability.REPUTATION_WRITE)
    prepared = reputation.prepare([item], reputation.categories())[0]
    now = reputation.clock()
    entry = prepared.entry
    target = f"reputation:{entry.text}"
    with audited(
        reputation.store, actor, "reputation.edit", target, tags=sorted(prepared.tags)
    ) as tx:
        entries = ReputationEntries(tx.session)
        stored = entries.get(entry, now)
        if stored is None:
            raise NotFound(f"{entry.text} is not stored (deleted or expired meanwhile)")
        categories = {c.name: c for c in TagCategories(tx.session).list()}
        writable = [c.id for c in categories.values() if not c.read_only]
        tx.session.execute(
            delete(TAGS).where(TAGS.c.entry_id == stored.id, TAGS.c.category_id.in_(writable))
        )
        tx.session.execute(update(ENTRIES).where(ENTRIES.c.id == stored.id).values(expires_at=None))
        entries.upsert(
            [prepared],
            categories=categories,
            source=stored.source,
            added_by=stored.added_by,
            now=now,
        )
    return entry.text


def expire_entry(
    reputation: ReputationService, actor: Principal, value: str, kind: EntryKind | str | None
) -> str:
    """Expire the entry ``value`` names now; return its canonical value. Raises
    `NotFound` when it is not stored (or already expired)."""
    actor.require(Capability.REPUTATION_WRITE)
    entry = parse_entry(value, kind)
    now = reputation.clock()
    with audited(reputation.store, actor, "reputation.expire", f"reputation:{entry.text}") as tx:
        entries = ReputationEntries(tx.session)
        stored = entries.get(entry, now)
        if stored is None:
            raise NotFound(f"{entry.text} is not stored (deleted or expired meanwhile)")
        categories = {c.name: c for c in TagCategories(tx.session).list()}
        tags = {TTL_CATEGORY: format_ttl(now)} if TTL_CATEGORY in categories else {}
        # An upsert of an existing entry with an expiry sets it: one code path for TTLs.
        entries.upsert(
            [NewEntry(entry=entry, tags=tags, expires_at=now)],
            categories=categories,
            source=stored.source,
            added_by=stored.added_by,
            now=now,
        )
    return entry.text
