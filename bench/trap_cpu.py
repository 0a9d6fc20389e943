"""CPU per event of each stage of trap ingest, in-process and without sockets: the
general path (hand BER decoder, then the TippingPoint mapping), the one-pass decoder that
replaced it for TippingPoint traps, the writer's row conversion (the Core path's dicts and
the SQLite path's tuples) and the whole SQLite insert of each path.

CPU time (``time.process_time``), not wall-clock time, best of several repeats: other work
on a shared machine slows it down less than it does a throughput run, so figures taken
before and after a change compare. The datagrams are the benchmark's pysnmp-encoded
SNMPv2c tptPolicyNotify with 50 different sequence numbers.

    /tmp/gvenv/bin/python bench/trap_cpu.py [--events N] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from garrison.collectors.snmp_trap.fastpath import decode_known
from garrison.collectors.snmp_trap.messages import decode
from garrison.collectors.snmp_trap.tippingpoint import to_event
from garrison.store import Store, upgrade
from garrison.store.events import EventRows, _row, sqlite_row
from tests.collectors.test_snmp_trap_support import policy_varbinds_pysnmp, pysnmp_v2c_trap

BATCH = 5000  # the writer's default batch


def per_event(run: Callable[[], Any], count: int, repeats: int) -> float:
    """Microseconds of CPU per event, best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    count, repeats = options.events, options.repeats
    distinct = [pysnmp_v2c_trap("public", policy_varbinds_pysnmp(1000 + n)) for n in range(50)]
    datagrams = [distinct[n % 50] for n in range(count)]
    messages = [decode(d) for d in datagrams]
    events = [to_event(m, "127.0.0.1", None) for m in messages]
    work = Path(tempfile.mkdtemp(prefix="garrison-trap-cpu-"))

    def insert(core: bool) -> Callable[[], None]:
        store = Store(f"sqlite:///{work / ('core' if core else 'fast')}.db")
        upgrade(store.engine)

        def run() -> None:
            for start in range(0, count, BATCH):
                with store.transaction() as tx:
                    rows = EventRows(tx.session)
                    batch = events[start : start + BATCH]
                    rows.insert_many_core(batch) if core else rows.insert_many(batch)

        return run

    stages: list[tuple[str, Callable[[], Any]]] = [
        ("general decode (messages.decode)", lambda: [decode(d) for d in datagrams]),
        (
            "general mapping (tippingpoint.to_event)",
            lambda: [to_event(m, "x", None) for m in messages],
        ),
        (
            "one-pass decode + map (fastpath)",
            lambda: [decode_known(d, "x", None) for d in datagrams],
        ),
        ("Core row dicts (_row)", lambda: [_row(e) for e in events]),
        ("SQLite row tuples (sqlite_row)", lambda: [sqlite_row(e) for e in events]),
        ("Core insert, SQLite (rows + SQLAlchemy + SQLite)", insert(core=True)),
        ("driver insert, SQLite (rows + SQLite)", insert(core=False)),
    ]
    print(f"{count:,} events, best of {repeats}; load average {os.getloadavg()[0]:.2f}")
    for label, run in stages:
        print(f"  {label:50s} {per_event(run, count, repeats):6.1f} µs CPU/event")


if __name__ == "__main__":
    main()
