"""Which device an address belongs to: an in-memory map the collectors ask for every trap
and syslog line, so it never touches the database on the hot path."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable


# Pure, and called for every datagram from a sender outside the inventory.
@functools.lru_cache(maxsize=4096)
def _canonical(address: str) -> str | None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)


class DeviceDirectory:
    """``address -> device id``. Refreshed by `DeviceService` after every change and when
    the server starts; reads are a dict lookup and safe from any thread, because a refresh
    swaps in a whole new dict."""

    def __init__(self, loader: Callable[[], Iterable[tuple[str, int]]] | None = None) -> None:
        self._ids: dict[str, int] = {}
        # Where the rows come from when nobody loaded the map yet (a server whose poller
        # is disabled): the first lookup loads it once.
        self._loader = loader
        self._loaded = False

    def load(self, rows: Iterable[tuple[str, int]]) -> None:
        """Replace the map with ``(address, id)`` rows; when two devices share an address
        the first row (the lowest id) wins."""
        ids: dict[str, int] = {}
        for address, device_id in rows:
            ids.setdefault(address, device_id)
        self._ids = ids
        self._loaded = True

    def lookup(self, address: str) -> int | None:
        """The id of the device at ``address``, or None. Accepts any spelling of the
        address (``::ffff:10.0.0.1``, upper-case IPv6) but tries the exact text first."""
        if not self._loaded and self._loader is not None:
            self.load(self._loader())
        ids = self._ids
        found = ids.get(address)
        if found is not None:
            return found
        canonical = _canonical(address)
        return None if canonical is None else ids.get(canonical)

    __call__ = lookup  # a collector's ``source_lookup(address) -> int | None``

    def __len__(self) -> int:
        return len(self._ids)
