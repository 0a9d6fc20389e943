"""Responder trigger latency benchmark: time from a trigger to its response's first action
starting, while background traps flow.

Three processes:

* **Garrison** (this script with ``_serve``): the components ``garrison serve`` runs
  (``garrison.server.compose.build_components``: event writer on SQLite, Responder, trap
  receiver accepting unknown sources, HTTPS with the Web services; poller off), on uvloop,
  ``gc.freeze()`` after start-up, in a fresh data directory. Two policies, each with one
  initial action, a ``web`` action doing ``GET http://127.0.0.1:HOOK/{trigger}/{address}``:
  ``bench-threshold`` (threshold correlation: ``--hits`` qualified hits of filter 9999 from
  one source within 60 s; Allow Active Response 198.18.0.0/16) and ``bench-web``
  (invoked by SNMP trap or Web service; Allow 198.19.0.0/16). It answers ``latencies`` on
  its stdin with the engine's own record (``Responder.latencies``: seconds from the
  engine seeing the trigger to the first action's first attempt starting, perf_counter)
  and clears it.
* **the background load** (``_send``): SNMPv2c tptPolicyNotify traps (filter 7610, source
  50.227.44.198: they never qualify) at ``--rates`` a second to the trap port, the
  encoding of ``bench/trap_ingest.py`` (every trap a different sequence number).
* **this process**: the trigger generator and the Web hook (a minimal HTTP listener).

Two triggers, ``--samples`` each per round, one after another with a random pause
(``--gap``) between samples, each for a new attacker address:

* **trap**: ``--hits`` tptPolicyNotify traps of filter 9999 from the address are sent back
  to back to the trap port; the clock starts just before the last one (the event that
  crosses the threshold) is sent (on loopback, sending is arriving at the port);
* **web**: ``GET /quarantine/quarantine?ip=ADDR&policy=bench-web`` with ``X-SMS-API-KEY``
  over a kept-alive TLS connection to the HTTPS port; the clock starts just before the
  request is written.

The clock stops (a) when the Web hook accepts the action's connection ("hook"), (b) at
the action's ``started_at`` in the store (Garrison's wall clock, same machine:
"started_at"), and the engine reports (c) its own figure ("engine"). p50, p99 and max of
each; triggers with no action within 5 s are counted as lost. Also reported: the
background traps sent, stored and lost (kernel drops of the trap socket), and the
server's RSS. ``--rates 0`` gives a baseline without background.

The server is pinned to the last core, the load generator and this process to the first
(``--no-pin`` to let the kernel place them). Several rounds per rate; medians reported.
Results are printed and written as JSON to /tmp/garrison-responder-latency-<time>.json.

    /tmp/gvenv/bin/python bench/responder_latency.py --rates 10000,5000 --rounds 3
    /tmp/gvenv/bin/python bench/responder_latency.py --rates 0 --rounds 1 --samples 50
    /tmp/gvenv/bin/python bench/responder_latency.py --rates 10000 --rounds 1 --profile

``--writer-batch N`` sets the event writer's ``[events] writer_batch`` (rows per
transaction; 500 by default), which bounds how long it holds SQLite's write lock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import trap_ingest  # noqa: E402  (the background encoding, /proc readers)

PYTHON = sys.executable
HOST = "127.0.0.1"
CORES = sorted(os.sched_getaffinity(0))
ATTACK_SIGNATURE = 9999  # a filter number the background traffic never uses
THRESHOLD_RANGE = "198.18.0.0/16"
WEB_RANGE = "198.19.0.0/16"
BACKGROUND_SOURCE = "50.227.44.198"
LOST_AFTER = 5.0  # seconds without the action: the trigger counts as lost


# -- the Garrison process ---------------------------------------------------------------


def policies(hook_port: int, hits: int) -> list[dict[str, Any]]:
    def web_action() -> dict[str, Any]:
        return {
            "name": "hook",
            "type": "web",
            "retries": 0,
            "time_limit_seconds": 10,
            "settings": {"url": f"http://{HOST}:{hook_port}/{{trigger}}/{{address}}"},
        }

    return [
        {
            "name": "bench-threshold",
            "initiation": ["threshold"],
            "allow": [THRESHOLD_RANGE],
            "timeout_seconds": 3600,
            "retrigger": "ignore",
            "threshold": {
                "hits": hits,
                "period_seconds": 60,
                "filter": {"signature": [str(ATTACK_SIGNATURE)]},
            },
            "initial_actions": [web_action()],
        },
        {
            "name": "bench-web",
            "initiation": ["external"],
            "allow": [WEB_RANGE],
            "timeout_seconds": 3600,
            "retrigger": "ignore",
            "initial_actions": [web_action()],
        },
    ]


def serve_main(argv: list[str]) -> None:
    """``_serve WORK HOOK_PORT HITS CORE [WHAT_IF]``: run Garrison; one JSON line when
    ready, then answer ``latencies`` and ``stop`` read from stdin."""
    work, hook_port, hits, core = Path(argv[0]), int(argv[1]), int(argv[2]), int(argv[3])
    options = dict(o.partition("=")[::2] for o in argv[4].split(",")) if len(argv) > 4 else {}
    if core >= 0:
        os.sched_setaffinity(0, {core})
    from garrison import logs
    from garrison.auth import Principal
    from garrison.bootstrap import initialize
    from garrison.responder.engine import Responder
    from garrison.server.compose import build_components
    from garrison.server.runner import start_all, stop_all
    from garrison.services import Services
    from tests.support import ADMIN_PASSWORD, make_settings

    logs.configure("text", "warning")
    events: dict[str, Any] = {}
    if options.get("writer-batch"):
        events["events"] = {"writer_batch": int(options["writer-batch"])}
    settings = make_settings(
        work / "data",
        snmp_trap={"accept_unknown_sources": True},
        poller={"enabled": False},
        responder={"nms_traps": False},
        **events,
    )
    initialize(settings, admin_password=ADMIN_PASSWORD)
    svc = Services.open(settings)
    cli = Principal.local_cli()
    with svc.store.transaction() as tx:
        admin = tx.users.by_name("admin")
    assert admin is not None
    key = svc.auth.create_api_key(cli, user_id=admin.id, name="bench")
    for document in policies(hook_port, hits):
        svc.policies.create_policy(cli, document)
    components = build_components(svc)

    async def main() -> None:
        await start_all(components)
        gc.freeze()  # as `garrison serve` does after start-up
        responder = next(c for c in components if isinstance(c, Responder))
        ports = {c.name: c.port for c in components if isinstance(getattr(c, "port", None), int)}
        print(json.dumps({"ports": ports, "key": key.secret, "db": str(settings.data_dir)}))
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        commands: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:  # stdin in a thread: the loop never blocks on it
            for line in sys.stdin:
                loop.call_soon_threadsafe(commands.put_nowait, line.strip())
            loop.call_soon_threadsafe(commands.put_nowait, "stop")

        threading.Thread(target=read, daemon=True).start()
        while (command := await commands.get()) != "stop":
            if command == "latencies":
                found = list(responder.latencies)
                responder.latencies.clear()
                print(json.dumps({"latencies": found}))
                sys.stdout.flush()
        await stop_all(components)

    try:
        import uvloop  # garrison serve runs on uvloop where it is installed
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
    svc.close()


# -- the background load ----------------------------------------------------------------


def send_main(argv: list[str]) -> None:
    """``_send PORT RATE CORE``: send background traps until SIGTERM; then print one JSON
    line: sent, errors, first and last send (monotonic)."""
    port, rate, core = int(argv[0]), float(argv[1]), int(argv[2])
    if core >= 0:
        os.sched_setaffinity(0, {core})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    template, offset = trap_ingest.encode_trap()
    buffer = bytearray(template)
    end = offset + 6
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    sock.connect((HOST, port))
    send, clock, sleep = sock.send, time.monotonic, time.sleep
    errors = sent = 0
    first = clock()
    while not stop.is_set():
        for n in range(sent, sent + trap_ingest.BURST):
            buffer[offset:end] = (trap_ingest.SEQ_BASE + n).to_bytes(6, "big")
            try:
                send(buffer)
            except OSError:
                errors += 1
        sent += trap_ingest.BURST
        ahead = first + sent / rate - clock()
        if ahead > 0:
            sleep(ahead)
    print(json.dumps({"first": first, "last": clock(), "sent": sent - errors, "errors": errors}))


# -- the triggers -----------------------------------------------------------------------


def attack_template() -> tuple[bytes, int]:
    """A tptPolicyNotify of filter 9999 from 198.18.0.1, and the offset of the four octets
    of its source address (patched for every attacker)."""
    from pysnmp.proto.api import v2c

    from tests.collectors.test_snmp_trap_support import (
        TP,
        policy_varbinds_pysnmp,
        pysnmp_v2c_trap,
    )

    signature = f"00000001-0001-0001-0001-{ATTACK_SIGNATURE:012d}"
    varbinds = []
    for oid, value in policy_varbinds_pysnmp():
        if oid == f"{TP}.1.13.0":
            value = v2c.OctetString(signature)
        elif oid == f"{TP}.1.15.0":
            value = v2c.IpAddress("198.18.0.1")
        varbinds.append((oid, value))
    datagram = pysnmp_v2c_trap("public", varbinds)
    marker = b"\x40\x04" + socket.inet_aton("198.18.0.1")
    assert datagram.count(marker) == 1
    return datagram, datagram.index(marker) + 2


def address(base: str, index: int) -> str:
    """The ``index``-th attacker of a /16 (skipping .0 and .255 hosts)."""
    first, second = base.split(".")[:2]
    return f"{first}.{second}.{index // 254 % 256}.{index % 254 + 1}"


class Hook:
    """The Web hook: an HTTP/1.1 listener that records when each action connects."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.server: asyncio.Server | None = None
        self.port = 0
        self.unexpected = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, HOST, 0, backlog=1024)
        self.port = self.server.sockets[0].getsockname()[1]

    def expect(self, who: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[who] = future
        return future

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted = time.time()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            who = path.rstrip("/").rsplit("/", 1)[-1]
            future = self.waiting.pop(who, None)
            if future is not None and not future.done():
                future.set_result(accepted)
            else:
                self.unexpected += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class Server:
    """The Garrison child process and its stdin/stdout protocol."""

    def __init__(self, process: asyncio.subprocess.Process, ready: dict[str, Any]) -> None:
        self.process = process
        self.ports: dict[str, int] = ready["ports"]
        self.key: str = ready["key"]
        self.data = Path(ready["db"])

    @classmethod
    async def start(
        cls, work: Path, hook_port: int, hits: int, core: int | None, options: str = ""
    ) -> Server:
        log = (work / "serve.log").open("w")
        cmd = [
            PYTHON,
            __file__,
            "_serve",
            str(work),
            str(hook_port),
            str(hits),
            "-1",
            options,
        ]
        process = await asyncio.create_subprocess_exec(
            *trap_ingest.pinned(cmd, core),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=trap_ingest.clean_env(),
        )
        log.close()
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 120)
        except TimeoutError:
            process.kill()
            raise RuntimeError("the Garrison process did not start within 120 s") from None
        if not line:
            await process.wait()
            tail = (work / "serve.log").read_text()[-3000:]
            raise RuntimeError(f"the Garrison process exited: {tail}")
        return cls(process, json.loads(line))

    async def latencies(self) -> list[float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"latencies\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        return list(json.loads(line)["latencies"])

    def stored(self) -> int:
        with contextlib.closing(sqlite3.connect(self.data / "garrison.db", timeout=30)) as db:
            return int(db.execute("SELECT max(id) FROM events").fetchone()[0] or 0)

    def action_starts(self) -> dict[str, float]:
        """Attacker address -> wall-clock start of its response's first action."""
        with contextlib.closing(sqlite3.connect(self.data / "garrison.db", timeout=30)) as db:
            rows = db.execute(
                "SELECT r.address, min(a.started_at) FROM responses r JOIN response_actions a"
                " ON a.response_id = r.id WHERE a.phase = 'initial' GROUP BY r.address"
            ).fetchall()
        found = {}
        for who, started in rows:
            if started:
                moment = datetime.fromisoformat(started).replace(tzinfo=UTC)  # stored naive UTC
                found[who] = moment.timestamp()
        return found

    async def stop(self) -> None:
        if self.process.returncode is None and self.process.stdin is not None:
            with contextlib.suppress(ConnectionError):
                self.process.stdin.write(b"stop\n")
                await self.process.stdin.drain()
                self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class Sample:
    trigger: str
    address: str
    sent: float  # wall clock, s
    hook: float | None = None
    answered: float | None = None  # the Web service's answer
    status: int | None = None


@dataclass
class RoundResult:
    rate: float
    number: int
    samples: list[Sample] = field(default_factory=list)
    engine: dict[str, list[float]] = field(default_factory=dict)  # trigger -> seconds
    started_at: dict[str, float] = field(default_factory=dict)  # address -> wall clock
    background_sent: int = 0
    background_rate: float = 0.0
    attack_sent: int = 0
    stored: int = 0
    lost: int = 0
    kernel_drops: int | None = None
    rss_mib: float | None = None
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def figures(self, trigger: str, clock: str) -> list[float]:
        """Latencies in ms of one trigger by one clock (hook, started_at, engine)."""
        if clock == "engine":
            return [v * 1000 for v in self.engine.get(trigger, [])]
        values = []
        for s in self.samples:
            if s.trigger != trigger:
                continue
            end = s.hook if clock == "hook" else self.started_at.get(s.address)
            if end is not None:
                values.append((end - s.sent) * 1000)
        return values

    def lost_triggers(self, trigger: str) -> int:
        return sum(1 for s in self.samples if s.trigger == trigger and s.hook is None)


async def trap_sample(
    sock: socket.socket, template: bytearray, offset: int, hits: int, who: str, hook: Hook
) -> Sample:
    template[offset : offset + 4] = socket.inet_aton(who)
    done = hook.expect(who)
    for _ in range(hits - 1):
        sock.send(template)
    sample = Sample("trap", who, time.time())
    sock.send(template)
    with contextlib.suppress(TimeoutError):
        sample.hook = await asyncio.wait_for(done, LOST_AFTER)
    hook.waiting.pop(who, None)
    return sample


async def web_sample(client: Any, key: str, who: str, hook: Hook) -> Sample:
    done = hook.expect(who)
    sample = Sample("web", who, 0.0)

    async def call() -> None:
        sample.sent = time.time()
        response = await client.get(
            "/quarantine/quarantine",
            params={"ip": who, "policy": "bench-web"},
            headers={"X-SMS-API-KEY": key},
        )
        sample.answered = time.time()
        sample.status = response.status_code

    request = asyncio.create_task(call())
    with contextlib.suppress(TimeoutError):
        sample.hook = await asyncio.wait_for(done, LOST_AFTER)
    hook.waiting.pop(who, None)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(request, LOST_AFTER)
    return sample


async def run_round(
    args: argparse.Namespace, rate: float, number: int, console: Any, work: Path
) -> RoundResult:
    import httpx
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    result = RoundResult(rate=rate, number=number)
    pin = not args.no_pin
    hook = Hook()
    await hook.start()
    options = f"writer-batch={args.writer_batch}" if args.writer_batch else ""
    server = await Server.start(work, hook.port, args.hits, CORES[-1] if pin else None, options)
    trap_port = server.ports["snmp-trap"]
    sender: subprocess.Popen[str] | None = None
    spy: subprocess.Popen[bytes] | None = None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((HOST, trap_port))
    template, offset = attack_template()
    buffer = bytearray(template)
    rng = random.Random(args.seed + number)
    client = httpx.AsyncClient(base_url=f"https://{HOST}:{server.ports['https']}", verify=False)
    try:
        # Warm up both paths (first TLS handshake, first action instance) unmeasured.
        for index in range(3):
            await trap_sample(
                sock, buffer, offset, args.hits, address("198.18", 60000 + index), hook
            )
            await web_sample(client, server.key, address("198.19", 60000 + index), hook)
        await server.latencies()
        if rate > 0:
            core = str(CORES[0] if pin else -1)
            cmd = [PYTHON, __file__, "_send", str(trap_port), str(rate), core]
            sender = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            await asyncio.sleep(args.settle)  # let the receiver reach its steady state
        if args.profile:
            spy = start_profile(server.process.pid, work, rate, number)
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:>4.0f}/{task.total:.0f}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            for trigger in ("trap", "web"):
                task = progress.add_task(
                    f"{rate:.0f}/s round {number}: {trigger}", total=args.samples
                )
                for index in range(args.samples):
                    if trigger == "trap":
                        who = address("198.18", index)
                        sample = await trap_sample(sock, buffer, offset, args.hits, who, hook)
                    else:
                        who = address("198.19", index)
                        sample = await web_sample(client, server.key, who, hook)
                    result.samples.append(sample)
                    progress.update(task, completed=index + 1)
                    await asyncio.sleep(rng.uniform(*args.gap))
                result.engine[trigger] = await server.latencies()
        result.attack_sent = (args.samples + 3) * args.hits
        result.kernel_drops = trap_ingest.udp_drops(trap_port)
        kib = trap_ingest.status_kib(server.process.pid, "VmRSS")
        result.rss_mib = kib / 1024 if kib else None
        if spy is not None:
            stop_child(spy)
            spy = None
        if sender is not None:
            stop_child(sender)
            out, _ = sender.communicate(timeout=30)
            sent = json.loads(out.strip().splitlines()[-1])
            result.background_sent = sent["sent"]
            result.background_rate = sent["sent"] / max(sent["last"] - sent["first"], 1e-9)
            sender = None
        result.stored = await asyncio.to_thread(wait_stored, server)
        result.lost = result.background_sent + result.attack_sent - result.stored
        result.started_at = await asyncio.to_thread(server.action_starts)
        result.load_average = os.getloadavg()
    finally:
        await client.aclose()
        sock.close()
        for child in (spy, sender):
            if child is not None:
                stop_child(child)
        await server.stop()
        await hook.stop()
    return result


