"""The catalog tables on SQLite, PostgreSQL and MariaDB: the built-in rows, and what the
events writer learns from the fleet's events."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect, select

from garrison.auth import Principal
from garrison.catalog import defaults
from garrison.config.settings import EventSettings
from garrison.devices.service import DeviceService
from garrison.events import EventBus
from garrison.events.model import Action, Event, EventKind, Severity
from garrison.events.writer import EventWriter
from garrison.metrics import Metrics
from garrison.store import Store
from garrison.store.catalog import (
    ActionSetRow,
    ProfileRow,
    SegmentGroupRow,
    SegmentRow,
    SignatureRow,
)

ME = Principal.local_cli()


def alert(device_id: int, number: int, action_set: str = "Block / Notify") -> Event:
    return Event(
        kind=EventKind.ALERT,
        collector="snmp-trap",
        source_address="127.0.0.1",
        device_id=device_id,
        signature_id=f"00000001-0001-0001-0001-{number:012d}",
        signature_number=number,
        name=f"{number}: HTTP: test filter",
        severity=Severity.CRITICAL,
        category="Exploits",
        protocol="tcp",
        action=Action.BLOCK,
        action_set=action_set,
        segment=f"1-{number % 4 + 1}A 1-{number % 4 + 1}B",
    )


def test_the_migration_seeds_what_every_sms_ships_with(store: Store) -> None:
    assert {"signatures", "action_sets", "profiles", "segments", "virtual_segments"} <= set(
        inspect(store.engine).get_table_names()
    )
    with store.transaction() as tx:
        rows = tx.session.execute(select(ActionSetRow.name, ActionSetRow.flow_control))
        names = {name: flow for name, flow in rows}
        profile = tx.session.scalars(select(ProfileRow)).one()
        group = tx.session.scalars(select(SegmentGroupRow)).one()
    assert names["Block / Notify"] == "DENY"
    assert names["Permit / Notify"] == "ALLOW"
    assert names["Trust"] == "TRUST"
    assert (profile.id, profile.name) == (defaults.DEFAULT_PROFILE_ID, defaults.DEFAULT_PROFILE)
    assert group.id == defaults.DEFAULT_SEGMENT_GROUP_ID


def test_the_events_writer_records_each_new_signature_action_set_and_segment(
    store: Store,
) -> None:
    device = DeviceService(store).create_device(
        ME, name="ips-1", address="127.0.0.2", snmp_community="public"
    )

    async def run() -> None:
        bus = EventBus()
        writer = EventWriter(store, bus, EventSettings(), Metrics())
        await writer.start()
        for batch in (
            [alert(device.id, 7610), alert(device.id, 7610), alert(device.id, 13012)],
            [alert(device.id, 7610, action_set="Shun"), alert(999, 42)],
        ):
            for event in batch:
                bus.publish(event)
            await writer.flush()
        await writer.stop()

    asyncio.run(run())
    with store.transaction() as tx:
        signatures = tx.session.execute(
            select(SignatureRow.number, SignatureRow.severity, SignatureRow.category).order_by(
                SignatureRow.number
            )
        ).all()
        segments = tx.session.execute(
            select(SegmentRow.segment_index, SegmentRow.name, SegmentRow.ports)
            .where(SegmentRow.device_id == device.id)
            .order_by(SegmentRow.segment_index)
        ).all()
        action_sets = set(tx.session.scalars(select(ActionSetRow.name)))
    assert [tuple(s) for s in signatures] == [
        (42, 4, "Exploits"),
        (7610, 4, "Exploits"),
        (13012, 4, "Exploits"),
    ]
    # Device 999 does not exist: its segment has nowhere to go, its signature is kept.
    assert [tuple(s) for s in segments] == [
        (1, "Segment 1-1 (A > B)", "1A 1B"),
        (3, "Segment 1-3 (A > B)", "3A 3B"),
    ]
    assert "Shun" in action_sets
    assert "Block / Notify" in action_sets  # built in, not duplicated
