"""The events table on SQLite, PostgreSQL and MariaDB: every field survives, CIDR filters
agree with Python's ipaddress, pages are stable, top-N counts, retention deletes in chunks."""

from __future__ import annotations

import ipaddress
import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event as sa_event
from sqlalchemy.exc import StatementError

from garrison.events import Action, Event, EventKind, Severity
from garrison.events.filters import EventFilters, Sort, parse_filters
from garrison.events.retention import prune
from garrison.store import Store, upgrade
from garrison.store.events import TEXT_LIMIT, EventRows, StoredEvent
from tests.events.samples import T0, alert, full_alert


@contextmanager
def rows(store: Store) -> Iterator[EventRows]:
    with store.transaction() as tx:
        yield EventRows(tx.session)


def insert(store: Store, events: list) -> None:
    with store.transaction() as tx:
        EventRows(tx.session).insert_many(events)


def sequences(found: list[StoredEvent]) -> list[int | None]:
    return [s.event.sequence for s in found]


def test_every_field_round_trips_with_ipv6_and_microseconds(store: Store) -> None:
    first = full_alert()
    second = full_alert(src_ip="203.0.113.9", dst_ip="::1", extra={}, device_id=None)
    bare = alert(1, severity=Severity.LOW, kind=EventKind.SYSTEM)
    insert(store, [first, second, bare])
    with store.transaction() as tx:
        stored = EventRows(tx.session).query(EventFilters(), Sort("id", False))
    assert [s.event for s in stored] == [first, second, bare]
    assert stored[0].event.received_at.microsecond == 123456
    assert stored[0].id < stored[1].id < stored[2].id
    with store.transaction() as tx:
        again = EventRows(tx.session).get(stored[1].id)
        assert EventRows(tx.session).get(stored[2].id + 1000) is None
    assert again == stored[1]


def test_text_no_backend_can_store_is_cleaned_not_refused(store: Store) -> None:
    awkward = alert(
        1,
        name="N" * 300,
        message="nul\x00byte and a lone \ud800 surrogate",
        message_params="x" * (TEXT_LIMIT + 10),
        extra={f"k{i}": "v" * 500 for i in range(100)},
    )
    insert(store, [awkward])
    with store.transaction() as tx:
        (stored,) = EventRows(tx.session).query(EventFilters())
    event = stored.event
    assert event.name == "N" * 255
    assert event.message == "nulbyte and a lone ? surrogate"
    assert len(event.message_params) == TEXT_LIMIT
    assert event.extra["garrison.truncated"] == "true"
    assert 1 < len(event.extra) < 100


# -- filters --------------------------------------------------------------------------


def test_each_filter_selects_what_it_names(store: Store) -> None:
    events = [
        alert(
            n,
            severity=Severity(1 + n % 4),
            device_id=n % 3,
            device_name=f"ips-{n % 3}",
            signature_number=7000 + n % 5,
            signature_id=f"00000001-0001-0001-0001-{7000 + n % 5:012d}",
            category="Exploits" if n % 2 else "Reputation",
            src_port=1000 + n,
            dst_port=80 if n % 2 else 443,
            action=Action.BLOCK if n % 3 == 0 else Action.PERMIT,
            kind=EventKind.ALERT if n < 18 else EventKind.QUARANTINE,
            end_time=T0 + timedelta(hours=n),
            name=f"Filter {n}: SQL_Injection%" if n % 7 == 0 else f"filter {n}",
        )
        for n in range(20)
    ]
    insert(store, events)
    cases: list[tuple[dict[str, object], list[int]]] = [
        ({"severity": "critical"}, [3, 7, 11, 15, 19]),
        ({"min_severity": "major"}, [n for n in range(20) if n % 4 >= 2]),
        ({"severity": "low,critical"}, [n for n in range(20) if n % 4 in (0, 3)]),
        ({"device": ["1", "ips-2"]}, [n for n in range(20) if n % 3 != 0]),
        ({"signature": "7001"}, [1, 6, 11, 16]),
        ({"signature": "00000001-0001-0001-0001-000000007002"}, [2, 7, 12, 17]),
        ({"category": "Exploits"}, list(range(1, 20, 2))),
        ({"src_port": "1003,1004"}, [3, 4]),
        ({"dst_port": "443", "action": "block"}, [0, 6, 12, 18]),
        ({"kind": "quarantine"}, [18, 19]),
        ({"name": "sql_injection%"}, [0, 7, 14]),  # any case; % is a letter, not a wildcard
        (
            {"since": (T0 + timedelta(seconds=5)).isoformat(), "until": "2026-01-31T08:00:10.5Z"},
            [5, 6, 7, 8, 9, 10],
        ),
        (
            {"time_field": "end", "since": str(int((T0 + timedelta(hours=17)).timestamp() * 1000))},
            [17, 18, 19],
        ),
    ]
    with rows(store) as repo:
        for params, expected in cases:
            filters = parse_filters(**params)  # type: ignore[arg-type]
            found = repo.query(filters, Sort("id", False), limit=100)
            assert sequences(found) == expected, params
            assert repo.count(filters) == len(expected), params
            assert [e.sequence for e in events if filters.matches(e)] == expected, params


