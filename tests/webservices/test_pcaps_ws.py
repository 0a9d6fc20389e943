"""pcaps/getByDevice and pcaps/getByEventIds on a real Garrison: two ipsim devices send
their events (a share with packet traces) as traps; the traces come back as one pcap file
that tshark and scapy read, byte for byte the packets the devices keep."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from garrison.devices import pcap
from ipsim.testing import FleetProcess, management_client
from ipsim.traces import trace_packets
from ipsim.traffic import AttackEvent
from tests.support import RunningServer, add_fleet_devices, make_settings, start_server, wait_for
from tests.webservices.curl_peer import auth_forms, curl, curl_download, needs_curl
from tests.webservices.device_ws_support import add_unreachable_device

pytestmark = [
    needs_curl,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]
needs_tshark = pytest.mark.skipif(
    shutil.which("tshark") is None, reason="tshark is not installed (Debian package tshark)"
)
TRACED_PER_DEVICE = 4


@dataclass
class Site:
    server: RunningServer
    fleet: FleetProcess
    ids: dict[str, int]  # device name -> Garrison device id
    work: Path

    def device_events(self, index: int) -> dict[int, dict[str, Any]]:
        """The device's own event log (seq -> event), without Garrison."""
        with management_client(self.fleet.devices[index]) as device:
            answer = device.get("/events", params={"limit": 10_000})
        return {e["seq"]: e for e in answer.json()["events"]}

    def stored_traced(self, name: str) -> list[dict[str, Any]]:
        """Garrison's stored events of device ``name`` that have a packet trace."""
        with self.server.admin() as api:
            events = api.get(
                "/api/v1/events", params={"device": name, "kind": "alert", "limit": 1000}
            ).json()
        return [e for e in events if e["packet_trace"]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("pcaps")
    settings = make_settings(work / "data", poller={"enabled": False})
    for server in start_server(settings):
        with FleetProcess(
            work,
            "--devices", "2", "--rate", "20", "--trace-fraction", "0.5", "--seed", "5",
            "--manager", f"127.0.0.1:{server.ports['snmp-trap']}", "--transport", "trap",
        ) as fleet, server.admin() as api:  # fmt: skip
            add_fleet_devices(api, fleet.devices, management=True)
            ids = {d["name"]: d["id"] for d in api.get("/api/v1/devices").json()}
            built = Site(server, fleet, ids, work)
            wait_for(
                f"{TRACED_PER_DEVICE} traced events of each device stored",
                functools.partial(enough_traced, built),
            )
            yield built


def enough_traced(site: Site) -> bool:
    names = [d["name"] for d in site.fleet.devices]
    return all(len(site.stored_traced(n)) >= TRACED_PER_DEVICE for n in names)


def expected_packets(site: Site, stored: list[dict[str, Any]]) -> list[pcap.Record]:
    """The packets the devices keep for these stored events, as ipsim builds them."""
    records: list[pcap.Record] = []
    for index, device in enumerate(site.fleet.devices):
        log = site.device_events(index)
        for event in stored:
            if event["device_name"] == device["name"]:
                fields = {k: v for k, v in log[event["sequence"]].items() if k != "type"}
                for packet in trace_packets(AttackEvent(**fields), device["serial"]):
                    micros = packet.time_ns // 1000 * 1000  # what a classic pcap keeps
                    records.append(pcap.Record(micros, packet.frame, len(packet.frame)))
    return sorted(records, key=lambda r: (r.time_ns, r.data))


def check_pcap(site: Site, data: bytes, stored: list[dict[str, Any]]) -> pcap.Capture:
    """One valid pcap of exactly the traces of ``stored``, in time order."""
    capture = pcap.parse(data)  # one header: a second one would not parse as a record
    times = [r.time_ns for r in capture.records]
    assert times == sorted(times)
    got = sorted(capture.records, key=lambda r: (r.time_ns, r.data))
    assert got == expected_packets(site, stored)
    return capture


def tshark_addresses(path: Path) -> set[str]:
    done = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "ip.src", "-e", "ip.dst"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listing = subprocess.run(["tshark", "-r", str(path)], capture_output=True, text=True)
    assert "Malformed" not in listing.stdout
    return {a for line in done.stdout.splitlines() for a in line.split("\t") if a}


def scapy_count(path: Path) -> int:
    from scapy.all import rdpcap

    return len(rdpcap(str(path)))


def newest_traced(site: Site, per_device: int) -> list[dict[str, Any]]:
    return [e for d in site.fleet.devices for e in site.stored_traced(d["name"])[:per_device]]


# -- getByDevice ------------------------------------------------------------------------------


@needs_tshark
@pytest.mark.parametrize("form", ["api-key", "basic", "smsuser"])
def test_get_by_device_with_each_auth_form(site: Site, form: str, tmp_path: Path) -> None:
    device = site.fleet.devices[0]
    before = [e for e in site.device_events(0).values() if e["packet_trace"]]
    args, suffix = auth_forms(site.server)[form]
    out = tmp_path / "device.pcap"
    answer = curl_download(
        site.server, f"/pcaps/getByDevice?deviceId={site.ids[device['name']]}{suffix}", out, *args
    )
    assert answer.status == 200, answer.body[:200]
    assert answer.headers["content-type"] == "application/octet-stream"
    after = [e for e in site.device_events(0).values() if e["packet_trace"]]
    capture = pcap.parse(answer.body)
    # Every trace the device kept when asked; none of the other device's.
    at_least = sum(len(trace_packets(AttackEvent(**_fields(e)))) for e in before)
    assert at_least <= len(capture.records) == scapy_count(out)
    seen = tshark_addresses(out)
    assert {e["src_ip"] for e in before} <= seen
    assert seen <= {e["src_ip"] for e in after} | {e["dst_ip"] for e in after}


def _fields(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "type"}


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ("", 400, "deviceId is required"),
        ("?deviceId=abc", 400, "deviceId 'abc' is not a device id"),
        ("?deviceId=99", 404, "no device with id 99"),
    ],
)
def test_get_by_device_errors(site: Site, query: str, status: int, reason: str) -> None:
    reply = curl(site.server, f"/pcaps/getByDevice{query}", *auth_forms(site.server)["api-key"][0])
    assert reply.status == status and reply.body.startswith(reason), reply.body
    assert reply.body.count("\n") == 1


