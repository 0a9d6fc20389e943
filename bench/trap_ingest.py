"""End-to-end trap ingest benchmark: a real ``garrison serve`` (SQLite) against net-snmp's
``snmptrapd`` logging to a file, fed the same SNMPv2c ``tptPolicyNotify`` stream.

A load generator process (this script with ``_send``) encodes one full tptPolicyNotify
(41 varbinds, ~1.1 kB) with pysnmp once, patches the Counter64 sequence varbind in place
for every datagram (so every trap is a different event), and sends at a target rate, in
bursts of 10 paced by the clock. For each rate of a rising list it sends a fixed count,
first to Garrison (a fresh copy of an initialised data directory each round: SQLite, trap
ports on free high ports, poller off, ``accept_unknown_sources``, HTTPS on free ports),
then to ``snmptrapd -f -Lf FILE`` (``disableAuthorization yes``). It waits until the
stored count (``max(id)`` of the events table, read with plain sqlite3; confirmed at the
end with ``GET /api/v1/events/count``) or the log's trap count stops changing, and
records sent, stored, loss, the kernel's drop count for the receiving socket, the stored
rate (stored / (last row stored - first datagram sent)) and the receiver's RSS.
Each rate is repeated (3 rounds by default) and medians are reported. A receiver's
"sustained rate with zero loss" is the highest offered rate at which every round lost
nothing, with the median stored rate measured there.

By default each receiver is pinned to the last core and the sender (and this process) to
the first, as in ``bench/trap_receive.py``; ``--no-pin`` lets the kernel place them.

    /tmp/gvenv/bin/python bench/trap_ingest.py                       # the rate ramp
    /tmp/gvenv/bin/python bench/trap_ingest.py --rates 5000,10000 --count 50000 --rounds 3
    /tmp/gvenv/bin/python bench/trap_ingest.py --soak 300 --soak-rate 10000   # memory
    /tmp/gvenv/bin/python bench/trap_ingest.py --profile --profile-rate 20000  # py-spy

``--profile`` adds one unmeasured Garrison round at ``--profile-rate`` with ``py-spy
record`` attached (speedscope JSON in /tmp) and prints where the samples fall.
Results are also written as JSON to /tmp/garrison-trap-ingest-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
PASSWORD = "correct horse battery staple"
SEQ_BASE = 1 << 40  # Counter64 values from here to 2**47 all encode in 6 octets
BURST = 10  # datagrams sent back to back between two looks at the clock
POLL = 0.02  # seconds between two reads of a receiver's count
CORES = sorted(os.sched_getaffinity(0))

# -- the load generator (its own process) -----------------------------------------------


def encode_trap() -> tuple[bytes, int]:
    """One pysnmp-encoded tptPolicyNotify and the offset of its 6 sequence octets."""
    sys.path.insert(0, str(ROOT))
    from tests.collectors.test_snmp_trap_support import policy_varbinds_pysnmp, pysnmp_v2c_trap

    datagram = pysnmp_v2c_trap("public", policy_varbinds_pysnmp(sequence=SEQ_BASE))
    marker = b"\x46\x06" + SEQ_BASE.to_bytes(6, "big")  # Counter64, length 6
    offset = datagram.index(marker) + 2
    return datagram, offset


def sender_main(argv: list[str]) -> None:
    """``_send PORT COUNT RATE CORE``: send, then print one JSON line of timings."""
    port, count, rate, core = int(argv[0]), int(argv[1]), float(argv[2]), int(argv[3])
    if core >= 0:
        os.sched_setaffinity(0, {core})
    template, offset = encode_trap()
    buffer = bytearray(template)
    end = offset + 6
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    sock.connect((HOST, port))
    send, clock, sleep = sock.send, time.monotonic, time.sleep
    errors = sent = 0
    first = clock()
    while sent < count:
        burst = min(BURST, count - sent)
        for n in range(sent, sent + burst):
            buffer[offset:end] = (SEQ_BASE + n).to_bytes(6, "big")
            try:
                send(buffer)
            except OSError:  # ECONNREFUSED from an earlier ICMP: counted, not fatal
                errors += 1
        sent += burst
        ahead = first + sent / rate - clock()
        if ahead > 0:
            sleep(ahead)
    last = clock()
    sock.close()
    print(json.dumps({"first": first, "last": last, "sent": sent - errors, "errors": errors}))


# -- processes, cleanly ---------------------------------------------------------------

_CHILDREN: dict[int, subprocess.Popen[Any]] = {}


def spawn(cmd: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    process = subprocess.Popen(cmd, **kwargs)
    _CHILDREN[process.pid] = process
    return process


def reap(
    process: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM, wait: float = 60
) -> None:
    """Stop one child by its PID: ``sig``, then SIGKILL after ``wait`` seconds."""
    if process is None:
        return
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    _CHILDREN.pop(process.pid, None)


def reap_all() -> None:
    for process in list(_CHILDREN.values()):
        reap(process, wait=10)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pinned(cmd: list[str], core: int | None) -> list[str]:
    return cmd if core is None else ["taskset", "-c", str(core), *cmd]


def status_kib(pid: int, key: str) -> int | None:
    """A ``/proc/<pid>/status`` size (VmRSS, VmHWM) in KiB."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def udp_drops(port: int) -> int | None:
    """The kernel's drop count of the UDP socket bound to 127.0.0.1:``port``."""
    local = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/udp") as handle:
            for line in handle:
                cols = line.split()
                if len(cols) >= 13 and cols[1] == local:
                    return int(cols[12])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields_ = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