# Address families, each a (size, number -> address): clustered ones so that CIDR blocks
# of every length hold some of the sample, and the whole spaces for the edges.
FAMILIES: dict[str, tuple[int, Callable[[int], str]]] = {
    "v4-near": (2**18, lambda n: str(ipaddress.IPv4Address((10 << 24) | n))),
    "v4": (2**32, lambda n: str(ipaddress.IPv4Address(n))),
    "v6-near": (2**72, lambda n: str(ipaddress.IPv6Address((0x20010DB8 << 96) | n))),
    "v6": (2**128, lambda n: str(ipaddress.IPv6Address(n))),
}
addresses = st.sampled_from(sorted(FAMILIES)).flatmap(
    lambda family: st.integers(0, FAMILIES[family][0] - 1).map(FAMILIES[family][1])
)


def random_address(rng: random.Random) -> str:
    size, make = FAMILIES[rng.choice(sorted(FAMILIES))]
    return make(rng.randrange(size))


def test_cidr_filters_agree_with_ipaddress(store: Store) -> None:
    rng = random.Random(7)
    pool = [random_address(rng) for _ in range(200)]
    pool += ["10.0.0.0", "10.0.0.255", "10.255.255.255", "0.0.0.0", "255.255.255.255", "::"]
    pool += ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::", "2001:db8:0:0:ffff::1"]
    rng.shuffle(pool)
    insert(store, [alert(n, src_ip=a, dst_ip=pool[-1 - n]) for n, a in enumerate(pool)])
    with rows(store) as repo:

        @given(base=addresses, data=st.data())
        @settings(
            max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(base: str, data: st.DataObject) -> None:
            address = ipaddress.ip_address(data.draw(st.sampled_from([base, *pool[:20]])))
            prefix = data.draw(st.integers(0, address.max_prefixlen))
            network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
            found = repo.query(parse_filters(src=str(network)), Sort("id", False), limit=1000)
            expected = [n for n, a in enumerate(pool) if ipaddress.ip_address(a) in network]
            assert sequences(found) == expected, network
            both = parse_filters(src=str(network), dst=str(network))
            assert repo.count(both) == sum(
                1
                for n, a in enumerate(pool)
                if ipaddress.ip_address(a) in network
                and ipaddress.ip_address(pool[-1 - n]) in network
            )

        check()


# -- order, pages, summaries ----------------------------------------------------------


def test_pages_are_stable_and_sorts_follow_the_field(store: Store) -> None:
    events = [
        alert(n, severity=Severity(1 + n % 4), src_ip=f"10.0.{n % 5}.{n}", dst_port=n % 3)
        for n in range(37)
    ]
    insert(store, events)
    with rows(store) as repo:
        for sort in (
            Sort("severity", True),
            Sort("src_ip", False),
            Sort("dst_port", True),
            Sort("received_at", False),
            Sort(),
        ):
            whole = repo.query(EventFilters(), sort, limit=100)
            paged = [
                s for start in range(0, 40, 10) for s in repo.query(EventFilters(), sort, start, 10)
            ]
            assert [s.id for s in paged] == [s.id for s in whole], sort
            assert len({s.id for s in whole}) == 37
        by_severity = repo.query(EventFilters(), Sort("severity", True), limit=100)
        assert [s.event.severity for s in by_severity] == sorted(
            (e.severity for e in events), reverse=True
        )
        by_address = repo.query(EventFilters(), Sort("src_ip", False), limit=100)
        assert [s.event.src_ip for s in by_address] == sorted(
            (e.src_ip for e in events), key=ipaddress.ip_address
        )
        assert sequences(repo.query(EventFilters(), Sort(), limit=3)) == [36, 35, 34]


def test_top_counts_attackers_targets_signatures_and_devices(store: Store) -> None:
    events = [
        alert(
            n,
            src_ip="203.0.113.1",
            signature_number=7001,
            name="sig 7001",
            device_id=1,
            device_name="a",
        )
        for n in range(5)
    ]
    events += [
        alert(
            n,
            src_ip="203.0.113.2",
            dst_ip="10.0.0.1",
            signature_number=7002,
            name="sig 7002",
            device_name="unlisted",
        )
        for n in range(5, 8)
    ]
    events += [alert(8, src_ip="2001:db8::1", dst_ip="10.0.0.1", severity=Severity.CRITICAL)]
    insert(store, events)
    with rows(store) as repo:

        def top(field: str, **params: str) -> list[tuple[str, str, int]]:
            return [(e.key, e.label, e.count) for e in repo.top(field, parse_filters(**params), 10)]

        assert top("src_ip") == [
            ("203.0.113.1", "", 5),
            ("203.0.113.2", "", 3),
            ("2001:db8::1", "", 1),
        ]
        assert top("dst_ip") == [("10.0.0.1", "", 4)]
        assert top("signature") == [("7001", "sig 7001", 5), ("7002", "sig 7002", 3)]
        assert top("device") == [("1", "a", 5), ("", "unlisted", 3)]
        assert top("src_ip", severity="critical") == [("2001:db8::1", "", 1)]
        assert repo.top("src_ip", EventFilters(), 1)[0].count == 5


def test_stream_since_id_and_newest_id(store: Store) -> None:
    with rows(store) as repo:
        assert repo.newest_id() is None
    insert(store, [alert(n, severity=Severity(1 + n % 2)) for n in range(2500)])
    with store.transaction() as tx:
        repo = EventRows(tx.session)
        streamed = repo.stream(parse_filters(severity="minor"), chunk=100)
        assert [s.event.sequence for s in streamed] == list(range(1, 2500, 2))
        newest = repo.newest_id()
        assert newest is not None
        tail = repo.since_id(newest - 10, EventFilters(), limit=5)
        assert [s.id for s in tail] == list(range(newest - 9, newest - 4))
        assert repo.since_id(newest, EventFilters()) == []


# -- retention ------------------------------------------------------------------------


def test_retention_by_age_then_by_rows_in_bounded_chunks(store: Store) -> None:
    now = T0 + timedelta(days=30)
    old = [alert(n, received_at=now - timedelta(days=40, seconds=n)) for n in range(25)]
    recent = [alert(100 + n, received_at=now - timedelta(days=1, seconds=-n)) for n in range(30)]
    insert(store, old + recent)
    statements: list[str] = []

    def note(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("DELETE"):
            statements.append(statement)

    sa_event.listen(store.engine, "before_cursor_execute", note)
    try:
        pruned = prune(store, days=10, rows=12, chunk=7, now=now)
    finally:
        sa_event.remove(store.engine, "before_cursor_execute", note)
    assert (pruned.by_age, pruned.by_rows) == (25, 18)
    with rows(store) as repo:
        kept = repo.query(EventFilters(), Sort("id", False), limit=100)
    assert sequences(kept) == [e.sequence for e in recent[-12:]]
    assert len(statements) == 4 + 3  # ceil(25/7) + ceil(18/7): no delete over 7 rows
    assert prune(store, days=0, rows=0, now=now) == replace(pruned, by_age=0, by_rows=0)


# -- the SQLite write path against SQLAlchemy's -----------------------------------------

TEXTS = st.text(max_size=40) | st.text(min_size=250, max_size=300) | st.just("")
TIMES = st.datetimes(timezones=st.timezones()) | st.datetimes(timezones=st.just(UTC))
NUMBERS = st.none() | st.integers(-(2**63), 2**63 - 1)
# (No NUL in an address: address_number refuses it on both paths alike.)
ADDRESS_TEXTS = st.sampled_from(
    ["", "0.0.0.0", "198.51.100.7", "::1", "fe80::1%eth0", "x"]
) | st.text(st.characters(blacklist_characters="\x00"), max_size=40)
EVENTS = st.builds(
    Event,
    kind=st.sampled_from(EventKind),
    collector=TEXTS,
    source_address=TEXTS,
    received_at=TIMES,
    severity=st.sampled_from(Severity),
    device_id=st.none() | st.integers(-(2**31), 2**31 - 1),
    device_name=TEXTS,
    sequence=NUMBERS,
    alert_type=NUMBERS,
    policy_id=TEXTS,
    signature_id=TEXTS,
    signature_number=NUMBERS,
    name=TEXTS,
    category=TEXTS,
    begin_time=st.none() | TIMES,
    end_time=st.none() | TIMES,
    hit_count=st.integers(0, 2**63 - 1),
    protocol=TEXTS,
    src_ip=ADDRESS_TEXTS,
    src_port=st.none() | st.integers(0, 65535),
    dst_ip=ADDRESS_TEXTS | st.ip_addresses().map(str),
    dst_port=st.none() | st.integers(0, 65535),
    vlan=st.none() | st.integers(0, 4095),
    segment=TEXTS,
    physical_port_in=st.none() | st.integers(0, 64),
    action=st.sampled_from(Action),
    action_set=TEXTS,
    packet_trace=st.booleans(),
    message_params=TEXTS
    | st.builds(
        lambda n, c: c * n, st.integers(TEXT_LIMIT - 5, TEXT_LIMIT + 5), st.sampled_from("pü\x00")
    ),
    message=TEXTS,
    extra=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5),
)


def stored_rows(path: Path) -> list[tuple[Any, ...]]:
    """Every row as SQLite holds it, with each value's storage class."""
    with closing(sqlite3.connect(path)) as db:
        columns = [c for (_, c, *_) in db.execute("PRAGMA table_info(events)")]
        values = ", ".join(f"{c}, typeof({c})" for c in columns if c != "id")
        return db.execute(f"SELECT {values} FROM events ORDER BY id").fetchall()


def test_the_sqlite_rows_are_those_sqlalchemy_writes(tmp_path: Path) -> None:
    """`insert_many` on SQLite binds rows itself (`sqlite_row`); the Core insert with
    SQLAlchemy's bind processing is the reference: the same values, of the same storage
    class, in every column."""
    fast = Store(f"sqlite:///{tmp_path / 'fast.db'}")
    core = Store(f"sqlite:///{tmp_path / 'core.db'}")
    for each in (fast, core):
        upgrade(each.engine)

    @given(st.lists(EVENTS, min_size=1, max_size=5))
    @settings(max_examples=100, deadline=None, database=None)
    def check(events: list[Event]) -> None:
        with fast.transaction() as tx:
            EventRows(tx.session).insert_many(events)
        with core.transaction() as tx:
            EventRows(tx.session).insert_many_core(events)

    try:
        check()
        expected = stored_rows(tmp_path / "core.db")
        assert stored_rows(tmp_path / "fast.db") == expected
        assert len(expected) >= 100
    finally:
        fast.close()
        core.close()


def test_a_naive_time_is_refused_by_both_paths(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'events.db'}")
    upgrade(store.engine)
    naive = alert(1, received_at=datetime(2026, 1, 31, 8, 0))
    try:
        with pytest.raises(ValueError, match="naive datetime"), store.transaction() as tx:
            EventRows(tx.session).insert_many([naive])
        with pytest.raises(StatementError, match="naive datetime"), store.transaction() as tx:
            EventRows(tx.session).insert_many_core([naive])
    finally:
        store.close()
