"""The filter package (Digital Vaccine) version each device runs, learned by the poller
from the device's HTTPS management API and shown in the console's device list and page:
against real ipsim devices and a real Garrison polling them every second."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from garrison.devices.poller import learned_versions
from garrison.store import Store, downgrade, upgrade
from garrison.store.devices import DeviceRecord, Devices
from ipsim.testing import FleetProcess, management_client
from tests.support import RunningServer, make_settings, start_server, wait_for
from tests.web.console_session import ConsoleSession, session_of

NEW_PACKAGE = "4.0.0.9321"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Garrison polling every second, and two ipsim devices with a management API."""
    work: Path = tmp_path_factory.mktemp("filter-package")
    settings = make_settings(work / "data", poller={"interval_seconds": 1})
    for server in start_server(settings):
        with FleetProcess(work, "--devices", "2", "--rate", "1", "--transport", "none") as fleet:
            yield {"server": server, "fleet": fleet}


@pytest.fixture
def admin(site: dict[str, Any]) -> Iterator[ConsoleSession]:
    yield from session_of(site["server"])


def add_device(server: RunningServer, device: dict[str, Any], *, token: str = "") -> int:
    """Add an ipsim device with its management API (certificate pinned), as an operator
    does; ``token`` replaces the device's real one."""
    m = device["management"]
    body = {
        "name": device["name"],
        "address": device["address"],
        "snmp_port": device["snmp"]["port"],
        "snmp_community": device["snmp"]["community"],
        "mgmt_url": f"{m['url']}#sha256={m['cert_sha256']}",
        "mgmt_secret": token or m["token"],
    }
    with server.admin() as api:
        created = api.post("/api/v1/devices", json=body)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def device_status(device: dict[str, Any]) -> dict[str, Any]:
    with management_client(device) as api:
        return dict(api.get("/status").json())


def install_package(device: dict[str, Any], version: str) -> None:
    """Install a filter package on the device, as the SMS's distribution would."""
    package = f"digital vaccine {version}".encode()
    with management_client(device) as api:
        answer = api.post(
            "/filter-package",
            params={"version": version, "sha256": hashlib.sha256(package).hexdigest()},
            content=package,
            headers={"Content-Type": "application/octet-stream"},
        )
    assert answer.status_code == 200, answer.text


def listed_package(session: ConsoleSession, device_id: int) -> str:
    """The filter package column of the device's row in the console's device list."""
    page = session.get("/devices").text
    row = re.search(rf'<tr>\s*<td><a href="/devices/{device_id}">.*?</tr>', page, re.S)
    assert row, f"device {device_id} is in the list"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row[0], re.S)
    # Name, state, address, model, OS version, filter package, group, last polled.
    return str(cells[5]).strip()


def page_package(session: ConsoleSession, device_id: int) -> str:
    page = session.get(f"/devices/{device_id}").text
    found = re.search(r"<dt>Filter package</dt><dd>(.*?)</dd>", page)
    assert found, "the device page has a filter package line"
    return found[1]


def polls_of(server: RunningServer, device_id: int) -> int:
    with server.admin() as api:
        return len(api.get(f"/api/v1/devices/{device_id}/health").json())


def test_the_console_shows_the_version_a_device_runs_and_follows_a_new_one(
    site: dict[str, Any], admin: ConsoleSession
) -> None:
    server: RunningServer = site["server"]
    device = site["fleet"].devices[0]
    running = device_status(device)["versions"]["filter_package"]
    assert running and running != NEW_PACKAGE
    device_id = add_device(server, device)

    wait_for(
        "the device list shows the device's filter package",
        lambda: listed_package(admin, device_id) == running,
    )
    assert page_package(admin, device_id) == running
    with server.admin() as api:
        assert api.get(f"/api/v1/devices/{device_id}").json()["filter_package_version"] == running

    # A new package: the poller, polling every second, asks versions only every few
    # minutes, so a couple of polls later the console still shows the old one...
    install_package(device, NEW_PACKAGE)
    polled = polls_of(server, device_id)
    wait_for("two more polls", lambda: polls_of(server, device_id) >= polled + 2)
    assert listed_package(admin, device_id) == running

    # ...and "poll now" asks at once.
    with server.admin() as api:
        answer = api.post(f"/api/v1/devices/{device_id}/poll")
    assert answer.status_code == 200 and answer.json()["reachable"] is True, answer.text
    assert listed_package(admin, device_id) == NEW_PACKAGE
    assert page_package(admin, device_id) == NEW_PACKAGE