def wait_stored(server: Server, idle: float = 2.0, limit: float = 120.0) -> int:
    """The events stored once the count stops growing (the writer has drained)."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        count = server.stored()
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since > idle:
            break
        time.sleep(0.2)
    return last


def stop_child(process: subprocess.Popen[Any]) -> None:
    """SIGTERM one child by its PID (SIGINT for py-spy, which then writes its file)."""
    if process.poll() is None:
        is_spy = isinstance(process.args, list) and "py-spy" in str(process.args[0])
        process.send_signal(signal.SIGINT if is_spy else signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def start_profile(pid: int, work: Path, rate: float, number: int) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    out = Path(f"/tmp/garrison-responder-latency-{int(rate)}-{number}-{int(time.time())}.json")
    cmd = [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "speedscope"]
    cmd += ["--output", str(out), "--idle", "--threads"]
    print(f"py-spy: {out}")
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=(work / "py-spy.log").open("w"))


# -- report -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


CLOCKS = ("hook", "started_at", "engine")


def report(results: list[RoundResult], console: Any) -> dict[str, Any]:
    from rich.table import Table

    table = Table(title="Trigger to first action start, ms (p50 / p99 / max)")
    for name in ("offered/s", "round", "trigger", "n", "lost", *CLOCKS, "bg sent/s", "bg lost"):
        table.add_column(name, justify="right")
    medians: dict[str, Any] = {}
    for rate in dict.fromkeys(r.rate for r in results):
        rounds = [r for r in results if r.rate == rate]
        for trigger in ("trap", "web"):
            stats: dict[str, list[tuple[float, float, float]]] = {c: [] for c in CLOCKS}
            for r in rounds:
                cells = []
                for clock in CLOCKS:
                    values = r.figures(trigger, clock)
                    triple = (
                        percentile(values, 0.5),
                        percentile(values, 0.99),
                        max(values, default=float("nan")),
                    )
                    stats[clock].append(triple)
                    cells.append(" / ".join(f"{v:.1f}" for v in triple))
                n = sum(1 for s in r.samples if s.trigger == trigger)
                table.add_row(
                    f"{rate:,.0f}",
                    str(r.number),
                    trigger,
                    str(n),
                    str(r.lost_triggers(trigger)),
                    *cells,
                    f"{r.background_rate:,.0f}",
                    f"{r.lost:,}",
                )
            med = {
                clock: [statistics.median(t[i] for t in stats[clock]) for i in range(3)]
                for clock in CLOCKS
            }
            table.add_row(
                f"{rate:,.0f}",
                "[bold]median",
                trigger,
                "",
                f"{statistics.median(r.lost_triggers(trigger) for r in rounds):g}",
                *(" / ".join(f"{v:.1f}" for v in med[c]) for c in CLOCKS),
                f"{statistics.median(r.background_rate for r in rounds):,.0f}",
                f"{statistics.median(r.lost for r in rounds):,.0f}",
                style="bold",
            )
            medians[f"{rate:.0f}/{trigger}"] = med
    console.print(table)
    for r in results:
        console.print(
            f"{r.rate:,.0f}/s round {r.number}: background sent {r.background_sent:,} "
            f"({r.background_rate:,.0f}/s), attack traps {r.attack_sent}, stored {r.stored:,}, "
            f"lost {r.lost:,} (kernel drops {r.kernel_drops}), server RSS "
            f"{r.rss_mib or 0:.0f} MiB, load {' '.join(f'{v:.2f}' for v in r.load_average)}"
        )
    return medians


async def main_async(args: argparse.Namespace) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=170)  # a log file: room for the whole table
    if not args.no_pin:
        os.sched_setaffinity(0, {CORES[0]})
    console.print(
        f"rates {args.rates}, {args.rounds} rounds, {args.samples} samples per trigger, "
        f"hits {args.hits}; "
        f"writer_batch {args.writer_batch or 'default'}; "
        f"cores {CORES} (server on {CORES[-1]}, load and triggers on "
        f"{CORES[0]}{', unpinned' if args.no_pin else ''}); load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    results: list[RoundResult] = []
    for number in range(1, args.rounds + 1):
        for rate in args.rates:
            work = Path(tempfile.mkdtemp(prefix="garrison-latency-"))
            try:
                r = await run_round(args, rate, number, console, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            results.append(r)
            cells = []
            for trigger in ("trap", "web"):
                values = r.figures(trigger, "hook")
                cells.append(
                    f"{trigger} p50 {percentile(values, 0.5):.1f} p99 "
                    f"{percentile(values, 0.99):.1f} ms (lost {r.lost_triggers(trigger)})"
                )
            console.print(
                f"{rate:,.0f}/s round {number}: {'; '.join(cells)}; background "
                f"{r.background_rate:,.0f}/s, lost {r.lost:,}"
            )
    medians = report(results, console)
    out = Path(f"/tmp/garrison-responder-latency-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.write_text(
        json.dumps(
            {"args": vars(args), "medians": medians, "rounds": [asdict(r) for r in results]},
            indent=1,
            default=str,
        )
    )
    console.print(f"results: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        type=lambda s: [float(v) for v in s.split(",")],
        default=[10_000.0, 5_000.0],
        help="background traps a second, comma-separated (0: none)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200, help="per trigger and round")
    parser.add_argument("--hits", type=int, default=5, help="the threshold policy's hits")
    parser.add_argument(
        "--gap",
        type=lambda s: tuple(float(v) for v in s.split(",")),
        default=(0.05, 0.15),
        help="random pause between samples, MIN,MAX seconds",
    )
    parser.add_argument("--settle", type=float, default=3.0, help="s of background first")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--profile", action="store_true", help="py-spy the server (speedscope)")
    parser.add_argument(
        "--writer-batch", type=int, default=0, help="[events] writer_batch (0: the default)"
    )
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_send":
        send_main(sys.argv[2:])
    else:
        main()
