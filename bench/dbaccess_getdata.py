"""GetData of N ALERTS rows over the real HTTPS Web service (``dbAccess/tptDBServlet?
method=GetData&table=ALERTS``): time, rows a second, and the server's peak memory.

A real ``garrison serve`` (bench/serving.py: HTTPS on a free loopback port, every other
listener on a port the system picks, the poller off) on SQLite in its data directory
(default) or on a PostgreSQL or MariaDB server (``--database-url``: a throwaway database
on that server, dropped at the end). This process fills the events table through the
store's own insert path (`EventRows.insert_many`, transactions of 10,000; a fifth of the
rows IPv6, a tenth with ``extra`` keys, so the per-row conversions run), then asks for all
of them as one GetData answer (``--format``, csv by default) with ``requests`` streaming,
and counts the rows as they come. The server is a separate process: its RSS before the
call and its peak (``VmHWM`` of /proc/<pid>/status; sampled ``VmRSS`` every 0.2 s too)
show whether the answer streams with flat memory. Server and client are pinned to
different cores (``--no-pin`` to let the kernel place them).

    /tmp/gvenv/bin/python bench/dbaccess_getdata.py                  # 1,000,000 rows
    /tmp/gvenv/bin/python bench/dbaccess_getdata.py --rows 50000
    /tmp/gvenv/bin/python bench/dbaccess_getdata.py --database-url \\
        postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The figures are printed and written as JSON to /tmp/garrison-dbaccess-<time>.json. A
measurement, not a test: it asserts only that every row arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import requests
from serving import client_session, pin_client, running_server

from garrison.events.model import Action, Event, EventKind, Severity
from garrison.store import Store
from garrison.store.events import EventRows

BATCH = 10_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACTIONS = (Action.BLOCK, Action.ALERT, Action.PERMIT, Action.RATE_LIMIT)


def event(i: int) -> Event:
    """The i-th stored alert: one a second from T0, addresses and fields varying."""
    v6 = i % 5 == 0
    return Event(
        kind=EventKind.ALERT,
        collector="bench",
        source_address="10.255.0.1",
        severity=Severity(1 + i % 4),
        device_name="edge-1",
        sequence=i,
        alert_type=2 if i % 2 else 1,
        signature_id=f"00000001-0001-0001-0001-{7000 + i % 500:012d}",
        signature_number=7000 + i % 500,
        name=f"{7000 + i % 500}: HTTP: bench filter",
        category="Exploits",
        begin_time=T0 + timedelta(seconds=i - 60),
        end_time=T0 + timedelta(seconds=i, milliseconds=i % 1000),
        hit_count=1 + i % 7,
        protocol="tcp",
        src_ip=f"2001:db8::{i:x}" if v6 else f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
        src_port=1024 + i % 60000,
        dst_ip="2001:db8:1::80" if v6 else "192.0.2.80",
        dst_port=80,
        vlan=i % 4096,
        segment="1-1A 1-1B",
        action=ACTIONS[i % len(ACTIONS)],
        action_set="Block / Notify",
        message_params=f"GET|/index{i % 100}.html",
        extra={"suser": f"user{i % 1000}", "requestMethod": "GET"} if i % 10 == 0 else {},
    )


def fill(url: str, rows: int, say: Any) -> float:
    store = Store(url)
    started = time.perf_counter()
    try:
        for start in range(0, rows, BATCH):
            batch = [event(i) for i in range(start, min(start + BATCH, rows))]
            with store.write_turn(), store.transaction() as tx:
                EventRows(tx.session).insert_many(batch)
            if start and start % (BATCH * 20) == 0:
                say(f"  {start:,} rows stored")
    finally:
        store.close()
    return time.perf_counter() - started


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


class RssSampler(threading.Thread):
    """The highest VmRSS of a process, sampled every 0.2 s until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))


def get_data(session: requests.Session, url: str, form: str, rows: int) -> dict[str, Any]:
    """One GetData over every row, streamed; rows counted as the chunks arrive."""
    params = {
        "method": "GetData",
        "table": "ALERTS",
        "format": form,
        "begin_time": str(int(T0.timestamp() * 1000) - 120_000),
        "end_time": str(int((T0 + timedelta(seconds=rows + 1)).timestamp() * 1000)),
    }
    started = time.perf_counter()
    first = None
    size = lines = 0
    with session.get(f"{url}/dbAccess/tptDBServlet", params=params, stream=True) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_content(1 << 16):
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    # csv: a header line, then a line a row; sql: a line a row; xml: a line a row and
    # three (the declaration, the head up to <data>, the closing tags).
    framing = {"csv": 1, "sql": 0, "xml": 3}[form]
    received = lines - framing
    if received != rows:
        raise AssertionError(f"{received:,} rows arrived of {rows:,}")
    return {
        "seconds": seconds,
        "first_byte_s": first,
        "bytes": size,
        "rows_per_s": rows / seconds,
        "mib_per_s": size / seconds / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("csv", "sql", "xml"), default="csv")
    parser.add_argument("--database-url", default="", help="PostgreSQL or MariaDB; default SQLite")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    server_core = pin_client(no_pin=args.no_pin)
    say = partial(print, flush=True)
    backend = args.database_url.split(":", 1)[0].split("+")[0] if args.database_url else "sqlite"
    say(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {backend}; "
        f"GetData of {args.rows:,} ALERTS rows as {args.format}")  # fmt: skip
    record: dict[str, Any] = {"argv": sys.argv, "backend": backend, "rows": args.rows}
    with running_server("garrison-dbaccess-", args.database_url, server_core) as server:
        seconds = fill(server.database_url, args.rows, say)
        record["fill"] = {"seconds": seconds, "rows_per_s": args.rows / seconds}
        say(f"stored {args.rows:,} rows in {seconds:.1f} s ({args.rows / seconds:,.0f}/s)")
        pid = server.process.pid
        record["server_rss_before_mib"] = status_kib(pid, "VmRSS") / 1024
        record["server_peak_before_mib"] = status_kib(pid, "VmHWM") / 1024
        sampler = RssSampler(pid)
        sampler.start()
        with client_session(server) as session:
            record["get_data"] = get_data(session, server.url, args.format, args.rows)
        sampler.done.set()
        sampler.join()
        record["server_rss_sampled_peak_mib"] = sampler.peak_kib / 1024
        record["server_peak_after_mib"] = status_kib(pid, "VmHWM") / 1024
        record["load_after"] = os.getloadavg()
    got = record["get_data"]
    say(f"GetData {args.format}: {got['seconds']:.1f} s, {got['rows_per_s']:,.0f} rows/s, "
        f"{got['bytes'] / 2**20:,.0f} MiB at {got['mib_per_s']:.1f} MiB/s, "
        f"first byte after {got['first_byte_s']:.2f} s")  # fmt: skip
    say(f"server memory: RSS {record['server_rss_before_mib']:.0f} MiB before the call, "
        f"peak {record['server_peak_after_mib']:.0f} MiB after it (peak before it "
        f"{record['server_peak_before_mib']:.0f} MiB; sampled RSS peak "
        f"{record['server_rss_sampled_peak_mib']:.0f} MiB)")  # fmt: skip
    out = Path(f"/tmp/garrison-dbaccess-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.write_text(json.dumps(record, indent=1, default=str))
    say(f"results: {out}")


if __name__ == "__main__":
    main()
