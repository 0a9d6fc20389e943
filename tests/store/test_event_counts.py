"""The per-minute event counts and the bucketed health history, on SQLite, PostgreSQL and
MariaDB: what the console's charts read instead of the big tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from garrison.events.model import Severity
from garrison.events.retention import prune
from garrison.store import Store, downgrade, upgrade
from garrison.store.devices import DeviceHealthLog, Devices, NewSample
from garrison.store.event_counts import EventCounts, minute_of, moment_of
from garrison.store.events import EventRows
from garrison.store.health_buckets import HealthBuckets
from tests.events.samples import T0, alert

MINUTE = timedelta(minutes=1)


def write(store: Store, events: list) -> None:
    """As the event writer does: the rows and their counts in one transaction."""
    with store.transaction() as tx:
        EventRows(tx.session).insert_many(events)
        EventCounts(tx.session).add(events)


def by_start(store: Store, since: datetime, until: datetime, minutes: int) -> dict:
    with store.transaction() as tx:
        found = EventCounts(tx.session).buckets(since, until, minutes)
    return {(b.start, b.severity): b.total for b in found}


def test_minutes_are_epoch_minutes() -> None:
    moment = datetime(2026, 1, 31, 8, 0, 59, 999_999, tzinfo=UTC)
    assert moment_of(minute_of(moment)) == datetime(2026, 1, 31, 8, 0, tzinfo=UTC)


def test_batches_add_up_per_minute_and_severity(store: Store) -> None:
    first = [alert(n, severity=Severity.CRITICAL) for n in range(3)]  # 08:00:00-02
    second = [
        alert(10, severity=Severity.CRITICAL),  # the same minute, a later batch
        alert(20, severity=Severity.LOW),
        alert(70, severity=Severity.MAJOR),  # 08:01:10
    ]
    write(store, first)
    write(store, second)
    start = T0.replace(second=0, microsecond=0)
    counts = by_start(store, start, start + timedelta(hours=1), 1)
    assert counts == {
        (start, int(Severity.CRITICAL)): 4,
        (start, int(Severity.LOW)): 1,
        (start + MINUTE, int(Severity.MAJOR)): 1,
    }
    with store.transaction() as tx:
        assert EventCounts(tx.session).total() == 6


def test_buckets_sum_minutes_aligned_to_their_size(store: Store) -> None:
    start = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    events = [
        alert(n, received_at=start + timedelta(minutes=m), severity=Severity.MINOR)
        for n, m in enumerate((0, 5, 14, 15, 29, 44, 61))
    ]
    write(store, events)
    quarter = by_start(store, start, start + timedelta(hours=2), 15)
    minor = int(Severity.MINOR)
    assert quarter == {
        (start, minor): 3,
        (start + timedelta(minutes=15), minor): 2,
        (start + timedelta(minutes=30), minor): 1,
        (start + timedelta(minutes=60), minor): 1,
    }
    # The window is exclusive at its end and cuts at whole minutes.
    hourly = by_start(store, start + timedelta(minutes=5), start + timedelta(minutes=61), 60)
    assert hourly == {(start, minor): 5}


def test_retention_takes_the_counts_of_pruned_minutes(store: Store) -> None:
    now = datetime.now(UTC)
    old = [alert(n, received_at=now - timedelta(days=3)) for n in range(4)]
    new = [alert(n, received_at=now) for n in range(10, 13)]
    write(store, old + new)
    pruned = prune(store, days=2, rows=0)
    assert pruned.by_age == 4
    with store.transaction() as tx:
        counts = EventCounts(tx.session)
        assert counts.total() == 3
        assert counts.total(until=now - timedelta(days=1)) == 0


def test_retention_by_rows_trims_minutes_before_the_oldest_kept(store: Store) -> None:
    now = datetime.now(UTC)
    events = [alert(n, received_at=now - timedelta(minutes=10 - n)) for n in range(10)]
    write(store, events)
    prune(store, days=0, rows=4)  # keeps the newest four, one minute apart
    with store.transaction() as tx:
        assert EventCounts(tx.session).total() == 4


def test_the_migration_counts_the_events_already_stored(store: Store) -> None:
    downgrade(store.engine, "0007")
    with store.transaction() as tx:
        EventRows(tx.session).insert_many(
            [alert(n, severity=Severity.MAJOR) for n in range(5)]
            + [alert(n, severity=Severity.LOW) for n in range(61, 63)]
        )
    upgrade(store.engine)
    start = T0.replace(second=0, microsecond=0)
    assert by_start(store, start, start + timedelta(hours=1), 1) == {
        (start, int(Severity.MAJOR)): 5,
        (start + MINUTE, int(Severity.LOW)): 2,
    }


def test_health_history_in_buckets(store: Store) -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with store.transaction() as tx:
        device = Devices(tx.session).add(name="edge-1", address="192.0.2.1", snmp_community="x")
        other = Devices(tx.session).add(name="edge-2", address="192.0.2.2", snmp_community="x")
    samples = [
        NewSample(device.id, start, True, "reachable", rtt_ms=2.0, cpu_percent=10.0),
        NewSample(device.id, start + timedelta(minutes=3), True, "degraded", cpu_percent=30.0),
        NewSample(device.id, start + timedelta(minutes=9), False, "unreachable"),
        NewSample(device.id, start + timedelta(minutes=12), True, "reachable", rtt_ms=4.0),
        NewSample(other.id, start, True, "reachable", cpu_percent=99.0),
    ]
    with store.transaction() as tx:
        DeviceHealthLog(tx.session).record(samples)
    with store.transaction() as tx:
        buckets = HealthBuckets(tx.session).of_device(
            device.id, start, start + timedelta(hours=1), 600
        )
    assert [b.start for b in buckets] == [start, start + timedelta(minutes=10)]
    first, second = buckets
    assert (first.samples, first.unreachable, first.degraded) == (3, 1, 1)
    assert first.cpu_avg == 20.0 and first.cpu_max == 30.0
    assert first.rtt_avg == 2.0 and first.memory_avg is None
    assert (second.samples, second.unreachable, second.rtt_max) == (1, 0, 4.0)
