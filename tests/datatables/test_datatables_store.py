"""The SMS data tables read from a real store on SQLite, PostgreSQL and MariaDB: address
numbers, millisecond times, paging by keyset in short transactions, the merge of the two
ALERTS time slices, every table's query, and the definitions as an external view generator
uses them (the SELECT compiled with literal values, the DDL loaded into MariaDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from garrison.catalog.learner import Learned, LearnedSignature
from garrison.datatables import formats, reader, schema
from garrison.datatables.alerts import ALERTS
from garrison.datatables.identifiers import device_uuid, signature_uuid
from garrison.datatables.registry import DICTIONARY_TABLES, TABLES
from garrison.datatables.sqlfuncs import sms_address
from garrison.events.model import Action, Event, EventKind, Severity
from garrison.store import Store
from garrison.store.catalog import Catalog
from garrison.store.devices import Devices
from garrison.store.events import EventRows
from tests.webservices.dbaccess_support import ALERTS_COLUMNS

T0 = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp()) * 1000
WIDE = (T0_MS - 86_400_000, T0_MS + 86_400_000)


ADDRESSES = (
    "0.0.0.0",
    "192.168.1.1",
    "255.255.255.255",
    "::",
    "::1",
    "::1.2.3.4",
    "::fffe:ffff:ffff",
    "::1:0:0:0",
    "2001:db8::ff:1",
    "7fff:ffff:ffff:ffff:7fff:ffff:ffff:ffff",
    "8000::8000:0:0:0",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "",
)


def alert(**fields: Any) -> Event:
    base: dict[str, Any] = dict(kind=EventKind.ALERT, collector="test", source_address="::1")
    return Event(**(base | fields))


def store_events(store: Store, events: list[Event]) -> None:
    with store.transaction() as tx:
        EventRows(tx.session).insert_many(events)


def by_name(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(ALERTS.names, row, strict=True))


def alerts(store: Store, **kw: Any) -> list[dict[str, Any]]:
    return [by_name(r) for r in reader.read_range(store, ALERTS, *WIDE, **kw)]


def test_alerts_has_every_column_of_the_facts_sheet_in_order() -> None:
    assert list(ALERTS.names) == ALERTS_COLUMNS


def test_the_tables_of_the_facts_sheet_are_all_served() -> None:
    assert set(TABLES) >= {
        "ACTIONSET", "ALERT_TYPE", "ALERTS", "CATEGORY", "DDOS_STATS", "DEVICE",
        "NOTICE_ACTION", "POLICY", "POLICY_GROUP_LOOKUP", "PRODUCT_CATEGORY", "PROFILE",
        "PROFILE_INSTALL_INVENTORY", "QUARANTINE_HOSTS", "QUARANTINE_NETWORK_DEVICES",
        "RATELIMIT_STATS", "SEGMENT", "SEGMENT_GROUP", "SEVERITY", "SIGNATURE",
        "TAXONOMY_MAJOR", "TAXONOMY_MINOR", "TAXONOMY_PLATFORM", "TAXONOMY_PROTOCOL",
        "THRESHOLD_UNITS", "TPT_DEVICE", "TPT_PORT", "TPT_SEGMENT", "VIRTUAL_SEGMENT",
    }  # fmt: skip
    assert TABLES["SIGNATURE"].names[:3] == ("ID", "NUM", "SEVERITY_ID")


def test_addresses_are_the_sms_numbers(store: Store) -> None:
    store_events(
        store,
        [
            alert(src_ip=a, dst_ip=a, end_time=T0 + timedelta(seconds=n))
            for n, a in enumerate(ADDRESSES)
        ],
    )
    got = [
        (r["SRC_IP_ADDR"], r["SRC_IP_ADDR_HIGH"], r["DST_IP_ADDR"], r["DST_IP_ADDR_HIGH"])
        for r in alerts(store)
    ]
    assert got == [sms_address(a) * 2 for a in ADDRESSES]
    # The documented cases, spelled out.
    assert sms_address("192.168.1.1") == (3232235777, 0)
    assert sms_address("2001:db8::ff:1") == (0xFF0001, 0x20010DB800000000)
    assert sms_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == (-1, -1)
    assert sms_address("") == (None, None)


def test_times_are_epoch_milliseconds_floored(store: Store) -> None:
    end = T0 + timedelta(microseconds=999_999)
    store_events(store, [alert(begin_time=T0 - timedelta(minutes=1), end_time=end)])
    (row,) = alerts(store)
    assert row["END_TIME"] == T0_MS + 999
    assert row["BEGIN_TIME"] == T0_MS - 60_000
    # Inclusive at both ends, at millisecond precision.
    assert list(reader.read_range(store, ALERTS, T0_MS + 999, T0_MS + 999))
    assert not list(reader.read_range(store, ALERTS, T0_MS + 1000, T0_MS + 2000))
    assert not list(reader.read_range(store, ALERTS, 0, T0_MS + 998))


def test_event_fields_become_alerts_columns(store: Store) -> None:
    with store.transaction() as tx:
        device = Devices(tx.session).add(name="edge-1", address="10.0.0.1")
    store_events(
        store,
        [
            alert(
                device_id=device.id,
                sequence=77,
                alert_type=0x2,
                signature_number=7610,
                severity=Severity.CRITICAL,
                end_time=T0,
                hit_count=3,
                action=Action.BLOCK,
                action_set="Block",
                packet_trace=True,
                message_params="a|b",
                extra={
                    "tptPolicyNotifyTraceBucket": "12",
                    "tptPolicyNotifyTraceBegin": "x",
                    "tptPolicyNotifyRate": "64",
                    "tptPolicyNotifyClientip": "2001:db8::1",
                    "suser": "alice",
                    "requestMethod": "GET",
                    "request": "/index.html",
                },
            ),
            Event(
                kind=EventKind.QUARANTINE,
                collector="test",
                source_address="::1",
                src_ip="10.9.9.9",
                action=Action.NONE,
                received_at=T0 + timedelta(seconds=1),
            ),
            Event(kind=EventKind.DEVICE_LOG, collector="test", source_address="::1", end_time=T0),
        ],
    )
    hit, removed = alerts(store)
    assert hit["DEVICE_ID"] == device_uuid(device.id)
    assert hit["SIGNATURE_ID"] == signature_uuid(7610)
    assert (hit["SEQUENCE_NUM"], hit["ALERT_TYPE_ID"], hit["SEVERITY"]) == (77, 2, 4)
    assert (hit["HIT_COUNT"], hit["PACKET_TRACE"], hit["MESSAGE_PARMS"]) == (3, 1, "a|b")
    assert (hit["FLOW_CONTROL"], hit["ACTION_SET_NAME"]) == ("DENY", "Block")
    assert hit["ACTION_SET_UUID"] == dict(read(store, "ACTIONSET", "NAME", "ID"))["Block"]
    assert (hit["DEVICE_TRACE_BUCKET"], hit["DEVICE_TRACE_BEGIN_SEQ"]) == (12, None)
    assert hit["RATE_LIMIT_RATE"] == "64 Kbps"
    assert (hit["CLIENT_IP_ADDR"], hit["CLIENT_IP_ADDR_HIGH"]) == sms_address("2001:db8::1")
    assert (hit["SRC_USER_NAME"], hit["URI_METHOD"], hit["URI_STRING"]) == (
        "alice",
        "GET",
        "/index.html",
    )
    assert hit["QUARANTINE_ACTION"] is None
    # A quarantine trap has no device time: its arrival time stands in.
    assert removed["QUARANTINE_ACTION"] == "Removed"
    assert removed["END_TIME"] == T0_MS + 1000
    assert removed["SRC_IP_ADDR"] == sms_address("10.9.9.9")[0]
    assert read(store, "DEVICE", "ID", "SHORT_ID", "NAME", "MANAGED") == [
        (hit["DEVICE_ID"], device.id, "edge-1", 1)
    ]


def read(store: Store, table: str, *columns: str) -> list[tuple[Any, ...]]:
    names = TABLES[table].names
    picks = [names.index(c) for c in columns]
    return [tuple(row[i] for i in picks) for row in reader.read_all(store, TABLES[table])]


@pytest.fixture
def timeline(store: Store) -> list[int]:
    """Alerts with device times and quarantine events without, interleaved in time, and
    events that are not alerts in the same window. Stored latest first, so the keys run
    against time; returns the alerts' END_TIMEs in the order they were stored."""
    events = []
    for n in range(10):
        when = T0 + timedelta(seconds=n)
        if n % 3 == 1:
            events.append(Event(kind=EventKind.QUARANTINE, collector="t", source_address="::1",
                                action=Action.QUARANTINE, received_at=when))  # fmt: skip
        else:
            events.append(alert(end_time=when, sequence=n))
    for kind in (EventKind.DEVICE_LOG, EventKind.SYSLOG):
        events.append(Event(kind=kind, collector="t", source_address="::1", received_at=T0))
        events.append(Event(kind=kind, collector="t", source_address="::1", end_time=T0))
    store_events(store, events[::-1])
    return [T0_MS + 1000 * n for n in reversed(range(10))]


