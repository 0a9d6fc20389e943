"""The poller against a device that is not ours: net-snmp's snmpd, v2c and v3 authPriv,
on a free loopback port, started in the foreground and stopped by its PID."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from garrison.auth import Principal
from garrison.config.settings import PollerSettings
from garrison.devices.poller import DevicePoller
from garrison.devices.service import DeviceService
from garrison.events import EventBus, EventKind
from garrison.metrics import Metrics
from garrison.store import Store, upgrade
from garrison.store.devices import DeviceRecord, HealthRecord

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
pytestmark = pytest.mark.skipif(not os.path.exists(SNMPD), reason="snmpd is not installed")
ME = Principal.local_cli()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Snmpd:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def start_snmpd(workdir: Path) -> Snmpd:
    port = free_udp_port()
    conf = workdir / "snmpd.conf"
    conf.write_text(
        f"agentAddress udp:127.0.0.1:{port}\n"
        "rocommunity public 127.0.0.1\n"
        "createUser u SHA-256 authpass123 AES privpass123\n"
        "rouser u priv\n"
    )
    log = workdir / "snmpd.log"
    process = subprocess.Popen(
        [
            SNMPD,
            "-f",
            "-Lf",
            str(log),
            "-C",
            "-c",
            str(conf),
            "-p",
            str(workdir / "snmpd.pid"),
            f"--persistentDir={workdir / 'persist'}",
            "-m",
            "",
        ],
        env={"MIBS": "", "PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    snmpd = Snmpd(port, process, log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # ready when it answers a GET
        probe = subprocess.run(
            [
                "snmpget",
                "-v2c",
                "-c",
                "public",
                "-m",
                "",
                "-r",
                "0",
                "-t",
                "0.3",
                f"127.0.0.1:{port}",
                "1.3.6.1.2.1.1.3.0",
            ],
            capture_output=True,
            timeout=5,
            env={"MIBS": "", "PATH": "/usr/bin:/bin"},
        )
        if probe.returncode == 0:
            return snmpd
        if process.poll() is not None:
            break
    snmpd.stop()
    raise RuntimeError(f"snmpd did not start: {log.read_text() if log.exists() else ''}")


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    agent = start_snmpd(tmp_path_factory.mktemp("snmpd"))
    yield agent
    agent.stop()


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[DeviceService]:
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(store.engine)
    yield DeviceService(store)
    store.close()


def poller_for(devices: DeviceService, **settings: object) -> tuple[DevicePoller, EventBus]:
    bus = EventBus()
    base: dict[str, object] = {"timeout_seconds": 0.5, "retries": 0}
    base.update(settings)
    return DevicePoller(devices, PollerSettings(**base), bus=bus, metrics=Metrics()), bus


def v2c(devices: DeviceService, port: int, name: str = "linux", community: str = "public"):
    return devices.create_device(
        ME, name=name, address="127.0.0.1", snmp_port=port, snmp_community=community
    )


def v3(devices: DeviceService, port: int, name: str = "linux3", auth_key: str = "authpass123"):
    return devices.create_device(
        ME,
        name=name,
        address="127.0.0.1",
        snmp_port=port,
        snmp_version="3",
        snmp_user="u",
        snmp_auth_protocol="SHA-256",
        snmp_auth_key=auth_key,
        snmp_priv_protocol="AES",
        snmp_priv_key="privpass123",
    )


async def poll_until_cpu(poller: DevicePoller, device: DeviceRecord) -> HealthRecord:
    """net-snmp only averages hrProcessorLoad after a minute of uptime; before that the
    poller derives CPU from the raw UCD counters of two polls, which net-snmp refreshes
    every 5 s."""
    deadline = time.monotonic() + 15
    while True:
        sample = await poller.poll_device(device)
        if sample.cpu_percent is not None or time.monotonic() > deadline:
            return sample
        await asyncio.sleep(1)


async def test_v2c_device_is_reachable_with_its_health_filled(
    snmpd: Snmpd, devices: DeviceService
) -> None:
    device = v2c(devices, snmpd.port)
    poller, bus = poller_for(devices)
    events = bus.subscribe("test")
    try:
        sample = await poll_until_cpu(poller, device)
    finally:
        poller.client.close()
    assert sample.reachable and sample.state == "reachable", sample.reason
    assert sample.uptime_seconds is not None and sample.uptime_seconds >= 0
    assert sample.cpu_percent is not None and 0 <= sample.cpu_percent <= 100
    assert sample.memory_percent is not None and 0 < sample.memory_percent <= 100
    assert sample.if_up is not None and sample.if_up >= 1  # lo at least
    assert sample.rtt_ms is not None and sample.rtt_ms > 0
    stored = devices.get_device(ME, device.id)
    assert stored.state == "reachable"
    assert stored.sys_object_id.startswith("1.3.6.1.4.1.8072.")  # net-snmp's enterprise
    assert stored.sys_descr and stored.last_polled_at is not None
    changes = [e for e in await events.next_batch(timeout=0.1) if e.kind is EventKind.SYSTEM]
    assert [e.extra["state"] for e in changes] == ["reachable"]  # unknown -> reachable, once
    assert changes[0].collector == "poller" and changes[0].device_id == device.id


async def test_v3_authpriv_sha256_aes_is_reachable(snmpd: Snmpd, devices: DeviceService) -> None:
    device = v3(devices, snmpd.port)
    poller, _ = poller_for(devices)
    try:
        sample = await poller.poll_device(device)
    finally:
        poller.client.close()
    assert sample.state == "reachable", sample.reason
    assert sample.uptime_seconds is not None and sample.memory_percent is not None


async def test_wrong_credentials_make_a_device_unreachable_and_are_counted(
    snmpd: Snmpd, devices: DeviceService
) -> None:
    good = v3(devices, snmpd.port, name="good3")
    bad_key = v3(devices, snmpd.port, name="bad3", auth_key="not-the-key")
    bad_community = v2c(devices, snmpd.port, name="bad2c", community="private")
    poller, _ = poller_for(devices)
    try:
        # One round, all three at once: the wrong v3 key must not spoil the right one.
        await poller.poll_all()
    finally:
        poller.client.close()
    assert devices.get_device(ME, good.id).state == "reachable"
    assert devices.get_device(ME, bad_key.id).state == "unreachable"
    assert devices.get_device(ME, bad_key.id).state_reason.startswith("auth:")
    # snmpd ignores a wrong community: to the poller it is silence.
    assert devices.get_device(ME, bad_community.id).state_reason.startswith("timeout:")
    metrics = poller.metrics.render().decode()
    assert 'garrison_device_poll_failures_total{reason="auth"} 1.0' in metrics
    assert 'garrison_device_poll_failures_total{reason="timeout"} 1.0' in metrics
    assert "garrison_device_polls_total 3.0" in metrics
    assert 'garrison_devices{state="unreachable"} 2.0' in metrics


async def test_cpu_threshold_of_zero_degrades_then_recovery_is_an_event(
    snmpd: Snmpd, devices: DeviceService
) -> None:
    device = v2c(devices, snmpd.port)
    strict, bus = poller_for(devices, cpu_degraded_percent=0)
    events = bus.subscribe("test")
    try:
        sample = await poll_until_cpu(strict, device)
    finally:
        strict.client.close()
    assert sample.state == "degraded"
    assert "CPU" in sample.reason and "threshold 0%" in sample.reason
    assert devices.get_device(ME, device.id).state == "degraded"
    states = [e.extra["state"] for e in await events.next_batch(timeout=0.1)]
    assert states[-1] == "degraded"


async def test_stopped_agent_becomes_unreachable_with_a_system_event(
    tmp_path: Path, devices: DeviceService
) -> None:
    agent = start_snmpd(tmp_path)  # its own agent: this test stops it
    device = v2c(devices, agent.port)
    poller, bus = poller_for(devices)
    events = bus.subscribe("test")
    try:
        assert (await poller.poll_device(device)).state == "reachable"
        agent.stop()
        sample = await poller.poll_device(device)
    finally:
        agent.stop()
        poller.client.close()
    assert not sample.reachable and sample.state == "unreachable"
    assert sample.reason.startswith("timeout:")
    batch = await events.next_batch(timeout=0.1)
    last = batch[-1]
    assert last.kind is EventKind.SYSTEM and last.collector == "poller"
    assert last.extra == {"previous_state": "reachable", "state": "unreachable"}
    assert "is unreachable, was reachable" in last.message
    history = devices.health_history(ME, device.id)
    assert [h.state for h in history] == ["unreachable", "reachable"]  # newest first
