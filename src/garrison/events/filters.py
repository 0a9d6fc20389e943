"""Which events a query, an export or a live stream wants: one pure type, parsed from the
strings of query parameters and command-line options, with errors that name the parameter.

Values of one parameter are alternatives (``severity=major,critical``: either); different
parameters must all hold (``severity=critical&src=10.0.0.0/8``: both). A parameter may be
repeated or carry a comma-separated list.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from garrison.errors import Invalid
from garrison.events.addresses import Network, address_number, network_spans, parse_network
from garrison.events.model import Action, Event, EventKind, Severity

T = TypeVar("T")

TIME_FIELDS = ("received", "end")
MAX_VALUES = 100  # alternatives in one parameter; keeps every query a bounded statement
MAX_TEXT = 255
MAX_DEVICE_ID = 2**31 - 1  # the inventory's ids are 32-bit on every backend
# The store keeps times between these (MariaDB's DATETIME ends at 9999).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
MAX_EPOCH_MS = int(LATEST.timestamp() * 1000)

# One description a parameter, shared by the API's OpenAPI schema and the CLI's --help.
FILTER_HELP: dict[str, str] = {
    "since": "Events at or after this time: ISO 8601 with a zone "
    "(2026-01-31T08:00:00Z) or epoch milliseconds.",
    "until": "Events before this time (exclusive); same forms as since.",
    "time_field": "Which time since/until compare: received (when Garrison got the event, "
    "the default) or end (END_TIME, the end of the device's aggregation period).",
    "device": "Device inventory id (a number) or device name; several allowed.",
    "severity": "Only these severities: low, minor, major, critical or 1-4; several allowed.",
    "min_severity": "Only this severity and above: low, minor, major, critical or 1-4.",
    "signature": "Filter (signature) number, e.g. 7001, or signature UUID; several allowed.",
    "category": "Category, exactly as stored, e.g. Exploits; several allowed.",
    "src": "Source address or CIDR block, IPv4 or IPv6 (10.0.0.0/8, 2001:db8::/32); "
    "several allowed.",
    "dst": "Destination address or CIDR block, IPv4 or IPv6; several allowed.",
    "src_port": "Source port 0-65535; several allowed.",
    "dst_port": "Destination port 0-65535; several allowed.",
    "action": "What the device did: block, permit, rate-limit, alert, quarantine, trust; "
    "several allowed.",
    "kind": "Event kind: alert, quarantine, trha, device-log, trap, syslog, system; "
    "several allowed.",
    "name": "Text the filter name contains (any case).",
}


@dataclass(frozen=True, slots=True)
class EventFilters:
    """Conditions on events; the empty value matches every event."""

    since: datetime | None = None
    until: datetime | None = None
    time_field: str = "received"
    device_ids: tuple[int, ...] = ()
    device_names: tuple[str, ...] = ()
    severities: tuple[Severity, ...] = ()
    signature_numbers: tuple[int, ...] = ()
    signature_ids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    src: tuple[Network, ...] = ()
    dst: tuple[Network, ...] = ()
    src_ports: tuple[int, ...] = ()
    dst_ports: tuple[int, ...] = ()
    actions: tuple[Action, ...] = ()
    kinds: tuple[EventKind, ...] = ()
    name: str = ""

    def matches(self, event: Event) -> bool:
        """The same conditions the store applies, for events that are not stored yet
        (the live stream)."""
        moment = event.received_at if self.time_field == "received" else event.end_time
        if self.since is not None and (moment is None or moment < self.since):
            return False
        if self.until is not None and (moment is None or moment >= self.until):
            return False
        if (self.device_ids or self.device_names) and not (
            event.device_id in self.device_ids or event.device_name in self.device_names
        ):
            return False
        if (self.signature_numbers or self.signature_ids) and not (
            event.signature_number in self.signature_numbers
            or event.signature_id in self.signature_ids
        ):
            return False
        checks = (
            (self.severities, event.severity),
            (self.categories, event.category),
            (self.src_ports, event.src_port),
            (self.dst_ports, event.dst_port),
            (self.actions, event.action),
            (self.kinds, event.kind),
        )
        if any(wanted and value not in wanted for wanted, value in checks):
            return False
        if not (_in_any(event.src_ip, self.src) and _in_any(event.dst_ip, self.dst)):
            return False
        return not self.name or self.name.lower() in event.name.lower()


def _in_any(address: str, networks: tuple[Network, ...]) -> bool:
    if not networks:
        return True
    number = address_number(address)
    if number is None:
        return False
    return any(first <= number <= last for n in networks for first, last in network_spans(n))


# -- parsing --------------------------------------------------------------------------


def parse_time(value: str | int, param: str) -> datetime:
    """ISO 8601 with a zone, or epoch milliseconds (the SMS's unit), as an aware UTC time."""
    text = str(value).strip()
    if text.isdigit():
        ms = int(text)
        if ms > MAX_EPOCH_MS:
            raise Invalid(f"{param}: {text} epoch milliseconds is after the year 9999")
        return datetime.fromtimestamp(ms / 1000, UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"{param}: {text[:40]!r} is neither ISO 8601 (2026-01-31T08:00:00Z) "
            "nor epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        raise Invalid(f"{param}: {text[:40]!r} needs a time zone, e.g. Z or +01:00")
    outside = Invalid(f"{param}: {text[:40]!r} is outside 1970-9999")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # the year 1 or 9999 pushed past the calendar by the zone
        raise outside from None
    if not EARLIEST <= moment <= LATEST:
        raise outside
    return moment


def parse_severity(text: str, param: str) -> Severity:
    word = text.strip().lower()
    try:
        return Severity(int(word)) if word.isdigit() else Severity[word.upper()]
    except (KeyError, ValueError):
        raise Invalid(
            f"{param}: {text[:20]!r} is not a severity (low, minor, major, critical or 1-4)"
        ) from None


def _port(text: str, param: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise Invalid(f"{param}: {text[:20]!r} is not a port number 0-65535")
    return int(text)


def _network(text: str, param: str) -> Network:
    try:
        return parse_network(text)
    except ValueError:
        raise Invalid(
            f"{param}: {text[:50]!r} is not an IPv4 or IPv6 address or CIDR block"
        ) from None


def _choice(kind: Callable[[str], T], names: str) -> Callable[[str, str], T]:
    def parse(text: str, param: str) -> T:
        try:
            return kind(text.strip().lower())
        except ValueError:
            raise Invalid(f"{param}: {text[:20]!r} is not one of {names}") from None

    return parse


_action = _choice(Action, ", ".join(a.value for a in Action if a.value))
_kind = _choice(EventKind, ", ".join(k.value for k in EventKind))


def _device_id(text: str) -> int:
    if len(text) > 10 or int(text) > MAX_DEVICE_ID:
        raise Invalid(f"device: {text[:20]} is larger than any device id")
    return int(text)


def _text(text: str, param: str) -> str:
    if len(text) > MAX_TEXT:
        raise Invalid(f"{param}: at most {MAX_TEXT} characters")
    return text


Raw = str | Sequence[str] | None


def _values(raw: Raw, param: str) -> list[str]:
    """Every value of a repeated or comma-separated parameter, blanks dropped."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    values = [v.strip() for item in items for v in item.split(",") if v.strip()]
    if len(values) > MAX_VALUES:
        raise Invalid(f"{param}: at most {MAX_VALUES} values")
    return values


def _each(raw: Raw, param: str, parse: Callable[[str, str], T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(parse(v, param) for v in _values(raw, param)))


def _one(raw: Raw, param: str) -> str | None:
    """A parameter that takes one value, taken whole (a name may hold commas)."""
    items = [] if raw is None else [raw] if isinstance(raw, str) else list(raw)
    values = [v.strip() for v in items if v.strip()]
    if len(values) > 1:
        raise Invalid(f"{param}: give it once")
    return values[0] if values else None


def parse_filters(
    *,
    since: Raw = None,
    until: Raw = None,
    time_field: Raw = None,
    device: Raw = None,
    severity: Raw = None,
    min_severity: Raw = None,
    signature: Raw = None,
    category: Raw = None,
    src: Raw = None,
    dst: Raw = None,
    src_port: Raw = None,
    dst_port: Raw = None,
    action: Raw = None,
    kind: Raw = None,
    name: Raw = None,
) -> EventFilters:
    """EventFilters from parameter strings (see FILTER_HELP); raises Invalid naming the
    parameter that is wrong."""
    start = _one(since, "since")
    end = _one(until, "until")
    moments = {
        "since": parse_time(start, "since") if start else None,
        "until": parse_time(end, "until") if end else None,
    }
    if moments["since"] and moments["until"] and moments["since"] >= moments["until"]:
        raise Invalid("until: must be after since")
    field = (_one(time_field, "time_field") or "received").lower()
    if field not in TIME_FIELDS:
        raise Invalid(f"time_field: {field[:20]!r} is not one of {', '.join(TIME_FIELDS)}")

    devices = _values(device, "device")
    severities = _each(severity, "severity", parse_severity)
    floor = _one(min_severity, "min_severity")
    if floor is not None:
        lowest = parse_severity(floor, "min_severity")
        above = tuple(s for s in Severity if s >= lowest)
        severities = tuple(s for s in severities if s >= lowest) if severities else above
        if not severities:
            raise Invalid("min_severity: excludes every severity the severity parameter lists")

    signatures = _values(signature, "signature")
    numbers, uuids = [], []
    for value in signatures:
        if value.isdigit() and len(value) <= 10:
            numbers.append(int(value))
            continue
        try:
            uuids.append(str(uuid.UUID(value)))
        except ValueError:
            raise Invalid(
                f"signature: {value[:40]!r} is neither a filter number nor a UUID"
            ) from None

    words = _one(name, "name")
    return EventFilters(
        since=moments["since"],
        until=moments["until"],
        time_field=field,
        device_ids=tuple(_device_id(d) for d in devices if d.isdigit()),
        device_names=tuple(_text(d, "device") for d in devices if not d.isdigit()),
        severities=severities,
        signature_numbers=tuple(numbers),
        signature_ids=tuple(uuids),
        categories=_each(category, "category", _text),
        src=_each(src, "src", _network),
        dst=_each(dst, "dst", _network),
        src_ports=_each(src_port, "src_port", _port),
        dst_ports=_each(dst_port, "dst_port", _port),
        actions=_each(action, "action", _action),
        kinds=_each(kind, "kind", _kind),
        name=_text(words or "", "name"),
    )


def parse_query(items: Iterable[tuple[str, str]], *, ignore: Iterable[str] = ()) -> EventFilters:
    """EventFilters from raw ``(name, value)`` query pairs, e.g. a WebSocket's URL; names
    other than the filters and ``ignore`` are refused."""
    known = set(FILTER_HELP)
    skipped = set(ignore)
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        if key in skipped:
            continue
        if key not in known:
            raise Invalid(f"{key[:40]}: not a filter; filters are {', '.join(FILTER_HELP)}")
        grouped.setdefault(key, []).append(value)
    return parse_filters(**grouped)  # type: ignore[arg-type]


# -- order ----------------------------------------------------------------------------

# What a listing may be ordered by; ties are broken by id, so paging is stable.
SORT_FIELDS = (
    "id",
    "received_at",
    "end_time",
    "severity",
    "device",
    "signature",
    "name",
    "category",
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
    "action",
    "kind",
    "hit_count",
)
SORT_HELP = (
    "Order: one of " + ", ".join(SORT_FIELDS) + "; a leading - means descending. "
    "Default -id: newest stored first."
)


@dataclass(frozen=True, slots=True)
class Sort:
    field: str = "id"
    descending: bool = True


def parse_sort(text: str | None) -> Sort:
    if not text:
        return Sort()
    word = text.strip()
    descending = word.startswith("-")
    field = word.lstrip("-+")
    if field not in SORT_FIELDS:
        raise Invalid(f"sort: {field[:30]!r} is not one of {', '.join(SORT_FIELDS)}")
    return Sort(field, descending)
