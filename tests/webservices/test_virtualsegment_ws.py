"""virtualsegment/get|create|update|delete on a real Garrison HTTPS server with a real ipsim
fleet in its inventory (polled over SNMP, so each device's model is known), called the way
SMS scripts call it: curl -F under various field names, a raw body, requests with
multipart; every answer read with xml.etree, field by field, and every result code the
service can give reached."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from garrison.catalog import virtual_segment_xml as vsxml
from garrison.catalog.defaults import catalog_id
from garrison.catalog.learner import Learned, LearnedSegment
from garrison.store.catalog import Catalog
from garrison.store.virtual_segments import VirtualSegments
from ipsim.testing import FleetProcess
from tests.support import RunningServer, add_fleet_devices, wait_for
from tests.webservices.curl_peer import Reply, curl, needs_curl
from tests.webservices.ws_support import ADMIN, module_server, q

pytestmark = [
    needs_curl,
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

# ipsim's default model cycle: 2600NX (4 segments), 6200NX (8), 440T (2).
FLEET_SIZE = 3


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from module_server(
        tmp_path_factory, "vs", poller={"enabled": True, "interval_seconds": 1}
    )


@pytest.fixture(scope="module")
def fleet(live: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    """The fleet's devices (ipsim's description), in Garrison's inventory, polled."""
    workdir: Path = tmp_path_factory.mktemp("fleet")
    manager = f"127.0.0.1:{live.ports['snmp-trap']}"
    with (
        FleetProcess(
            workdir, "--devices", str(FLEET_SIZE), "--rate", "0", "--manager", manager
        ) as process,
        live.admin() as api,
    ):
        devices = process.fleet["devices"]
        add_fleet_devices(api, devices)

        def polled() -> bool:
            listed = api.get("/api/v1/devices").json()
            return len(listed) == FLEET_SIZE and all(d["sys_object_id"] for d in listed)

        wait_for("every device polled once", polled)
        yield devices


@pytest.fixture
def clean(live: RunningServer, fleet: list[Any]) -> list[Any]:
    """No virtual segment left from another test; the fleet's devices."""
    for element in segments(live):
        name = element.findtext("name") or ""
        assert ok(call(live, "delete", vs=name)).findtext("resultCode") == "0"
    return fleet


def by_model(fleet: list[Any], model: str) -> dict[str, Any]:
    return next(d for d in fleet if d["model"] == model)


# -- calling -----------------------------------------------------------------------------------


def call(live: RunningServer, method: str, *args: str, **params: str) -> Reply:
    return curl(live, f"/virtualsegment/{method}" + q(**ADMIN, **params), *args)


def envelope_of(reply: Reply, operation: str, code: int) -> ET.Element:
    """The smsResponse of ``reply``, checked: its content type, service, operation, code."""
    assert reply.headers["content-type"].startswith("text/xml"), reply
    root = ET.fromstring(reply.body)
    assert root.tag == "smsResponse"
    assert root.findtext("service") == "virtualsegment"
    assert root.findtext("operation") == operation
    assert root.findtext("resultCode") == str(code), reply.body
    return root


def ok(reply: Reply) -> ET.Element:
    assert reply.status == 200, reply
    return ET.fromstring(reply.body)


def failed(reply: Reply, operation: str, code: int, status: int) -> str:
    """The one-line reason of a failed call, after checking its code and status."""
    assert reply.status == status, reply
    reason = envelope_of(reply, operation, code).findtext("resultDetails") or ""
    assert reason and "\n" not in reason
    return reason


def segments(live: RunningServer) -> list[ET.Element]:
    root = envelope_of(call(live, "get"), "get", 0)
    return root.findall("resultDetails/virtualSegments/virtualSegment")


def names(live: RunningServer) -> list[str]:
    return [element.findtext("name") or "" for element in segments(live)]


def document(
    name: str,
    *,
    vlans: str = "<vlanList><vlan><vlanID>10</vlanID></vlan></vlanList>",
    placed: dict[str, list[str]] | None = None,
    position: str = "",
    extra: str = "",
) -> str:
    physical = "".join(
        f"<physicalSegment><device><name>{device}</name></device><segmentNameList>"
        + "".join(f"<segmentNames>{s.replace('>', '&gt;')}</segmentNames>" for s in segments)
        + "</segmentNameList></physicalSegment>"
        for device, segments in (placed or {}).items()
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<virtualSegment><name>{name}</name>'
        f"{position}<vlanIdList>{vlans}</vlanIdList>{extra}"
        + (f"<physicalSegments>{physical}</physicalSegments>" if physical else "")
        + "</virtualSegment>"
    )


