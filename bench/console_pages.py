"""How long the console's pages take with N events in the store (the issue's figure:
10,000,000): no page may wait on a full scan of the events table.

A real ``garrison serve`` (bench/serving.py) on SQLite (default) or a database server
(``--database-url``). This process fills the events table through the store's insert
path, spread evenly over the last ``--days`` days (so "the last hour" holds N/(24*days)
events), with 5,000 source addresses, 500 signatures and 4 severities; then it logs in
through the console's login form, as a browser does, and times each page (the whole
answer) ``--rounds`` times, printing the median and the slowest.

    /tmp/gvenv/bin/python bench/console_pages.py                      # 10,000,000 events
    /tmp/gvenv/bin/python bench/console_pages.py --events 200000     # a quick look

A measurement, not a test: it asserts only that every page answered 200.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from serving import PASSWORD, client_session, pin_client, running_server

from garrison.events.model import Action, Event, EventKind, Severity
from garrison.store import Store
from garrison.store.events import EventRows

BATCH = 20_000
ACTIONS = (Action.BLOCK, Action.ALERT, Action.PERMIT, Action.RATE_LIMIT)
SOURCES = 5_000
PAGES = (
    "/",
    "/devices",
    "/events",
    "/events?min_severity=4",
    "/events?src=10.0.7.0/24",
    "/events?signature=7042",
    "/events/address/10.0.7.9",
    "/responder",
    "/responder/responses",
    "/reputation",
    "/admin/audit",
)


def event(i: int, now: datetime, span: float, total: int) -> Event:
    at = now - timedelta(seconds=span * (total - i) / total)
    source = i % SOURCES
    return Event(
        kind=EventKind.ALERT,
        collector="bench",
        source_address="10.255.0.1",
        received_at=at,
        severity=Severity(1 + i % 4),
        device_name=f"edge-{i % 8 + 1}",
        sequence=i,
        signature_id=f"00000001-0001-0001-0001-{7000 + i % 500:012d}",
        signature_number=7000 + i % 500,
        name=f"{7000 + i % 500}: HTTP: bench filter",
        category="Exploits",
        end_time=at,
        protocol="tcp",
        src_ip=f"10.0.{source >> 8}.{source & 255}",
        src_port=1024 + i % 60000,
        dst_ip=f"192.0.2.{i % 200 + 1}",
        dst_port=80,
        action=ACTIONS[i % len(ACTIONS)],
        action_set="Block / Notify",
    )


def fill(url: str, total: int, days: float) -> float:
    store = Store(url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    try:
        for start in range(0, total, BATCH):
            batch = [
                event(i, now, days * 86400, total) for i in range(start, min(start + BATCH, total))
            ]
            with store.write_turn(), store.transaction() as tx:
                EventRows(tx.session).insert_many(batch)
            if start and start % (BATCH * 50) == 0:
                print(f"  {start:,} events stored", flush=True)
    finally:
        store.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    server_core = pin_client(no_pin=args.no_pin)
    load = os.getloadavg()[0]
    print(f"{len(os.sched_getaffinity(0))} cores pinned for the client, load {load:.2f}; "
          f"{args.events:,} events over {args.days:g} days")  # fmt: skip
    with running_server("garrison-console-", args.database_url or None, server_core) as server:
        filled = fill(server.database_url, args.events, args.days)
        print(f"stored {args.events:,} events in {filled:.0f} s")
        session = client_session(server)
        del session.headers["X-SMS-API-KEY"]  # a browser: the session cookie only
        login = session.post(
            f"{server.url}/login",
            data={"username": "admin", "password": PASSWORD},
            headers={"Origin": server.url},
            allow_redirects=False,
        )
        assert login.status_code == 303, login.text[:300]
        timings: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for page in PAGES:
                started = time.perf_counter()
                answer = session.get(server.url + page)
                elapsed = time.perf_counter() - started
                if answer.status_code != 200:
                    sys.exit(f"{page} answered {answer.status_code}: {answer.text[:300]}")
                timings.setdefault(page, []).append(elapsed)
                # The fragments a page refreshes live are pages too.
                for fragment in re.findall(r'data-refresh="([^"]+)"', answer.text):
                    url = fragment.replace("&amp;", "&")
                    started = time.perf_counter()
                    part = session.get(server.url + url)
                    assert part.status_code == 200, (url, part.status_code)
                    timings.setdefault(url, []).append(time.perf_counter() - started)
    print(f"{'page':<48} {'median':>8} {'slowest':>8}")
    results = {}
    for page, times in timings.items():
        median, worst = statistics.median(times), max(times)
        results[page] = {"median_s": median, "max_s": worst, "rounds": len(times)}
        print(f"{page:<48} {median * 1000:>6.0f} ms {worst * 1000:>6.0f} ms")
    out = Path(f"/tmp/garrison-console-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.write_text(json.dumps({"events": args.events, "load": load, "pages": results}, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
