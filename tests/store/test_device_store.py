"""The device tables and DeviceService on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from garrison.auth import Principal, Role
from garrison.devices.service import DeviceService
from garrison.errors import Conflict, Forbidden, Invalid, NotFound
from garrison.store import Store
from garrison.store.devices import NewSample

ME = Principal.local_cli()
AUDITOR = Principal(username="aud", role=Role.AUDITOR, via="cli")


def add(service: DeviceService, name: str, address: str = "10.0.0.1", **fields: object):
    return service.create_device(ME, name=name, address=address, snmp_community="public", **fields)


def test_migration_creates_the_device_tables(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"devices", "device_groups", "device_health"} <= tables


def test_devices_groups_and_filters(store: Store) -> None:
    service = DeviceService(store)
    edge = service.create_group(ME, name="edge", description="perimeter")
    a = add(service, "ips-a", group_id=edge.id, location="rack 1")
    b = add(service, "ips-b", address="2001:db8::1")
    add(service, "lab_1", address="10.0.0.3")
    assert a.group_id == edge.id and a.state == "unknown"
    assert b.address == "2001:db8::1"
    assert [d.name for d in service.list_devices(ME, group_id=edge.id)] == ["ips-a"]
    assert [d.name for d in service.list_devices(ME, name_contains="ips")] == ["ips-a", "ips-b"]
    # "_" is a letter here, not a LIKE wildcard ("s_" would match "ips-a").
    assert service.list_devices(ME, name_contains="s_") == []
    assert [d.name for d in service.list_devices(ME, name_contains="b_")] == ["lab_1"]
    assert service.list_devices(ME, state="reachable") == []
    assert service.list_groups(ME)[0].device_count == 1
    with pytest.raises(Conflict):
        add(service, "ips-a", address="10.0.0.9")
    with pytest.raises(Conflict):
        service.create_group(ME, name="edge")
    with pytest.raises(NotFound):
        add(service, "ips-c", group_id=999)
    # Deleting the group keeps its devices, ungrouped.
    service.delete_group(ME, edge.id)
    assert service.get_device(ME, a.id).group_id is None


def test_update_switches_versions_and_audits_without_secrets(store: Store) -> None:
    service = DeviceService(store)
    device = add(service, "ips-a")
    updated = service.update_device(
        ME,
        device.id,
        snmp_version="3",
        snmp_user="u",
        snmp_auth_key="authpass123",
        snmp_priv_key="privpass123",
        address="::ffff:10.0.0.7",
    )
    assert updated.snmp_version == "3" and updated.snmp_community == ""
    assert updated.address == "10.0.0.7"
    assert "authpass123" not in repr(updated)  # secrets stay out of logs and tracebacks
    with pytest.raises(Invalid):
        service.update_device(ME, device.id, snmp_auth_key="short")
    with pytest.raises(Invalid):
        service.update_device(ME, device.id, colour="red")
    with store.transaction() as tx:
        entries = tx.audit.query(action="device.update")
    detail = json.loads(entries[0].detail)
    assert "snmp_auth_key" in detail["fields"]
    assert "authpass123" not in entries[0].detail and "public" not in entries[0].detail


def test_auditors_read_but_do_not_write(store: Store) -> None:
    service = DeviceService(store)
    device = add(service, "ips-a")
    assert service.get_device(AUDITOR, device.id).name == "ips-a"
    with pytest.raises(Forbidden):
        service.delete_device(AUDITOR, device.id)
    with pytest.raises(Forbidden):
        service.create_group(AUDITOR, name="g")


def test_samples_set_state_report_changes_and_age_out(store: Store) -> None:
    service = DeviceService(store)
    a, b = add(service, "ips-a"), add(service, "ips-b", address="10.0.0.2")
    now = datetime.now(UTC)
    old = now - timedelta(days=40)
    first = service.record_samples(
        [
            NewSample(
                device_id=a.id,
                at=old,
                reachable=True,
                state="reachable",
                rtt_ms=1.5,
                identity={"model": "440T", "serial": "S1"},
            ),
            NewSample(
                device_id=b.id,
                at=old,
                reachable=False,
                state="unreachable",
                reason="timeout: no answer",
            ),
            NewSample(device_id=999_999, at=old, reachable=False, state="unreachable"),
        ]
    )
    assert sorted((c.device.name, c.previous, c.device.state) for c in first) == [
        ("ips-a", "unknown", "reachable"),
        ("ips-b", "unknown", "unreachable"),
    ]
    again = service.record_samples(
        [NewSample(device_id=a.id, at=now, reachable=True, state="reachable", cpu_percent=5.0)]
    )
    assert again == []  # no change, no event
    device = service.get_device(ME, a.id)
    assert device.model == "440T" and device.serial == "S1"
    assert device.last_polled_at == now.replace(microsecond=device.last_polled_at.microsecond)
    history = service.health_history(ME, a.id)
    assert [h.cpu_percent for h in history] == [5.0, None]
    assert service.count_by_state() == {"reachable": 1, "unreachable": 1}
    assert service.prune_history(30) == 2
    assert len(service.health_history(ME, a.id)) == 1
    service.delete_device(ME, a.id)
    with pytest.raises(NotFound):
        service.health_history(ME, a.id)


def test_directory_follows_every_change(store: Store) -> None:
    service = DeviceService(store)
    assert service.directory("10.0.0.1") is None
    device = add(service, "ips-a")
    assert service.directory("10.0.0.1") == device.id
    service.update_device(ME, device.id, address="10.0.0.5")
    assert service.directory("10.0.0.1") is None and service.directory("10.0.0.5") == device.id
    service.delete_device(ME, device.id)
    assert service.directory("10.0.0.5") is None
    # A fresh service (a server start) loads it from the database.
    add(service, "ips-b", address="10.0.0.9")
    restarted = DeviceService(store)
    assert restarted.directory("10.0.0.9") is not None  # loaded on first use
    restarted.refresh_directory()
    assert restarted.directory("10.0.0.9") is not None
