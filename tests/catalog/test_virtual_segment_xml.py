"""The virtualsegment XML: what a ``<virtualSegment>`` document means, every rule with the
element it names, and the ``smsResponse`` envelope read back with xml.etree. Property
tests: a written segment parses back to itself; arbitrary bytes only ever give a result
or `VirtualSegmentError`."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garrison.catalog.virtual_segment_xml import (
    HTTP_STATUS,
    DeviceRef,
    DeviceResult,
    GroupRef,
    NamedGroup,
    PhysicalSegment,
    Position,
    PositionType,
    ResultCode,
    VirtualSegmentError,
    VirtualSegmentSpec,
    VlanRange,
    device_results,
    envelope,
    get_details,
    parse_virtual_segment,
    virtual_segment_element,
)

FULL = b"""<?xml version="1.0" encoding="UTF-8"?>
<virtualSegment xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                xsi:noNamespaceSchemaLocation="VirtualSegment.xsd">
  <name>  DMZ web  </name>
  <description>web servers
behind the DMZ switch</description>
  <virtualSegPosition positionType="ordinal_position" ordinalPosition="2"/>
  <vlanIdList><vlanList>
    <vlan><vlanID>10</vlanID></vlan>
    <vlan><vlanRange><start>20</start><end>29</end></vlanRange></vlan>
  </vlanList></vlanIdList>
  <sourceAddressList><cidrList>
    <cidr>10.1.2.3/16</cidr><cidr>2001:DB8::1/32</cidr><cidr>192.0.2.7</cidr>
  </cidrList></sourceAddressList>
  <!-- a comment is no element -->
  <segmentGroup><segmentGroupID><name>Default</name></segmentGroupID></segmentGroup>
  <physicalSegments>
    <physicalSegment>
      <device><name>ips-1</name></device>
      <segmentNameList>
        <segmentNames>Segment 1-1 (A &gt; B)</segmentNames>
        <segmentNames>Segment 1-2 (A &gt; B)</segmentNames>
      </segmentNameList>
    </physicalSegment>
    <physicalSegment>
      <device><shortID>7</shortID><ipAddress>::FFFF:10.0.0.1</ipAddress></device>
      <segmentNameList><segmentNames>Segment 1-3 (A &gt; B)</segmentNames></segmentNameList>
    </physicalSegment>
  </physicalSegments>
