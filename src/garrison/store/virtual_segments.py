"""Virtual segments (the SMS's VIRTUAL_SEGMENT): create, update and delete by name, list
in position order, over `VirtualSegmentRow`.

A virtual segment arrives as a `VirtualSegmentSpec` (parsed from the ``virtualsegment``
Web service's XML) whose devices, physical segments and segment group are references;
this module resolves them against the inventory and the catalog, inside the caller's
transaction, and raises the errors of `garrison.errors`:

* `NotFound` for a reference to nothing: an unknown device, segment, segment group,
  virtual segment, or any named VLAN or address group (Garrison has none yet, so a named
  group can never be found; the Web service reports it as a resource error).
* `Conflict` for a name another virtual segment already has (names compare without case,
  as MariaDB's unique key does, so every database behaves alike).

Positions are kept contiguous, 1 = first: a create or an update that moves a segment
renumbers the others, as the SMS's ordered table does; an ordinal position beyond the end
means last.

Physical segments are the ones the device's events have shown (SegmentRow, learned by
`garrison.catalog.learner`). A device that has not reported on a segment yet still has
it, so a name of the form ``Segment 1-N (A > B)`` is accepted up to the number of physical
segments of the device's model (`MODEL_SEGMENTS`, by sysObjectID or model name; the largest
when the model is not known yet). Names match without case and are stored in the catalog's
spelling.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from garrison.catalog.learner import segment_name
from garrison.catalog.virtual_segment_xml import (
    Addresses,
    DeviceRef,
    GroupRef,
    NamedGroup,
    PhysicalSegment,
    Position,
    PositionType,
    VirtualSegmentSpec,
    VlanRange,
    Vlans,
)
from garrison.datatables.identifiers import DEVICE_PREFIX
from garrison.errors import Conflict, NotFound
from garrison.store.catalog import SegmentGroupRow, SegmentRow, VirtualSegmentRow
from garrison.store.devices import Device
from garrison.store.models import utcnow

# TippingPoint models: (the last arc of the sysObjectID 1.3.6.1.4.1.10734.1.3.<arc>, facts
# sheet §3.2; the model name; its physical segments).
MODELS = (
    (28, "1400N", 4), (29, "2500N", 4), (30, "5100N", 4), (34, "6100N", 4),
    (35, "7100NX", 4), (36, "5200NX", 4), (44, "2600NX", 4), (45, "6200NX", 8),
    (46, "7500NX", 8), (47, "440T", 2), (48, "2200T", 4), (49, "vTPS", 1), (50, "vTPS-P", 1),
)  # fmt: skip
MODEL_SEGMENTS = {key: count for arc, name, count in MODELS for key in (str(arc), name)}
TIPPINGPOINT_MODELS = "1.3.6.1.4.1.10734.1.3."
MOST_SEGMENTS = max(MODEL_SEGMENTS.values())
_PHYSICAL_NAME = re.compile(r"segment\s*1\s*-\s*(\d{1,4})\s*\(\s*a\s*>\s*b\s*\)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a virtual segment sits on one device."""

    device_id: int
    device_name: str
    device_address: str
    segments: tuple[str, ...]
    # When the device was added: a device id SQLite reuses after a delete must not bring
    # the deleted device's placements back on a new device.
    device_added: str = ""


