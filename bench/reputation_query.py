"""Reputation queries over a large store on SQLite: load N entries (default 1,000,000: IPv4
hosts, /24 and /16 blocks, IPv6 /64s and hosts, DNS names) in transactions of 10,000 through
`ReputationService.add_many`, then time address and name queries: single lookups (median
of many) and one call with 10,000 addresses, as the Web services' ``repEntries/query`` makes.

    /tmp/gvenv/bin/python bench/reputation_query.py [--entries N] [--db PATH]

A measurement, not a test: it prints times and asserts only that answers are right.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from garrison.auth import Principal
from garrison.reputation.service import EntryInput, ReputationService
from garrison.store import Store, upgrade

ME = Principal.local_cli()
BATCH = 10_000


def entry(i: int) -> str:
    """The i-th entry: mostly IPv4 hosts, with blocks, IPv6 and names mixed in."""
    kind = i % 10
    if kind < 6:
        return f"{10 + (i >> 16) % 200}.{(i >> 8) & 255}.{i & 255}.{(i * 7) & 255}"
    if kind == 6:
        return f"{10 + (i >> 16) % 200}.{(i >> 8) & 255}.{i & 255}.0/24"
    if kind == 7:
        return f"2001:db8:{(i >> 16) & 0xFFFF:x}:{i & 0xFFFF:x}::/64"
    if kind == 8:
        return f"2001:db8:{(i >> 16) & 0xFFFF:x}:{i & 0xFFFF:x}::{i & 0xFF:x}"
    return f"host{i}.example{i % 1000}.com"


def load(service: ReputationService, count: int) -> float:
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        items = [EntryInput(entry(i)) for i in range(start, min(start + BATCH, count))]
        service.add_many(ME, items)
    return time.perf_counter() - started


def timed(call: object, *args: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = call(*args)  # type: ignore[operator]
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None, help="reuse a loaded database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="garrison-rep-"))
    path = args.db or folder / "reputation.db"
    fresh = not path.exists()
    store = Store(f"sqlite:///{path}")
    upgrade(store.engine)
    service = ReputationService(store)
    if fresh:
        seconds = load(service, args.entries)
        print(f"loaded {args.entries:,} entries in {seconds:.1f} s "
              f"({args.entries / seconds:,.0f}/s) into {path}")  # fmt: skip
    rng = random.Random(7)
    hosts = [i for i in range(args.entries) if i % 10 < 6]
    singles = []
    for i in rng.sample(hosts, 200):
        seconds, found = timed(service.query_addresses, ME, [entry(i)])
        assert entry(i) in [r.value for r in found], entry(i)  # type: ignore[attr-defined]
        singles.append(seconds)
    misses = [timed(service.query_addresses, ME, [f"223.1.{n}.9"])[0] for n in range(100)]
    names = [i for i in range(args.entries) if i % 10 == 9]
    dns = [timed(service.query_names, ME, [f"www.{entry(i)}"])[0] for i in rng.sample(names, 100)]
    many = [entry(i) for i in rng.sample(hosts, 10_000)]
    bulk, found = timed(service.query_addresses, ME, many)
    ms = 1000
    print(f"one address (found): median {statistics.median(singles) * ms:.2f} ms, "
          f"max {max(singles) * ms:.2f} ms")  # fmt: skip
    print(f"one address (absent): median {statistics.median(misses) * ms:.2f} ms")
    print(f"one DNS name (substring match): median {statistics.median(dns) * ms:.2f} ms")
    print(f"10,000 addresses in one call: {bulk:.2f} s, {len(found):,} entries")  # type: ignore[arg-type]
    store.close()


if __name__ == "__main__":
    main()