def upload(
    live: RunningServer, tmp_path: Path, method: str, xml: str | bytes, field: str, **params: str
) -> Reply:
    """``method`` with the document as a file part (curl ``-F field=@file``)."""
    path = tmp_path / f"{method}.xml"
    path.write_bytes(xml if isinstance(xml, bytes) else xml.encode("utf-8"))
    return call(live, method, "-F", f"{field}=@{path}", **params)


def create(live: RunningServer, tmp_path: Path, xml: str, field: str = "file") -> Reply:
    return upload(live, tmp_path, "create", xml, field)


def update(live: RunningServer, tmp_path: Path, vs: str, xml: str | bytes) -> Reply:
    return upload(live, tmp_path, "update", xml, "file", vs=vs)


def position_of(kind: str, ordinal: int | None = None) -> str:
    if ordinal is None:
        return f'<virtualSegPosition positionType="{kind}"/>'
    return f'<virtualSegPosition positionType="{kind}" ordinalPosition="{ordinal}"/>'


# -- create and get ----------------------------------------------------------------------------


def test_create_answers_device_results_and_get_shows_it_field_by_field(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    device = by_model(clean, "6200NX")
    xml = document(
        "DMZ web",
        vlans="<vlanList><vlan><vlanID>10</vlanID></vlan><vlan><vlanRange><start>20</start>"
        "<end>29</end></vlanRange></vlan></vlanList>",
        placed={device["name"]: ["Segment 1-1 (A > B)", "segment 1-8 (a > b)"]},
        extra="<sourceAddressList><cidrList><cidr>10.1.2.3/16</cidr></cidrList>"
        "</sourceAddressList><segmentGroup><segmentGroupID><name>Default</name>"
        "</segmentGroupID></segmentGroup><description>the web tier</description>",
    )
    reply = create(live, tmp_path, xml)
    root = envelope_of(reply, "create", 0)
    assert reply.status == 200
    [result] = root.findall("resultDetails/deviceResults/deviceResult")
    assert result.findtext("device/name") == device["name"]
    assert result.findtext("success") == "true"
    assert [m.text for m in result.findall("messages/message")] == [
        "assigned to Segment 1-1 (A > B)",
        "assigned to Segment 1-8 (A > B)",
    ]

    [shown] = segments(live)
    assert shown.findtext("name") == "DMZ web"
    assert shown.findtext("description") == "the web tier"
    assert len(shown.findtext("id") or "") == 36
    assert shown.findtext("virtualSegPosition/positionType") == "ORDINAL_POSITION"
    assert shown.findtext("virtualSegPosition/ordinalPosition") == "1"
    vlans = shown.findall("vlanIdList/vlanList/vlan")
    assert [v.findtext("vlanID") for v in vlans] == ["10", None]
    assert (vlans[1].findtext("vlanRange/start"), vlans[1].findtext("vlanRange/end")) == (
        "20",
        "29",
    )
    assert [c.text for c in shown.findall("sourceAddressList/cidrList/cidr")] == ["10.1.0.0/16"]
    assert shown.find("destinationAddressList") is None
    assert shown.findtext("segmentGroup/segmentGroupID/name") == "Default"
    physical = shown.find("physicalSegments/physicalSegment")
    assert physical is not None
    assert physical.findtext("device/name") == device["name"]
    assert physical.findtext("device/ipAddress") == device["address"]
    assert physical.findtext("device/id") == physical.findtext("device/shortID")
    assert [s.text for s in physical.findall("segmentNameList/segmentNames")] == [
        "Segment 1-1 (A > B)",
        "Segment 1-8 (A > B)",
    ]


@pytest.mark.parametrize("field", ["file", "requestFile", "uploadfile", "name"])
def test_the_document_is_taken_from_a_file_part_under_any_field_name(
    live: RunningServer, clean: list[Any], tmp_path: Path, field: str
) -> None:
    envelope_of(create(live, tmp_path, document(f"via {field}"), field=field), "create", 0)
    assert names(live) == [f"via {field}"]


def test_the_document_is_taken_from_a_text_field_or_a_raw_body(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    path = tmp_path / "vs.xml"
    path.write_text(document("text field"))
    envelope_of(call(live, "create", "-F", f"file=<{path}"), "create", 0)
    path.write_text(document("raw xml"))
    raw = ("--data-binary", f"@{path}", "-H", "Content-Type: application/xml")
    envelope_of(call(live, "create", *raw), "create", 0)
    path.write_text(document("raw as a form"))  # curl's default Content-Type for --data
    envelope_of(call(live, "create", "--data-binary", f"@{path}"), "create", 0)
    assert names(live) == ["text field", "raw xml", "raw as a form"]


def test_requests_with_an_api_key_creates_updates_and_deletes(
    live: RunningServer, clean: list[Any]
) -> None:
    headers = {"X-SMS-API-KEY": live.api_key}
    url = live.url() + "/virtualsegment/"
    created = requests.post(
        url + "create",
        files={"upload": ("vs.xml", document("from requests"), "application/xml")},
        headers=headers,
        verify=False,
        timeout=20,
    )
    assert created.status_code == 200
    assert ET.fromstring(created.content).findtext("resultCode") == "0"
    updated = requests.post(
        url + "update",
        params={"vs": "from requests"},
        data=document("renamed").encode(),
        headers={**headers, "Content-Type": "text/xml"},
        verify=False,
        timeout=20,
    )
    assert ET.fromstring(updated.content).findtext("resultCode") == "0"
    assert names(live) == ["renamed"]
    deleted = requests.get(url + "delete", params={"vs": "renamed"}, headers=headers, verify=False)
    assert ET.fromstring(deleted.content).findtext("operation") == "delete"
    assert names(live) == []


# -- positions ---------------------------------------------------------------------------------


def test_positions_first_last_and_ordinal_renumber_the_others(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    for name, position in [
        ("a", ""),
        ("b", position_of("LAST")),
        ("c", position_of("FIRST")),
        ("d", position_of("ORDINAL_POSITION", 2)),
        ("e", position_of("ordinal_position", 99)),  # beyond the end: last
    ]:
        envelope_of(create(live, tmp_path, document(name, position=position)), "create", 0)
    shown = segments(live)
    assert [s.findtext("name") for s in shown] == ["c", "d", "a", "b", "e"]
    assert [s.findtext("virtualSegPosition/ordinalPosition") for s in shown] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    first = document("a", position=position_of("FIRST"))
    envelope_of(update(live, tmp_path, "a", first), "update", 0)
    assert names(live) == ["a", "c", "d", "b", "e"]
    envelope_of(call(live, "delete", vs="d"), "delete", 0)
    shown = segments(live)
    assert [s.findtext("name") for s in shown] == ["a", "c", "b", "e"]
    assert [s.findtext("virtualSegPosition/ordinalPosition") for s in shown] == [
        "1",
        "2",
        "3",
        "4",
    ]


# -- update and delete -------------------------------------------------------------------------


def test_update_replaces_the_definition_and_reports_what_each_device_left(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    small, big = by_model(clean, "440T"), by_model(clean, "6200NX")
    before = {small["name"]: ["Segment 1-1 (A > B)", "Segment 1-2 (A > B)"]}
    envelope_of(create(live, tmp_path, document("lab", placed=before)), "create", 0)
    after = {small["name"]: ["Segment 1-2 (A > B)"], big["name"]: ["Segment 1-5 (A > B)"]}
    named = document("lab 2", vlans="<namedVlanGroup>x</namedVlanGroup>", placed=after)
    # A named group does not exist: nothing changes.
    failed(update(live, tmp_path, "lab", named), "update", 320, 400)
    assert names(live) == ["lab"]
    root = envelope_of(update(live, tmp_path, "lab", document("lab 2", placed=after)), "update", 0)
    results = {
        r.findtext("device/name"): [m.text for m in r.findall("messages/message")]
        for r in root.findall("resultDetails/deviceResults/deviceResult")
    }
    assert results == {
        small["name"]: ["assigned to Segment 1-2 (A > B)", "removed from Segment 1-1 (A > B)"],
        big["name"]: ["assigned to Segment 1-5 (A > B)"],
    }
    assert names(live) == ["lab 2"]

    deleted = envelope_of(call(live, "delete", vs="lab 2"), "delete", 0)
    assert {
        r.findtext("device/name")
        for r in deleted.findall("resultDetails/deviceResults/deviceResult")
    } == {small["name"], big["name"]}
    assert names(live) == []


def test_what_get_returns_can_be_sent_back_to_update_unchanged(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    device = by_model(clean, "2600NX")
    xml = document("round trip", placed={device["name"]: ["Segment 1-4 (A > B)"]})
    envelope_of(create(live, tmp_path, xml), "create", 0)
    [shown] = segments(live)
    envelope_of(update(live, tmp_path, "round trip", ET.tostring(shown)), "update", 0)
    [again] = segments(live)
    assert ET.tostring(again) == ET.tostring(shown)


def test_delete_of_a_device_takes_its_placements_with_it(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    def add(name: str) -> int:
        # Polled at a fleet device's agent, so the poller never waits on a silent address.
        snmp = clean[0]["snmp"]
        body = {"name": name, "address": "127.0.0.1", "snmp_port": snmp["port"]}
        added = api.post("/api/v1/devices", json={**body, "snmp_community": snmp["community"]})
        assert added.status_code == 201, added.text
        return int(added.json()["id"])

    with live.admin() as api:
        spare = add("spare")
        placed = {"spare": ["Segment 1-1 (A > B)"], clean[0]["name"]: ["Segment 1-1 (A > B)"]}
        envelope_of(create(live, tmp_path, document("shared", placed=placed)), "create", 0)
        assert api.delete(f"/api/v1/devices/{spare}").status_code in (200, 204)
        # SQLite may give the next device the deleted one's id: it inherits nothing.
        newcomer = add("newcomer")
        try:
            [shown] = segments(live)
        finally:
            assert api.delete(f"/api/v1/devices/{newcomer}").status_code in (200, 204)
    assert [d.text for d in shown.findall("physicalSegments/physicalSegment/device/name")] == [
        clean[0]["name"]
    ]


def test_get_with_vs_names_one_segment(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    for name in ("one", "two"):
        envelope_of(create(live, tmp_path, document(name)), "create", 0)
    root = envelope_of(call(live, "get", vs="two"), "get", 0)
    assert [e.findtext("name") for e in root.iter("virtualSegment")] == ["two"]


# -- devices and their segments ----------------------------------------------------------------


def test_a_device_may_be_named_by_id_short_id_or_address_when_they_agree(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    with live.admin() as api:
        listed = {d["name"]: d for d in api.get("/api/v1/devices").json()}
    device = listed[clean[0]["name"]]
    refs = f"<id>{device['id']}</id><shortID>{device['id']}</shortID>"
    xml = document("by id").replace(
        "</virtualSegment>",
        f"<physicalSegments><physicalSegment><device>{refs}<ipAddress>{device['address']}"
        "</ipAddress></device><segmentNameList><segmentNames>Segment 1-1 (A &gt; B)"
        "</segmentNames></segmentNameList></physicalSegment></physicalSegments></virtualSegment>",
    )
    root = envelope_of(create(live, tmp_path, xml), "create", 0)
    assert root.findtext("resultDetails/deviceResults/deviceResult/device/name") == device["name"]
    other = listed[clean[1]["name"]]
    wrong = xml.replace("by id", "mismatch").replace(
        f"<shortID>{device['id']}", f"<shortID>{other['id']}"
    )
    reason = failed(create(live, tmp_path, wrong), "create", 320, 400)
    assert "no such device" in reason
    # Every fleet device listens on 127.0.0.1: an address alone is ambiguous.
    shared = xml.replace("by id", "by address").replace(refs, "")
    reason = failed(create(live, tmp_path, shared), "create", 320, 400)
    assert "shared by" in reason and "<name>" in reason


def test_segments_are_those_of_the_model_or_learned_from_events(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    small = by_model(clean, "440T")  # two physical segments
    beyond = document("too far", placed={small["name"]: ["Segment 1-3 (A > B)"]})
    reason = failed(create(live, tmp_path, beyond), "create", 320, 400)
    assert small["name"] in reason and "Segment 1-3 (A > B)" in reason
    # A segment the device's events showed is known whatever its name.
    device_id = _device_id(live, small["name"])
    segment = LearnedSegment(
        catalog_id("segment", f"{device_id}:21"), device_id, 21, "Segment 2-1 (A > B)", "21A 21B"
    )
    with live.services.store.transaction() as tx:
        Catalog(tx.session).record(Learned(segments=[segment]))
    learned = document("learned", placed={small["name"]: ["Segment 2-1 (A > B)"]})
    envelope_of(create(live, tmp_path, learned), "create", 0)


def _device_id(live: RunningServer, name: str) -> int:
    with live.admin() as api:
        return next(d["id"] for d in api.get("/api/v1/devices").json() if d["name"] == name)


# -- every result code -------------------------------------------------------------------------


def test_missing_parameters_are_code_200(live: RunningServer, clean: list[Any]) -> None:
    assert "vs=" in failed(call(live, "delete"), "delete", 200, 400)
    assert "vs=" in failed(call(live, "update"), "update", 200, 400)
    assert "XML document" in failed(call(live, "create"), "create", 200, 400)
    assert "XML document" in failed(call(live, "update", vs="x"), "update", 200, 400)
    assert "different values" in failed(
        curl(live, "/virtualsegment/delete?vs=a&vs=b&" + urlencode(ADMIN)), "delete", 200, 400
    )


def test_a_taken_name_is_an_operation_error_205(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    envelope_of(create(live, tmp_path, document("Core")), "create", 0)
    reason = failed(create(live, tmp_path, document("CORE")), "create", 205, 400)
    assert "'Core' already exists" in reason
    envelope_of(create(live, tmp_path, document("Edge")), "create", 0)
    failed(update(live, tmp_path, "Edge", document("core")), "update", 205, 400)
    assert names(live) == ["Core", "Edge"]


def test_unreadable_xml_is_300_and_broken_rules_are_310(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    reason = failed(create(live, tmp_path, "<virtualSegment><name>x"), "create", 300, 400)
    assert "not well-formed" in reason and "line 1" in reason
    reason = failed(create(live, tmp_path, "<profile/>"), "create", 300, 400)
    assert "<profile>" in reason
    bad_vlan = document("x", vlans="<vlanList><vlan><vlanID>5000</vlanID></vlan></vlanList>")
    reason = failed(create(live, tmp_path, bad_vlan), "create", 310, 400)
    assert "vlanID '5000'" in reason
    long_name = document("n" * 128)
    assert "name is 128 characters" in failed(create(live, tmp_path, long_name), "create", 310, 400)
    assert names(live) == []


def test_references_to_nothing_are_resource_errors_320(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    assert "no virtual segment named 'ghost'" in failed(
        call(live, "delete", vs="ghost"), "delete", 320, 400
    )
    failed(update(live, tmp_path, "ghost", document("x")), "update", 320, 400)
    failed(call(live, "get", vs="ghost"), "get", 320, 400)
    cases = {
        "no-device": document("x", placed={"no-such-ips": ["Segment 1-1 (A > B)"]}),
        "namedAddrGroup 'Web'": document(
            "x", extra="<sourceAddressList><namedAddrGroup>Web</namedAddrGroup></sourceAddressList>"
        ),
        "namedVlanGroup 'Servers'": document("x", vlans="<namedVlanGroup>Servers</namedVlanGroup>"),
        "segmentGroupID/name 'Lab'": document(
            "x",
            extra="<segmentGroup><segmentGroupID><name>Lab</name></segmentGroupID></segmentGroup>",
        ),
    }
    for words, xml in cases.items():
        reason = failed(create(live, tmp_path, xml), "create", 320, 400)
        assert words.replace("no-device", "'no-such-ips'") in reason, reason
    assert names(live) == []


def test_an_answer_that_cannot_be_written_is_305(
    live: RunningServer, clean: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(specs: object) -> ET.Element:
        raise OSError("disk full")

    monkeypatch.setattr(vsxml, "get_details", broken)
    failed(call(live, "get"), "get", 305, 500)


def test_an_unexpected_failure_is_500_and_the_server_keeps_serving(
    live: RunningServer, clean: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: VirtualSegments, spec: object) -> object:
        raise RuntimeError("a bug with a secret in its traceback")

    monkeypatch.setattr(VirtualSegments, "create", broken)
    reason = failed(create(live, tmp_path, document("x")), "create", 500, 500)
    assert "secret" not in reason
    monkeypatch.undo()
    envelope_of(create(live, tmp_path, document("x")), "create", 0)


def test_bad_credentials_are_refused_in_the_envelope_with_code_100(
    live: RunningServer,
) -> None:
    reply = curl(live, "/virtualsegment/get?smsuser=admin&smspass=wrong")
    assert reply.status == 401
    assert reply.headers["www-authenticate"].startswith("Basic")
    root = ET.fromstring(reply.body)
    assert (root.findtext("operation"), root.findtext("resultCode")) == ("get", "100")
    assert root.findtext("resultDetails")
    unknown = curl(live, "/virtualsegment/rename", "-H", f"X-SMS-API-KEY: {live.api_key}")
    assert unknown.status == 404
    assert ET.fromstring(unknown.body).findtext("resultCode") == "205"


# -- the audit trail ---------------------------------------------------------------------------


def test_every_call_is_audited_with_its_virtual_segment(
    live: RunningServer, clean: list[Any], tmp_path: Path
) -> None:
    envelope_of(create(live, tmp_path, document("audited")), "create", 0)
    failed(call(live, "delete", vs="nothing"), "delete", 320, 400)
    with live.services.store.transaction() as tx:
        created = tx.audit.query(action="webservices.virtualsegment.create", limit=1)[0]
        refused = tx.audit.query(action="webservices.virtualsegment.delete", limit=1)[0]
    assert (created.target, created.outcome, created.actor) == (
        "virtual-segment:audited",
        "success",
        "admin",
    )
    assert (refused.target, refused.outcome) == ("virtual-segment:nothing", "failure")
    assert '"result_code": 320' in refused.detail
