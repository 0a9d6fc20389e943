"""What every transport does with one message once it has its bytes: check the sender,
parse, normalize, publish. Transports differ only in how they get the bytes."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from garrison.collectors.syslog.drops import DropRecorder
from garrison.collectors.syslog.errors import UNKNOWN_SOURCE, ParseError
from garrison.collectors.syslog.normalize import to_event
from garrison.collectors.syslog.parse import parse_syslog
from garrison.events.bus import EventBus
from garrison.events.model import Event
from garrison.metrics import Metrics

log = logging.getLogger("garrison.collectors.syslog")

# The inventory's answer to "which device has this address?": its id, or None.
SourceLookup = Callable[[str], int | None]


def no_inventory(address: str) -> int | None:
    """A lookup that knows no device (every sender is unknown)."""
    return None


def plain_address(address: str) -> str:
    """``::ffff:192.0.2.1`` (an IPv4 sender on a dual-stack socket) -> ``192.0.2.1``, so
    the inventory sees the address it stores."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return address


class Admission:
    """Which senders are heard: inventory devices, and anyone when the settings say so."""

    def __init__(self, lookup: SourceLookup, accept_unknown: bool) -> None:
        self._lookup = lookup
        self._accept_unknown = accept_unknown

    def admit(self, address: str) -> tuple[bool, int | None]:
        """(heard?, device id)."""
        try:
            device_id = self._lookup(address)
        except Exception:  # the inventory failing must not stop the receiver
            log.exception("syslog: looking up the sender %s failed", address)
            device_id = None
        return device_id is not None or self._accept_unknown, device_id


class MessageHandler:
    """One transport's path from bytes to the bus."""

    def __init__(
        self,
        transport: str,
        bus: EventBus,
        metrics: Metrics,
        drops: DropRecorder,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.transport = transport
        self._bus = bus
        self._received = metrics.syslog_received.labels(transport)
        self._drops = drops
        self._clock = clock

    def handle(self, item: bytes | ParseError, peer: str, device_id: int | None) -> Event | None:
        """Publish the event for one message (or count why there is none)."""
        self._received.inc()
        if isinstance(item, ParseError):  # the framing already found it bad
            self.drop(item.reason, peer, item.detail)
            return None
        now = self._clock()
        try:
            event = to_event(
                parse_syslog(item, now), source_address=peer, device_id=device_id, received_at=now
            )
        except ParseError as exc:
            self.drop(exc.reason, peer, exc.detail)
            return None
        self._bus.publish(event)
        return event

    def drop(self, reason: str, peer: str, detail: str) -> None:
        self._drops.record(reason, self.transport, peer, detail)

    def unknown_source(self, peer: str) -> None:
        self.drop(UNKNOWN_SOURCE, peer, "not in the inventory ([syslog] accept_unknown_sources)")