</virtualSegment>"""


def segment(body: str, name: str = "<name>vs</name>") -> bytes:
    return f"<virtualSegment>{name}{body}</virtualSegment>".encode()


VLAN_10 = "<vlanIdList><vlanList><vlan><vlanID>10</vlanID></vlan></vlanList></vlanIdList>"


def failure(document: bytes) -> VirtualSegmentError:
    with pytest.raises(VirtualSegmentError) as caught:
        parse_virtual_segment(document)
    assert "\n" not in caught.value.message
    return caught.value


def test_a_full_document_reads_as_the_segment_it_describes() -> None:
    spec = parse_virtual_segment(FULL)
    assert spec.name == "DMZ web"
    assert spec.description == "web servers\nbehind the DMZ switch"
    assert spec.position == Position(PositionType.ORDINAL_POSITION, 2)
    assert spec.vlans == (VlanRange(10, 10), VlanRange(20, 29))
    assert spec.sources == ("10.1.0.0/16", "2001:db8::/32", "192.0.2.7/32")
    assert spec.destinations == ()
    assert spec.segment_group == GroupRef(name="Default")
    assert spec.physical == (
        PhysicalSegment(DeviceRef(name="ips-1"), ("Segment 1-1 (A > B)", "Segment 1-2 (A > B)")),
        PhysicalSegment(
            DeviceRef(short_id="7", ip_address="::ffff:a00:1"), ("Segment 1-3 (A > B)",)
        ),
    )


def test_position_is_read_from_attributes_or_elements_in_any_case() -> None:
    as_elements = segment(
        "<virtualSegPosition><positionType>first</positionType></virtualSegPosition>" + VLAN_10
    )
    assert parse_virtual_segment(as_elements).position == Position(PositionType.FIRST)
    last = segment('<virtualSegPosition positionType="Last" ordinalPosition="4"/>' + VLAN_10)
    assert parse_virtual_segment(last).position == Position(PositionType.LAST)
    assert parse_virtual_segment(segment(VLAN_10)).position is None


def test_named_groups_are_kept_by_name() -> None:
    spec = parse_virtual_segment(
        segment(
            "<vlanIdList><namedVlanGroup>Servers</namedVlanGroup></vlanIdList>"
            "<destinationAddressList><namedAddrGroup><name>Web</name></namedAddrGroup>"
            "</destinationAddressList>"
        )
    )
    assert spec.vlans == NamedGroup("Servers")
    assert spec.destinations == NamedGroup("Web")
    assert spec.named_groups() == [("namedVlanGroup", "Servers"), ("namedAddrGroup", "Web")]


@pytest.mark.parametrize(
    ("document", "code", "words"),
    [
        (b"", 300, "empty"),
        (b"<virtualSegment><name>x</name>", 300, "not well-formed XML: no element found: line 1"),
        (b"<virtualSegments/>", 300, "root is <virtualSegments>"),
        (segment(VLAN_10 + "<vlanIdlist/>"), 300, "unexpected element <vlanIdlist>"),
        (segment(VLAN_10, "<name>a</name><name>b</name>"), 300, "2 <name> elements"),
        (segment(VLAN_10, "<name><b>x</b></name>"), 300, "virtualSegment/name holds text"),
        (
            b'<!DOCTYPE v [<!ENTITY a "aaaa">]><virtualSegment><name>&a;</name></virtualSegment>',
            300,
            "refused",
        ),
        (b'<?xml version="1.0" encoding="klingon"?><a/>', 300, "unknown encoding"),
        (segment(VLAN_10, ""), 310, "virtualSegment/name is required"),
        (segment(VLAN_10, "<name>   </name>"), 310, "virtualSegment/name is required"),
        (segment(VLAN_10, f"<name>{'n' * 128}</name>"), 310, "name is 128 characters long"),
        (segment(VLAN_10, "<name>a&#9;b</name>"), 310, "name 'a\\tb' holds a control"),
        (segment(VLAN_10 + f"<description>{'d' * 251}</description>"), 310, "description is 251"),
        (segment(""), 310, "at least one of vlanIdList, sourceAddressList"),
        (segment("<vlanIdList/>"), 310, "at least one of"),
        (
            segment(
                "<vlanIdList><vlanList><vlan><vlanID>4096</vlanID></vlan></vlanList></vlanIdList>"
            ),
            310,
            "vlanIdList/vlanList/vlan/vlanID '4096' is not a VLAN id from 0 to 4095",
        ),
        (
            segment(
                "<vlanIdList><vlanList><vlan><vlanID>+5</vlanID></vlan></vlanList></vlanIdList>"
            ),
            310,
            "vlanID '+5'",
        ),
        (
            segment(
                "<vlanIdList><vlanList><vlan><vlanID>1</vlanID></vlan><vlan><vlanRange>"
                "<start>9</start><end>3</end></vlanRange></vlan></vlanList></vlanIdList>"
            ),
            310,
            "vlan[2]/vlanRange starts at 9, after its end 3",
        ),
        (
            segment(
                "<vlanIdList><vlanList><vlan><vlanRange><start>9</start></vlanRange>"
                "</vlan></vlanList></vlanIdList>"
            ),
            310,
            "vlanRange/end is required",
        ),
        (
            segment("<vlanIdList><vlanList><vlan/></vlanList></vlanIdList>"),
            310,
            "vlan holds neither",
        ),
        (
            segment("<vlanIdList><vlanList/><namedVlanGroup>x</namedVlanGroup></vlanIdList>"),
            310,
            "vlanIdList takes <vlanList> or <namedVlanGroup>, not both",
        ),
        (
            segment(
                "<sourceAddressList><cidrList><cidr>10.0.0.0/33</cidr></cidrList>"
                "</sourceAddressList>"
            ),
            310,
            "sourceAddressList/cidrList/cidr '10.0.0.0/33' is not an IPv4 or IPv6 CIDR",
        ),
        (
            segment("<destinationAddressList><namedAddrGroup/></destinationAddressList>"),
            310,
            "destinationAddressList/namedAddrGroup names no group",
        ),
        (
            segment(VLAN_10 + '<virtualSegPosition positionType="MIDDLE"/>'),
            310,
            "positionType 'MIDDLE' is not one of FIRST, LAST, ORDINAL_POSITION",
        ),
        (
            segment(VLAN_10 + '<virtualSegPosition positionType="ORDINAL_POSITION"/>'),
            310,
            "ordinalPosition is required",
        ),
        (
            segment(
                VLAN_10 + "<virtualSegPosition positionType='ORDINAL_POSITION' "
                "ordinalPosition='0'/>"
            ),
            310,
            "ordinalPosition '0' is not a position from 1",
        ),
        (segment(VLAN_10 + "<segmentGroup/>"), 310, "segmentGroup/segmentGroupID is required"),
        (
            segment(VLAN_10 + "<segmentGroup><segmentGroupID/></segmentGroup>"),
            310,
            "segmentGroupID needs <id> or <name>",
        ),
        (
            segment(
                VLAN_10 + "<physicalSegments><physicalSegment><device><name>d</name>"
                "</device></physicalSegment></physicalSegments>"
            ),
            310,
            "physicalSegment names no segment",
        ),
        (
            segment(
                VLAN_10 + "<physicalSegments><physicalSegment><segmentNameList>"
                "<segmentNames>s</segmentNames></segmentNameList></physicalSegment>"
                "</physicalSegments>"
            ),
            310,
            "physicalSegments/physicalSegment/device is required",
        ),
        (
            segment(
                VLAN_10 + "<physicalSegments><physicalSegment><device/><segmentNameList>"
                "<segmentNames>s</segmentNames></segmentNameList></physicalSegment>"
                "</physicalSegments>"
            ),
            310,
            "device needs one of <id>, <shortID>, <name> or <ipAddress>",
        ),
        (
            segment(
                VLAN_10 + "<physicalSegments><physicalSegment><device><ipAddress>10.0.0"
                "</ipAddress></device><segmentNameList><segmentNames>s</segmentNames>"
                "</segmentNameList></physicalSegment></physicalSegments>"
            ),
            310,
            "device/ipAddress '10.0.0' is not an IP address",
        ),
        (
            segment(
                VLAN_10 + "<physicalSegments><physicalSegment><device><shortID>x1"
                "</shortID></device><segmentNameList><segmentNames>s</segmentNames>"
                "</segmentNameList></physicalSegment></physicalSegments>"
            ),
            310,
            "device/shortID 'x1' is not a device short id",
        ),
    ],
)
def test_every_rule_failure_has_its_code_and_names_its_element(
    document: bytes, code: int, words: str
) -> None:
    error = failure(document)
    assert (error.code, words in error.message) == (code, True), error.message


def test_the_limits_themselves_are_allowed() -> None:
    spec = parse_virtual_segment(
        segment(
            "<description>" + "d" * 250 + "</description>"
            "<vlanIdList><vlanList><vlan><vlanRange><start>0</start><end>4095</end></vlanRange>"
            "</vlan></vlanList></vlanIdList>",
            "<name>" + "é" * 127 + "</name>",
        )
    )
    assert (len(spec.name), len(spec.description), spec.vlans) == (
        127,
        250,
        (VlanRange(0, 4095),),
    )


def test_a_billion_laughs_is_refused_without_expanding() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<virtualSegment><name>&lol3;</name></virtualSegment>"
    )
    assert failure(laughs).code == ResultCode.INPUT_XML


def test_the_envelope_reads_field_by_field() -> None:
    results = device_results(
        [DeviceResult("ips-1", True, ("assigned to Segment 1-1 (A > B)",)), DeviceResult("x")]
    )
    root = ET.fromstring(envelope("create", ResultCode.OK, results))
    assert [child.tag for child in root] == [
        "service",
        "operation",
        "resultCode",
        "resultDetails",
    ]
    assert (root.findtext("service"), root.findtext("operation"), root.findtext("resultCode")) == (
        "virtualsegment",
        "create",
        "0",
    )
    first, second = root.findall("resultDetails/deviceResults/deviceResult")
    assert first.findtext("device/name") == "ips-1"
    assert first.findtext("success") == "true"
    assert [m.text for m in first.findall("messages/message")] == [
        "assigned to Segment 1-1 (A > B)"
    ]
    assert second.find("messages") is None


def test_an_error_envelope_carries_a_one_line_reason() -> None:
    root = ET.fromstring(envelope("update", ResultCode.RESOURCE, "no virtual\nsegment  'x'"))
    assert root.findtext("resultCode") == "320"
    assert root.findtext("resultDetails") == "no virtual segment 'x'"


def test_result_codes_map_to_the_facts_sheet_statuses() -> None:
    assert {int(code): status for code, status in HTTP_STATUS.items()} == {
        0: 200,
        100: 401,
        200: 400,
        205: 400,
        300: 400,
        305: 500,
        310: 400,
        320: 400,
        500: 500,
    }


def test_what_get_writes_is_a_document_update_takes_back() -> None:
    spec = VirtualSegmentSpec(
        id="3f1b0c52-0000-4000-8000-000000000001",
        name="Lab",
        position=Position(PositionType.ORDINAL_POSITION, 3),
        destinations=("198.51.100.0/24",),
        segment_group=GroupRef(id="g-1", name="Default"),
        physical=(
            PhysicalSegment(
                DeviceRef(id="4", short_id="4", name="ips-4", ip_address="127.0.0.1"),
                ("Segment 1-2 (A > B)",),
            ),
        ),
    )
    details = get_details([spec])
    [written] = details.findall("virtualSegment")
    assert written.findtext("physicalSegments/physicalSegment/device/name") == "ips-4"
    assert parse_virtual_segment(ET.tostring(written)) == spec


# -- properties -------------------------------------------------------------------------------

# Text XML 1.0 can carry, as the parser gives it back (no CR: XML turns it into LF).
XML_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
LINE = st.text(XML_CHARS, min_size=1, max_size=64).map(str.strip).filter(bool)


def cidrs() -> st.SearchStrategy[str]:
    v4 = st.tuples(st.ip_addresses(v=4), st.integers(0, 32))
    v6 = st.tuples(st.ip_addresses(v=6), st.integers(0, 128))
    return st.one_of(v4, v6).map(lambda p: str(ipaddress.ip_network(f"{p[0]}/{p[1]}", False)))


def addresses() -> st.SearchStrategy[tuple[str, ...] | NamedGroup]:
    return st.one_of(st.tuples(), st.lists(cidrs(), max_size=4).map(tuple), LINE.map(NamedGroup))


VLANS = st.one_of(
    st.lists(
        st.tuples(st.integers(0, 4095), st.integers(0, 4095)).map(
            lambda p: VlanRange(min(p), max(p))
        ),
        max_size=4,
    ).map(tuple),
    LINE.map(NamedGroup),
)
POSITIONS = st.one_of(
    st.none(),
    st.sampled_from([Position(PositionType.FIRST), Position(PositionType.LAST)]),
    st.integers(1, 1_000_000).map(lambda n: Position(PositionType.ORDINAL_POSITION, n)),
)
NUMBER = st.integers(1, 2**31 - 1).map(str)
DEVICES = st.builds(
    DeviceRef,
    id=st.none() | LINE,
    short_id=st.none() | NUMBER,
    name=st.none() | LINE,
    ip_address=st.none() | st.ip_addresses().map(str),
).filter(lambda d: any((d.id, d.short_id, d.name, d.ip_address)))
GROUPS = st.builds(GroupRef, id=st.none() | LINE, name=st.none() | LINE).filter(
    lambda g: g.id is not None or g.name is not None
)
SPECS = st.builds(
    VirtualSegmentSpec,
    id=st.none() | LINE,
    name=st.text(XML_CHARS, min_size=1, max_size=127).map(str.strip).filter(bool),
    description=st.text(st.one_of(XML_CHARS, st.sampled_from("\n\t")), max_size=250).map(str.strip),
    position=POSITIONS,
    vlans=VLANS,
    sources=addresses(),
    destinations=addresses(),
    segment_group=st.none() | GROUPS,
    physical=st.lists(
        st.builds(PhysicalSegment, device=DEVICES, segments=st.lists(LINE, min_size=1).map(tuple)),
        max_size=3,
    ).map(tuple),
).filter(lambda s: bool(s.vlans or s.sources or s.destinations))


@settings(max_examples=300, deadline=None)
@given(SPECS)
def test_a_written_segment_parses_back_to_itself(spec: VirtualSegmentSpec) -> None:
    document = ET.tostring(virtual_segment_element(spec), encoding="utf-8", xml_declaration=True)
    assert parse_virtual_segment(document) == spec


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_give_a_segment_or_a_coded_error(data: bytes) -> None:
    try:
        parse_virtual_segment(data)
    except VirtualSegmentError as error:
        assert error.code in (ResultCode.INPUT_XML, ResultCode.VALIDATION)
        assert "\n" not in error.message


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_documents_give_a_segment_or_a_coded_error(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(FULL)))
    end = data.draw(st.integers(start, len(FULL)))
    patch = data.draw(st.binary(max_size=16) | st.sampled_from([b"<", b">", b"&", b"</vlan>"]))
    try:
        parse_virtual_segment(FULL[:start] + patch + FULL[end:])
    except VirtualSegmentError as error:
        assert error.code in (ResultCode.INPUT_XML, ResultCode.VALIDATION)
        assert "\n" not in error.message


def test_a_device_is_named_by_its_number_or_by_dbaccess_device_uuid() -> None:
    from garrison.datatables.identifiers import device_uuid
    from garrison.store.virtual_segments import _short_id

    assert _short_id(device_uuid(3)) == "3"
    assert _short_id("3") == "3"
    assert _short_id("00000001-0001-0001-0001-000000000003") == (
        "00000001-0001-0001-0001-000000000003"
    )
