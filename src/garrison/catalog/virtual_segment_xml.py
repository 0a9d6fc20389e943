"""The XML of the ``virtualsegment`` Web service, pure: bytes in, a `VirtualSegmentSpec` out,
and back; plus the ``smsResponse`` envelope every answer travels in.

A ``<virtualSegment>`` document (facts sheet §1.2 "Virtual segments", §5 limits)::

    <virtualSegment>
      <name>DMZ web</name>                                    1..127 characters
      <description>...</description>                         optional, <= 250
      <virtualSegPosition positionType="ORDINAL_POSITION" ordinalPosition="2"/>
      <vlanIdList><vlanList><vlan><vlanID>10</vlanID></vlan>
                            <vlan><vlanRange><start>20</start><end>29</end></vlanRange></vlan>
      </vlanList></vlanIdList>                    or <vlanIdList><namedVlanGroup>x</...>
      <sourceAddressList><cidrList><cidr>10.1.0.0/16</cidr></cidrList></sourceAddressList>
      <destinationAddressList><namedAddrGroup>x</namedAddrGroup></destinationAddressList>
      <segmentGroup><segmentGroupID><name>Default</name></segmentGroupID></segmentGroup>
      <physicalSegments>
        <physicalSegment><device><name>ips-1</name></device>      or id, shortID, ipAddress
          <segmentNameList><segmentNames>Segment 1-1 (A > B)</segmentNames></segmentNameList>
        </physicalSegment>
      </physicalSegments>
    </virtualSegment>

Why each choice where the facts sheet is loose: ``positionType`` and ``ordinalPosition``
are read as attributes or as child elements (the sheet's ``positionType=FIRST`` reads as
an attribute, JAXB schemas often make them elements); the writer emits child elements.
Namespaces are ignored (local names are compared), element order is free, an element the
schema does not have is an input XML error, and enumeration values are taken in any case
(tolerance rule 7). A ``device`` and a ``segmentGroupID`` may name their resource several
ways at once (``id`` and ``name``); the store checks that they agree. The ``get`` answer
writes each virtual segment in this same shape (plus its ``id``), so a caller can edit what
``get`` returned and send it back to ``update``.

Failures are `VirtualSegmentError`s with result code 300 (the document cannot be read
as a ``virtualSegment``) or 310 (a rule of a value is broken), and a one-line message that
names the element.
"""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

SERVICE = "virtualsegment"
MAX_NAME = 127
MAX_DESCRIPTION = 250
MAX_VLAN = 4095  # the XSD's bound; the guide's text says 1..4094, the XSD wins (§5)
MAX_ORDINAL = 1_000_000  # far beyond any fleet; keeps a typo from becoming a huge number
MAX_DOCUMENT_BYTES = 4 * 2**20

ROOT = "virtualSegment"
_DIGITS = re.compile(r"[0-9]{1,10}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ResultCode(IntEnum):
    """``smsResponse/resultCode`` values and what each means (facts sheet §1.2)."""

    OK = 0
    AUTHENTICATION = 100
    MISSING_PARAMETER = 200
    OPERATION = 205
    INPUT_XML = 300
    OUTPUT_FILE = 305
    VALIDATION = 310
    RESOURCE = 320
    UNEXPECTED = 500

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self]


HTTP_STATUS: dict[ResultCode, int] = {
    ResultCode.OK: 200,
    ResultCode.AUTHENTICATION: 401,
    ResultCode.MISSING_PARAMETER: 400,
    ResultCode.OPERATION: 400,
    ResultCode.INPUT_XML: 400,
    ResultCode.OUTPUT_FILE: 500,
    ResultCode.VALIDATION: 400,
    ResultCode.RESOURCE: 400,
    ResultCode.UNEXPECTED: 500,
}


