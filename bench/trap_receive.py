"""Trap receive benchmark: Garrison's TrapReceiver against net-snmp's snmptrapd.

One v2c tptPolicyNotify (every varbind of the facts sheet, ~1.1 kB) is encoded once with
pysnmp; a load generator process blasts those bytes at a rate for a count, first at
Garrison's receiver (its own process: decode, map, publish on a bus with one draining
subscriber; no store), then at ``snmptrapd -f -Lf file`` (its default log format,
each trap counted once). Each receiver is pinned to one core and the generator to the
other. A poller counts what each receiver has done (the subscriber's count; the log's
traps) every 5 ms; the rate is the count's growth over the time it grew. Several
rounds; medians are reported.

    /tmp/gvenv/bin/python bench/trap_receive.py --count 100000 --rate 60000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.collectors.test_snmp_trap_support import (
    policy_varbinds_pysnmp,
    pysnmp_v2c_trap,
)

CORES = sorted(os.sched_getaffinity(0))
RECEIVER_CORE = {CORES[-1]}
SENDER_CORE = {CORES[0]}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def generate(port: int, datagram: bytes, count: int, rate: float) -> None:
    """Send ``count`` copies at ``rate`` a second, in bursts of 100 paced by the clock."""
    os.sched_setaffinity(0, SENDER_CORE)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    target = ("127.0.0.1", port)
    start = time.perf_counter()
    sent = 0
    while sent < count:
        burst = min(100, count - sent)
        for _ in range(burst):
            sock.sendto(datagram, target)
        sent += burst
        ahead = start + sent / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    sock.close()


def garrison_receiver(port: int, counter: mp.Value, ready: mp.Event, stop: mp.Event) -> None:  # type: ignore[valid-type]
    os.sched_setaffinity(0, RECEIVER_CORE)
    from garrison.collectors.snmp_trap import TrapReceiver
    from garrison.config import load_settings
    from garrison.events import EventBus
    from garrison.metrics import Metrics

    data_dir = Path(tempfile.mkdtemp(prefix="garrison-bench-"))
    settings = load_settings(
        data_dir=data_dir,
        environ={},
        overrides={
            "server": {"host": "127.0.0.1"},
            "ports": {"snmp-trap": port, "snmp-trap-alt": 0},
            "snmp_trap": {"communities": ["public"]},
        },
    )

    async def main() -> None:
        bus = EventBus()
        subscription = bus.subscribe("drain", capacity=1_000_000)
        receiver = TrapReceiver(settings, bus, Metrics(), lambda _host: 1)
        await receiver.start()

        async def drain() -> None:
            while True:
                batch = await subscription.next_batch(10_000)
                counter.value += len(batch)  # type: ignore[attr-defined]

        task = asyncio.create_task(drain())
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        task.cancel()
        await receiver.stop()

    try:
        import uvloop  # garrison serve runs on uvloop where it is installed

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def measure(count_now, expected: int, idle: float = 1.0, limit: float = 120.0) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Poll until the count stops growing: (final count, rate of growth a second). The
    rate counts from the first poll that saw any, so start-up is left out."""
    first_at = last_at = None
    last = 0
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        value = count_now()
        if value and first_at is None:
            first_at, first = now, value
        if value != last:
            last, last_at = value, now
        if value >= expected or (last_at and now - last_at > idle):
            break
        time.sleep(0.005)
    if first_at is None or last_at is None or last_at <= first_at:
        return last, 0.0
    return last, (last - first) / (last_at - first_at)


def round_garrison(datagram: bytes, count: int, rate: float) -> tuple[int, float]:
    port = free_port()
    counter, ready, stop = mp.Value("q", 0), mp.Event(), mp.Event()
    child = mp.Process(target=garrison_receiver, args=(port, counter, ready, stop))
    child.start()
    assert ready.wait(30), "receiver did not start"
    sender = mp.Process(target=generate, args=(port, datagram, count, rate))
    sender.start()
    result = measure(lambda: counter.value, count)
    sender.join(60)
    stop.set()
    child.join(30)
    if child.is_alive():
        child.kill()
    return result


def round_snmptrapd(datagram: bytes, count: int, rate: float, work: Path) -> tuple[int, float]:
    port = free_port()
    conf = work / "snmptrapd.conf"
    log = work / f"traps-{port}.log"
    # snmptrapd's own log format (two lines a trap, "... [UDP: [127.0.0.1]:port->...]:"
    # then the varbinds), as a site would run it.
    conf.write_text(
        "disableAuthorization yes\nauthCommunity log public\ndoNotRetainNotificationLogs yes\n"
    )
    log.touch()
    cmd = [
        "taskset",
        "-c",
        ",".join(map(str, RECEIVER_CORE)),
        "snmptrapd",
        "-f",
        "-C",
        "-c",
        str(conf),
        "-Lf",
        str(log),
        "-m",
        "",
        "-p",
        str(work / "trapd.pid"),
        f"--persistentDir={work / 'persist'}",
        f"udp:127.0.0.1:{port}",
    ]
    daemon = subprocess.Popen(cmd, env={**os.environ, "MIBS": ""})
    try:
        time.sleep(1.0)  # it logs "NET-SNMP version ... Started" when ready
        counted = {"n": 0, "offset": 0}

        def lines() -> int:
            with open(log, "rb") as handle:
                handle.seek(counted["offset"])
                chunk = handle.read()
            # Count whole lines only; a partial one is read again next time.
            end = chunk.rfind(b"\n") + 1
            counted["n"] += chunk[:end].count(b"[UDP: [127.0.0.1]")
            counted["offset"] += end
            return counted["n"]

        sender = mp.Process(target=generate, args=(port, datagram, count, rate))
        sender.start()
        result = measure(lines, count)
        sender.join(60)
        return result
    finally:
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=60_000, help="datagrams offered a second")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-snmptrapd", action="store_true")
    args = parser.parse_args()
    datagram = pysnmp_v2c_trap("public", policy_varbinds_pysnmp())
    print(
        f"datagram {len(datagram)} octets; {args.count} per round at {args.rate:.0f}/s; "
        f"cores: receiver {RECEIVER_CORE}, sender {SENDER_CORE}"
    )
    results: dict[str, list[float]] = {"garrison": [], "snmptrapd": []}
    with tempfile.TemporaryDirectory(prefix="trap-bench-") as tmp:
        for number in range(1, args.rounds + 1):
            got, rate = round_garrison(datagram, args.count, args.rate)
            results["garrison"].append(rate)
            print(f"round {number} garrison : {got:>7} events published, {rate:8.0f}/s")
            if args.no_snmptrapd or shutil.which("snmptrapd") is None:
                continue
            got, rate = round_snmptrapd(datagram, args.count, args.rate, Path(tmp))
            results["snmptrapd"].append(rate)
            print(f"round {number} snmptrapd: {got:>7} traps logged,    {rate:8.0f}/s")
    garrison = statistics.median(results["garrison"])
    print(f"median garrison  {garrison:8.0f} traps/s")
    if results["snmptrapd"]:
        trapd = statistics.median(results["snmptrapd"])
        print(f"median snmptrapd {trapd:8.0f} traps/s; ratio {garrison / trapd:.2f}x")


if __name__ == "__main__":
    main()
