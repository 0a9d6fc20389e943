"""Learning the catalog from the fleet's events. Pure: no I/O.

Until Garrison installs real Digital Vaccine packages, the SIGNATURE, ACTIONSET and SEGMENT
tables hold what the devices report: every alert names its signature (UUID, number, name,
severity, category, protocol), its action set, and the segment it was seen on. The events
writer hands each batch to a `CatalogLearner`, which returns only what it has not seen
before; the writer stores that in the same transaction as the events, so the catalog never
names a signature whose events were rolled back, nor misses one that was stored.

Memory is bounded by the size of the catalog (thousands of signatures, a few segments a
device), not by the number of events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from garrison.catalog.defaults import catalog_id
from garrison.events.model import Action, Event, EventKind

PHYSICAL_SLOT_INDEX = 3  # SEGMENT.SLOT_INDEX of a physical segment (0 is virtual)

FLOW_CONTROL = {
    Action.BLOCK: "DENY",
    Action.QUARANTINE: "DENY",
    Action.PERMIT: "ALLOW",
    Action.ALERT: "ALLOW",
    Action.RATE_LIMIT: "RATE",
    Action.TRUST: "TRUST",
}

# "1:3" (tptPolicyNotifySegmentName, <slot>:<index>) or zone names "1-3A 1-3B" / "3A 3B".
_SLOT_INDEX = re.compile(r"^\s*(\d{1,3}):(\d{1,4})\s*$")
_ZONE = re.compile(r"(?:(\d{1,3})-)?(\d{1,4})[AB]\b")
_NUMBER_TAIL = re.compile(r"-(\d{1,12})$")


@dataclass(frozen=True, slots=True)
class LearnedSignature:
    id: str  # the signature UUID
    number: int | None
    name: str
    severity: int
    category: str
    protocol: str


@dataclass(frozen=True, slots=True)
class LearnedActionSet:
    id: str
    name: str
    flow_control: str


@dataclass(frozen=True, slots=True)
class LearnedSegment:
    id: str
    device_id: int
    segment_index: int
    name: str  # "Segment 1-3 (A > B)"
    ports: str  # "3A 3B"


@dataclass(slots=True)
class Learned:
    signatures: list[LearnedSignature] = field(default_factory=list)
    action_sets: list[LearnedActionSet] = field(default_factory=list)
    segments: list[LearnedSegment] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.signatures or self.action_sets or self.segments)


def segment_of(text: str) -> tuple[int, int] | None:
    """(slot, segment index) from what an event names as its segment, if anything."""
    if match := _SLOT_INDEX.match(text):
        return int(match[1]), int(match[2])
    if match := _ZONE.search(text):
        return int(match[1] or 1), int(match[2])
    return None


def segment_name(slot: int, index: int) -> str:
    return f"Segment {slot}-{index} (A > B)"


def signature_number(event: Event) -> int | None:
    if event.signature_number is not None:
        return event.signature_number
    match = _NUMBER_TAIL.search(event.signature_id)
    return int(match[1]) if match else None


class CatalogLearner:
    """Remembers what is already in the catalog and picks the new items out of a batch."""

    def __init__(
        self,
        signatures: Iterable[str] = (),
        action_sets: Iterable[str] = (),
        segments: Iterable[tuple[int, int]] = (),
    ) -> None:
        # Ids and names compare without case, as MariaDB's unique keys do.
        self._signatures = {s.casefold() for s in signatures}
        self._action_sets = {a.casefold() for a in action_sets}
        self._segments = set(segments)  # (device id, segment index)

    def new_in(self, batch: Sequence[Event]) -> Learned:
        """What ``batch`` shows that is not known yet. The items count as known from now
        on; if storing them fails, call `forget` so the next batch offers them again."""
        learned = Learned()
        for event in batch:
            if event.kind is not EventKind.ALERT:
                continue
            if event.signature_id and event.signature_id.casefold() not in self._signatures:
                self._signatures.add(event.signature_id.casefold())
                learned.signatures.append(_signature(event))
            if event.action_set and event.action_set.casefold() not in self._action_sets:
                self._action_sets.add(event.action_set.casefold())
                learned.action_sets.append(_action_set(event))
            if event.segment and event.device_id is not None:
                place = segment_of(event.segment)
                if place is not None and (event.device_id, place[1]) not in self._segments:
                    self._segments.add((event.device_id, place[1]))
                    learned.segments.append(_segment(event.device_id, *place))
        return learned

    def forget(self, learned: Learned) -> None:
        self._signatures.difference_update(s.id.casefold() for s in learned.signatures)
        self._action_sets.difference_update(a.name.casefold() for a in learned.action_sets)
        self._segments.difference_update((s.device_id, s.segment_index) for s in learned.segments)


def _signature(event: Event) -> LearnedSignature:
    return LearnedSignature(
        id=event.signature_id[:36],
        number=signature_number(event),
        name=event.name[:255],
        severity=int(event.severity),
        category=event.category[:64],
        protocol=event.protocol[:32],
    )


def _action_set(event: Event) -> LearnedActionSet:
    name = event.action_set[:128]
    return LearnedActionSet(
        id=catalog_id("action-set", name),
        name=name,
        flow_control=FLOW_CONTROL.get(event.action, "ALLOW"),
    )


def _segment(device_id: int, slot: int, index: int) -> LearnedSegment:
    return LearnedSegment(
        id=catalog_id("segment", f"{device_id}:{index}"),
        device_id=device_id,
        segment_index=index,
        name=segment_name(slot, index),
        ports=f"{index}A {index}B",
    )
