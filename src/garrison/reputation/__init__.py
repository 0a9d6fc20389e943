"""The reputation store: IPv4/IPv6 addresses and blocks, DNS names and URLs, each with tags
of typed categories and an optional expiry; the Web services' ``repEntries``, TAXII and the
Responder's reputation-entry action write here.

``model`` is pure (parsing, canonical forms, tag rules); ``service`` is the capability-
checked, audited API over `garrison.store.reputation`; ``batcher`` aggregates the
Responder's adds into few transactions. Only ``model`` is imported here: the store imports
it, and the service imports the store.
"""

from garrison.reputation.model import (
    EntryKind,
    TagCategory,
    TagKind,
    check_tag,
    check_tags,
    parse_address,
    parse_dns,
    parse_entry,
    parse_url,
)

__all__ = [
    "EntryKind",
    "TagCategory",
    "TagKind",
    "check_tag",
    "check_tags",
    "parse_address",
    "parse_dns",
    "parse_entry",
    "parse_url",
]
