"""The ips-quarantine action against a real ipsim fleet registered in a Garrison store:
quarantine and release on all devices, a group, named devices; a device that is down; a
retry that only asks the devices that failed; a refused token; the device's own
tptQuarantineNotify received by net-snmp's snmptrapd."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from garrison.auth import Principal
from garrison.devices.management import DeviceManagementClient, show_fingerprint
from garrison.devices.service import DeviceService
from garrison.errors import Invalid
from garrison.responder.actions.base import ActionContext, ActionFailed, ActionServices
from garrison.responder.actions.ips_quarantine import (
    IpsQuarantine,
    IpsQuarantineConfig,
    QuarantineIncomplete,
)
from garrison.responder.templates import check_template
from garrison.store import Store, upgrade
from garrison.store.devices import DeviceRecord
from ipsim.testing import FleetProcess, Snmptrapd, free_port
from tests.support import make_settings, quarantine_list

ADMIN = Principal.local_cli()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetProcess]:
    with FleetProcess(
        tmp_path_factory.mktemp("ips-quarantine"),
        "--devices",
        "3",
        "--rate",
        "0",
        "--transport",
        "none",
        "--seed",
        "5",
    ) as f:
        yield f


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[DeviceService]:
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(store.engine)
    yield DeviceService(store)
    store.close()


@pytest.fixture
def services(tmp_path: Path, devices: DeviceService) -> ActionServices:
    return ActionServices(settings=make_settings(tmp_path / "data"), devices=devices)


def register(
    devices: DeviceService, fleet: FleetProcess, *, url: dict[int, str] | None = None
) -> list[DeviceRecord]:
    """Every fleet device as a Garrison device (ids 1..n in fleet order)."""
    records = []
    for i, device in enumerate(fleet.devices):
        m = device["management"]
        records.append(
            devices.create_device(
                ADMIN,
                name=device["name"],
                address=device["address"],
                snmp_port=device["snmp"]["port"],
                snmp_community=device["snmp"]["community"],
                mgmt_url=(url or {}).get(i, m["url"]),
                mgmt_secret=m["token"],
            )
        )
    return records


def context(
    address: str, phase: str = "initial", response_id: int = 1, **more: Any
) -> ActionContext:
    return ActionContext(
        response_id=response_id,
        policy="Block attackers",
        address=address,
        phase=phase,
        trigger="threshold",
        opened_at=datetime.now(UTC),
        **more,
    )


def action(services: ActionServices, **config: Any) -> IpsQuarantine:
    return IpsQuarantine(IpsQuarantineConfig.model_validate(config), services)


def quarantine_directly(device: dict, ip: str) -> None:
    m = device["management"]
    httpx.post(
        f"{m['url']}/quarantine",
        json={"ip": ip},
        headers={"Authorization": f"Bearer {m['token']}"},
        verify=False,
        timeout=10,
    ).raise_for_status()


def release_directly(device: dict, ip: str) -> None:
    m = device["management"]
    httpx.delete(
        f"{m['url']}/quarantine/{ip}",
        headers={"Authorization": f"Bearer {m['token']}"},
        verify=False,
        timeout=10,
    )


# -- all devices ------------------------------------------------------------------------


async def test_quarantine_on_every_device_then_the_timeout_phase_releases_it(
    fleet: FleetProcess, devices: DeviceService, services: ActionServices
) -> None:
    register(devices, fleet)
    host = "198.51.100.10"
    act = action(services, reason="policy {policy}, response {response_id}")
    try:
        result = await act.run(context(host))
        assert result.data["host_state"] == "QUARANTINED"
        assert result.data["devices"] == "1,2,3"
        assert result.data["operation"] == "quarantine"
        assert "on 3 devices" in result.detail and "added" in result.detail
        for device in fleet.devices:
            assert host in quarantine_list(device)
            m = device["management"]
            async with DeviceManagementClient(
                f"{m['url']}#sha256={m['cert_sha256']}", secret=m["token"]
            ) as client:
                hosts = {h.ip: h for h in await client.quarantine_list()}
            assert hosts[host].reason == "policy Block attackers, response 1"

        # The device certificates were pinned at first contact, exactly the announced ones.
        pins = json.loads((services.settings.tls_dir / "device-pins.json").read_text())
        assert sorted(pins.values()) == sorted(
            show_fingerprint(d["management"]["cert_sha256"]) for d in fleet.devices
        )

        # The same settings as a timeout action release the host everywhere.
        released = await act.run(
            context(host, phase="timeout", earlier={"quarantine": result.data})
        )
        assert released.data["host_state"] == "UNQUARANTINED"
        assert released.data["devices"] == "1,2,3"
        for device in fleet.devices:
            assert host not in quarantine_list(device)
    finally:
        await act.close()


async def test_releasing_on_all_releases_on_every_device_whatever_was_recorded(
    fleet: FleetProcess, devices: DeviceService, services: ActionServices
) -> None:
    register(devices, fleet)
    host = "198.51.100.11"
    for device in fleet.devices:
        quarantine_directly(device, host)
    act = action(services, operation="release")
    earlier = {"q": {"kind": "ips-quarantine", "operation": "quarantine", "devices": "1"}}
    try:
        result = await act.run(context(host, phase="timeout", earlier=earlier))
    finally:
        await act.close()
    assert result.data["devices"] == "1,2,3"
    assert all(host not in quarantine_list(d) for d in fleet.devices)


async def test_releasing_a_host_that_is_not_quarantined_succeeds(
    fleet: FleetProcess, devices: DeviceService, services: ActionServices
) -> None:
    register(devices, fleet)
    act = action(services, operation="release")
    try:
        result = await act.run(context("198.51.100.12", phase="timeout"))
    finally:
        await act.close()
    assert result.data["host_state"] == "UNQUARANTINED"
    assert result.detail.count("not quarantined") == 3


# -- groups and named devices -----------------------------------------------------------


async def test_a_group_target_touches_only_the_group(
    fleet: FleetProcess, devices: DeviceService, services: ActionServices
) -> None:
    records = register(devices, fleet)
    edge = devices.create_group(ADMIN, name="edge")
    for record in records[:2]:
        devices.update_device(ADMIN, record.id, group_id=edge.id)
    host = "198.51.100.20"
    by_name = action(services, target="group", group="edge")
    by_id = action(services, target="group", group=edge.id, operation="release")
    try:
        result = await by_name.run(context(host))
        assert result.data["devices"] == f"{records[0].id},{records[1].id}"
        assert [host in quarantine_list(d) for d in fleet.devices] == [True, True, False]

        # Device 2 leaves the group meanwhile: the release still finds it, from the result.
        devices.update_device(ADMIN, records[1].id, group_id=None)
        released = await by_id.run(context(host, phase="timeout", earlier={"q": result.data}))
        assert released.data["devices"] == f"{records[0].id},{records[1].id}"
        assert not any(host in quarantine_list(d) for d in fleet.devices)
    finally:
        await by_name.close()
        await by_id.close()


async def test_named_devices_by_name_or_id(
    fleet: FleetProcess, devices: DeviceService, services: ActionServices
) -> None:
    records = register(devices, fleet)
    host = "2001:db8::21"
    act = action(services, target="device", devices=[records[0].name, records[2].id])
    try:
        result = await act.run(context(host))
        assert result.data["device_names"] == f"{records[0].name},{records[2].name}"
        assert [host in quarantine_list(d) for d in fleet.devices] == [True, False, True]
        await act.run(context(host, phase="timeout", earlier={"q": result.data}))
        assert not any(host in quarantine_list(d) for d in fleet.devices)
    finally:
        await act.close()


async def test_no_target_devices_is_a_final_failure_that_says_so(
    fleet: FleetProcess, devices: DeviceService, services: ActionServices
) -> None:
    register(devices, fleet)
    devices.create_group(ADMIN, name="empty")
    cases = [
        ({"target": "group", "group": "empty"}, "no managed devices in group empty"),
        ({"target": "group", "group": "nowhere"}, "no device group named 'nowhere'"),
        ({"target": "device", "devices": ["ghost", 99]}, "no such device: ghost, 99"),
    ]
    for config, words in cases:
        act = action(services, **config)
        with pytest.raises(ActionFailed) as caught:
            await act.run(context("198.51.100.22"))
        assert words in caught.value.reason
        assert caught.value.retryable is False
        await act.close()


async def test_no_managed_device_at_all(services: ActionServices) -> None:
    act = action(services)
    with pytest.raises(ActionFailed) as caught:
        await act.run(context("198.51.100.23"))
    assert "no managed devices" in caught.value.reason and not caught.value.retryable


# -- failures ---------------------------------------------------------------------------


async def test_a_device_that_is_down_fails_alone_and_a_retry_asks_only_it(
    fleet: FleetProcess, devices: DeviceService, services: ActionServices
) -> None:
    closed = free_port(socket.SOCK_STREAM)
    records = register(devices, fleet, url={2: f"https://127.0.0.1:{closed}/api/v1"})
    host = "198.51.100.30"
    act = action(services, timeout_seconds=3)
    try:
        with pytest.raises(QuarantineIncomplete) as caught:
            await act.run(context(host, response_id=7))
        failure = caught.value
        assert failure.retryable
        down = records[2]
        assert f"{down.name} (#{down.id}): unreachable: connection refused" in failure.reason
        assert "failed on 1 of 3 devices" in failure.reason
        assert f"succeeded on {records[0].name} (added)" in failure.reason
        assert failure.data["host_state"] == "ERROR"
        assert failure.data["devices"] == f"{records[0].id},{records[1].id}"
        assert [host in quarantine_list(d) for d in fleet.devices] == [True, True, False]

        # Someone releases the host on device 0 by hand; the device comes back; the engine
        # retries. The retry asks only the device that failed, so device 0 is left alone.
        release_directly(fleet.devices[0], host)
        devices.update_device(ADMIN, down.id, mgmt_url=fleet.devices[2]["management"]["url"])
        result = await act.run(context(host, response_id=7))
        assert result.data["devices"] == ",".join(str(r.id) for r in records)
        assert result.data["host_state"] == "QUARANTINED"
        assert [host in quarantine_list(d) for d in fleet.devices] == [False, True, True]

        # Another response is a fresh start: every device is asked.
        again = await act.run(context(host, response_id=8))
        assert "on 3 devices" in again.detail
        assert all(host in quarantine_list(d) for d in fleet.devices)
    finally:
        await act.close()
        for device in fleet.devices:
            release_directly(device, host)


async def test_a_refused_token_is_a_clear_final_failure(
    fleet: FleetProcess, devices: DeviceService, services: ActionServices
) -> None:
    records = register(devices, fleet)
    wrong = "wrong-token-value-123456"
    devices.update_device(ADMIN, records[1].id, mgmt_secret=wrong)
    act = action(services, target="device", devices=[records[1].name])
    try:
        with pytest.raises(ActionFailed) as caught:
            await act.run(context("198.51.100.31"))
    finally:
        await act.close()
    assert f"{records[1].name} (#{records[1].id}): 401 unauthorized" in caught.value.reason
    assert caught.value.retryable is False
    assert wrong not in caught.value.reason


async def test_a_bad_address_is_refused(services: ActionServices) -> None:
    act = action(services)
    with pytest.raises(ActionFailed) as caught:
        await act.run(context("not-an-address"))
    assert "is not an IP address" in caught.value.reason and not caught.value.retryable


# -- the device's own notification --------------------------------------------------------


@pytest.mark.skipif(shutil.which("snmptrapd") is None, reason="needs net-snmp's snmptrapd")
async def test_the_device_sends_its_quarantine_notification(
    tmp_path: Path, devices: DeviceService, services: ActionServices
) -> None:
    with (
        Snmptrapd(tmp_path) as trapd,
        FleetProcess(
            tmp_path,
            "--devices",
            "1",
            "--rate",
            "0",
            "--transport",
            "trap",
            "--manager",
            f"127.0.0.1:{trapd.port}",
            "--seed",
            "6",
        ) as fleet,
    ):
        register(devices, fleet)
        act = action(services, segment="1-1")
        host = "198.51.100.40"
        try:
            result = await act.run(context(host))
            notify = ".1.3.6.1.4.1.10734.3.3.3.0.20"
            text = trapd.wait_for(notify)
            assert f"IpAddress: {host}" in text
            await act.run(context(host, phase="timeout", earlier={"q": result.data}))
            trapd.wait_for(notify, count=2)
        finally:
            await act.close()


# -- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"target": "device"}, "needs 'devices'"),
        ({"target": "group"}, "needs 'group'"),
        ({"target": "all", "group": "edge"}, "only for target 'group'"),
        ({"target": "everywhere"}, "target"),
        ({"operation": "block"}, "operation"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_settings_are_refused(config: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        IpsQuarantineConfig.model_validate(config)


def test_the_reason_is_a_checked_template() -> None:
    assert IpsQuarantineConfig.TEMPLATES == ("reason",)
    check_template(IpsQuarantineConfig().reason, "default")
    with pytest.raises(Invalid, match="unknown template field"):
        check_template("{nope}", "reason")
