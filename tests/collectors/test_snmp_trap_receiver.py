"""The receiver with real peers: net-snmp's snmptrap/snmpinform send v1, v2c and v3
authPriv traps to it on loopback free ports; the events on the bus are checked field by
field, and every kind of bad datagram is counted by reason while good traps keep coming."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from garrison.collectors.snmp_trap import TrapReceiver
from garrison.config import Settings
from garrison.events import Action, Event, EventBus, EventKind, Severity, Subscription
from garrison.metrics import Metrics
from garrison.server.https import ListenerError
from tests.collectors.test_snmp_trap_support import (
    DATA,
    PERSISTENT_DIR,
    POLICY_NOTIFY,
    TP,
    policy_args,
    require_snmptrap,
    snmptrap_v1,
    snmptrap_v2c,
    snmptrap_v3,
)
from tests.support import make_settings

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
# A v2c GetRequest for sysDescr.0: well formed, but not a notification.
GET_REQUEST = "302602010104067075626c6963a019020101020100020100300e300c06082b060102010101000500"
V3_USERS = [
    {
        "name": "tpuser",
        "auth_protocol": "SHA-256",
        "auth_key": "authpass123",
        "priv_protocol": "AES",
        "priv_key": "privpass123",
        "engine_id": "8000000001020304",
    },
    {
        "name": "roamer",
        "auth_protocol": "SHA-512",
        "auth_key": "roamauth123",
        "priv_protocol": "AES-256",
        "priv_key": "roampriv123",
    },
]


class Harness:
    def __init__(self, receiver: TrapReceiver, bus: EventBus, metrics: Metrics) -> None:
        self.receiver = receiver
        self.metrics = metrics
        self.events: Subscription = bus.subscribe("test")

    @property
    def port(self) -> int:
        return self.receiver.ports["snmp-trap"]

    async def send(self, command: list[str]) -> None:
        process = await asyncio.create_subprocess_exec(
            *[part.replace("{port}", str(self.port)) for part in command],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"MIBS": "", "PATH": "/usr/bin:/bin", "SNMP_PERSISTENT_DIR": PERSISTENT_DIR},
        )
        try:
            _, err = await asyncio.wait_for(process.communicate(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode == 0, err.decode()

    def send_raw(self, data: bytes, port: int | None = None) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(data, ("127.0.0.1", port or self.port))

    async def next_event(self) -> Event:
        batch = await self.events.next_batch(max_items=1, timeout=5)
        assert batch, "no event on the bus within 5 s"
        return batch[0]

    async def no_event(self, wait: float = 0.3) -> None:
        assert await self.events.next_batch(timeout=wait) == []

    def dropped(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "garrison_trap_dropped_total", {"reason": reason}
        )
        return value or 0.0

    def received(self, key: str = "snmp-trap") -> float:
        value = self.metrics.registry.get_sample_value(
            "garrison_trap_received_total", {"port": key}
        )
        return value or 0.0


def trap_settings(tmp_path: Path, **snmp_trap: Any) -> Settings:
    section = {"communities": ["public", "tp-secret"], "v3_users": V3_USERS, **snmp_trap}
    return make_settings(
        tmp_path / "data",
        ports={"https": 0, "client-api": 0, "snmp-trap": 0, "snmp-trap-alt": 0},
        snmp_trap=section,
    )


KNOWN = {"127.0.0.1": 7}


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    require_snmptrap()
    bus, metrics = EventBus(), Metrics()
    receiver = TrapReceiver(trap_settings(tmp_path), bus, metrics, KNOWN.get)
    await receiver.start()
    try:
        yield Harness(receiver, bus, metrics)
    finally:
        await receiver.stop()


async def test_v2c_policy_notify_from_snmptrap(harness: Harness) -> None:
    await harness.send(snmptrap_v2c("{port}", POLICY_NOTIFY, policy_args()))
    event = await harness.next_event()
    assert event.kind is EventKind.ALERT
    assert (event.collector, event.source_address, event.device_id) == (
        "snmp-trap",
        "127.0.0.1",
        7,
    )
    assert event.device_name == "ips-lab-01"
    assert event.signature_number == 7610
    assert (event.src_ip, event.src_port, event.dst_ip, event.dst_port) == (
        "50.227.44.198",
        10162,
        "52.10.98.6",
        443,
    )
    assert event.severity is Severity.CRITICAL and event.action is Action.BLOCK
    assert event.sequence == 19278229 and event.hit_count == 3 and event.vlan == 100
    assert event.extra["tptPolicyNotifyActionSetID"] == "00000002-0002-0002-0002-000000000002"
    assert harness.receiver.accepted == 1
    assert harness.received() == 1


async def test_v1_policy_notify_and_the_second_port(harness: Harness) -> None:
    alt = harness.receiver.ports["snmp-trap-alt"]
    command = snmptrap_v1("{port}", TP, 6, 8, policy_args(v1=True), community="tp-secret")
    await harness.send([part.replace("{port}", str(alt)) for part in command])
    event = await harness.next_event()
    assert event.kind is EventKind.ALERT
    assert event.policy_id == "6e664408-b90a-48e2-9a2d-c01cb9258381"
    assert event.begin_time is not None and event.begin_time.year == 2018
    assert harness.received("snmp-trap-alt") == 1


async def test_foreign_trap_becomes_a_generic_event(harness: Harness) -> None:
    await harness.send(
        snmptrap_v2c(
            "{port}",
            LINK_DOWN,
            ["1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.2.2", "s", "eth1"],
        )
    )
    event = await harness.next_event()
    assert event.kind is EventKind.TRAP and event.name == "linkDown"
    assert event.extra == {"1.3.6.1.2.1.2.2.1.1.2": "2", "1.3.6.1.2.1.2.2.1.2.2": "eth1"}


async def test_v3_authpriv_with_configured_and_learned_engine_ids(harness: Harness) -> None:
    # The configured engine id (snmptrapd's createUser -e).
    await harness.send(snmptrap_v3("{port}", POLICY_NOTIFY, policy_args()))
    event = await harness.next_event()
    assert event.kind is EventKind.ALERT and event.device_name == "ips-lab-01"
    # A user without one: snmptrap's own engine id, learned from the message.
    await harness.send(
        snmptrap_v3(
            "{port}",
            f"{TP}.0.18",
            [f"{TP}.1.86.0", "s", "ips-b", f"{TP}.1.88.0", "i", "2"],
            user="roamer",
            auth="roamauth123",
            priv="roampriv123",
            engine_id=None,
            auth_protocol="SHA-512",
            priv_protocol="AES-256",
        )
    )
    event = await harness.next_event()
    assert event.kind is EventKind.TRHA and event.message == "transparent HA connected"


async def test_v2c_inform_is_answered(harness: Harness) -> None:
    # snmpinform waits for the Response; it fails if none comes within its timeout.
    command = [
        "snmpinform",
        "-v2c",
        "-c",
        "public",
        "-r",
        "0",
        "-t",
        "3",
        "-m",
        "",
        "127.0.0.1:{port}",
        "0",
        f"{TP}.0.20",
        f"{TP}.1.132.0",
        "a",
        "10.1.1.5",
        f"{TP}.1.135.0",
        "i",
        "1",
    ]
    await harness.send(command)
    event = await harness.next_event()
    assert event.kind is EventKind.QUARANTINE and event.src_ip == "10.1.1.5"


async def test_every_bad_datagram_is_counted_and_the_next_good_trap_still_arrives(
    harness: Harness,
) -> None:
    good = bytes.fromhex((DATA / "netsnmp_v2c_policy.hex").read_text().strip())
    v3 = bytes.fromhex((DATA / "netsnmp_v3_policy_authpriv.hex").read_text().strip())
    policy = policy_args()
    bad: list[tuple[str, Any]] = [
        ("bad-community", snmptrap_v2c("{port}", POLICY_NOTIFY, policy, community="wrong")),
        ("v3-auth", snmptrap_v3("{port}", POLICY_NOTIFY, policy, auth="wrongauth123")),
        ("v3-decrypt", snmptrap_v3("{port}", POLICY_NOTIFY, policy, priv="wrongpriv123")),
        ("v3-unknown-user", snmptrap_v3("{port}", POLICY_NOTIFY, policy, user="nobody")),
        (
            "v3-unknown-engine",
            snmptrap_v3("{port}", POLICY_NOTIFY, policy, engine_id="0x8000000001999999"),
        ),
        ("bad-tag", b"\x00garbage"),
        ("truncated", good[:-7]),
        ("oversized", good + b"\x00" * 20_000),
        ("not-a-trap", bytes.fromhex(GET_REQUEST)),
        ("v3-malformed", v3[:40] + b"\xff" + v3[41:]),
    ]
    for reason, datagram in bad:
        if isinstance(datagram, bytes):
            harness.send_raw(datagram)
        else:
            await harness.send(datagram)
        harness.send_raw(good)
        event = await harness.next_event()
        assert event.kind is EventKind.ALERT, reason
        assert harness.dropped(reason) == 1, reason
    await harness.no_event()
    assert harness.receiver.accepted == len(bad)
    body = harness.metrics.render().decode()
    assert 'garrison_trap_dropped_total{reason="bad-community"} 1.0' in body


async def test_unknown_sources_are_dropped_unless_accepted(tmp_path: Path) -> None:
    require_snmptrap()
    good = bytes.fromhex((DATA / "netsnmp_v2c_policy.hex").read_text().strip())
    for accept, expected in ((False, 0), (True, 1)):
        bus, metrics = EventBus(), Metrics()
        settings = trap_settings(tmp_path, accept_unknown_sources=accept)
        receiver = TrapReceiver(settings, bus, metrics, lambda _host: None)
        await receiver.start()
        try:
            events = bus.subscribe("t")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(good, ("127.0.0.1", receiver.port))
            batch = await events.next_batch(timeout=1 if expected else 0.3)
            assert len(batch) == expected
            if expected:
                assert batch[0].device_id is None
            else:
                sample = {"reason": "unknown-source"}
                assert metrics.registry.get_sample_value("garrison_trap_dropped_total", sample) == 1
        finally:
            await receiver.stop()


async def test_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]
        settings = make_settings(
            tmp_path / "data",
            ports={"https": 0, "client-api": 0, "snmp-trap": 0, "snmp-trap-alt": taken},
        )
        receiver = TrapReceiver(settings, EventBus(), Metrics(), KNOWN.get)
        with pytest.raises(ListenerError) as raised:
            await receiver.start()
        await receiver.stop()
    message = str(raised.value)
    assert "\n" not in message
    assert f"snmp-trap-alt: cannot listen on udp 127.0.0.1:{taken}" in message


async def test_receive_buffer_is_large_and_kernel_drops_are_read(harness: Harness) -> None:
    sock = harness.receiver._sockets["snmp-trap"]
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 4 * 1024 * 1024
    assert harness.receiver.kernel_drops() == {"snmp-trap": 0, "snmp-trap-alt": 0}
