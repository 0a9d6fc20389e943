"""End to end: an ipsim fleet sends TippingPoint traps to a running Garrison, which polls
the devices over SNMP; the devices and their events are then queried over the API and
checked against each device's own event log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipsim.testing import FleetProcess
from tests.support import (
    RunningServer,
    add_fleet_devices,
    make_settings,
    start_server,
    wait_for,
)

DEVICES = 3


@pytest.fixture
def garrison(tmp_path: Path) -> Iterator[RunningServer]:
    settings = make_settings(
        tmp_path / "data", poller={"interval_seconds": 2, "timeout_seconds": 1}
    )
    yield from start_server(settings)


@pytest.mark.timeout(180)
def test_fleet_is_polled_and_its_events_are_stored_and_queryable(
    garrison: RunningServer, tmp_path: Path
) -> None:
    trap_port = garrison.ports["snmp-trap"]
    with (
        FleetProcess(
            tmp_path,
            "--devices",
            str(DEVICES),
            "--seed",
            "11",
            "--rate",
            "10",
            "--manager",
            f"127.0.0.1:{trap_port}",
            "--transport",
            "trap",
        ) as fleet,
        garrison.admin() as api,
    ):
        devices = fleet.fleet["devices"]
        add_fleet_devices(api, devices)

        # The poller finds every device reachable and learns its identity.
        def all_reachable() -> list[dict[str, Any]] | None:
            listed = api.get("/api/v1/devices").json()
            return listed if all(d["state"] == "reachable" for d in listed) else None

        listed = wait_for("every device reachable", all_reachable)
        by_name = {d["name"]: d for d in listed}
        for device in devices:
            assert by_name[device["name"]]["sys_object_id"] == device["sys_object_id"]

        # Their traps become stored events, queryable by device name.
        name = devices[0]["name"]
        wait_for(
            f"events from {name}",
            lambda: (
                api.get("/api/v1/events/count", params={"device": name, "kind": "alert"}).json()[
                    "count"
                ]
                >= 20
            ),
        )
        stored = api.get(
            "/api/v1/events", params={"device": name, "kind": "alert", "limit": 1000, "sort": "id"}
        ).json()
        stored.sort(key=lambda e: e["sequence"])
        assert {e["kind"] for e in stored} == {"alert"}
        assert all(e["collector"] == "snmp-trap" and e["src_ip"] for e in stored)

        # Every event the device logged from the first one stored on is in Garrison, field
        # by field (traps sent before the device was registered were refused, and counted).
        management = devices[0]["management"]
        log = httpx.get(
            f"{management['url']}/events",
            params={"since": stored[0]["sequence"] - 1, "limit": 1000},
            headers={"Authorization": f"Bearer {management['token']}"},
            verify=False,
            timeout=10,
        ).json()["events"]
        garrison_by_sequence = {e["sequence"]: e for e in stored}
        checked = [e for e in log if e["seq"] <= stored[-1]["sequence"]]
        assert len(checked) >= 10
        for sent in checked:
            got = garrison_by_sequence.get(sent["seq"])
            assert got is not None, f"event {sent['seq']} of {name} was lost"
            assert (got["src_ip"], got["dst_ip"]) == (sent["src_ip"], sent["dst_ip"])
            assert got["signature_number"] == sent["filter_number"]
