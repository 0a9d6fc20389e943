"""Reputation entries found by a tag's value: which entries came from STIX indicator X.

TAXII revocation (an indicator sent again with ``revoked: true``) deletes the entries that
carry the indicator's ID in their ``STIX - ID`` tag. `garrison.store.reputation` finds
entries by address and name, not by tag, so this one query lives here, over its tables
(read only: deleting goes through the reputation service). It joins on the tags' category
index, so it reads the tags of that one category only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from garrison.store.reputation import CATEGORIES, ENTRIES, TAGS

CHUNK = 500  # values per IN (...): under every backend's parameter limit


@dataclass(frozen=True, slots=True)
class TaggedEntry:
    kind: str  # "ipv4", "ipv6", "dns" or "url"
    value: str  # the entry's canonical text
    tag: str  # the tag value it was found by


def entries_tagged(session: Session, category: str, values: Sequence[str]) -> list[TaggedEntry]:
    """The entries whose tag of ``category`` is exactly one of ``values``, expired ones
    included (they are still stored until swept), in entry order."""
    found: list[TaggedEntry] = []
    wanted = sorted(set(values))
    for start in range(0, len(wanted), CHUNK):
        query = (
            select(ENTRIES.c.kind, ENTRIES.c.value, TAGS.c.value)
            .join(TAGS, TAGS.c.entry_id == ENTRIES.c.id)
            .join(CATEGORIES, CATEGORIES.c.id == TAGS.c.category_id)
            .where(CATEGORIES.c.name == category, TAGS.c.value.in_(wanted[start : start + CHUNK]))
            .order_by(ENTRIES.c.id)
        )
        found.extend(TaggedEntry(kind, value, tag) for kind, value, tag in session.execute(query))
    return found