class Sender:
    """The load generator process for one stream."""

    def __init__(self, port: int, count: int, rate: float, core: int | None) -> None:
        self.count, self.rate = count, rate
        cmd = [PYTHON, __file__, "_send", str(port), str(count), str(rate)]
        cmd.append(str(-1 if core is None else core))
        self.process = spawn(cmd, stdout=subprocess.PIPE, text=True)

    def done(self) -> bool:
        return self.process.poll() is not None

    def result(self) -> dict[str, Any]:
        out, _ = self.process.communicate(timeout=self.count / self.rate * 3 + 60)
        _CHILDREN.pop(self.process.pid, None)
        if self.process.returncode != 0:
            raise RuntimeError(f"sender failed with exit code {self.process.returncode}")
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- the receivers --------------------------------------------------------------------


def make_template(work: Path) -> tuple[Path, str]:
    """An initialised data directory (copied for every Garrison round) and an API key."""
    data = work / "template"
    password = work / "password"
    password.write_text(PASSWORD)
    base = [PYTHON, "-m", "garrison", "--data-dir", str(data)]
    env = clean_env()
    done = subprocess.run(
        [*base, "init", "--password-file", str(password)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"garrison init failed: {done.stderr}")
    done = subprocess.run(
        [*base, "api-keys", "create", "admin", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"garrison api-keys create failed: {done.stderr}")
    return data, done.stdout.strip()


def clean_env() -> dict[str, str]:
    """This environment without any GARRISON_* setting of the caller's."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GARRISON_")}


class Garrison:
    """``garrison serve`` on a fresh copy of the template data directory."""

    name = "garrison"

    def __init__(self, template: Path, api_key: str, work: Path, tag: str, core: int | None):
        self.data = work / f"garrison-{tag}"
        shutil.copytree(template, self.data)
        self.api_key = api_key
        self.port = free_port()
        self.https = free_port(socket.SOCK_STREAM)
        env = {
            **clean_env(),
            "GARRISON_SERVER_HOST": HOST,
            "GARRISON_PORTS_HTTPS": str(self.https),
            "GARRISON_PORTS_CLIENT_API": str(free_port(socket.SOCK_STREAM)),
            "GARRISON_PORTS_SNMP_TRAP": str(self.port),
            "GARRISON_PORTS_SNMP_TRAP_ALT": str(free_port()),
            "GARRISON_POLLER_ENABLED": "false",
            "GARRISON_SNMP_TRAP_ACCEPT_UNKNOWN_SOURCES": "true",
            "GARRISON_LOG_LEVEL": "warning",
        }
        self.log = self.data / "serve.log"
        self._log_handle = self.log.open("w")
        cmd = [PYTHON, "-m", "garrison", "--data-dir", str(self.data), "serve"]
        self.process = spawn(
            pinned(cmd, core), stdout=subprocess.DEVNULL, stderr=self._log_handle, env=env
        )
        self.pid = self.process.pid
        self._db: sqlite3.Connection | None = None

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"garrison serve exited: {self.log.read_text()[-2000:]}")
            try:
                httpx.get(f"https://{HOST}:{self.https}/api/v1/health", verify=False, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"garrison serve did not answer within {timeout:.0f} s")
        self._db = sqlite3.connect(self.data / "garrison.db", timeout=10, isolation_level=None)

    def count(self) -> int:
        """Events stored so far: the highest row id (ids start at 1 in a fresh database,
        and nothing deletes during a round)."""
        assert self._db is not None
        return int(self._db.execute("SELECT max(id) FROM events").fetchone()[0] or 0)

    def api_count(self) -> int:
        """The stored events as the REST API counts them: stored and queryable."""
        import httpx

        response = httpx.get(
            f"https://{HOST}:{self.https}/api/v1/events/count",
            headers={"X-SMS-API-KEY": self.api_key},
            verify=False,
            timeout=60,
        )
        response.raise_for_status()
        return int(response.json()["count"])

    def metrics(self) -> dict[str, float]:
        """A few of /metrics, summed over their labels."""
        import httpx

        wanted = (
            "garrison_trap_received_total",
            "garrison_trap_dropped_total",
            "garrison_events_written_total",
            "garrison_events_writer_queue",
            "garrison_events_writer_dropped",
        )
        values: dict[str, float] = dict.fromkeys(wanted, 0.0)
        try:
            response = httpx.get(
                f"https://{HOST}:{self.https}/metrics",
                headers={"X-SMS-API-KEY": self.api_key},
                verify=False,
                timeout=10,
            )
        except httpx.HTTPError:
            return values
        for line in response.text.splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in values:
                values[name] += float(line.rsplit(" ", 1)[1])
        return values

    def stop(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        reap(self.process, signal.SIGTERM, 90)
        self._log_handle.close()


class Snmptrapd:
    """``snmptrapd -f -Lf FILE`` with its default log format, counted by log entries."""

    name = "snmptrapd"

    def __init__(self, work: Path, tag: str, core: int | None, receive_buffer: int) -> None:
        self.dir = work / f"snmptrapd-{tag}"
        self.dir.mkdir()
        self.port = free_port()
        conf = self.dir / "snmptrapd.conf"
        lines = ["disableAuthorization yes", "doNotRetainNotificationLogs yes"]
        if receive_buffer:
            lines.append(f"[snmp] serverRecvBuf {receive_buffer}")
        conf.write_text("\n".join(lines) + "\n")
        self.log = self.dir / "traps.log"
        self.log.touch()
        cmd = [
            "snmptrapd",
            "-f",
            "-C",
            "-c",
            str(conf),
            "-Lf",
            str(self.log),
            "-m",
            "",
            "-p",
            str(self.dir / "trapd.pid"),
            f"--persistentDir={self.dir / 'persist'}",
            f"udp:{HOST}:{self.port}",
        ]
        env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(self.dir / "persist")}
        self.process = spawn(
            pinned(cmd, core), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        self.pid = self.process.pid
        self._counted = 0
        self._offset = 0

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("snmptrapd exited at start")
            if b"NET-SNMP version" in self.log.read_bytes() and udp_drops(self.port) is not None:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"snmptrapd did not start within {timeout:.0f} s")
        self._offset = self.log.stat().st_size

    def count(self) -> int:
        """Traps logged so far (each entry carries one ``[UDP: [127.0.0.1]...`` header)."""
        with self.log.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        end = chunk.rfind(b"\n") + 1  # whole lines only; a partial one is read again
        self._counted += chunk[:end].count(b"[UDP: [127.0.0.1]")
        self._offset += end
        return self._counted

    def stop(self) -> None:
        reap(self.process, signal.SIGTERM, 30)


Receiver = Garrison | Snmptrapd


# -- one round --------------------------------------------------------------------------


@dataclass
class RoundResult:
    receiver: str
    rate: float
    round: int
    sent: int
    stored: int
    loss: int
    kernel_drops: int | None
    stored_rate: float
    send_rate: float
    seconds: float
    cpu_us_per_event: float | None
    rss_before_kib: int | None
    rss_after_kib: int | None
    rss_peak_kib: int | None
    api_count: int | None = None
    extra: dict[str, float] = field(default_factory=dict)


def wait_stored(
    count_now: Callable[[], int],
    sender: Sender,
    expected: int,
    idle: float,
    on_poll: Callable[[int], None],
) -> tuple[int, float]:
    """Poll the receiver's count until it reaches ``expected`` or, once the sender is
    done, stops changing for ``idle`` seconds: (final count, time it was first seen)."""
    last, last_at = count_now(), time.monotonic()
    sender_done_at: float | None = None
    deadline = time.monotonic() + expected / sender.rate + 600
    while True:
        now = time.monotonic()
        value = count_now()
        if value != last:
            last, last_at = value, now
        on_poll(value)
        if sender_done_at is None and sender.done():
            sender_done_at = now
        if sender_done_at is not None and (
            value >= expected or now - max(last_at, sender_done_at) > idle
        ):
            return last, last_at
        if now > deadline:
            return last, last_at
        time.sleep(POLL)


def run_round(
    receiver: Receiver,
    rate: float,
    number: int,
    count: int,
    idle: float,
    sender_core: int | None,
    on_poll: Callable[[int], None],
) -> RoundResult:
    receiver.wait_ready()
    rss_before = status_kib(receiver.pid, "VmRSS")
    cpu_before = cpu_seconds(receiver.pid)
    sender = Sender(receiver.port, count, rate, sender_core)
    stored, stored_at = wait_stored(receiver.count, sender, count, idle, on_poll)
    timing = sender.result()
    cpu_after = cpu_seconds(receiver.pid)
    sent = int(timing["sent"])
    elapsed = stored_at - timing["first"]
    result = RoundResult(
        receiver=receiver.name,
        rate=rate,
        round=number,
        sent=sent,
        stored=stored,
        loss=sent - stored,
        kernel_drops=udp_drops(receiver.port),
        stored_rate=stored / elapsed if stored and elapsed > 0 else 0.0,
        send_rate=sent / max(timing["last"] - timing["first"], 1e-9),
        seconds=elapsed,
        cpu_us_per_event=(
            (cpu_after - cpu_before) / stored * 1e6
            if stored and cpu_after is not None and cpu_before is not None
            else None
        ),
        rss_before_kib=rss_before,
        rss_after_kib=status_kib(receiver.pid, "VmRSS"),
        rss_peak_kib=status_kib(receiver.pid, "VmHWM"),
    )
    if isinstance(receiver, Garrison):
        result.api_count = receiver.api_count()
        result.extra = receiver.metrics()
        result.loss = sent - result.api_count  # stored *and* queryable
    return result


# -- the ramp ---------------------------------------------------------------------------


@dataclass
class Plan:
    rates: list[float]
    count: int
    rounds: int
    idle: float
    receiver_core: int | None
    sender_core: int | None
    snmptrapd: bool
    trapd_buffer: int
    work: Path
    template: Path
    api_key: str


def ramp(plan: Plan, console: Any) -> list[RoundResult]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    results: list[RoundResult] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        for rate in plan.rates:
            for number in range(1, plan.rounds + 1):
                kinds: list[str] = ["garrison"] + (["snmptrapd"] if plan.snmptrapd else [])
                for kind in kinds:
                    tag = f"{int(rate)}-{number}"
                    task = progress.add_task(
                        f"{kind:9} {rate / 1000:>4g}k/s round {number}", total=plan.count
                    )
                    receiver: Receiver
                    if kind == "garrison":
                        receiver = Garrison(
                            plan.template, plan.api_key, plan.work, tag, plan.receiver_core
                        )
                    else:
                        receiver = Snmptrapd(plan.work, tag, plan.receiver_core, plan.trapd_buffer)
                    try:
                        result = run_round(
                            receiver,
                            rate,
                            number,
                            plan.count,
                            plan.idle,
                            plan.sender_core,
                            lambda n, task=task: progress.update(task, completed=n),
                        )
                    finally:
                        receiver.stop()
                        if isinstance(receiver, Garrison):
                            shutil.rmtree(receiver.data, ignore_errors=True)
                        else:
                            shutil.rmtree(receiver.dir, ignore_errors=True)
                    progress.remove_task(task)
                    results.append(result)
                    progress.console.print(describe(result))
    return results


def describe(r: RoundResult) -> str:
    rss = f"RSS {mib(r.rss_before_kib)} -> {mib(r.rss_after_kib)} MiB"
    cpu = f"{r.cpu_us_per_event:.0f} us CPU/event" if r.cpu_us_per_event else ""
    return (
        f"{r.receiver:9} {r.rate / 1000:>4g}k/s #{r.round}: sent {r.sent:,} "
        f"(at {r.send_rate:,.0f}/s), stored {r.stored:,}, loss {r.loss:,} "
        f"(kernel drops {r.kernel_drops}), {r.stored_rate:,.0f}/s stored, {cpu}, {rss}"
    )


def mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.0f}"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def sustained(results: list[RoundResult], receiver: str, rates: list[float]) -> tuple[float, float]:
    """The highest rate up to which every round of every rate lost nothing, and the
    median stored rate measured there; (0, 0) when even the lowest rate lost."""
    best = (0.0, 0.0)
    for rate in rates:
        rounds = [r for r in results if r.receiver == receiver and r.rate == rate]
        if not rounds or any(r.loss != 0 for r in rounds):
            break
        best = (rate, median([r.stored_rate for r in rounds]))
    return best


def report(results: list[RoundResult], plan: Plan, console: Any) -> dict[str, Any]:
    from rich.table import Table

    table = Table(title=f"trap ingest, {plan.count:,} traps a round, medians of {plan.rounds}")
    for name in (
        "offered/s",
        "sent/s",
        "Garrison stored/s",
        "G loss (rounds)",
        "G µs CPU/ev",
        "G RSS MiB before→after (peak)",
        "snmptrapd logged/s",
        "T loss (rounds)",
        "T µs CPU/ev",
        "ratio",
    ):
        table.add_column(name, justify="right")
    for rate in plan.rates:
        g = [r for r in results if r.receiver == "garrison" and r.rate == rate]
        t = [r for r in results if r.receiver == "snmptrapd" and r.rate == rate]
        g_rate = median([r.stored_rate for r in g])
        t_rate = median([r.stored_rate for r in t])

        def cpu(rounds: list[RoundResult]) -> str:
            values = [r.cpu_us_per_event for r in rounds if r.cpu_us_per_event]
            return f"{median(values):.0f}" if values else "-"

        rss = (
            f"{mib(int(median([r.rss_before_kib or 0 for r in g])))}→"
            f"{mib(int(median([r.rss_after_kib or 0 for r in g])))} "
            f"({mib(max(r.rss_peak_kib or 0 for r in g))})"
        )
        table.add_row(
            f"{rate:,.0f}",
            f"{median([r.send_rate for r in g + t]):,.0f}",
            f"{g_rate:,.0f}",
            "/".join(f"{r.loss:,}" for r in g),
            cpu(g),
            rss,
            f"{t_rate:,.0f}" if t else "-",
            "/".join(f"{r.loss:,}" for r in t) or "-",
            cpu(t),
            f"{g_rate / t_rate:.2f}x" if t_rate else "-",
        )
    console.print(table)
    g_at, g_rate = sustained(results, "garrison", plan.rates)
    summary: dict[str, Any] = {"garrison_zero_loss_rate": g_at, "garrison_stored_rate": g_rate}
    console.print(
        f"Garrison: zero loss in every round up to {g_at:,.0f}/s offered; "
        f"median stored rate there {g_rate:,.0f} events/s"
    )
    if plan.snmptrapd:
        t_at, t_rate = sustained(results, "snmptrapd", plan.rates)
        ratio = g_rate / t_rate if t_rate else 0.0
        summary.update(snmptrapd_zero_loss_rate=t_at, snmptrapd_logged_rate=t_rate, ratio=ratio)
        console.print(
            f"snmptrapd: zero loss in every round up to {t_at:,.0f}/s offered; "
            f"median logged rate there {t_rate:,.0f} traps/s"
        )
        console.print(f"ratio Garrison / snmptrapd (zero-loss rates): {ratio:.2f}x (goal 2x)")
        capped = max(plan.rates)
        if capped in (g_at, t_at):
            console.print(
                f"[yellow]note: a receiver lost nothing even at the top rate ({capped:,.0f}/s);"
                " its real limit is higher: add higher --rates[/yellow]"
            )
    met = g_rate >= 20_000
    console.print(f"20,000 events/s stored on SQLite with zero loss: {'met' if met else 'NOT met'}")
    return summary


# -- the soak ---------------------------------------------------------------------------


def soak(plan: Plan, seconds: float, rate: float, every: float, console: Any) -> dict[str, Any]:
    from rich.table import Table

    count = int(seconds * rate)
    server = Garrison(plan.template, plan.api_key, plan.work, "soak", plan.receiver_core)
    samples: list[dict[str, float]] = []
    try:
        server.wait_ready()
        sender = Sender(server.port, count, rate, plan.sender_core)
        started = time.monotonic()
        next_at = started
        console.print(f"soak: {count:,} traps at {rate:,.0f}/s for {seconds:.0f} s")

        def sample() -> None:
            metrics = server.metrics()
            entry = {
                "t": round(time.monotonic() - started, 1),
                "rss_mib": (status_kib(server.pid, "VmRSS") or 0) / 1024,
                "stored": server.count(),
                "received": metrics["garrison_trap_received_total"],
                "queue": metrics["garrison_events_writer_queue"],
                "writer_dropped": metrics["garrison_events_writer_dropped"],
            }
            samples.append(entry)
            console.print(
                f"  t={entry['t']:6.1f}s RSS {entry['rss_mib']:7.1f} MiB, received "
                f"{entry['received']:>10,.0f}, stored {entry['stored']:>10,}, "
                f"writer queue {entry['queue']:>8,.0f}"
            )

        while not sender.done():
            if time.monotonic() >= next_at:
                sample()
                next_at += every
            time.sleep(0.2)
        timing = sender.result()
        stored, stored_at = wait_stored(server.count, sender, count, plan.idle, lambda _n: None)
        sample()
        api = server.api_count()
        kernel = udp_drops(server.port)
        peak = (status_kib(server.pid, "VmHWM") or 0) / 1024
    finally:
        server.stop()
        shutil.rmtree(server.data, ignore_errors=True)
    sent = int(timing["sent"])
    elapsed = stored_at - timing["first"]
    table = Table(title=f"soak: Garrison RSS every {every:.0f} s at {rate:,.0f} traps/s")
    for name in ("t (s)", "RSS MiB", "received", "stored", "writer queue"):
        table.add_column(name, justify="right")
    for s in samples:
        table.add_row(
            f"{s['t']:.0f}",
            f"{s['rss_mib']:.1f}",
            f"{s['received']:,.0f}",
            f"{s['stored']:,}",
            f"{s['queue']:,.0f}",
        )
    console.print(table)
    warm = [s["rss_mib"] for s in samples if s["t"] >= min(60, seconds / 4)]
    growth = (warm[-1] - warm[0]) if len(warm) >= 2 else 0.0
    summary = {
        "rate": rate,
        "seconds": seconds,
        "sent": sent,
        "stored": api,
        "loss": sent - api,
        "kernel_drops": kernel,
        "stored_rate": stored / elapsed if elapsed > 0 else 0.0,
        "send_rate": sent / max(timing["last"] - timing["first"], 1e-9),
        "rss_peak_mib": peak,
        "rss_growth_after_warmup_mib": growth,
        "samples": samples,
    }
    console.print(
        f"soak: sent {sent:,} at {summary['send_rate']:,.0f}/s, stored {api:,} "
        f"(loss {sent - api:,}, kernel drops {kernel}), {summary['stored_rate']:,.0f}/s stored; "
        f"RSS peak {peak:.0f} MiB, change after warm-up {growth:+.1f} MiB"
    )
    return summary


# -- the profile ------------------------------------------------------------------------

# Leaf to root, the first frame that matches names the sample's category.
IDLE = "idle waits (py-spy counts them; not CPU)"
UVLOOP_SELF = "uvloop C: epoll wait + socket recv (--profile-native splits)"
# A leaf frame that is a thread parked on a lock or a queue (py-spy's idle detection does
# not see these as idle).
IDLE_LEAVES = {
    ("Condition.wait", "threading.py"),
    ("Event.wait", "threading.py"),
    ("_worker", "concurrent/futures/thread.py"),
    ("WorkerThread.run", "anyio/_backends/_asyncio.py"),
}
DBAPI_CALLS = ("do_executemany", "do_execute", "do_commit", "do_rollback")
CATEGORIES: list[tuple[str, Callable[[str, str], bool]]] = [
    (
        "socket receive (recvfrom syscall)",
        lambda name, _f: "recvfrom" in name or "recvmsg" in name,
    ),
    (
        "idle waits (epoll_wait, futex)",
        lambda name, _f: "epoll_wait" in name or "futex" in name,
    ),
    (
        "SQLite (sqlite3 C: executemany, commit)",
        lambda name, file: (
            "sqlite3" in file
            or "sqlite3" in name
            or "pysqlite" in name
            or (
                file.endswith("sqlalchemy/engine/default.py")
                and name.rsplit(".", 1)[-1] in DBAPI_CALLS
            )
        ),
    ),
    ("SQLAlchemy (Core insert, params, session)", lambda _n, file: "/sqlalchemy/" in file),
    (
        "writer row conversion (store/events.py _row)",
        lambda _n, file: file.endswith(
            ("garrison/store/events.py", "garrison/events/addresses.py")
        ),
    ),
    ("store transaction (store/database.py)", lambda _n, file: "garrison/store/" in file),
    (
        "BER decode (snmp_trap ber.py, messages.py)",
        lambda _n, file: file.endswith(("snmp_trap/ber.py", "snmp_trap/messages.py")),
    ),
    ("TippingPoint mapping (tippingpoint.py)", lambda _n, f: f.endswith("tippingpoint.py")),
    (
        "dataclass __init__ (Event, TrapMessage)",
        lambda _n, file: file == "<string>" or file.endswith("garrison/events/model.py"),
    ),
    ("bus publish / gather (events/bus.py)", lambda _n, f: f.endswith("garrison/events/bus.py")),
    ("metrics (prometheus_client)", lambda _n, file: "prometheus_client" in file),
    ("receiver.handle (receiver.py)", lambda _n, f: f.endswith("snmp_trap/receiver.py")),
    ("writer loop (events/writer.py)", lambda _n, f: f.endswith("garrison/events/writer.py")),
    (
        "HTTPS / API",
        lambda _n, file: any(
            part in file for part in ("uvicorn", "starlette", "fastapi", "garrison/api", "h11")
        ),
    ),
    (
        "event loop, threads (asyncio, uvloop)",
        lambda _n, file: any(
            part in file for part in ("asyncio/", "uvloop", "concurrent/futures", "threading.py")
        ),
    ),
]


def py_spy() -> str:
    path = Path(PYTHON).with_name("py-spy")
    if not path.exists():
        subprocess.run(
            [PYTHON, "-m", "pip", "install", "--quiet", "py-spy"], check=True, timeout=600
        )
    return str(path)


def profile(plan: Plan, rate: float, native: bool, gil: bool, console: Any) -> dict[str, Any]:
    """One extra Garrison round at ``rate`` with py-spy attached; where the samples fall."""
    hz = 200
    out = Path(f"/tmp/garrison-trap-ingest-profile-{int(rate)}.speedscope.json")
    server = Garrison(plan.template, plan.api_key, plan.work, "profile", plan.receiver_core)
    spy = None
    try:
        server.wait_ready()
        cmd = [py_spy(), "record", "-p", str(server.pid), "--rate", str(hz), "--threads"]
        cmd += (
            ["--format", "speedscope", "-o", str(out)]
            + (["--native"] if native else [])
            + (["--gil"] if gil else [])
        )
        spy = spawn(
            pinned(cmd, plan.sender_core), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(1.5)  # let it attach
        if spy.poll() is not None:
            raise RuntimeError(f"py-spy failed: {spy.stderr.read().decode() if spy.stderr else ''}")
        console.print(f"profile: py-spy on garrison serve (PID {server.pid}) at {rate:,.0f}/s")
        result = run_round(
            server, rate, 1, plan.count, plan.idle, plan.sender_core, lambda _n: None
        )
        console.print(describe(result))
    finally:
        reap(spy, signal.SIGINT, 120)
        server.stop()
        shutil.rmtree(server.data, ignore_errors=True)
    return summarise_profile(out, result, hz, console)


def summarise_profile(path: Path, result: RoundResult, hz: int, console: Any) -> dict[str, Any]:
    """Where the samples fall. Shares are of the busy samples (idle waits left out), and
    microseconds per event are those shares of the CPU time the round measured."""
    from rich.table import Table

    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    categories: Counter[str] = Counter()
    leaves: Counter[tuple[str, str]] = Counter()
    inclusive: Counter[tuple[str, str]] = Counter()
    threads: dict[str, int] = defaultdict(int)
    total = 0.0
    events = max(result.stored, 1)
    for prof in data["profiles"]:
        per_sample = 1.0 if prof.get("unit") == "seconds" else 1.0 / hz
        for stack, raw in zip(prof["samples"], prof["weights"], strict=True):
            weight = raw * per_sample  # seconds
            total += weight
            threads[prof["name"]] += weight
            chain = [frames[i] for i in stack]  # root first
            leaf_key = (chain[-1]["name"], short(chain[-1].get("file", ""))) if chain else None
            if leaf_key is not None and any(
                leaf_key[0] == n and leaf_key[1].endswith(f) for n, f in IDLE_LEAVES
            ):
                categories[IDLE] += weight
                continue
            if (
                leaf_key is not None
                and leaf_key[0] in ("Runner.run", "run")
                and ("asyncio/runners.py" in leaf_key[1] or "uvloop" in leaf_key[1])
            ):
                categories[UVLOOP_SELF] += weight
                leaves[leaf_key] += weight
                continue
            for frame in reversed(chain):
                name, file = frame["name"], frame.get("file", "")
                category = next((c for c, test in CATEGORIES if test(name, file)), None)
                if category is not None:
                    categories[category] += weight
                    break
            else:
                categories["other"] += weight
            if chain:
                leaf = chain[-1]
                leaves[(leaf["name"], short(leaf.get("file", "")))] += weight
            for key in {(f["name"], short(f.get("file", ""))) for f in chain}:
                inclusive[key] += weight
    idle = categories.pop(IDLE, 0.0) + categories.pop("idle waits (epoll_wait, futex)", 0.0)
    busy = max(total - idle, 1e-9)
    cpu_us = result.cpu_us_per_event or busy / events * 1e6
    console.print(
        f"profile: {total:.1f} s of thread samples at {hz} Hz, {idle:.1f} s of them idle "
        f"waits; {busy:.1f} s busy for {events:,} events stored "
        f"({busy / events * 1e6:.0f} us/event sampled; /proc says {cpu_us:.0f} us CPU/event); "
        f"written to {path}"
    )
    for name, count in sorted(threads.items(), key=lambda kv: -kv[1]):
        console.print(f"  {name}: {count:.1f} s sampled")
    table = Table(title="where the time goes (innermost known frame of each sample)")
    for name in ("category", "sampled", "share of busy", "µs CPU/event"):
        table.add_column(name, justify="right" if name != "category" else "left")
    for category, count in categories.most_common():
        table.add_row(
            category, f"{count:.2f} s", f"{count / busy:.1%}", f"{count / busy * cpu_us:.1f}"
        )
    console.print(table)
    for title, counter in (("top self frames", leaves), ("top inclusive frames", inclusive)):
        table = Table(title=title)
        for name in ("function", "file", "share"):
            table.add_column(name, justify="right" if name == "share" else "left")
        for (name, file), count in counter.most_common(25):
            table.add_row(name, file, f"{count / busy:.1%}")
        console.print(table)
    return {
        "file": str(path),
        "sampled_seconds": total,
        "idle_seconds": idle,
        "cpu_us_per_event": cpu_us,
        "categories": {k: v / busy for k, v in categories.most_common()},
        "self": [(f"{n} {f}", c / busy) for (n, f), c in leaves.most_common(25)],
    }


def short(file: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# -- main -------------------------------------------------------------------------------


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="garrison-trap-ingest-") as tmp:
        try:
            yield Path(tmp)
        finally:
            reap_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--rates", default="5000,10000,15000,20000,25000,30000", help="offered traps/s, rising"
    )
    parser.add_argument("--count", type=int, default=100_000, help="traps a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=3.0, help="s without growth = done")
    parser.add_argument("--no-snmptrapd", action="store_true")
    parser.add_argument("--no-ramp", action="store_true", help="only --soak / --profile")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    parser.add_argument(
        "--trapd-buffer",
        type=int,
        default=8 * 1024 * 1024,
        help="snmptrapd's serverRecvBuf (Garrison's default receive buffer); 0: system default",
    )
    parser.add_argument("--soak", type=float, nargs="?", const=300.0, metavar="SECONDS")
    parser.add_argument("--soak-rate", type=float, default=10_000)
    parser.add_argument("--soak-every", type=float, default=10.0, help="s between RSS samples")
    parser.add_argument("--profile", action="store_true", help="one extra round under py-spy")
    parser.add_argument("--profile-rate", type=float, default=20_000)
    parser.add_argument(
        "--profile-native", action="store_true", help="py-spy --native: C frames too"
    )
    parser.add_argument(
        "--profile-gil", action="store_true", help="py-spy --gil: only GIL-holding samples"
    )
    args = parser.parse_args()

    from rich.console import Console

    console = Console(width=170)
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    pin = not args.no_pin and len(CORES) >= 2
    receiver_core, sender_core = (CORES[-1], CORES[0]) if pin else (None, None)
    if sender_core is not None:
        os.sched_setaffinity(0, {sender_core})  # this process polls beside the sender
    trapd = not args.no_snmptrapd and shutil.which("snmptrapd") is not None
    console.print(
        f"{os.cpu_count()} cores; receiver core {receiver_core}, sender core {sender_core}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    record: dict[str, Any] = {"argv": sys.argv, "load_before": os.getloadavg()}
    with workspace() as work:
        template, api_key = make_template(work)
        datagram, _ = encode_trap()
        console.print(f"tptPolicyNotify v2c: {len(datagram):,} octets")
        plan = Plan(
            rates=rates,
            count=args.count,
            rounds=args.rounds,
            idle=args.idle,
            receiver_core=receiver_core,
            sender_core=sender_core,
            snmptrapd=trapd,
            trapd_buffer=args.trapd_buffer,
            work=work,
            template=template,
            api_key=api_key,
        )
        if not args.no_ramp and args.soak is None:
            results = ramp(plan, console)
            record["rounds"] = [asdict(r) for r in results]
            record["summary"] = report(results, plan, console)
        if args.soak is not None:
            record["soak"] = soak(plan, args.soak, args.soak_rate, args.soak_every, console)
        if args.profile:
            record["profile"] = profile(
                plan, args.profile_rate, args.profile_native, args.profile_gil, console
            )
    record["load_after"] = os.getloadavg()
    out = Path(f"/tmp/garrison-trap-ingest-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.write_text(json.dumps(record, indent=1, default=str))
    console.print(f"results: {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_send":
        sender_main(sys.argv[2:])
    else:
        main()
