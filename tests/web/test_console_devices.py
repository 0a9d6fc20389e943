"""The devices pages over real TLS, as a browser meets them (httpx standing in): the list
with health and filters, a device's page with its health charts, the add and edit forms
with their errors next to the fields, removal, groups, and what an auditor may not do."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from garrison.auth import Principal
from garrison.errors import NotFound
from garrison.store.devices import NewSample
from tests.support import RunningServer
from tests.web.console_session import (
    ConsoleSession,
    add_user,
    browser,
    console_server,
    session_of,
)

CLI = Principal.local_cli()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from console_server(tmp_path_factory, "console-devices")


@pytest.fixture
def admin(live: RunningServer) -> Iterator[ConsoleSession]:
    yield from session_of(live)


@pytest.fixture(scope="module")
def auditor_password(live: RunningServer) -> str:
    return add_user(live, "dev-auditor", "auditor")


@pytest.fixture
def auditor(live: RunningServer, auditor_password: str) -> Iterator[ConsoleSession]:
    yield from session_of(live, "dev-auditor", auditor_password)


def device_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "",
        "address": "",
        "location": "",
        "group_id": "",
        "snmp_version": "2c",
        "snmp_port": "161",
        "snmp_community": "public",
        "snmp_user": "",
        "snmp_auth_protocol": "SHA-256",
        "snmp_auth_key": "",
        "snmp_priv_protocol": "AES",
        "snmp_priv_key": "",
        "mgmt_url": "",
        "mgmt_username": "",
        "mgmt_secret": "",
    }
    form.update(changes)
    return form


def error_of(page: str, field: str) -> str:
    """The message shown next to ``field``, as a person reads it ("" when none)."""
    found = re.search(rf'<small id="e-{field}" class="error">(.*?)</small>', page, re.S)
    return html.unescape(found[1]) if found else ""


def exists(live: RunningServer, name: str) -> bool:
    try:
        live.services.devices.find_device(CLI, name)
    except NotFound:
        return False
    return True


def test_adding_a_device_shows_it_in_the_list_and_on_its_page(
    live: RunningServer, admin: ConsoleSession
) -> None:
    added = admin.post("/devices/new", device_form(name="edge-1", address="192.0.2.10"))
    assert added.status_code == 303
    page = admin.get(added.headers["location"])
    assert page.status_code == 200
    assert "Device added." in page.text and "<h1>edge-1</h1>" in page.text
    device = live.services.devices.find_device(CLI, "edge-1")
    assert device.snmp_community == "public"
    assert f'href="/events?device={device.id}"' in page.text  # its recent events
    listed = admin.get("/devices").text
    row = re.search(r'<a href="/devices/\d+">edge-1</a>.*?</tr>', listed, re.S)
    assert row, "edge-1 is listed"
    assert '<span class="badge state-unknown">unknown</span>' in row[0]
    assert "192.0.2.10" in row[0] and "never" in row[0]
    # Model, OS version and filter package are not known before a poll: dashes.
    assert row[0].count("—") >= 3


def test_a_bad_address_is_explained_next_to_the_field(
    live: RunningServer, admin: ConsoleSession
) -> None:
    page = admin.post("/devices/new", device_form(name="edge-typo", address="192.0.2.300"))
    assert page.status_code == 400
    assert error_of(page.text, "address") == (
        "Address '192.0.2.300' is not an IPv4 or IPv6 address."
    )
    assert 'id="f-address" name="address" type="text" value="192.0.2.300"' in page.text
    assert 'aria-invalid="true" aria-describedby="e-address"' in page.text
    assert 'value="edge-typo"' in page.text  # what was typed stays
    assert not exists(live, "edge-typo")


def test_every_mistake_of_a_form_is_shown_at_once(admin: ConsoleSession) -> None:
    page = admin.post(
        "/devices/new",
        device_form(name="", address="", snmp_port="99999", mgmt_url="ftp://x"),
    )
    assert page.status_code == 400
    assert error_of(page.text, "name") == "Enter a name for the device."
    assert error_of(page.text, "address") == "Enter the device's IPv4 or IPv6 address."
    assert error_of(page.text, "snmp_port") == "SNMP port must be a number from 1 to 65535."
    assert error_of(page.text, "mgmt_url").startswith("Management URL must look like https://")


def test_the_services_refusals_land_next_to_their_fields(
    live: RunningServer, admin: ConsoleSession
) -> None:
    v3 = admin.post(
        "/devices/new",
        device_form(name="edge-v3", address="192.0.2.11", snmp_version="3", snmp_user="ops"),
    )
    assert v3.status_code == 400
    assert error_of(v3.text, "snmp_auth_key") == "SNMPv3 auth key must be 8-255 characters."
    admin.post("/devices/new", device_form(name="edge-twin", address="192.0.2.12"))
    twin = admin.post("/devices/new", device_form(name="edge-twin", address="192.0.2.13"))
    assert twin.status_code == 400
    assert error_of(twin.text, "name") == "A device named 'edge-twin' already exists."
    no_community = admin.post(
        "/devices/new", device_form(name="edge-mute", address="192.0.2.14", snmp_community="")
    )
    assert error_of(no_community.text, "snmp_community") == "Community must be 1-255 characters."
    assert not exists(live, "edge-v3") and not exists(live, "edge-mute")


def test_what_a_user_types_is_shown_escaped(live: RunningServer, admin: ConsoleSession) -> None:
    script = "<script>x</script>"
    refused = admin.post("/devices/new", device_form(name=script, address="192.0.2.15"))
    assert refused.status_code == 400
    assert script not in refused.text
    assert 'value="&lt;script&gt;x&lt;/script&gt;"' in refused.text
    assert error_of(refused.text, "name").startswith("Device name must be 1-64 letters")
    added = admin.post(
        "/devices/new", device_form(name="edge-esc", address="192.0.2.16", location=script)
    )
    page = admin.get(added.headers["location"]).text
    assert script not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_editing_keeps_a_secret_left_blank(live: RunningServer, admin: ConsoleSession) -> None:
    device = live.services.devices.create_device(
        CLI, name="edge-edit", address="192.0.2.17", snmp_community="s3cret"
    )
    form = admin.get(f"/devices/{device.id}/edit").text
    assert 'value="edge-edit"' in form and "s3cret" not in form  # secrets are never shown
    saved = admin.post(
        f"/devices/{device.id}/edit",
        device_form(name="edge-edit", address="192.0.2.18", location="Rack 4", snmp_community=""),
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"/devices/{device.id}?saved=1")
    after = live.services.devices.get_device(CLI, device.id)
    assert (after.address, after.location, after.snmp_community) == (
        "192.0.2.18",
        "Rack 4",
        "s3cret",
    )
    bad = admin.post(f"/devices/{device.id}/edit", device_form(name="edge-edit", address="x"))
    assert bad.status_code == 400 and error_of(bad.text, "address")


def test_removing_a_device_asks_first_then_it_is_gone(
    live: RunningServer, admin: ConsoleSession
) -> None:
    device = live.services.devices.create_device(
        CLI, name="edge-gone", address="192.0.2.19", snmp_community="c"
    )
    page = admin.get(f"/devices/{device.id}").text
    assert re.search(rf'action="/devices/{device.id}/delete" data-confirm="Remove edge-gone', page)
    removed = admin.post(f"/devices/{device.id}/delete")
    assert (removed.status_code, removed.headers["location"]) == (303, "/devices?removed=1")
    assert "Device removed." in admin.get("/devices?removed=1").text
    assert not exists(live, "edge-gone")
    assert admin.get(f"/devices/{device.id}").status_code == 404


def test_an_auditor_sees_devices_but_cannot_change_them(
    live: RunningServer, auditor: ConsoleSession
) -> None:
    device = live.services.devices.create_device(
        CLI, name="edge-audited", address="192.0.2.20", snmp_community="c"
    )
    listed = auditor.get("/devices")
    assert listed.status_code == 200 and "edge-audited" in listed.text
    assert 'href="/devices/new"' not in listed.text
    page = auditor.get(f"/devices/{device.id}").text
    assert "/edit" not in page and "/delete" not in page
    assert auditor.get("/devices/new").status_code == 403
    refused = auditor.post("/devices/new", device_form(name="edge-sneaky", address="192.0.2.21"))
    assert refused.status_code == 403 and "Not allowed" in refused.text
    assert not exists(live, "edge-sneaky")
    assert auditor.post(f"/devices/{device.id}/delete").status_code == 403
    assert auditor.post(f"/devices/{device.id}/edit", device_form()).status_code == 403
    assert exists(live, "edge-audited")
    assert auditor.post("/devices/groups", {"name": "sneaky"}).status_code == 403
    groups = auditor.get("/devices/groups").text
    assert "Add a group" not in groups and "sneaky" not in groups


def test_a_form_without_the_token_changes_nothing(
    live: RunningServer, admin: ConsoleSession
) -> None:
    forged = admin.client.post(
        "/devices/new",
        data=device_form(name="edge-forged", address="192.0.2.22"),
        headers={"Origin": live.url()},
    )
    assert forged.status_code == 403 and not exists(live, "edge-forged")


def test_groups_are_created_listed_used_as_a_filter_and_deleted(
    live: RunningServer, admin: ConsoleSession
) -> None:
    made = admin.post("/devices/groups", {"name": "core", "description": "Core <b>sites</b>"})
    assert (made.status_code, made.headers["location"]) == (303, "/devices/groups?added=1")
    twin = admin.post("/devices/groups", {"name": "core"})
    assert twin.status_code == 400
    assert error_of(twin.text, "name") == "A device group named 'core' already exists."
    bad = admin.post("/devices/groups", {"name": "no spaces"})
    assert error_of(bad.text, "name").startswith("Group name must be 1-64 letters")
    group = live.services.devices.find_group(CLI, "core")
    listing = admin.get("/devices/groups").text
    assert "Core &lt;b&gt;sites&lt;/b&gt;" in listing
    admin.post(
        "/devices/new",
        device_form(name="edge-core", address="192.0.2.23", group_id=str(group.id)),
    )
    admin.post("/devices/new", device_form(name="edge-edge", address="192.0.2.24"))
    filtered = admin.get(f"/devices?group={group.id}").text
    assert "edge-core" in filtered and "edge-edge" not in filtered
    assert f'<option value="{group.id}" selected>core</option>' in filtered
    gone = admin.post(f"/devices/groups/{group.id}/delete")
    assert gone.status_code == 303
    assert live.services.devices.find_device(CLI, "edge-core").group_id is None


def test_the_list_filters_by_state_and_refreshes_with_its_filters(
    live: RunningServer, admin: ConsoleSession
) -> None:
    devices = live.services.devices
    up = devices.create_device(CLI, name="state-up", address="192.0.2.30", snmp_community="c")
    down = devices.create_device(CLI, name="state-down", address="192.0.2.31", snmp_community="c")
    now = datetime.now(UTC)
    devices.record_samples(
        [NewSample(up.id, now, True, "reachable"), NewSample(down.id, now, False, "unreachable")]
    )
    page = admin.get("/devices?state=unreachable").text
    assert "state-down" in page and "state-up" not in page
    assert 'data-refresh="/devices/_list?state=unreachable"' in page
    rows = admin.get("/devices/_list?state=unreachable")
    assert rows.status_code == 200 and "<html" not in rows.text and "state-down" in rows.text
    assert "No device matches" in admin.get("/devices?name=nothing-like-this").text


def test_a_device_page_charts_its_health_history(
    live: RunningServer, admin: ConsoleSession
) -> None:
    device = live.services.devices.create_device(
        CLI, name="edge-charted", address="192.0.2.40", snmp_community="c"
    )
    now = datetime.now(UTC)
    samples = [
        NewSample(
            device.id,
            now - timedelta(minutes=5 * i),
            i != 3,
            "reachable" if i != 3 else "unreachable",
            rtt_ms=None if i == 3 else 2.0,
            cpu_percent=None if i == 3 else 10.0 + i,
            memory_percent=None if i == 3 else 50.0,
            identity={"model": "TPS 8200TX", "os_version": "5.5.1"},
        )
        for i in range(12)
    ]
    live.services.devices.record_samples(samples)
    page = admin.get(f"/devices/{device.id}?range=hour").text
    assert "12 polls in the last hour." in page
    assert "TPS 8200TX" in page and "5.5.1" in page
    state = re.search(r'<desc id="health-state-desc">(.*?)</desc>', page, re.S)
    assert state and "12 polls in total (Reachable 11; Unreachable 1)" in state[1]
    load = re.search(r'<desc id="health-load-desc">(.*?)</desc>', page, re.S)
    assert load and "Memory 50% to 50%" in load[1]
    assert '<desc id="health-rtt-desc">' in page
    for span in ("day", "week", "kept"):
        assert admin.get(f"/devices/{device.id}?range={span}").status_code == 200
    summary = admin.get(f"/devices/{device.id}/_summary").text
    assert '<span class="badge state-reachable">reachable</span>' in summary


def test_device_pages_need_a_session(live: RunningServer) -> None:
    with browser(live) as client:
        for path in ("/devices", "/devices/new", "/devices/groups", "/devices/1"):
            away = client.get(path)
            assert away.status_code == 303 and away.headers["location"].startswith("/login")
