"""deviceAdmin/getFallback and setFallback on a real Garrison, against ipsim devices over
their management API, called with curl the way scripts call them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipsim.testing import FleetProcess, management_client
from tests.support import RunningServer, add_fleet_devices, make_settings, start_server
from tests.webservices.curl_peer import auth_forms, curl, needs_curl
from tests.webservices.device_ws_support import add_unreachable_device

pytestmark = needs_curl


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Garrison, two ipsim devices in group Edge, an unreachable one, an empty group."""
    work: Path = tmp_path_factory.mktemp("device-admin")
    settings = make_settings(work / "data", poller={"enabled": False})
    for server in start_server(settings):
        with (
            FleetProcess(work, "--devices", "2", "--rate", "1", "--transport", "none") as fleet,
            server.admin() as api,
        ):
            add_fleet_devices(api, fleet.devices, management=True)
            edge = api.post("/api/v1/device-groups", json={"name": "Edge"}).json()
            api.post("/api/v1/device-groups", json={"name": "Empty"})
            for device in api.get("/api/v1/devices").json():
                api.patch(f"/api/v1/devices/{device['id']}", json={"group_id": edge["id"]})
            add_unreachable_device(api, "gone-1")
            yield {"server": server, "fleet": fleet, "names": [d["name"] for d in fleet.devices]}


def device_state(site: dict[str, Any], index: int) -> bool:
    """The device's own word on its fallback state, without Garrison."""
    with management_client(site["fleet"].devices[index]) as device:
        return bool(device.get("/fallback").json()["l2fb"])


@pytest.mark.parametrize("form", ["api-key", "basic", "smsuser"])
def test_get_fallback_of_one_device_with_each_auth_form(site: dict[str, Any], form: str) -> None:
    server: RunningServer = site["server"]
    args, suffix = auth_forms(server)[form]
    name = site["names"][0]
    reply = curl(server, f"/deviceAdmin/getFallback?deviceName={name}{suffix}", *args)
    assert (reply.status, reply.body) == (200, f"{name}=false\n")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


def test_set_fallback_reaches_the_device_and_reads_back(site: dict[str, Any]) -> None:
    server: RunningServer = site["server"]
    args, _ = auth_forms(server)["api-key"]
    name = site["names"][1]
    reply = curl(server, f"/deviceAdmin/setFallback?deviceName={name}&L2FB=TRUE", *args)
    assert (reply.status, reply.body) == (200, f"{name}=true\n")
    assert device_state(site, 1) is True
    reply = curl(server, f"/deviceAdmin/getFallback?deviceName={name}", *args)
    assert reply.body == f"{name}=true\n"
    # POST with form fields, basic auth, lower case.
    reply = curl(
        server, "/deviceAdmin/setFallback", "-u", auth_forms(server)["basic"][0][1],
        "-d", f"deviceName={name}", "-d", "L2FB=false",
    )  # fmt: skip
    assert (reply.status, reply.body) == (200, f"{name}=false\n")
    assert device_state(site, 1) is False
    with server.services.store.transaction() as tx:
        row = tx.audit.query(action="webservices.deviceAdmin.setFallback", limit=1)[0]
    assert (row.actor, row.target, row.outcome) == ("admin", f"device:{name}", "success")
    assert json.loads(row.detail)["changed"] == [name]


def test_a_group_answers_a_comma_list(site: dict[str, Any]) -> None:
    server: RunningServer = site["server"]
    args, suffix = auth_forms(server)["smsuser"]
    first, second = site["names"]
    reply = curl(server, f"/deviceAdmin/setFallback?deviceGroupName=Edge&L2FB=True{suffix}")
    assert (reply.status, reply.body) == (200, f"{first}=true,{second}=true\n")
    assert device_state(site, 0) is device_state(site, 1) is True
    reply = curl(server, f"/deviceAdmin/getFallback?deviceGroupName=Edge{suffix}", *args)
    assert reply.body == f"{first}=true,{second}=true\n"
    reply = curl(server, f"/deviceAdmin/setFallback?deviceGroupName=Edge&L2FB=false{suffix}")
    assert reply.body == f"{first}=false,{second}=false\n"
    assert device_state(site, 0) is device_state(site, 1) is False


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ("getFallback?", 400, "give deviceName or deviceGroupName (one of them)"),
        ("getFallback?deviceName=ips-001&deviceGroupName=Edge", 400, "give deviceName or"),
        ("getFallback?deviceName=nope", 404, "no device named 'nope'"),
        ("getFallback?deviceGroupName=Nope", 404, "no device group named 'Nope'"),
        ("getFallback?deviceGroupName=Empty", 412, "device group 'Empty' has no devices"),
        ("setFallback?deviceName=ips-001", 400, "L2FB is required: true or false"),
        ("setFallback?deviceName=ips-001&L2FB=yes", 400, "L2FB 'yes' must be true or false"),
        ("getFallback?deviceName=gone-1", 412, "device gone-1 (id 3): unreachable:"),
        ("setFallback?deviceName=gone-1&L2FB=true", 412, "device gone-1 (id 3): unreachable:"),
    ],
)
def test_bad_calls_get_the_sms_status_and_one_line(
    site: dict[str, Any], query: str, status: int, reason: str
) -> None:
    server: RunningServer = site["server"]
    reply = curl(server, f"/deviceAdmin/{query}", "-H", f"X-SMS-API-KEY: {server.api_key}")
    assert reply.status == status, reply.body
    assert reply.body.startswith(reason) and reply.body.count("\n") == 1, reply.body


def test_a_group_with_an_unreachable_device_says_what_was_done(site: dict[str, Any]) -> None:
    server: RunningServer = site["server"]
    with server.admin() as api:
        group = api.post("/api/v1/device-groups", json={"name": "Mixed"}).json()
        gone = add_unreachable_device(api, "gone-2", group_id=group["id"])
        first = api.get("/api/v1/devices", params={"name": site["names"][0]}).json()[0]
        api.patch(f"/api/v1/devices/{first['id']}", json={"group_id": group["id"]})
    reply = curl(
        server, "/deviceAdmin/setFallback?deviceGroupName=Mixed&L2FB=true",
        "-H", f"X-SMS-API-KEY: {server.api_key}",
    )  # fmt: skip
    assert reply.status == 412
    assert reply.body.startswith(f"device gone-2 (id {gone['id']}): unreachable:")
    assert reply.body.rstrip().endswith(f"set: {site['names'][0]}=true")
    assert device_state(site, 0) is True
    with server.admin() as api:  # back in Edge, as the other tests expect it
        edge = next(g for g in api.get("/api/v1/device-groups").json() if g["name"] == "Edge")
        api.patch(f"/api/v1/devices/{first['id']}", json={"group_id": edge["id"]})
    curl(server, f"/deviceAdmin/setFallback?deviceName={first['name']}&L2FB=false",
         "-H", f"X-SMS-API-KEY: {server.api_key}")  # fmt: skip