@dataclass(frozen=True, slots=True)
class VirtualSegmentRecord:
    id: str
    name: str
    description: str
    position: int  # 1 = first
    vlans: Vlans
    sources: Addresses
    destinations: Addresses
    segment_group_id: str | None
    segment_group_name: str | None
    placements: tuple[Placement, ...]
    created_at: datetime
    updated_at: datetime

    def spec(self) -> VirtualSegmentSpec:
        """The record as the Web service writes it: every reference spelled out."""
        group = (
            None
            if self.segment_group_id is None
            else GroupRef(id=self.segment_group_id, name=self.segment_group_name)
        )
        return VirtualSegmentSpec(
            id=self.id,
            name=self.name,
            description=self.description,
            position=Position(PositionType.ORDINAL_POSITION, self.position),
            vlans=self.vlans,
            sources=self.sources,
            destinations=self.destinations,
            segment_group=group,
            physical=tuple(
                PhysicalSegment(
                    DeviceRef(
                        id=str(p.device_id),
                        short_id=str(p.device_id),
                        name=p.device_name,
                        ip_address=p.device_address,
                    ),
                    p.segments,
                )
                for p in self.placements
            ),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """What a create, update or delete did: the segment after it (before it, for a delete)
    and the placements it had before (empty for a create)."""

    record: VirtualSegmentRecord
    previous: tuple[Placement, ...] = ()


def model_segments(model: str, sys_object_id: str) -> int:
    """How many physical segments a device of this model has; the most any has if unknown."""
    arc = sys_object_id.lstrip(".").removeprefix(TIPPINGPOINT_MODELS)
    for key in (arc, model.strip()):
        if key in MODEL_SEGMENTS:
            return MODEL_SEGMENTS[key]
    return MOST_SEGMENTS


# -- the definition column ----------------------------------------------------------------------


def _encode_list(value: Iterable[Any] | NamedGroup) -> Any:
    return {"named": value.name} if isinstance(value, NamedGroup) else list(value)


def encode_definition(spec: VirtualSegmentSpec, placements: Sequence[Placement]) -> str:
    """The ``definition`` column: what the segment matches and where it sits."""
    vlans = spec.vlans
    return json.dumps(
        {
            "vlans": _encode_list(
                vlans if isinstance(vlans, NamedGroup) else ([v.start, v.end] for v in vlans)
            ),
            "sources": _encode_list(spec.sources),
            "destinations": _encode_list(spec.destinations),
            "physical": [
                {"device_id": p.device_id, "added": p.device_added, "segments": list(p.segments)}
                for p in placements
            ],
        },
        separators=(",", ":"),
    )


def _decode_named(value: Any) -> NamedGroup | None:
    return NamedGroup(str(value["named"])) if isinstance(value, dict) else None


def decode_vlans(value: Any) -> Vlans:
    return _decode_named(value) or tuple(VlanRange(int(s), int(e)) for s, e in value or ())


def decode_addresses(value: Any) -> Addresses:
    return _decode_named(value) or tuple(str(cidr) for cidr in value or ())


# -- the repository -----------------------------------------------------------------------------


class VirtualSegments:
    def __init__(self, session: Session) -> None:
        self._session = session

    # reading

    def list(self) -> list[VirtualSegmentRecord]:
        """Every virtual segment, in position order."""
        return self._records(self._ordered())

    def get(self, name: str) -> VirtualSegmentRecord:
        return self._records([_named(name, self._ordered())])[0]

    def _ordered(self) -> list[VirtualSegmentRow]:
        query = select(VirtualSegmentRow).order_by(
            VirtualSegmentRow.position, VirtualSegmentRow.created_at, VirtualSegmentRow.name
        )
        return list(self._session.scalars(query))

    def _records(self, rows: Sequence[VirtualSegmentRow]) -> list[VirtualSegmentRecord]:
        definitions = [json.loads(row.definition or "{}") for row in rows]
        device_ids = {int(p["device_id"]) for d in definitions for p in d.get("physical", ())}
        devices = (
            {
                d.id: d
                for d in self._session.scalars(select(Device).where(Device.id.in_(device_ids)))
            }
            if device_ids
            else {}
        )
        query = select(SegmentGroupRow.id, SegmentGroupRow.name)
        groups = {group_id: name for group_id, name in self._session.execute(query)}
        records = []
        for row, definition in zip(rows, definitions, strict=True):
            placements = tuple(
                _placement(device, p["segments"])
                for p in definition.get("physical", ())
                # A deleted device takes its placements with it.
                if (device := devices.get(int(p["device_id"]))) is not None
                and p.get("added", _added(device)) == _added(device)
            )
            records.append(
                VirtualSegmentRecord(
                    id=row.id,
                    name=row.name,
                    description=row.description,
                    position=row.position,
                    vlans=decode_vlans(definition.get("vlans")),
                    sources=decode_addresses(definition.get("sources")),
                    destinations=decode_addresses(definition.get("destinations")),
                    segment_group_id=row.segment_group_id,
                    segment_group_name=groups.get(row.segment_group_id or ""),
                    placements=placements,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                )
            )
        return records

    # writing

    def create(self, spec: VirtualSegmentSpec) -> Change:
        rows = self._ordered()
        self._check_name_free(spec.name, rows)
        group_id, placements = self._resolve(spec)
        now = utcnow()
        row = VirtualSegmentRow(
            id=str(uuid.uuid4()),
            name=spec.name,
            description=spec.description,
            position=0,  # set by _place
            definition=encode_definition(spec, placements),
            segment_group_id=group_id,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        self._place(rows, row, spec.position or Position(PositionType.LAST))
        self._flush(spec.name)
        return Change(self._records([row])[0])

    def update(self, name: str, spec: VirtualSegmentSpec) -> Change:
        """Replace the definition of the segment ``name`` (it may be renamed); a spec
        without a position keeps the segment where it is."""
        rows = self._ordered()
        row = _named(name, rows)
        before = self._records([row])[0]
        others = [r for r in rows if r is not row]
        self._check_name_free(spec.name, others)
        group_id, placements = self._resolve(spec)
        row.name = spec.name
        row.description = spec.description
        row.definition = encode_definition(spec, placements)
        row.segment_group_id = group_id
        row.updated_at = utcnow()
        if spec.position is not None:
            self._place(others, row, spec.position)
        self._flush(spec.name)
        return Change(self._records([row])[0], before.placements)

    def delete(self, name: str) -> Change:
        rows = self._ordered()
        row = _named(name, rows)
        before = self._records([row])[0]
        self._session.delete(row)
        self._renumber([r for r in rows if r is not row])
        self._session.flush()
        return Change(before, before.placements)

    def _flush(self, name: str) -> None:
        try:
            self._session.flush()
        except IntegrityError:  # another caller took the name since _check_name_free
            raise Conflict(f"a virtual segment named {name!r} already exists") from None

    @staticmethod
    def _check_name_free(name: str, rows: Iterable[VirtualSegmentRow]) -> None:
        taken = next((r.name for r in rows if r.name.casefold() == name.casefold()), None)
        if taken is not None:
            raise Conflict(f"a virtual segment named {taken!r} already exists")

    @staticmethod
    def _renumber(rows: Sequence[VirtualSegmentRow]) -> None:
        for position, row in enumerate(rows, start=1):
            if row.position != position:
                row.position = position

    def _place(
        self, others: list[VirtualSegmentRow], row: VirtualSegmentRow, position: Position
    ) -> None:
        if position.kind is PositionType.FIRST:
            index = 0
        elif position.kind is PositionType.LAST or position.ordinal is None:
            index = len(others)
        else:
            index = min(position.ordinal, len(others) + 1) - 1
        self._renumber([*others[:index], row, *others[index:]])

    # resolving references

    def _resolve(self, spec: VirtualSegmentSpec) -> tuple[str | None, list[Placement]]:
        for element, name in spec.named_groups():
            kind = "VLAN" if element == "namedVlanGroup" else "address"
            raise NotFound(
                f"{element} {name!r} does not exist: Garrison has no named {kind} groups yet; "
                "list the values instead"
            )
        group_id = None if spec.segment_group is None else self._segment_group(spec.segment_group)
        merged: dict[int, tuple[Device, list[str]]] = {}
        for physical in spec.physical:
            device = self._device(physical.device)
            names = self._segments(device, physical.segments)
            _, known = merged.setdefault(device.id, (device, []))
            known.extend(n for n in names if n not in known)
        placements = [_placement(device, names) for device, names in merged.values()]
        return group_id, placements

    def _segment_group(self, ref: GroupRef) -> str:
        by_id = by_name = None
        if ref.id is not None:
            by_id = self._session.get(SegmentGroupRow, ref.id)
            if by_id is None:
                raise NotFound(f"segmentGroupID/id {ref.id!r}: no segment group has this id")
        if ref.name is not None:
            by_name = self._session.scalar(
                select(SegmentGroupRow).where(SegmentGroupRow.name == ref.name)
            )
            if by_name is None or by_name.name != ref.name:  # exact on every database
                raise NotFound(f"segmentGroupID/name {ref.name!r}: no segment group has this name")
        if by_id is not None and by_name is not None and by_id.id != by_name.id:
            raise NotFound(
                f"segmentGroupID names two groups: id {ref.id!r} is {by_id.name!r}, "
                f"not {ref.name!r}"
            )
        found = by_id or by_name
        assert found is not None  # the parser requires an id or a name
        return found.id

    def _device(self, ref: DeviceRef) -> Device:
        """The device ``ref`` names, by the most specific reference it gives; every other
        reference it gives must fit that device."""
        shown = ", ".join(f"{key} {value!r}" for key, value in ref.given())
        device: Device | None = None
        number = _short_id(ref.id) if ref.id is not None else ref.short_id
        if number is not None:
            device = (
                self._session.get(Device, int(number))
                if number.isascii() and number.isdigit() and int(number) < 2**31
                else None
            )
        elif ref.name is not None:
            device = self._session.scalar(select(Device).where(Device.name == ref.name))
        elif ref.ip_address is not None:
            found = list(
                self._session.scalars(select(Device).where(Device.address == ref.ip_address))
            )
            if len(found) > 1:
                raise NotFound(
                    f"device ipAddress {ref.ip_address} is shared by {len(found)} devices; "
                    "name the device by <name> or <id>"
                )
            device = found[0] if found else None
        if device is None or not _fits(device, ref):
            raise NotFound(f"device ({shown}): no such device")
        return device

    def _segments(self, device: Device, names: Iterable[str]) -> list[str]:
        known = {
            row.name.casefold(): row.name
            for row in self._session.scalars(
                select(SegmentRow).where(SegmentRow.device_id == device.id)
            )
        }
        count = model_segments(device.model, device.sys_object_id)
        resolved: list[str] = []
        for name in names:
            canonical = known.get(name.casefold())
            match = _PHYSICAL_NAME.fullmatch(name.strip())
            if canonical is None and match is not None and 1 <= int(match[1]) <= count:
                canonical = segment_name(1, int(match[1]))
            if canonical is None:
                raise NotFound(
                    f"device {device.name!r} has no physical segment {name!r} "
                    f"(it has Segment 1-1 (A > B) to Segment 1-{count} (A > B))"
                )
            if canonical not in resolved:
                resolved.append(canonical)
        return resolved


def _added(device: Device) -> str:
    # Always of a row read from the database, so as precise as the database keeps it.
    return device.created_at.isoformat()


def _placement(device: Device, segments: Iterable[str]) -> Placement:
    return Placement(
        device_id=device.id,
        device_name=device.name,
        device_address=device.address,
        segments=tuple(segments),
        device_added=_added(device),
    )


def _named(name: str, rows: Iterable[VirtualSegmentRow]) -> VirtualSegmentRow:
    """The row of the segment ``name``, matched exactly (as ``vs=`` is given)."""
    row = next((r for r in rows if r.name == name), None)
    if row is None:
        raise NotFound(f"no virtual segment named {name!r}")
    return row


def _fits(device: Device, ref: DeviceRef) -> bool:
    checks = (
        (None if ref.id is None else _short_id(ref.id), str(device.id)),
        (ref.short_id, str(device.id)),
        (ref.name, device.name),
        (ref.ip_address, _normal_address(device.address)),
    )
    return all(given is None or given == actual for given, actual in checks)


def _short_id(device_id: str) -> str:
    """A device's number from its id: the number itself, or DEVICE.ID's UUID form."""
    head, _, number = device_id.strip().rpartition("-")
    if head != DEVICE_PREFIX.rstrip("-"):
        return device_id
    return number.lstrip("0") or "0"


def _normal_address(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:  # a host name in the inventory
        return address
