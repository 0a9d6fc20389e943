"""Who is under an open response right now, by address, MAC and user: the RADIUS proxy
asks it (``blocks``) for every Access-Request, so lookups are set membership."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Host:
    address: str
    mac: str
    user: str


class QuarantinedHosts:
    """Implements ``garrison.responder.actions.base.QuarantineRegistry``."""

    def __init__(self) -> None:
        self._by_response: dict[int, Host] = {}
        self._addresses: Counter[str] = Counter()
        self._macs: Counter[str] = Counter()
        self._users: Counter[str] = Counter()

    def add(self, response_id: int, address: str, mac: str = "", user: str = "") -> None:
        if response_id in self._by_response:
            return
        host = Host(address, mac.lower(), user.lower())
        self._by_response[response_id] = host
        self._addresses[host.address] += 1
        if host.mac:
            self._macs[host.mac] += 1
        if host.user:
            self._users[host.user] += 1

    def remove(self, response_id: int) -> None:
        host = self._by_response.pop(response_id, None)
        if host is None:
            return
        for counter, key in (
            (self._addresses, host.address),
            (self._macs, host.mac),
            (self._users, host.user),
        ):
            if key:
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def blocks(self, *, mac: str = "", user: str = "") -> bool:
        return bool((mac and mac.lower() in self._macs) or (user and user.lower() in self._users))

    def has_address(self, address: str) -> bool:
        return address in self._addresses

    def __len__(self) -> int:
        return len(self._by_response)
