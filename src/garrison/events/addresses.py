"""IP addresses as numbers, so that a CIDR filter is a range of numbers.

Every address maps into one 128-bit space: IPv6 as it is, IPv4 as its IPv4-mapped IPv6
form (::ffff:a.b.c.d), the way a dual-stack socket reports it. A network is then the
closed range of numbers [first, last]; the store keeps each number as two 64-bit halves
(see `garrison.store.events`) and the live stream compares the numbers themselves.

"""

from __future__ import annotations

import ipaddress
import socket

IPV4_MAPPED = 0xFFFF << 32  # ::ffff:0:0/96


def address_number(text: str) -> int | None:
    """The 128-bit number of an IPv4 or IPv6 address; None for "" or a non-address."""
    if not text:
        return None
    # inet_pton is the fast path (the writer numbers two addresses an event); ipaddress
    # takes what it refuses, such as a scoped fe80::1%eth0.
    try:
        return IPV4_MAPPED | int.from_bytes(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        pass
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text))
    except (OSError, ValueError):
        pass
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 4:
        return IPV4_MAPPED | int(address)
    return int(address)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """An address or CIDR block; host bits are ignored (10.1.2.3/8 means 10.0.0.0/8).

    Raises ValueError with a message that says what was wrong.
    """
    return ipaddress.ip_network(text.strip(), strict=False)


def network_spans(network: Network) -> list[tuple[int, int]]:
    """The ranges [first, last] of ``network`` in the shared 128-bit space.

    IPv4 and its IPv4-mapped form are one address, so an IPv4 block and the matching
    ::ffff:a.b.c.d/(96+n) block are one range. An IPv6 block wider than ::ffff:0:0/96
    (such as ::/0, "all of IPv6") leaves the mapped block out: it means IPv6 addresses,
    as it does to Python's ipaddress.
    """
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.version == 4:
        return [(IPV4_MAPPED | first, IPV4_MAPPED | last)]
    if network.prefixlen < 96 and first <= IPV4_MAPPED <= last:
        spans = [(first, IPV4_MAPPED - 1), (IPV4_MAPPED + 2**32, last)]
        return [(lo, hi) for lo, hi in spans if lo <= hi]
    return [(first, last)]