def test_a_time_range_is_read_in_pages_in_key_order(store: Store, timeline: list[int]) -> None:
    assert [r["END_TIME"] for r in alerts(store, page=2)] == timeline
    assert [r["END_TIME"] for r in alerts(store, page=3, limit=4)] == timeline[:4]
    inside = list(reader.read_range(store, ALERTS, T0_MS + 2000, T0_MS + 5000, page=1))
    assert [by_name(r)["END_TIME"] for r in inside] == [
        t for t in timeline if 2 <= (t - T0_MS) // 1000 <= 5
    ]
    assert not list(reader.read_range(store, ALERTS, T0_MS + 10_000, T0_MS + 20_000))


def test_no_connection_is_held_between_pages(store: Store, timeline: list[int]) -> None:
    rows = reader.read_range(store, ALERTS, *WIDE, page=2)
    next(rows)
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert len(list(rows)) == len(timeline) - 1


def test_newest_and_oldest(store: Store, timeline: list[int]) -> None:
    newest = reader.edge(store, ALERTS, newest=True)
    oldest = reader.edge(store, ALERTS, newest=False)
    assert newest is not None and by_name(newest)["END_TIME"] == max(timeline)
    assert oldest is not None and by_name(oldest)["END_TIME"] == min(timeline)
    assert reader.edge(store, TABLES["QUARANTINE_HOSTS"], newest=True) is None
    assert reader.edge(store, TABLES["DDOS_STATS"], newest=True) is None


