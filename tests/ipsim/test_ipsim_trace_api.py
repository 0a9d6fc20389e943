"""ipsim's packet traces and layer-2 fallback over its management API, against a running
fleet (docs/device-protocol.md, section 4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ipsim.testing import FleetProcess, management_client
from ipsim.traces import pcap_of
from ipsim.traffic import AttackEvent


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetProcess]:
    with FleetProcess(
        tmp_path_factory.mktemp("traces"),
        "--devices", "1", "--rate", "50", "--trace-fraction", "0.5", "--transport", "none",
    ) as f:  # fmt: skip
        yield f


@pytest.fixture
def api(fleet: FleetProcess) -> Iterator[httpx.Client]:
    with management_client(fleet.devices[0]) as client:
        yield client


def traced_events(api: httpx.Client, at_least: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = api.get("/events", params={"limit": 10_000}).json()["events"]
        traced = [e for e in events if e["packet_trace"]]
        if len(traced) >= at_least:
            return traced
        time.sleep(0.2)
    raise AssertionError(f"fewer than {at_least} traced events within 30 s")


def as_event(fields: dict[str, Any]) -> AttackEvent:
    return AttackEvent(**{k: v for k, v in fields.items() if k != "type"})


def test_traced_events_are_indexed_and_served_as_their_pcap(
    api: httpx.Client, fleet: FleetProcess
) -> None:
    traced = traced_events(api, 6)
    index = api.get("/packet-traces/index").json()
    assert index["capacity"] == 1000
    kept = {t["seq"] for t in index["traces"]}
    assert {e["seq"] for e in traced} <= kept
    some = traced[1:4]
    answer = api.get("/packet-traces", params={"seq": ",".join(str(e["seq"]) for e in some)})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.tcpdump.pcap"
    assert answer.headers["x-trace-count"] == "3"
    # The bytes are the traces of those events, as ipsim builds them.
    serial = fleet.devices[0]["serial"]
    assert answer.content == pcap_of([as_event(e) for e in some], salt=serial)
    # Repeated seq parameters, unknown sequence numbers skipped.
    answer = api.get(f"/packet-traces?seq={some[0]['seq']}&seq=999999999")
    assert answer.headers["x-trace-count"] == "1"


def test_all_retained_traces_and_an_empty_answer(api: httpx.Client) -> None:
    traced_events(api, 2)
    everything = api.get("/packet-traces")
    assert int(everything.headers["x-trace-count"]) >= 2
    assert len(everything.content) > 24 + 16 * 2
    nothing = api.get("/packet-traces", params={"seq": "999999998"})
    assert nothing.headers["x-trace-count"] == "0"
    assert len(nothing.content) == 24  # the file header alone: still a pcap file


@pytest.mark.parametrize("seq", ["abc", "1,-2", "1.5"])
def test_bad_sequence_numbers_are_a_400(api: httpx.Client, seq: str) -> None:
    answer = api.get("/packet-traces", params={"seq": seq})
    assert answer.status_code == 400 and answer.json()["error"] == "bad_request"


def test_layer2_fallback_stops_inspection_until_cleared(api: httpx.Client) -> None:
    assert api.get("/fallback").json()["l2fb"] is False
    entered = api.put("/fallback", json={"l2fb": True}).json()
    assert entered["l2fb"] is True and entered["changed"] is True and entered["changed_ns"] > 0
    assert api.put("/fallback", json={"l2fb": True}).json()["changed"] is False
    last = api.get("/status").json()["events"]["last_seq"]
    time.sleep(1)  # at 50 events a second an inspecting device would have sent dozens
    assert api.get("/status").json()["events"]["last_seq"] == last
    log = api.get("/system-log").json()["entries"]
    assert "Layer-2 fallback entered" in log[-1]["text"]
    assert api.put("/fallback", json={"l2fb": False}).json() == {
        "l2fb": False,
        "changed_ns": api.get("/fallback").json()["changed_ns"],
        "changed": True,
    }
    deadline = time.monotonic() + 30  # inspection resumes: events again
    while api.get("/status").json()["events"]["last_seq"] == last:
        assert time.monotonic() < deadline, "no event within 30 s of leaving fallback"
        time.sleep(0.1)


@pytest.mark.parametrize("body", [{"l2fb": "true"}, {"L2FB": True}, [], {}])
def test_a_fallback_body_must_be_a_boolean(api: httpx.Client, body: object) -> None:
    answer = api.put("/fallback", json=body)
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_fallback"


def test_traces_and_fallback_need_credentials(fleet: FleetProcess) -> None:
    m = fleet.devices[0]["management"]
    for path in ("/packet-traces", "/packet-traces/index", "/fallback"):
        assert httpx.get(m["url"] + path, verify=False, timeout=10).status_code == 401
