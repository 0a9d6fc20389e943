"""Rows per second of `EventRows.insert_many` on SQLite: 100,000 events in transactions of
5,000 (the writer's default batch), into a fresh database each run; prints the median of
three runs.

    /tmp/gvenv/bin/python bench/event_store_write.py [--events N] [--batch N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from garrison.events import Action, Event, EventKind, Severity
from garrison.store import Store, upgrade
from garrison.store.events import EventRows

T0 = datetime(2026, 1, 31, tzinfo=UTC)


def make_events(count: int) -> list[Event]:
    """Alerts shaped like a busy IPS's: a few hundred filters, varied addresses."""
    return [
        Event(
            kind=EventKind.ALERT,
            collector="snmp-trap",
            source_address="192.0.2.10",
            received_at=T0 + timedelta(milliseconds=n),
            severity=Severity(1 + n % 4),
            device_id=1 + n % 8,
            device_name=f"ips-{n % 8}",
            sequence=n,
            signature_number=7000 + n % 300,
            signature_id=f"00000001-0001-0001-0001-{7000 + n % 300:012d}",
            name=f"{7000 + n % 300}: HTTP: a filter name of ordinary length",
            category="Exploits",
            end_time=T0 + timedelta(milliseconds=n),
            protocol="tcp",
            src_ip=f"198.51.{n % 256}.{n // 256 % 256}",
            src_port=1024 + n % 60000,
            dst_ip=f"2001:db8::{n % 65536:x}" if n % 10 == 0 else f"10.0.{n % 256}.1",
            dst_port=443,
            action=Action.BLOCK,
            segment="1-1A 1-1B",
        )
        for n in range(count)
    ]


def one_run(events: list[Event], batch: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(store.engine)
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            with store.transaction() as tx:
                EventRows(tx.session).insert_many(events[start : start + batch])
        elapsed = time.perf_counter() - started
        store.close()
    return len(events) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    events = make_events(options.events)
    rates = [one_run(events, options.batch) for _ in range(options.runs)]
    print(
        f"insert_many on SQLite: {statistics.median(rates):,.0f} rows/s (median of "
        f"{options.runs}; {options.events:,} events in batches of {options.batch:,}; "
        f"runs: {', '.join(f'{r:,.0f}' for r in rates)})"
    )


if __name__ == "__main__":
    main()