def test_a_refused_management_api_leaves_the_health_poll_alone(
    site: dict[str, Any], admin: ConsoleSession
) -> None:
    server: RunningServer = site["server"]
    device = site["fleet"].devices[1]
    device_id = add_device(server, device, token="not-the-device-token")
    with server.admin() as api:
        answer = api.post(f"/api/v1/devices/{device_id}/poll")
    assert answer.status_code == 200, answer.text
    assert answer.json()["reachable"] is True
    assert answer.json()["state"] != "unreachable"
    assert listed_package(admin, device_id) == "—"
    assert page_package(admin, device_id) == "—"


def record(**fields: str) -> DeviceRecord:
    now = datetime.now(UTC)
    values: dict[str, Any] = dict.fromkeys(DeviceRecord.__dataclass_fields__, "")
    values.update(id=1, group_id=None, snmp_port=161, last_polled_at=None, last_change_at=None)
    values.update(created_at=now, updated_at=now, **fields)
    return DeviceRecord(**values)


def test_the_tos_version_fills_only_an_empty_os_version() -> None:
    status = {"versions": {"tos": "5.5.4.6404", "filter_package": "3.2.0.9130"}}
    assert learned_versions(status, record(), {}) == {
        "filter_package_version": "3.2.0.9130",
        "os_version": "5.5.4.6404",
    }
    # SNMP's software revision, stored or in this poll, stays the OS version.
    assert learned_versions(status, record(os_version="5.5.1"), {}) == {
        "filter_package_version": "3.2.0.9130"
    }
    assert learned_versions(status, record(), {"os_version": "5.5.1"}) == {
        "filter_package_version": "3.2.0.9130"
    }
    # Nothing new, nothing written; an answer without versions teaches nothing.
    known = record(filter_package_version="3.2.0.9130", os_version="5.5.1")
    assert learned_versions(status, known, {}) == {}
    assert learned_versions({"versions": "?"}, record(), {}) == {}


def test_devices_stored_before_the_column_get_an_empty_version(database_url: str) -> None:
    store = Store(database_url)
    try:
        upgrade(store.engine, "0008")
        # The table as revision 0008 made it: a row of every column it requires.
        devices = sa.Table("devices", sa.MetaData(), autoload_with=store.engine)
        assert "filter_package_version" not in devices.c
        with store.engine.begin() as conn:
            conn.execute(sa.insert(devices), [legacy_row(devices, "old-ips")])
        upgrade(store.engine)
        with store.transaction() as tx:
            old = Devices(tx.session).by_name("old-ips")
        assert old is not None and old.filter_package_version == ""
        assert old.address == "192.0.2.7"
        with store.transaction() as tx:
            Devices(tx.session).update(old.id, filter_package_version="3.2.0.9130")
        downgrade(store.engine, "0008")
        upgrade(store.engine)
        with store.transaction() as tx:
            again = Devices(tx.session).by_name("old-ips")
        assert again is not None and again.filter_package_version == ""
    finally:
        store.close()


def legacy_row(table: sa.Table, name: str) -> dict[str, Any]:
    """Values for every NOT NULL column of ``table`` but the key, by the column's type."""
    now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as UTCDateTime stores it
    row: dict[str, Any] = {}
    for column in table.c:
        if column.nullable or column.primary_key:
            continue
        kind = column.type.python_type
        row[column.name] = now if kind is datetime else (161 if kind is int else "")
    return row | {"name": name, "address": "192.0.2.7", "snmp_version": "2c", "state": "unknown"}