class VirtualSegmentError(ValueError):
    """A failure with its result code and a one-line message. The parser raises it with
    INPUT_XML (the document cannot be read as a ``virtualSegment``) or VALIDATION (a value
    breaks a rule); the Web service adds MISSING_PARAMETER and OUTPUT_FILE."""

    def __init__(self, code: ResultCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- the model --------------------------------------------------------------------------------


class PositionType(StrEnum):
    FIRST = "FIRST"
    LAST = "LAST"
    ORDINAL_POSITION = "ORDINAL_POSITION"


@dataclass(frozen=True, slots=True)
class Position:
    kind: PositionType
    ordinal: int | None = None  # 1 = first; only with ORDINAL_POSITION


@dataclass(frozen=True, slots=True)
class VlanRange:
    start: int
    end: int  # == start for a single ``vlanID``


@dataclass(frozen=True, slots=True)
class NamedGroup:
    """A named VLAN group or address group, by name (it must exist on the server)."""

    name: str


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """A device, named one or more ways; every one given must point to the same device."""

    id: str | None = None
    short_id: str | None = None
    name: str | None = None
    ip_address: str | None = None

    def given(self) -> list[tuple[str, str]]:
        """(element, value) of each reference given, as the XML spells them."""
        pairs = (
            ("id", self.id),
            ("shortID", self.short_id),
            ("name", self.name),
            ("ipAddress", self.ip_address),
        )
        return [(element, value) for element, value in pairs if value is not None]


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A segment group, by id, name or both."""

    id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PhysicalSegment:
    device: DeviceRef
    segments: tuple[str, ...]  # physical segment names, "Segment 1-1 (A > B)"


Vlans = tuple[VlanRange, ...] | NamedGroup
Addresses = tuple[str, ...] | NamedGroup  # normalised CIDRs ("10.1.0.0/16")


@dataclass(frozen=True, slots=True)
class VirtualSegmentSpec:
    """A virtual segment as a document states it. An empty tuple means "any"."""

    name: str
    description: str = ""
    position: Position | None = None  # None: LAST on create, unchanged on update
    vlans: Vlans = ()
    sources: Addresses = ()
    destinations: Addresses = ()
    segment_group: GroupRef | None = None
    physical: tuple[PhysicalSegment, ...] = ()
    id: str | None = None  # written by ``get``; ignored on input

    def named_groups(self) -> list[tuple[str, str]]:
        """(element, name) of every named group the definition refers to."""
        pairs = (
            ("namedVlanGroup", self.vlans),
            ("namedAddrGroup", self.sources),
            ("namedAddrGroup", self.destinations),
        )
        return [(element, value.name) for element, value in pairs if isinstance(value, NamedGroup)]


# -- parsing ----------------------------------------------------------------------------------


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _xml_error(message: str) -> VirtualSegmentError:
    return VirtualSegmentError(ResultCode.INPUT_XML, message)


def _invalid(message: str) -> VirtualSegmentError:
    return VirtualSegmentError(ResultCode.VALIDATION, message)


def _shown(value: str) -> str:
    return repr(value if len(value) <= 64 else value[:64] + "...")


@dataclass
class _Node:
    """An element with its children grouped by local name, checked against the schema."""

    element: ET.Element
    path: str
    children: dict[str, list[ET.Element]] = field(default_factory=dict)

    @classmethod
    def of(cls, element: ET.Element, path: str, allowed: Iterable[str]) -> _Node:
        node = cls(element, path)
        known = set(allowed)
        for child in element:
            name = _local(child.tag)
            if not name:  # a comment or processing instruction
                continue
            if name not in known:
                raise _xml_error(f"unexpected element <{name}> in {path}")
            node.children.setdefault(name, []).append(child)
        return node

    def all(self, name: str) -> list[tuple[ET.Element, str]]:
        found = self.children.get(name, [])
        if len(found) == 1:
            return [(found[0], f"{self.path}/{name}")]
        return [(child, f"{self.path}/{name}[{n}]") for n, child in enumerate(found, start=1)]

    def one(self, name: str) -> tuple[ET.Element, str] | None:
        found = self.all(name)
        if len(found) > 1:
            raise _xml_error(f"{self.path} has {len(found)} <{name}> elements; it takes one")
        return found[0] if found else None

    def text(self, name: str) -> str | None:
        """The stripped text of the child ``name``, or of the attribute ``name``."""
        child = self.one(name)
        attribute = next((v for k, v in self.element.attrib.items() if _local(k) == name), None)
        if child is None:
            return None if attribute is None else attribute.strip()
        return _leaf_text(*child)


def _leaf_text(element: ET.Element, path: str) -> str:
    inner = next((c for c in element if _local(c.tag)), None)
    if inner is not None:
        raise _xml_error(f"{path} holds text, not an element <{_local(inner.tag)}>")
    return (element.text or "").strip()


def _required(node: _Node, name: str) -> str:
    value = node.text(name)
    if not value:
        raise _invalid(f"{node.path}/{name} is required")
    return value


def _bounded(value: str, path: str, limit: int, *, single_line: bool) -> str:
    if len(value) > limit:
        raise _invalid(f"{path} is {len(value)} characters long; at most {limit} are allowed")
    if single_line and _CONTROL.search(value):
        raise _invalid(f"{path} {_shown(value)} holds a control character")
    return value


def _number(value: str, path: str, low: int, high: int, what: str) -> int:
    if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
        raise _invalid(f"{path} {_shown(value)} is not {what} from {low} to {high}")
    return int(value)


def _position(node: _Node) -> Position | None:
    found = node.one("virtualSegPosition")
    if found is None:
        return None
    position = _Node.of(found[0], found[1], ("positionType", "ordinalPosition"))
    raw = position.text("positionType") or ""
    try:
        kind = PositionType(raw.upper())
    except ValueError:
        choices = ", ".join(PositionType)
        raise _invalid(
            f"{position.path}/positionType {_shown(raw)} is not one of {choices}"
        ) from None
    if kind is not PositionType.ORDINAL_POSITION:
        return Position(kind)  # an ordinalPosition beside FIRST or LAST means nothing
    ordinal = position.text("ordinalPosition")
    if not ordinal:
        raise _invalid(f"{position.path}/ordinalPosition is required with ORDINAL_POSITION")
    path = f"{position.path}/ordinalPosition"
    return Position(kind, _number(ordinal, path, 1, MAX_ORDINAL, "a position"))


def _named_or_listed(
    node: _Node, outer: str, list_name: str, item: str, named: str
) -> NamedGroup | _Node | None:
    """The list (``vlanList`` of ``vlan``, ``cidrList`` of ``cidr``) inside ``outer``, or
    the name of the group that holds one; None without ``outer``."""
    found = node.one(outer)
    if found is None:
        return None
    holder = _Node.of(*found, (list_name, named))
    group, listed = holder.one(named), holder.one(list_name)
    if group is not None and listed is not None:
        raise _invalid(f"{holder.path} takes <{list_name}> or <{named}>, not both")
    if listed is not None:
        return _Node.of(*listed, (item,))
    if group is None:
        return None
    element, path = group
    # The group's name as the element's text, or as a <name> child.
    named_by = _Node.of(element, path, ("name",))
    text = named_by.text("name") if "name" in named_by.children else _leaf_text(element, path)
    if not text:
        raise _invalid(f"{path} names no group")
    return NamedGroup(_bounded(text, path, 255, single_line=True))


def _vlans(node: _Node) -> Vlans:
    vlan_list = _named_or_listed(node, "vlanIdList", "vlanList", "vlan", "namedVlanGroup")
    if not isinstance(vlan_list, _Node):
        return vlan_list or ()
    ranges: list[VlanRange] = []
    for element, path in vlan_list.all("vlan"):
        vlan = _Node.of(element, path, ("vlanID", "vlanRange"))
        before = len(ranges)
        for id_element, id_path in vlan.all("vlanID"):
            number = _number(_leaf_text(id_element, id_path), id_path, 0, MAX_VLAN, "a VLAN id")
            ranges.append(VlanRange(number, number))
        for range_element, range_path in vlan.all("vlanRange"):
            bounds = _Node.of(range_element, range_path, ("start", "end"))
            start, end = (
                _number(_required(bounds, b), f"{range_path}/{b}", 0, MAX_VLAN, "a VLAN id")
                for b in ("start", "end")
            )
            if start > end:
                raise _invalid(f"{range_path} starts at {start}, after its end {end}")
            ranges.append(VlanRange(start, end))
        if len(ranges) == before:
            raise _invalid(f"{path} holds neither <vlanID> nor <vlanRange>")
    return tuple(ranges)


def normalise_cidr(value: str, path: str) -> str:
    """``10.1.2.3/16`` -> ``10.1.0.0/16``; a bare address is a /32 or /128."""
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise _invalid(f"{path} {_shown(value)} is not an IPv4 or IPv6 CIDR") from None


def _addresses(node: _Node, name: str) -> Addresses:
    cidr_list = _named_or_listed(node, name, "cidrList", "cidr", "namedAddrGroup")
    if not isinstance(cidr_list, _Node):
        return cidr_list or ()
    return tuple(
        normalise_cidr(_leaf_text(element, path), path) for element, path in cidr_list.all("cidr")
    )


def _segment_group(node: _Node) -> GroupRef | None:
    found = node.one("segmentGroup")
    if found is None:
        return None
    outer = _Node.of(*found, ("segmentGroupID",))
    inner = outer.one("segmentGroupID")
    if inner is None:
        raise _invalid(f"{outer.path}/segmentGroupID is required")
    group = _Node.of(*inner, ("id", "name"))
    ref = GroupRef(id=group.text("id") or None, name=group.text("name") or None)
    if ref.id is None and ref.name is None:
        raise _invalid(f"{group.path} needs <id> or <name>")
    return ref


DEVICE_KEYS = ("id", "shortID", "name", "ipAddress")


def _device(element: ET.Element, path: str) -> DeviceRef:
    device = _Node.of(element, path, DEVICE_KEYS)
    given = {key: device.text(key) or None for key in DEVICE_KEYS}
    if not any(given.values()):
        raise _invalid(f"{path} needs one of <id>, <shortID>, <name> or <ipAddress>")
    short_id, address = given["shortID"], given["ipAddress"]
    if short_id is not None:
        short_id = str(_number(short_id, f"{path}/shortID", 1, 2**31 - 1, "a device short id"))
    if address is not None:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise _invalid(f"{path}/ipAddress {_shown(address)} is not an IP address") from None
    return DeviceRef(id=given["id"], short_id=short_id, name=given["name"], ip_address=address)


def _physical(node: _Node) -> tuple[PhysicalSegment, ...]:
    found = node.one("physicalSegments")
    if found is None:
        return ()
    segments: list[PhysicalSegment] = []
    for element, path in _Node.of(*found, ("physicalSegment",)).all("physicalSegment"):
        physical = _Node.of(element, path, ("device", "segmentNameList"))
        device = physical.one("device")
        if device is None:
            raise _invalid(f"{path}/device is required")
        names: list[str] = []
        name_list = physical.one("segmentNameList")
        if name_list is not None:
            for name_element, name_path in _Node.of(*name_list, ("segmentNames",)).all(
                "segmentNames"
            ):
                name = _leaf_text(name_element, name_path)
                if not name:
                    raise _invalid(f"{name_path} is empty")
                names.append(_bounded(name, name_path, 64, single_line=True))
        if not names:
            raise _invalid(f"{path} names no segment: give segmentNameList/segmentNames")
        segments.append(PhysicalSegment(_device(*device), tuple(names)))
    return tuple(segments)


SCHEMA = (
    "id",
    "name",
    "description",
    "virtualSegPosition",
    "vlanIdList",
    "sourceAddressList",
    "destinationAddressList",
    "segmentGroup",
    "physicalSegments",
)


def read_document(data: bytes | str) -> ET.Element:
    """The root element of ``data``, parsed without DTDs or entities (defusedxml)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _xml_error(f"the document is over {MAX_DOCUMENT_BYTES // 2**20} MiB")
    if not data.strip():
        raise _xml_error("the document is empty; send a <virtualSegment> XML document")
    try:
        root: ET.Element = fromstring(data, forbid_dtd=True)
    except ET.ParseError as exc:
        raise _xml_error(f"the document is not well-formed XML: {exc}") from None
    except DefusedXmlException as exc:
        raise _xml_error(f"the document is refused: {type(exc).__name__}") from None
    except (ValueError, LookupError) as exc:  # an unknown or wrong declared encoding
        raise _xml_error(f"the document cannot be decoded: {' '.join(str(exc).split())}") from None
    return root


def parse_virtual_segment(data: bytes | str) -> VirtualSegmentSpec:
    """The virtual segment ``data`` describes; `VirtualSegmentError` if none."""
    root = read_document(data)
    if _local(root.tag) != ROOT:
        raise _xml_error(f"the document's root is <{_local(root.tag)}>; expected <{ROOT}>")
    node = _Node.of(root, ROOT, SCHEMA)
    name = _bounded(_required(node, "name"), f"{ROOT}/name", MAX_NAME, single_line=True)
    description = _bounded(
        node.text("description") or "", f"{ROOT}/description", MAX_DESCRIPTION, single_line=False
    )
    spec = VirtualSegmentSpec(
        id=node.text("id") or None,
        name=name,
        description=_bounded(
            description, f"{ROOT}/description", MAX_DESCRIPTION, single_line=False
        ),
        position=_position(node),
        vlans=_vlans(node),
        sources=_addresses(node, "sourceAddressList"),
        destinations=_addresses(node, "destinationAddressList"),
        segment_group=_segment_group(node),
        physical=_physical(node),
    )
    if not (spec.vlans or spec.sources or spec.destinations):
        raise _invalid(
            f"{ROOT} needs at least one of vlanIdList, sourceAddressList or destinationAddressList"
        )
    return spec


# -- writing ----------------------------------------------------------------------------------


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _write_addresses(parent: ET.Element, tag: str, addresses: Addresses) -> None:
    if not addresses:
        return
    outer = _add(parent, tag)
    if isinstance(addresses, NamedGroup):
        _add(outer, "namedAddrGroup", addresses.name)
        return
    cidrs = _add(outer, "cidrList")
    for cidr in addresses:
        _add(cidrs, "cidr", cidr)


def _write_vlans(parent: ET.Element, vlans: Vlans) -> None:
    if not vlans:
        return
    outer = _add(parent, "vlanIdList")
    if isinstance(vlans, NamedGroup):
        _add(outer, "namedVlanGroup", vlans.name)
        return
    vlan_list = _add(outer, "vlanList")
    for vlan in vlans:
        item = _add(vlan_list, "vlan")
        if vlan.start == vlan.end:
            _add(item, "vlanID", str(vlan.start))
        else:
            bounds = _add(item, "vlanRange")
            _add(bounds, "start", str(vlan.start))
            _add(bounds, "end", str(vlan.end))


def _write_refs(parent: ET.Element, pairs: Sequence[tuple[str, str | None]]) -> None:
    for tag, value in pairs:
        if value is not None:
            _add(parent, tag, value)


def virtual_segment_element(spec: VirtualSegmentSpec) -> ET.Element:
    """``spec`` as a ``<virtualSegment>`` element that `parse_virtual_segment` reads back."""
    root = ET.Element(ROOT)
    if spec.id is not None:
        _add(root, "id", spec.id)
    _add(root, "name", spec.name)
    if spec.description:
        _add(root, "description", spec.description)
    if spec.position is not None:
        position = _add(root, "virtualSegPosition")
        _add(position, "positionType", spec.position.kind.value)
        if spec.position.kind is PositionType.ORDINAL_POSITION:
            _add(position, "ordinalPosition", str(spec.position.ordinal))
    _write_vlans(root, spec.vlans)
    _write_addresses(root, "sourceAddressList", spec.sources)
    _write_addresses(root, "destinationAddressList", spec.destinations)
    if spec.segment_group is not None:
        group = _add(_add(root, "segmentGroup"), "segmentGroupID")
        _write_refs(group, (("id", spec.segment_group.id), ("name", spec.segment_group.name)))
    if spec.physical:
        physical = _add(root, "physicalSegments")
        for segment in spec.physical:
            item = _add(physical, "physicalSegment")
            _write_refs(_add(item, "device"), segment.device.given())
            names = _add(item, "segmentNameList")
            for name in segment.segments:
                _add(names, "segmentNames", name)
    return root


# -- the smsResponse envelope -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceResult:
    """One device's part in a create, update or delete."""

    name: str
    success: bool = True
    messages: tuple[str, ...] = ()


def device_results(results: Iterable[DeviceResult]) -> ET.Element:
    """``<deviceResults><deviceResult><device><name/></device><success/><messages>?``."""
    root = ET.Element("deviceResults")
    for result in results:
        item = _add(root, "deviceResult")
        _add(_add(item, "device"), "name", result.name)
        _add(item, "success", "true" if result.success else "false")
        if result.messages:
            messages = _add(item, "messages")
            for message in result.messages:
                _add(messages, "message", message)
    return root


def get_details(specs: Iterable[VirtualSegmentSpec]) -> ET.Element:
    """The ``get`` answer's details: ``<virtualSegments>`` of ``<virtualSegment>``s."""
    root = ET.Element("virtualSegments")
    root.extend(virtual_segment_element(spec) for spec in specs)
    return root


def envelope(operation: str, code: ResultCode, details: ET.Element | str | None = None) -> bytes:
    """``<smsResponse>`` with ``details`` (an element, or a one-line message) as the
    ``resultDetails``; UTF-8 bytes with their XML declaration."""
    root = ET.Element("smsResponse")
    _add(root, "service", SERVICE)
    _add(root, "operation", operation)
    _add(root, "resultCode", str(int(code)))
    result_details = _add(root, "resultDetails")
    if isinstance(details, ET.Element):
        result_details.append(details)
    elif details:
        result_details.text = " ".join(details.split())
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
