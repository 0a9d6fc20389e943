"""What a reputation entry is, pure: the four entry kinds, how each is parsed and written in
its one canonical form, and the tag categories with the rules their values follow.

The canonical form is what the store keys on and what a query answers with, so that
``10.1.2.3/8`` and ``10.0.0.0/8`` are one entry, ``WWW.Foo.COM.`` and ``www.foo.com`` one
name, and an IPv4-mapped IPv6 address is its IPv4 address (the store numbers both alike).

Addresses live in the 128-bit space of `garrison.events.addresses` (IPv4 as ::ffff:a.b.c.d),
so an entry is the pair (first number, prefix length in that space): 10.0.0.0/8 is
(::ffff:10.0.0.0, 104). The store indexes that pair, which makes "which entries contain
address X" a handful of point lookups: X's network at each prefix length in use.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit

from garrison.errors import Invalid
from garrison.events.addresses import IPV4_MAPPED, Network

# -- entry kinds --------------------------------------------------------------------------


class EntryKind(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DNS = "dns"
    URL = "url"


ADDRESS_KINDS = frozenset({EntryKind.IPV4, EntryKind.IPV6})
MAX_NAME = 253  # a DNS name's longest text form
MAX_LABEL = 63
MAX_URL = 2048  # what browsers and proxies reliably handle; also the column's size
LIST_SEPARATOR = "~~~"  # how the SMS joins a list tag's values on the wire


@dataclass(frozen=True, slots=True)
class Entry:
    """One parsed, canonical entry.

    ``text`` is the canonical form shown to users (``10.0.0.0/8``, ``1.2.3.4``, ``foo.com``,
    ``[foo.com]`` for an exact-match name). For addresses, ``first`` is the network's first
    address and ``prefix`` its length, both in the shared 128-bit space; for names, ``name``
    is the name without brackets and ``exact`` says whether it must match whole.
    """

    kind: EntryKind
    text: str
    first: int | None = None
    prefix: int | None = None
    name: str = ""
    exact: bool = False

    @property
    def key(self) -> str:
        """The identity the store keys on: one entry per key."""
        return f"{self.kind}:{self.text}"

    @property
    def network(self) -> Network:
        if self.first is None or self.prefix is None:
            raise ValueError(f"{self.text!r} is not an address entry")
        return to_network(self.first, self.prefix)


def to_network(first: int, prefix: int) -> Network:
    """The Python network of a (first, prefix) pair of the shared space."""
    if prefix >= 96 and first >> 32 == IPV4_MAPPED >> 32:
        return ipaddress.IPv4Network((first & 0xFFFFFFFF, prefix - 96))
    return ipaddress.IPv6Network((first, prefix))


def network_key(number: int, prefix: int) -> int:
    """The first address of the /``prefix`` network (shared space) holding ``number``."""
    mask = ((1 << prefix) - 1) << (128 - prefix) if prefix else 0
    return number & mask


def _address_text(network: Network) -> str:
    """A single host as a plain address (as the SMS lists it), a block as a CIDR."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_HOST = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")  # ASCII digits, no leading zeros


def parse_address(text: str) -> Entry:
    """An IPv4 or IPv6 address or CIDR block, host bits cleared (``10.1.2.3/8`` is
    ``10.0.0.0/8``); an IPv4-mapped IPv6 address or block becomes its IPv4 form.

    Raises `Invalid` saying what was wrong.
    """
    value = text.strip()
    if _IPV4_HOST.fullmatch(value):
        # The common case (imports and queries of 10,000 hosts), without `ipaddress`,
        # which costs twenty times as much; the pattern accepts exactly what it would.
        a, b, c, d = (int(octet) for octet in value.split("."))
        number = a << 24 | b << 16 | c << 8 | d
        return Entry(kind=EntryKind.IPV4, text=value, first=IPV4_MAPPED | number, prefix=128)
    if not value:
        raise Invalid("an address entry needs an address")
    if "%" in value:
        raise Invalid(f"{value!r}: a scoped IPv6 address (with %zone) cannot be an entry")
    try:
        network: Network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise Invalid(f"{value!r} is not an IPv4 or IPv6 address or CIDR block") from None
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            network = ipaddress.IPv4Network((int(mapped), network.prefixlen - 96))
    if network.version == 4:
        first, prefix = IPV4_MAPPED | int(network.network_address), 96 + network.prefixlen
        kind = EntryKind.IPV4
    else:
        first, prefix = int(network.network_address), network.prefixlen
        kind = EntryKind.IPV6
    return Entry(kind=kind, text=_address_text(network), first=first, prefix=prefix)


