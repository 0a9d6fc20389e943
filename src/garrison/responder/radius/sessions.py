"""The sessions the RADIUS proxy learns from switches' requests: which switch (NAS)
holds the host with this MAC, user or address, on which port, under which
Acct-Session-Id. The switch-disconnect action looks the host up here to know where to
send its Disconnect-Request and which session attributes to name.

Pure and bounded: the least recently seen session goes when the table is full, so a
switch flooding random MACs costs memory up to the limit and no more.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from garrison.responder.addresses import mac_or_empty

DEFAULT_MAX_SESSIONS = 100_000

# The proxy takes what switches send as it comes: "" for what is not a MAC.
normalize_mac = mac_or_empty


def rfc3580_mac(mac: str) -> str:
    """The Calling-Station-Id spelling RFC 3580 section 3.21 recommends:
    ``AA-BB-CC-DD-EE-01``."""
    return normalize_mac(mac).replace(":", "-").upper()


@dataclass(frozen=True, slots=True)
class RadiusSession:
    """One host's session at a switch, as the switch's RADIUS packets describe it."""

    client_address: str  # where the switch's packets came from: where it listens
    nas_address: str = ""  # NAS-IP-Address / NAS-IPv6-Address as the switch names itself
    nas_identifier: str = ""
    nas_port: int | None = None
    session_id: str = ""  # Acct-Session-Id
    mac: str = ""  # normalized
    calling_station_id: str = ""  # as the switch wrote it, to echo back unchanged
    user: str = ""
    framed_ip: str = ""
    last_seen: float = 0.0  # wall-clock seconds

    @property
    def switch(self) -> str:
        """The switch's address for dynamic authorization: where its packets come from."""
        return self.client_address or self.nas_address


_Key = tuple[str, ...]


class SessionTable:
    """Sessions by MAC (or, for a request without one, by switch and user), with the
    latest session of each user and framed address indexed for lookups."""

    def __init__(
        self,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self.max_sessions = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[_Key, RadiusSession] = OrderedDict()
        self._by_user: dict[str, _Key] = {}
        self._by_address: dict[str, _Key] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[RadiusSession]:
        return iter(list(self._sessions.values()))

    @staticmethod
    def _key(session: RadiusSession) -> _Key | None:
        if session.mac:
            return ("mac", session.mac)
        if session.user:
            return ("user", session.switch, session.user)
        return None

    def learn(
        self,
        *,
        client_address: str,
        nas_address: str = "",
        nas_identifier: str = "",
        nas_port: int | None = None,
        session_id: str = "",
        calling_station_id: str = "",
        user: str = "",
        framed_ip: str = "",
    ) -> RadiusSession | None:
        """Record what one packet says; values it leaves out keep what earlier packets
        of the same session said (an Access-Request names the MAC, the Accounting
        Start brings the framed address). Returns the merged session, or None when the
        packet names neither a MAC nor a user."""
        mac = normalize_mac(calling_station_id)
        incoming = RadiusSession(
            client_address=client_address,
            nas_address=nas_address,
            nas_identifier=nas_identifier,
            nas_port=nas_port,
            session_id=session_id,
            mac=mac,
            calling_station_id=calling_station_id if mac else "",
            user=user,
            framed_ip=framed_ip,
            last_seen=self._clock(),
        )
        key = self._key(incoming)
        if key is None:
            return None
        earlier = self._sessions.get(key)
        if earlier is None and mac and user:
            # The same host seen before without its MAC: absorb that entry.
            user_key = ("user", incoming.switch, user)
            earlier = self._sessions.get(user_key)
            if earlier is not None:
                self._remove(user_key)
        # A host that moved to another switch starts afresh: the old port and session
        # id belong to the old switch.
        same_switch = earlier is not None and earlier.switch == incoming.switch
        merged = _merge(earlier, incoming) if earlier is not None and same_switch else incoming
        self._store(key, merged)
        return merged

    def end(self, *, client_address: str, calling_station_id: str = "", user: str = "") -> bool:
        """Forget a session the switch says has stopped (Accounting Stop)."""
        mac = normalize_mac(calling_station_id)
        key: _Key = ("mac", mac) if mac else ("user", client_address, user)
        if key not in self._sessions or (not mac and not user):
            return False
        self._remove(key)
        return True

    def by_mac(self, mac: str) -> RadiusSession | None:
        normalized = normalize_mac(mac)
        return self._sessions.get(("mac", normalized)) if normalized else None

    def by_user(self, user: str) -> RadiusSession | None:
        key = self._by_user.get(user) if user else None
        return self._sessions.get(key) if key else None

    def by_address(self, address: str) -> RadiusSession | None:
        key = self._by_address.get(address) if address else None
        return self._sessions.get(key) if key else None

    def find(self, *, mac: str = "", address: str = "", user: str = "") -> RadiusSession | None:
        """The host's session: by MAC first, then its framed address, then its user."""
        return self.by_mac(mac) or self.by_address(address) or self.by_user(user)

    def _store(self, key: _Key, session: RadiusSession) -> None:
        earlier = self._sessions.get(key)
        if earlier is not None:
            self._unindex(key, earlier)
        self._sessions[key] = session
        self._sessions.move_to_end(key)
        if session.user:
            self._by_user[session.user] = key
        if session.framed_ip:
            self._by_address[session.framed_ip] = key
        while len(self._sessions) > self.max_sessions:
            oldest = next(iter(self._sessions))
            self._remove(oldest)

    def _remove(self, key: _Key) -> None:
        session = self._sessions.pop(key, None)
        if session is not None:
            self._unindex(key, session)

    def _unindex(self, key: _Key, session: RadiusSession) -> None:
        # Only where the index still points at this entry: a newer session of the same
        # user or address keeps its own.
        if self._by_user.get(session.user) == key:
            del self._by_user[session.user]
        if self._by_address.get(session.framed_ip) == key:
            del self._by_address[session.framed_ip]


def _merge(earlier: RadiusSession, incoming: RadiusSession) -> RadiusSession:
    return replace(
        incoming,
        nas_address=incoming.nas_address or earlier.nas_address,
        nas_identifier=incoming.nas_identifier or earlier.nas_identifier,
        nas_port=incoming.nas_port if incoming.nas_port is not None else earlier.nas_port,
        session_id=incoming.session_id or earlier.session_id,
        mac=incoming.mac or earlier.mac,
        calling_station_id=incoming.calling_station_id or earlier.calling_station_id,
        user=incoming.user or earlier.user,
        framed_ip=incoming.framed_ip or earlier.framed_ip,
    )
