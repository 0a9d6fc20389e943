"""Responder expiry benchmark: the cost of 10,000 open responses with timeouts.

In one process, on a fresh SQLite data directory, the Responder engine
(``garrison.responder.engine.Responder``, as ``garrison serve`` builds it, on uvloop, with
``gc.freeze()`` after start-up as the server does) opens ``--count`` responses by direct
``Responder.open`` calls, one after another, each for its own address, under a policy
with one cheap timeout action (``--action probe``: the tests' probe action, which only
records that it ran; ``none``: no action; ``web``: a real HTTP GET to a local listener
in this process). Expiries are planned so that all responses are open together before
the first expires: response i should expire at ``start + --open-budget + U(--min-timeout,
--max-timeout)`` seconds and is opened with the whole number of seconds of timeout that
lands it there (at least 1; the report counts those opened too late for their plan,
when opening takes longer than the budget).

Measured:

* the time to open them all (and opens a second);
* RSS (``VmRSS`` of /proc/self/status, after ``gc.collect()``) before the first open,
  after the last, and after every response has closed;
* for every response, read back from the store: its lateness ``closed_at - expires_at``
  (expiry noticed, response marked closing, timeout actions run, response closed) and
  ``started_at - expires_at`` of its timeout action; p50, p99, max, and how many were
  later than 1 s (the goal: none);
* the event loop's lag (how late a 10 ms sleep wakes up; max and p99), to tell a busy
  loop from a slow store.

Several rounds (``--rounds``, a fresh data directory each); medians are reported. Results
are printed as a table and written as JSON to /tmp/garrison-responder-expiry-<time>.json.

    /tmp/gvenv/bin/python bench/responder_expiry.py                      # 3 rounds, 10,000
    /tmp/gvenv/bin/python bench/responder_expiry.py --rounds 1 --count 2000 --open-budget 20

``--open-only`` opens, prints the open rate by thousands and RSS, and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLICY = "bench-expiry"
PASSWORD = "correct horse battery staple"


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class Round:
    count: int
    action: str
    open_seconds: float = 0.0
    opens_per_second: float = 0.0
    rss_before_mib: float = 0.0
    rss_open_mib: float = 0.0
    rss_after_mib: float = 0.0
    rss_per_response_kib: float = 0.0
    closed: int = 0
    close_late: dict[str, float] = field(default_factory=dict)  # closed_at - expires_at, s
    action_late: dict[str, float] = field(default_factory=dict)  # timeout action start
    later_than_1s: int = 0
    action_later_than_1s: int = 0
    early: int = 0  # closed before its expiry (should be 0)
    past_budget: int = 0  # opened less than --min-timeout before its planned expiry
    open_at_first_expiry: int = 0
    open_rates: list[int] = field(default_factory=list)  # opens/s of each 1,000
    # (seconds from the first expiry, p50 ms, max ms) of each 5 s of expiries
    late_by_time: list[tuple[int, float, float]] = field(default_factory=list)
    loop_lag_ms: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.50),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else float("nan"),
        "min": min(values) if values else float("nan"),
    }


class Hook:
    """A minimal HTTP/1.1 listener for ``--action web``: answers 200 to anything."""

    def __init__(self) -> None:
        self.hits = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.hits += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def timeout_actions(action: str, hook_port: int) -> list[dict[str, Any]]:
    if action == "none":
        return []
    if action == "probe":
        return [
            {
                "name": "release",
                "type": "probe",
                "retries": 0,
                "settings": {"label": "release"},
            }
        ]
    return [
        {
            "name": "release",
            "type": "web",
            "retries": 0,
            "settings": {"url": f"http://127.0.0.1:{hook_port}/release/{{address}}"},
        }
    ]


async def loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms sleep wakes up, in ms: a busy loop shows here."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append((time.perf_counter() - start - 0.01) * 1000)


async def one_round(args: argparse.Namespace, number: int, console: Any) -> Round:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from garrison.auth import Principal
    from garrison.bootstrap import initialize
    from garrison.responder.engine import Responder
    from garrison.services import Services
    from garrison.store.responder import Response, ResponseAction
    from tests.responder import probe_action  # registers the "probe" action kind
    from tests.support import make_settings

    probe_action.reset()
    result = Round(count=args.count, action=args.action)
    work = Path(tempfile.mkdtemp(prefix="garrison-expiry-"))
    hook = Hook()
    await hook.start()
    settings = make_settings(
        work / "data",
        responder={"nms_traps": False, "max_open_responses": max(100_000, args.count * 2)},
    )
    initialize(settings, admin_password=PASSWORD)
    services = Services.open(settings)
    engine = Responder(services)
    lag: list[float] = []
    stop_lag = asyncio.Event()
    lag_task = None
    try:
        services.policies.create_policy(
            Principal.local_cli(),
            {
                "name": POLICY,
                "initiation": ["manual"],
                "timeout_seconds": 3600,
                "retrigger": "ignore",
                "timeout_actions": timeout_actions(args.action, hook.port),
            },
        )
        await engine.start()
        gc.collect()
        gc.freeze()  # as `garrison serve` does after start-up
        lag_task = asyncio.create_task(loop_lag(lag, stop_lag))
        rng = random.Random(args.seed + number)
        result.rss_before_mib = rss_mib()
        began = time.perf_counter()
        plan = [
            began + args.open_budget + rng.uniform(args.min_timeout, args.max_timeout)
            for _ in range(args.count)
        ]
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:>6.0f}/{task.total:.0f}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"round {number}: opening", total=args.count)
            lap = time.perf_counter()
            for index, planned in enumerate(plan):
                seconds = round(planned - time.perf_counter())
                if seconds < args.min_timeout:
                    result.past_budget += 1
                seconds = max(1, seconds)
                if index % 1000 == 999:  # how the open rate changes as responses pile up
                    now = time.perf_counter()
                    result.open_rates.append(round(1000 / (now - lap)))
                    lap = now
                address = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
                await engine.open(
                    policy=POLICY,
                    address=address,
                    trigger="manual",
                    actor=None,
                    reason="benchmark",
                    timeout_seconds=seconds,
                )
                if index % 100 == 99:
                    progress.update(task, completed=index + 1)
            result.open_seconds = time.perf_counter() - began
            result.opens_per_second = args.count / result.open_seconds
            gc.collect()
            result.rss_open_mib = rss_mib()
            result.rss_per_response_kib = (
                (result.rss_open_mib - result.rss_before_mib) * 1024 / args.count
            )
            if args.open_only:
                return result
            # Wait for every response to close: bounded by the latest expiry plus a margin.
            task = progress.add_task(f"round {number}: closed", total=args.count)
            result.open_at_first_expiry = args.count - await asyncio.to_thread(
                count_closed, services
            )
            deadline = max(plan) + args.margin
            while time.perf_counter() < deadline:
                closed = await asyncio.to_thread(count_closed, services)
                progress.update(task, completed=closed)
                if closed >= args.count:
                    break
                await asyncio.sleep(1.0)
        await engine.idle(30)
        result.wall_seconds = time.perf_counter() - began
        gc.collect()
        result.rss_after_mib = rss_mib()
        stop_lag.set()
        await lag_task
        lag_task = None
        rows = await asyncio.to_thread(read_rows, services, Response, ResponseAction)
        close_late = [
            (closed - expires).total_seconds()
            for _id, expires, closed, _started in rows
            if closed is not None
        ]
        action_late = [
            (started - expires).total_seconds()
            for _id, expires, _closed, started in rows
            if started is not None
        ]
        result.late_by_time = by_time(rows)
        result.closed = len(close_late)
        result.close_late = summary(close_late)
        result.action_late = summary(action_late)
        result.later_than_1s = sum(1 for v in close_late if v > 1.0) + (
            args.count - len(close_late)
        )
        result.action_later_than_1s = sum(1 for v in action_late if v > 1.0)
        result.early = sum(1 for v in close_late if v < 0)
        result.loop_lag_ms = {"p99": percentile(lag, 0.99), "max": max(lag) if lag else 0.0}
        result.load_average = os.getloadavg()
        if args.action == "web" and hook.hits < result.closed:
            console.print(f"[yellow]web hook got {hook.hits} of {result.closed} releases")
    finally:
        stop_lag.set()
        if lag_task is not None:
            await lag_task
        await engine.stop()
        await hook.stop()
        services.close()
        gc.unfreeze()
        shutil.rmtree(work, ignore_errors=True)
    return result


def by_time(rows: list[tuple[int, datetime, datetime | None, datetime | None]]) -> list[Any]:
    """Lateness in 5 s buckets of expiry time: a backlog grows, a stall is a spike."""
    closed = [(e, (c - e).total_seconds()) for _i, e, c, _s in rows if c is not None]
    if not closed:
        return []
    first = min(e for e, _ in closed)
    buckets: dict[int, list[float]] = {}
    for expires, late in closed:
        buckets.setdefault(int((expires - first).total_seconds()) // 5 * 5, []).append(late)
    return [
        (start, round(percentile(v, 0.5) * 1000), round(max(v) * 1000))
        for start, v in sorted(buckets.items())
    ]


def count_closed(services: Any) -> int:
    from garrison.store.responder import Responses

    with services.store.transaction() as tx:
        return Responses(tx.session).count(states=("closed",))


def read_rows(
    services: Any, response: Any, action: Any
) -> list[tuple[int, datetime, datetime | None, datetime | None]]:
    """(id, expires_at, closed_at, timeout action started_at) of every response."""
    from sqlalchemy import select

    with services.store.transaction() as tx:
        query = select(
            response.id, response.expires_at, response.closed_at, action.started_at
        ).outerjoin(action, (action.response_id == response.id) & (action.phase == "timeout"))
        return [tuple(row) for row in tx.session.execute(query)]  # type: ignore[misc]


def show(rounds: list[Round], console: Any) -> dict[str, float]:
    from rich.table import Table

    def med(get: Any) -> float:
        return statistics.median(get(r) for r in rounds)

    table = Table(title=f"{rounds[0].count} open responses, timeout action: {rounds[0].action}")
    table.add_column("round")
    for name in (
        "open s",
        "opens/s",
        "RSS before",
        "RSS open",
        "KiB/resp",
        "RSS after",
        "late p50",
        "late p99",
        "late max",
        ">1 s",
        "action p99",
        "loop lag max",
    ):
        table.add_column(name, justify="right")

    def row(label: str, get: Any) -> None:
        table.add_row(
            label,
            f"{get(lambda r: r.open_seconds):.1f}",
            f"{get(lambda r: r.opens_per_second):.0f}",
            f"{get(lambda r: r.rss_before_mib):.1f} MiB",
            f"{get(lambda r: r.rss_open_mib):.1f} MiB",
            f"{get(lambda r: r.rss_per_response_kib):.2f}",
            f"{get(lambda r: r.rss_after_mib):.1f} MiB",
            f"{get(lambda r: r.close_late['p50']) * 1000:.0f} ms",
            f"{get(lambda r: r.close_late['p99']) * 1000:.0f} ms",
            f"{get(lambda r: r.close_late['max']) * 1000:.0f} ms",
            f"{get(lambda r: r.later_than_1s):.0f}",
            f"{get(lambda r: r.action_late['p99']) * 1000:.0f} ms",
            f"{get(lambda r: r.loop_lag_ms['max']):.0f} ms",
        )

    for number, r in enumerate(rounds, 1):
        row(str(number), lambda get, r=r: get(r))
    row("[bold]median", med)
    console.print(table)
    return {
        "open_seconds": med(lambda r: r.open_seconds),
        "late_p50_s": med(lambda r: r.close_late["p50"]),
        "late_p99_s": med(lambda r: r.close_late["p99"]),
        "late_max_s": med(lambda r: r.close_late["max"]),
        "later_than_1s": med(lambda r: r.later_than_1s),
        "rss_per_response_kib": med(lambda r: r.rss_per_response_kib),
    }


async def main_async(args: argparse.Namespace) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a log file: room for the whole table
    console.print(
        f"{args.count} responses a round, timeouts {args.min_timeout}-{args.max_timeout} s, "
        f"action {args.action}, {args.rounds} rounds"
        f"; load "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} cores"
    )
    rounds = []
    for number in range(1, args.rounds + 1):
        r = await one_round(args, number, console)
        console.print(
            f"round {number}: opens/s by thousands {r.open_rates}; RSS "
            f"{r.rss_before_mib:.1f} -> {r.rss_open_mib:.1f} MiB "
            f"({r.rss_per_response_kib:.2f} KiB a response)"
        )
        if args.open_only:
            continue
        console.print(f"round {number}: lateness by 5 s of expiries (s, p50 ms, max ms): ")
        console.print(" ".join(f"{t}:{p}/{m}" for t, p, m in r.late_by_time))
        console.print(
            f"round {number}: opened in {r.open_seconds:.1f} s; closed {r.closed}; "
            f"late p50 {r.close_late['p50'] * 1000:.0f} ms p99 {r.close_late['p99'] * 1000:.0f} "
            f"ms max {r.close_late['max'] * 1000:.0f} ms; >1 s: {r.later_than_1s}; "
            f"early {r.early}; RSS {r.rss_before_mib:.1f} -> {r.rss_open_mib:.1f} -> "
            f"{r.rss_after_mib:.1f} MiB; open when opening ended {r.open_at_first_expiry}, "
            f"opened past the budget {r.past_budget}; load {r.load_average[0]:.2f}"
        )
        rounds.append(r)
    if args.open_only:
        return
    medians = show(rounds, console)
    out = Path(f"/tmp/garrison-responder-expiry-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.write_text(
        json.dumps(
            {"args": vars(args), "rounds": [asdict(r) for r in rounds], "medians": medians},
            indent=2,
            default=str,
        )
    )
    console.print(f"results: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--open-budget", type=float, default=100.0, help="s allowed for opening them all"
    )
    parser.add_argument("--min-timeout", type=int, default=30, help="seconds")
    parser.add_argument("--max-timeout", type=int, default=90, help="seconds")
    parser.add_argument("--action", choices=("probe", "none", "web"), default="probe")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--margin", type=float, default=60.0, help="s to wait past the last")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--open-only", action="store_true", help="open, measure, stop")
    args = parser.parse_args()
    try:
        import uvloop  # garrison serve runs on uvloop where it is installed
    except ImportError:
        asyncio.run(main_async(args))
    else:
        uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