_NAME_CHARS = re.compile(r"^[a-z0-9_.-]+$")


def normalise_name(text: str) -> str:
    """A host name as DNS compares it: lower case, no trailing dot, IDNA (punycode) for
    non-ASCII labels. Raises `Invalid`."""
    name = text.strip().lower().rstrip(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise Invalid(f"{text.strip()!r} is not a valid internationalised name") from None
    return name


def parse_dns(text: str) -> Entry:
    """A DNS entry: ``foo.com`` matches every name containing it (``www.foo.com``);
    ``[foo.com]`` matches ``foo.com`` only. A substring entry may start with a dot
    (``.foo.com``: its subdomains, not itself). Raises `Invalid`."""
    value = text.strip()
    exact = value.startswith("[") and value.endswith("]") and len(value) >= 2
    inner = value[1:-1] if exact else value
    if not inner.strip():
        raise Invalid("a DNS entry needs a name")
    name = normalise_name(inner)
    shown = inner.strip()
    if "*" in name:
        raise Invalid(
            f"{shown!r}: no wildcards; an entry without brackets already matches every "
            "name containing it"
        )
    if not _NAME_CHARS.match(name):
        raise Invalid(f"{shown!r} is not a DNS name (letters, digits, '-', '_' and '.' only)")
    if len(name) > MAX_NAME:
        raise Invalid(f"{shown[:40]!r}...: a DNS name has at most {MAX_NAME} characters")
    labels = name[1:].split(".") if name.startswith(".") and not exact else name.split(".")
    if any(not label for label in labels):
        raise Invalid(f"{shown!r}: empty label (two dots in a row, or a lone dot)")
    if any(len(label) > MAX_LABEL for label in labels):
        raise Invalid(f"{shown!r}: a DNS label has at most {MAX_LABEL} characters")
    return Entry(kind=EntryKind.DNS, text=f"[{name}]" if exact else name, name=name, exact=exact)


def parse_url(text: str) -> Entry:
    """A URL entry. Scheme and host are lower-cased (they are case-insensitive); the path
    and query are kept as given. A URL without a scheme (``www.foo.com/x``) stays so.
    Raises `Invalid`."""
    value = text.strip()
    if not value:
        raise Invalid("a URL entry needs a URL")
    if len(value) > MAX_URL:
        raise Invalid(f"{value[:40]!r}...: a URL entry has at most {MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise Invalid(f"{value[:60]!r}: a URL has no spaces or control characters")
    if "://" in value:
        parts = urlsplit(value)
        if not parts.scheme or not parts.netloc:
            raise Invalid(f"{value[:60]!r} is not a URL (scheme://host/path)")
        head = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        rest = value[value.index("://") + 3 + len(parts.netloc) :]
    else:
        host, slash, path = value.partition("/")
        if not host:
            raise Invalid(f"{value[:60]!r} is not a URL: it has no host")
        head, rest = host.lower(), slash + path
    return Entry(kind=EntryKind.URL, text=head + rest)


_LOOKS_NUMERIC = re.compile(r"^[0-9.]+(/[0-9]*)?$")


def kind_of(value: str) -> EntryKind:
    """The kind a bare value looks like: an address (or something meant as one: digits
    and dots, or a colon without ``://``), else a URL (has ``/``), else a DNS name.
    Callers that know the kind should say it."""
    text = value.strip()
    try:
        return parse_address(text).kind
    except Invalid:
        pass
    if _LOOKS_NUMERIC.match(text) or (":" in text and "://" not in text and "/" not in text):
        return EntryKind.IPV6 if ":" in text else EntryKind.IPV4
    if "/" in text:
        return EntryKind.URL
    return EntryKind.DNS


def entry_kind(kind: EntryKind | str) -> EntryKind:
    """The entry type named by ``kind`` in any case. Raises `Invalid`."""
    try:
        return EntryKind(str(kind).lower())
    except ValueError:
        raise Invalid(
            f"unknown entry type {kind!r}; use one of {', '.join(k.value for k in EntryKind)}"
        ) from None


def parse_entry(value: str, kind: EntryKind | str | None = None) -> Entry:
    """Parse ``value`` as an entry of ``kind`` (guessed when None; ``"ip"`` is either
    address family, as the SMS's ``ip=`` parameter). Raises `Invalid`."""
    if kind is None:
        kind = kind_of(value)
    if str(kind).lower() == "ip":
        return parse_address(value)
    kind = entry_kind(kind)
    if kind in ADDRESS_KINDS:
        entry = parse_address(value)
        if entry.kind != kind:
            raise Invalid(f"{value.strip()!r} is an {entry.kind} address, not {kind}")
        return entry
    if kind is EntryKind.DNS:
        return parse_dns(value)
    return parse_url(value)


# -- tag categories -----------------------------------------------------------------------


class TagKind(StrEnum):
    TEXT = "text"
    RANGE = "range"  # a whole number between minimum and maximum
    LIST = "list"  # one of the category's values, or several if it allows multiple
    YESNO = "yesno"


TEXT_LIMIT = 255  # the SMS's longest text tag
MAX_CATEGORY_NAME = 128
MAX_CHOICES = 1000
TTL_CATEGORY = "Reputation Entries TTL"
DV_SCORE_CATEGORY = "Reputation DV Score - Manual"

TagInput = str | int | bool | Sequence[str]


class UnknownCategory(Invalid):
    """A tag names a category that does not exist. The SMS requires categories to exist
    before entries use them, so the Web services answer this as a failed precondition."""


@dataclass(frozen=True, slots=True)
class TagCategory:
    """A tag category's rules. ``minimum``/``maximum`` bound a range; ``choices`` are a
    list's allowed values, ``multiple`` lets an entry hold several of them."""

    name: str
    kind: TagKind
    description: str = ""
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    multiple: bool = False
    read_only: bool = False
    id: int = 0
    created_at: datetime | None = field(default=None, compare=False)


def _no_controls(text: str) -> bool:
    return not any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def check_category_name(name: str) -> str:
    value = name.strip()
    if not value:
        raise Invalid("a tag category needs a name")
    if len(value) > MAX_CATEGORY_NAME:
        raise Invalid(f"tag category names have at most {MAX_CATEGORY_NAME} characters")
    if not _no_controls(value) or LIST_SEPARATOR in value:
        raise Invalid(f"tag category {value!r}: no control characters or '~~~' in a name")
    return value


def check_category(
    name: str,
    kind: TagKind | str,
    *,
    description: str = "",
    minimum: int | None = None,
    maximum: int | None = None,
    choices: Iterable[str] = (),
    multiple: bool = False,
) -> TagCategory:
    """A new category's settings checked; raises `Invalid` naming the category."""
    name = check_category_name(name)
    try:
        kind = TagKind(str(kind).lower())
    except ValueError:
        raise Invalid(
            f"tag category {name!r}: unknown kind {kind!r}; "
            f"use one of {', '.join(k.value for k in TagKind)}"
        ) from None
    if len(description) > TEXT_LIMIT:
        raise Invalid(f"tag category {name!r}: description longer than {TEXT_LIMIT}")
    values = tuple(v.strip() for v in choices)
    if kind is TagKind.RANGE:
        if minimum is None or maximum is None:
            raise Invalid(f"tag category {name!r}: a numeric range needs minimum and maximum")
        if minimum > maximum:
            raise Invalid(f"tag category {name!r}: minimum {minimum} is above maximum {maximum}")
        if max(abs(minimum), abs(maximum)) >= 2**63:
            raise Invalid(f"tag category {name!r}: range bounds must fit in 64 bits")
    elif minimum is not None or maximum is not None:
        raise Invalid(f"tag category {name!r}: only a numeric range has minimum/maximum")
    if kind is TagKind.LIST:
        if not values:
            raise Invalid(f"tag category {name!r}: a list needs its values")
        if len(values) > MAX_CHOICES:
            raise Invalid(f"tag category {name!r}: at most {MAX_CHOICES} list values")
        folded = [v.casefold() for v in values]
        if len(set(folded)) != len(folded):
            raise Invalid(f"tag category {name!r}: list values repeat")
        for value in values:
            if not value or len(value) > TEXT_LIMIT or LIST_SEPARATOR in value:
                raise Invalid(
                    f"tag category {name!r}: list value {value!r} must be 1-{TEXT_LIMIT} "
                    "characters without '~~~'"
                )
    elif values:
        raise Invalid(f"tag category {name!r}: only a list has values")
    elif multiple:
        raise Invalid(f"tag category {name!r}: only a list may allow multiple values")
    return TagCategory(
        name=name,
        kind=kind,
        description=description,
        minimum=minimum,
        maximum=maximum,
        choices=values,
        multiple=multiple,
    )


def parse_ttl(text: str) -> datetime:
    """The expiry a ``Reputation Entries TTL`` value names: ``2018-10-25 07:15:00-0400``
    (the SMS's form), ISO 8601, or a date; no zone means UTC."""
    value = text.strip()
    for pattern in ("%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M%z"):
        try:
            return datetime.strptime(value, pattern).astimezone(UTC)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"tag {TTL_CATEGORY!r}: {value!r} is not a date such as 2026-10-25 07:15:00-0400"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_ttl(moment: datetime) -> str:
    """A TTL value in the SMS's form, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S%z")


def check_tag(category: TagCategory, value: TagInput) -> str:
    """The canonical stored text of ``value`` for ``category``; raises `Invalid` naming the
    category. Lists are joined with ``~~~`` in the category's own spelling."""
    where = f"tag {category.name!r}"
    if category.kind is TagKind.YESNO:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if not isinstance(value, str):
            raise Invalid(f"{where}: a yes/no tag takes yes or no, not {value!r}")
        # The SMS's rule: "yes" in any case is yes; anything else is no.
        return "yes" if value.strip().lower() == "yes" else "no"
    if category.kind is TagKind.RANGE:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise Invalid(f"{where}: takes a whole number, not {value!r}")
        try:
            number = int(value.strip()) if isinstance(value, str) else value
        except ValueError:
            raise Invalid(f"{where}: {value!r} is not a whole number") from None
        assert category.minimum is not None and category.maximum is not None
        if not category.minimum <= number <= category.maximum:
            raise Invalid(f"{where}: {number} is outside {category.minimum}..{category.maximum}")
        return str(number)
    if category.kind is TagKind.LIST:
        if isinstance(value, str):
            items = value.split(LIST_SEPARATOR)
        elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            items = list(value)
        else:
            raise Invalid(f"{where}: takes one of its list values, not {value!r}")
        spelled = {c.casefold(): c for c in category.choices}
        chosen: list[str] = []
        for item in (i.strip() for i in items):
            canonical = spelled.get(item.casefold())
            if canonical is None:
                allowed = ", ".join(category.choices[:10])
                raise Invalid(f"{where}: {item!r} is not one of its values ({allowed})")
            if canonical not in chosen:
                chosen.append(canonical)
        if not chosen:
            raise Invalid(f"{where}: no value given")
        if len(chosen) > 1 and not category.multiple:
            raise Invalid(f"{where}: takes a single value; {len(chosen)} given")
        return LIST_SEPARATOR.join(chosen)
    # Text.
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Invalid(f"{where}: takes text, not {value!r}")
    text = str(value).strip()
    if len(text) > TEXT_LIMIT:
        raise Invalid(f"{where}: text longer than {TEXT_LIMIT} characters")
    if not _no_controls(text):
        raise Invalid(f"{where}: text holds control characters")
    if category.name == TTL_CATEGORY:
        return format_ttl(parse_ttl(text))
    return text


def is_empty(value: TagInput) -> bool:
    """An empty value drops its tag (the SMS's import rule)."""
    if isinstance(value, bool | int):
        return False
    if isinstance(value, str):
        return not value.strip()
    return not any(v.strip() for v in value)


def check_tags(
    categories: Mapping[str, TagCategory], tags: Mapping[str, TagInput]
) -> dict[str, str]:
    """Every tag checked against its category: category name -> canonical text. Empty
    values are dropped; an unknown or read-only category is refused by name."""
    checked: dict[str, str] = {}
    for name, value in tags.items():
        if not name.strip():
            raise Invalid("a tag needs a category name (an empty category was given)")
        category = categories.get(name.strip())
        if category is None:
            raise UnknownCategory(f"tag category {name.strip()!r} does not exist")
        if category.read_only:
            raise Invalid(f"tag category {category.name!r} is read-only")
        if is_empty(value):
            continue
        checked[category.name] = check_tag(category, value)
    return checked