# -- getByEventIds ----------------------------------------------------------------------------


@needs_tshark
@pytest.mark.parametrize("field", ["file", "name", "requestFile", "uploadfile"])
def test_multipart_upload_under_any_field_name_merges_both_devices(
    site: Site, field: str, tmp_path: Path
) -> None:
    stored = newest_traced(site, 3)
    ids = "\n".join(f"  {e['id']}  " for e in stored) + "\n\n"
    answer = requests.post(
        site.server.url() + "/pcaps/getByEventIds",
        files={field: ("ids.txt", ids.encode(), "text/plain")},
        headers={"X-SMS-API-KEY": site.server.api_key},
        verify=False,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/octet-stream"
    check_pcap(site, answer.content, stored)
    out = tmp_path / "events.pcap"
    out.write_bytes(answer.content)
    assert {e["src_ip"] for e in stored} | {e["dst_ip"] for e in stored} == tshark_addresses(out)
    assert scapy_count(out) == len(pcap.parse(answer.content).records)


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/json", "application/octet-stream"]
)
def test_raw_body_comma_separated_with_any_content_type(
    site: Site, content_type: str | None, tmp_path: Path
) -> None:
    stored = newest_traced(site, 2)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(" , ".join(str(e["id"]) for e in stored) + ",\r\n")
    _, suffix = auth_forms(site.server)["smsuser"]
    headers = ["-H", f"Content-Type: {content_type}"] if content_type else []
    answer = curl_download(
        site.server, "/pcaps/getByEventIds?" + suffix.lstrip("&"), tmp_path / "raw.pcap",
        "--data-binary", f"@{ids_file}", *headers,
    )  # fmt: skip
    assert answer.status == 200, answer.body[:200]
    check_pcap(site, answer.body, stored)


def test_ids_as_a_text_field_a_parameter_and_device_sequences(site: Site, tmp_path: Path) -> None:
    stored = newest_traced(site, 2)
    key = auth_forms(site.server)["api-key"][0]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(str(e["id"]) for e in stored))
    # curl -F "name=<file": the file's text as a plain field, no filename.
    answer = curl_download(
        site.server, "/pcaps/getByEventIds", tmp_path / "a.pcap", *key, "-F", f"ids=<{ids_file}"
    )
    assert answer.status == 200
    check_pcap(site, answer.body, stored)
    # A GET with the ids in the query string, and device:sequence pairs.
    pairs = ",".join(f"{site.ids[e['device_name']]}:{e['sequence']}" for e in stored)
    answer = curl_download(
        site.server, f"/pcaps/getByEventIds?eventIds={pairs}", tmp_path / "b.pcap", *key
    )
    assert answer.status == 200
    check_pcap(site, answer.body, stored)
    with site.server.services.store.transaction() as tx:
        row = tx.audit.query(action="webservices.pcaps.getByEventIds", limit=1)[0]
    assert (row.actor, row.target, row.outcome) == ("admin", "events", "success")


def test_get_by_event_ids_errors(site: Site) -> None:
    key = auth_forms(site.server)["api-key"][0]
    untraced = next(
        e
        for e in httpx.get(
            site.server.url() + "/api/v1/events",
            params={"kind": "alert", "limit": 200},
            headers={"X-SMS-API-KEY": site.server.api_key},
            verify=False,
        ).json()
        if not e["packet_trace"]
    )
    traced = newest_traced(site, 1)[0]
    bare = str(untraced["id"])
    for args, status, reason in [
        ([], 400, "no event ids"),
        (["--data-binary", "1\n2\nthree"], 400, "line 3: 'three' is not an event id"),
        (["--data-binary", f"{traced['id']},999999999"], 404, "no such event: 999999999"),
        (["--data-binary", "77:1"], 404, "no such event: 77:1"),
        (["--data-binary", bare], 404, f"no packet trace for event {bare}"),
    ]:  # fmt: skip
        reply = curl(site.server, "/pcaps/getByEventIds", *key, *args)
        assert reply.status == status and reply.body.startswith(reason), (args, reply.body)
        assert reply.body.count("\n") == 1


def test_an_unreachable_device_is_a_412_naming_it(site: Site) -> None:
    with site.server.admin() as api:
        gone = add_unreachable_device(api, "gone-pcap")
    key = auth_forms(site.server)["api-key"][0]
    for target, args in (
        (f"/pcaps/getByDevice?deviceId={gone['id']}", []),
        ("/pcaps/getByEventIds", ["--data-binary", f"{gone['id']}:12"]),
    ):
        reply = curl(site.server, target, *key, *args)
        assert reply.status == 412, reply.body
        assert reply.body.startswith(f"device gone-pcap (id {gone['id']}): unreachable:")


def test_traces_the_device_dropped_are_a_404(site: Site) -> None:
    first = site.fleet.devices[0]["name"]
    reply = curl(
        site.server, "/pcaps/getByEventIds", *auth_forms(site.server)["api-key"][0],
        "--data-binary", f"{site.ids[first]}:999999999",
    )  # fmt: skip
    assert reply.status == 404
    assert reply.body.startswith("the devices no longer keep the packet traces of these events")
