"""The *Allow Active Response* and *Never Respond* sets of a policy: addresses, CIDR
blocks and ranges (``10.0.0.1-10.0.0.99``), IPv4 and IPv6, as sorted number ranges so a
lookup is a binary search whatever the size of the set."""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from garrison.errors import Invalid
from garrison.events.addresses import address_number, network_spans, parse_network

MAX_ENTRIES = 10_000


def parse_entry(text: str) -> list[tuple[int, int]]:
    """One entry as ranges in the shared 128-bit space (see ``garrison.events.addresses``).

    Raises ``Invalid`` naming the entry and the accepted forms.
    """
    entry = text.strip()
    if "-" in entry and "/" not in entry:
        first_text, _, last_text = entry.partition("-")
        try:
            first = ipaddress.ip_address(first_text.strip())
            last = ipaddress.ip_address(last_text.strip())
        except ValueError:
            raise _bad(entry) from None
        if first.version != last.version:
            raise Invalid(f"address range {entry!r} mixes IPv4 and IPv6")
        if first > last:
            raise Invalid(f"address range {entry!r} ends before it starts")
        low = address_number(str(first))
        high = address_number(str(last))
        assert low is not None and high is not None
        return [(low, high)]
    try:
        network = parse_network(entry)
    except ValueError:
        raise _bad(entry) from None
    return network_spans(network)


def _bad(entry: str) -> Invalid:
    return Invalid(
        f"{entry[:60]!r} is not an address, CIDR block or range; "
        "use 192.0.2.7, 192.0.2.0/24, 192.0.2.1-192.0.2.99 or 2001:db8::/32"
    )


@dataclass(frozen=True)
class AddressSet:
    """A set of address ranges; ``entries`` keeps what the operator wrote."""

    entries: tuple[str, ...]
    _starts: tuple[int, ...]
    _ends: tuple[int, ...]

    @classmethod
    def parse(cls, entries: Iterable[str], where: str = "address set") -> AddressSet:
        texts = tuple(e.strip() for e in entries if e.strip())
        if len(texts) > MAX_ENTRIES:
            raise Invalid(f"{where}: {len(texts)} entries, at most {MAX_ENTRIES}")
        spans: list[tuple[int, int]] = []
        for text in texts:
            try:
                spans.extend(parse_entry(text))
            except Invalid as exc:
                raise Invalid(f"{where}: {exc}") from None
        merged: list[tuple[int, int]] = []
        for low, high in sorted(spans):
            if merged and low <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], high))
            else:
                merged.append((low, high))
        return cls(texts, tuple(s for s, _ in merged), tuple(e for _, e in merged))

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        number = address_number(address)
        if number is None:
            return False
        index = bisect.bisect_right(self._starts, number) - 1
        return index >= 0 and number <= self._ends[index]


EMPTY = AddressSet.parse(())


def normalize_address(text: str) -> str:
    """A host address in its canonical text (IPv4-mapped IPv6 as IPv4); ``Invalid`` if
    it is not one address."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise Invalid(f"{text[:60]!r} is not an IPv4 or IPv6 address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


_MAC_SEPARATORS = re.compile(r"[-:.\s]")
_HEX12 = re.compile(r"[0-9a-f]{12}")


def mac_or_empty(text: str) -> str:
    """A MAC in any common spelling (``AA-BB-CC-DD-EE-01`` as RFC 3580 asks,
    ``aabb.ccdd.ee01``, ``aabbccddee01``, ``aa:bb:...``) as lower-case colon form; ""
    when ``text`` is not a MAC (a switch may send a phone number or a host name)."""
    bare = _MAC_SEPARATORS.sub("", text.strip().lower())
    if not _HEX12.fullmatch(bare):
        return ""
    return ":".join(bare[i : i + 2] for i in range(0, 12, 2))


def normalize_mac(text: str) -> str:
    """A MAC address as lower-case ``aa:bb:cc:dd:ee:ff``; "" stays ""; anything else is
    ``Invalid``."""
    if not text.strip():
        return ""
    mac = mac_or_empty(text)
    if not mac:
        raise Invalid(f"{text[:40]!r} is not a MAC address; use aa:bb:cc:dd:ee:ff")
    return mac