def test_every_table_reads_and_dictionary_tables_page(store: Store) -> None:
    with store.transaction() as tx:
        Catalog(tx.session).record(
            Learned(
                signatures=[
                    LearnedSignature(signature_uuid(n), n, f"{n}: HTTP: x", 2, "Exploits", "http")
                    for n in range(1, 6)
                ]
            )
        )
    for table in TABLES.values():
        rows = list(reader.read_all(store, table, page=2))
        assert all(len(r) == len(table.columns) for r in rows)
        if table.is_constant:
            assert rows == list(table.rows)
    signatures = read(store, "SIGNATURE", "ID", "NUM", "PRODUCT_CATEGORY_ID", "CLASS")
    assert signatures == [(signature_uuid(n), n, 1, "") for n in range(1, 6)]
    assert read(store, "SEGMENT_GROUP", "NAME") == [("Default",)]
    assert len(list(reader.read_all(store, TABLES["SIGNATURE"], limit=3, page=2))) == 3


def test_the_view_select_gives_what_the_service_serves(store: Store) -> None:
    """An external view is `Table.select()` compiled with its values inline: on every
    backend it gives the served rows, converted (per-row Python) columns aside."""
    with store.transaction() as tx:
        Devices(tx.session).add(name="edge-1", address="10.0.0.1")
    store_events(
        store,
        [alert(src_ip=a, dst_ip="10.0.0.2", end_time=T0, device_id=1) for a in ADDRESSES],
    )
    for table in TABLES.values():
        if table.is_constant:
            continue
        sql = str(
            table.select().compile(
                dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}
            )
        )
        with store.engine.connect() as conn:
            viewed = sorted(conn.exec_driver_sql(sql).all(), key=repr)
        served = sorted(reader.read_all(store, table), key=repr)
        plain = [i for i, c in enumerate(table.columns) if c.convert is None]
        assert [[r[i] for i in plain] for r in viewed] == [[r[i] for i in plain] for r in served]


@pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
def test_the_schema_and_sql_answers_load_into_mysql(store: Store, database_url: str) -> None:
    """What a site does with Schema and DataDictionary/GetData format=sql: load them."""
    store_events(
        store, [alert(src_ip=a, end_time=T0, extra={"suser": "o'neil\\"}) for a in ADDRESSES]
    )
    alerts_rows = list(reader.read_range(store, ALERTS, *WIDE))
    script = [schema.ddl(TABLES.values())]
    script += ["".join(formats.sql_rows(ALERTS, alerts_rows))]
    for table in DICTIONARY_TABLES:
        rows = list(reader.read_all(store, table))
        script += ["".join(formats.sql_rows(table, rows, mode)) for mode in formats.MODES]
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            cursor = conn.connection.cursor()  # the driver itself: no parameter markers
            for statement in ";\n".join(script).split(";\n"):
                if statement.strip():
                    cursor.execute(statement)
            loaded = conn.execute(text("SELECT * FROM ALERTS")).all()
            severities = conn.execute(text("SELECT ID, NAME FROM SEVERITY ORDER BY ID")).all()
        assert sorted(map(tuple, loaded), key=repr) == sorted(alerts_rows, key=repr)
        assert [tuple(r) for r in severities] == list(TABLES["SEVERITY"].rows)
    finally:
        engine.dispose()
