"""The NMS command listener with net-snmp's snmptrap/snmpinform as the NMS (v2c and v3
authPriv), the pure decoding of every accepted form and every refusal, each bad datagram
counted by reason while good commands keep arriving, and a hypothesis fuzz of the
decoder."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysnmp.proto.api import v2c

from garrison.collectors.snmp_trap.messages import decode
from garrison.errors import Invalid
from garrison.metrics import Metrics
from garrison.responder.nms_commands import (
    DEVICE_IP,
    DEVICE_MAC,
    NOTIFY_ID,
    POLICY_NAME,
    QUARANTINE_ACK,
    QUARANTINE_COMMAND,
    TRAP_MIB,
    UNQUARANTINE_REQUEST,
    Command,
    MalformedCommand,
    QuarantineCommand,
    UnquarantineCommand,
    decode_command,
    parse_command,
)
from garrison.responder.nms_receiver import NmsTrapReceiver
from garrison.server.sockets import ListenerError
from tests.collectors.test_snmp_trap_support import (
    pysnmp_v2c_trap,
    require_snmptrap,
    snmptrap_v1,
    snmptrap_v2c,
    snmptrap_v3,
)
from tests.responder.snmp_peers import run_net_snmp
from tests.support import make_settings

NMS_USER = {
    "name": "nms",
    "auth_protocol": "SHA-256",
    "auth_key": "nmsauth123",
    "priv_protocol": "AES",
    "priv_key": "nmspriv123",
    "engine_id": "8000000001020399",
}
V3_ARGS = {
    "user": "nms",
    "auth": "nmsauth123",
    "priv": "nmspriv123",
    "engine_id": "0x8000000001020399",
}
QUARANTINE_ARGS = [DEVICE_IP, "a", "10.1.2.3", POLICY_NAME, "s", "Quarantine Policy"]
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"


# --- the pure decoder -------------------------------------------------------------


def trap(trap_oid: str, *varbinds: tuple[str, Any], community: str = "public") -> bytes:
    """A v2c trap encoded by pysnmp (the reference encoder)."""
    head = [
        ("1.3.6.1.2.1.1.3.0", v2c.TimeTicks(1)),
        ("1.3.6.1.6.3.1.1.4.1.0", v2c.ObjectIdentifier(trap_oid)),
    ]
    return pysnmp_v2c_trap(community, [*head, *varbinds])


def ip(text: str) -> tuple[str, Any]:
    return (DEVICE_IP, v2c.IpAddress(text))


def octets(name: str, value: bytes | str) -> tuple[str, Any]:
    return (name, v2c.OctetString(value.encode() if isinstance(value, str) else value))


def test_quarantine_command_forms() -> None:
    data = trap(QUARANTINE_COMMAND, ip("10.1.2.3"), octets(POLICY_NAME, " Quarantine Policy "))
    assert decode_command(data, "192.0.2.1") == QuarantineCommand(
        "10.1.2.3", "Quarantine Policy", "192.0.2.1"
    )
    # No policy name: the engine picks the default. The instance suffix .0 is accepted,
    # and so is an IPv6 host as text.
    data = trap(QUARANTINE_COMMAND, octets(DEVICE_IP + ".0", "2001:db8::7"))
    assert decode_command(data, "nms") == QuarantineCommand("2001:db8::7", "", "nms")


@pytest.mark.parametrize(
    ("mac", "expected"),
    [
        (b"\x00\x11\x22\xaa\xbb\xcc", "00:11:22:aa:bb:cc"),
        ("00:11:22:AA:BB:CC", "00:11:22:aa:bb:cc"),
        ("00-11-22-aa-bb-cc", "00:11:22:aa:bb:cc"),
        ("0011.22aa.bbcc", "00:11:22:aa:bb:cc"),
        ("001122aabbcc", "00:11:22:aa:bb:cc"),
        ("", None),
    ],
)
def test_unquarantine_by_address_and_mac(mac: bytes | str, expected: str | None) -> None:
    data = trap(UNQUARANTINE_REQUEST, ip("10.1.2.3"), octets(DEVICE_MAC, mac))
    assert decode_command(data, "s") == UnquarantineCommand(None, "10.1.2.3", expected, "s")


def test_unquarantine_by_notify_id() -> None:
    assert decode_command(trap(UNQUARANTINE_REQUEST, (NOTIFY_ID, v2c.Integer(42))), "s") == (
        UnquarantineCommand(42, None, None, "s")
    )
    text_id = trap(UNQUARANTINE_REQUEST, octets(NOTIFY_ID, "43"))
    assert decode_command(text_id, "s") == UnquarantineCommand(43, None, None, "s")


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"\x30\x03\x02\x01", "malformed"),
        (trap(LINK_DOWN), "not-a-command"),
        (trap(QUARANTINE_ACK, (NOTIFY_ID, v2c.Integer(1))), "acknowledgement"),
        (trap(QUARANTINE_COMMAND, octets(POLICY_NAME, "p")), "missing-address"),
        (trap(QUARANTINE_COMMAND, octets(DEVICE_IP, "10.1.2")), "bad-address"),
        (trap(QUARANTINE_COMMAND, ip("0.0.0.0")), "bad-address"),
        (trap(QUARANTINE_COMMAND, ip("224.0.0.1")), "bad-address"),
        (trap(QUARANTINE_COMMAND, (DEVICE_IP, v2c.Integer(5))), "bad-address"),
        (trap(QUARANTINE_COMMAND, ip("10.0.0.1"), octets(POLICY_NAME, b"\xff")), "bad-policy"),
        (trap(QUARANTINE_COMMAND, ip("10.0.0.1"), octets(POLICY_NAME, "a\nb")), "bad-policy"),
        (trap(UNQUARANTINE_REQUEST, ip("10.0.0.1"), octets(DEVICE_MAC, "00:11")), "bad-mac"),
        (trap(UNQUARANTINE_REQUEST, ip("10.0.0.1"), octets(DEVICE_MAC, "zz" * 6)), "bad-mac"),
        (trap(UNQUARANTINE_REQUEST, octets(DEVICE_MAC, b"\x00" * 6)), "missing-address"),
        (trap(UNQUARANTINE_REQUEST), "missing-target"),
        (trap(UNQUARANTINE_REQUEST, (NOTIFY_ID, v2c.Integer(0))), "bad-notify-id"),
        (trap(UNQUARANTINE_REQUEST, octets(NOTIFY_ID, "12ab")), "bad-notify-id"),
    ],
)
def test_each_refusal_has_its_reason(datagram: bytes, reason: str) -> None:
    with pytest.raises(MalformedCommand) as refused:
        decode_command(datagram, "s")
    assert refused.value.reason == reason


def test_a_v1_trap_form_is_a_command_too() -> None:
    # snmptrap -v1 with enterprise TRAP_MIB and specific 14 is RFC 3584's .0.14.
    require_snmptrap()
    from tests.collectors.test_snmp_trap_support import capture

    data = capture(snmptrap_v1("{port}", TRAP_MIB, 6, 14, QUARANTINE_ARGS))
    command = parse_command(decode(data), "s")
    assert command == QuarantineCommand("10.1.2.3", "Quarantine Policy", "s")


SEEDS = [
    trap(QUARANTINE_COMMAND, ip("10.1.2.3"), octets(POLICY_NAME, "Quarantine Policy")),
    trap(UNQUARANTINE_REQUEST, ip("10.1.2.3"), octets(DEVICE_MAC, b"\x00\x11\x22\xaa\xbb\xcc")),
    trap(
        UNQUARANTINE_REQUEST, (NOTIFY_ID, v2c.Integer(42)), octets(DEVICE_MAC, "00-11-22-aa-bb-cc")
    ),
]
FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        if op == "replace":
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data.insert(pos, draw(st.integers(0, 255)))
        elif len(data) > 1:
            del data[pos]
    return bytes(data)


@FUZZ
@given(st.one_of(st.binary(max_size=300), mutated()))
def test_fuzz_decoding_raises_only_its_own_error(data: bytes) -> None:
    try:
        command = decode_command(data, "fuzz")
    except MalformedCommand as exc:
        assert exc.reason
    else:
        assert isinstance(command, QuarantineCommand | UnquarantineCommand)


# --- the listener with real senders ----------------------------------------------


@dataclass
class Harness:
    receiver: NmsTrapReceiver
    metrics: Metrics
    commands: asyncio.Queue[Command] = field(default_factory=asyncio.Queue)

    def command(self, part: str) -> str:
        return part.replace("{port}", str(self.receiver.port))

    async def send(self, command: list[str]) -> None:
        await run_net_snmp([self.command(part) for part in command])

    def send_raw(self, data: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(data, ("127.0.0.1", self.receiver.port))

    async def next_command(self) -> Command:
        return await asyncio.wait_for(self.commands.get(), 5)

    async def nothing(self, wait: float = 0.3) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(self.commands.get(), wait)

    def dropped(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "garrison_nms_commands_dropped_total", {"reason": reason}
        )
        return value or 0.0


def nms_settings(tmp_path: Path, **responder: Any) -> Any:
    section = {
        "nms_communities": ["public", "nms-secret"],
        "nms_v3_users": [NMS_USER],
        **responder,
    }
    return make_settings(tmp_path / "data", responder=section)


async def start(
    tmp_path: Path, handler: Callable[[Command], Awaitable[None]] | None = None, **kwargs: Any
) -> Harness:
    metrics = Metrics()
    queue: asyncio.Queue[Command] = asyncio.Queue()

    async def record(command: Command) -> None:
        await queue.put(command)

    settings_kwargs = kwargs.pop("responder", {})
    receiver = NmsTrapReceiver(
        nms_settings(tmp_path, **settings_kwargs), handler or record, metrics, **kwargs
    )
    await receiver.start()
    return Harness(receiver, metrics, queue)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    require_snmptrap()
    running = await start(tmp_path)
    try:
        yield running
    finally:
        await running.receiver.stop()


GOOD = trap(QUARANTINE_COMMAND, ip("10.9.9.9"), octets(POLICY_NAME, "p"))


async def test_quarantine_command_from_snmptrap_v2c_and_v3(harness: Harness) -> None:
    await harness.send(snmptrap_v2c("{port}", QUARANTINE_COMMAND, QUARANTINE_ARGS))
    assert await harness.next_command() == QuarantineCommand(
        "10.1.2.3", "Quarantine Policy", "127.0.0.1"
    )
    args = [DEVICE_IP, "a", "10.4.4.4"]
    await harness.send(snmptrap_v3("{port}", QUARANTINE_COMMAND, args, **V3_ARGS))
    assert await harness.next_command() == QuarantineCommand("10.4.4.4", "", "127.0.0.1")
    assert harness.receiver.accepted == 2 and harness.receiver.drops == {}


async def test_unquarantine_requests_from_snmptrap(harness: Harness) -> None:
    await harness.send(snmptrap_v2c("{port}", UNQUARANTINE_REQUEST, [NOTIFY_ID, "i", "42"]))
    assert await harness.next_command() == UnquarantineCommand(42, None, None, "127.0.0.1")
    by_mac = [DEVICE_IP, "a", "10.1.2.3", DEVICE_MAC, "x", "001122AABBCC"]
    await harness.send(snmptrap_v2c("{port}", UNQUARANTINE_REQUEST, by_mac, community="nms-secret"))
    assert await harness.next_command() == UnquarantineCommand(
        None, "10.1.2.3", "00:11:22:aa:bb:cc", "127.0.0.1"
    )
    by_text = [DEVICE_IP, "a", "10.1.2.4", DEVICE_MAC, "s", "AA-BB-CC-DD-EE-FF"]
    await harness.send(snmptrap_v3("{port}", UNQUARANTINE_REQUEST, by_text, **V3_ARGS))
    assert await harness.next_command() == UnquarantineCommand(
        None, "10.1.2.4", "aa:bb:cc:dd:ee:ff", "127.0.0.1"
    )


async def test_a_v2c_inform_is_answered(harness: Harness) -> None:
    # snmpinform fails unless the Response comes back within its timeout.
    command = ["snmpinform", "-v2c", "-c", "public", "-r", "0", "-t", "3", "-m", ""]
    await harness.send([*command, "127.0.0.1:{port}", "0", QUARANTINE_COMMAND, *QUARANTINE_ARGS])
    assert (await harness.next_command()).address == "10.1.2.3"


async def test_bad_datagrams_are_counted_and_good_ones_still_arrive(harness: Harness) -> None:
    bad: list[tuple[str, list[str] | bytes]] = [
        (
            "bad-community",
            snmptrap_v2c("{port}", QUARANTINE_COMMAND, QUARANTINE_ARGS, community="x"),
        ),
        (
            "v3-auth",
            snmptrap_v3(
                "{port}", QUARANTINE_COMMAND, QUARANTINE_ARGS, **{**V3_ARGS, "auth": "wrongauth1"}
            ),
        ),
        ("v3-unknown-user", snmptrap_v3("{port}", QUARANTINE_COMMAND, QUARANTINE_ARGS)),
        ("malformed", b"\x00garbage"),
        ("malformed", GOOD[:-3]),
        ("oversized", GOOD + b"\x00" * 20_000),
        ("not-a-command", snmptrap_v2c("{port}", LINK_DOWN, [])),
        ("acknowledgement", trap(QUARANTINE_ACK, (NOTIFY_ID, v2c.Integer(4)))),
        ("missing-address", snmptrap_v2c("{port}", QUARANTINE_COMMAND, [POLICY_NAME, "s", "p"])),
        ("bad-mac", trap(UNQUARANTINE_REQUEST, ip("10.0.0.1"), octets(DEVICE_MAC, "00:11"))),
    ]
    for reason, datagram in bad:
        if isinstance(datagram, bytes):
            harness.send_raw(datagram)
        else:
            await harness.send(datagram)
        harness.send_raw(GOOD)
        assert (await harness.next_command()).address == "10.9.9.9", reason
    await harness.nothing()
    expected = {"malformed": 2}
    for reason, _ in bad:
        assert harness.receiver.drops[reason] == expected.get(reason, 1), reason
        assert harness.dropped(reason) == expected.get(reason, 1), reason
    assert harness.receiver.accepted == len(bad)
    received = harness.metrics.registry.get_sample_value("garrison_nms_commands_received_total")
    assert received == 2 * len(bad)


async def test_unknown_sources_are_dropped(tmp_path: Path) -> None:
    harness = await start(tmp_path, responder={"nms_allowed_sources": ["192.0.2.0/24", "::1"]})
    try:
        harness.send_raw(GOOD)
        await harness.nothing()
        assert harness.receiver.drops == {"unknown-source": 1}
    finally:
        await harness.receiver.stop()
    with pytest.raises(Invalid) as refused:
        await start(tmp_path, responder={"nms_allowed_sources": ["10.0.0.0/33"]})
    assert "'10.0.0.0/33' is not an address or CIDR" in str(refused.value)


async def test_a_failing_handler_is_counted_and_the_next_command_still_runs(
    tmp_path: Path,
) -> None:
    seen: list[Command] = []

    async def handler(command: Command) -> None:
        seen.append(command)
        if len(seen) == 1:
            raise RuntimeError("the engine said no")

    harness = await start(tmp_path, handler)
    try:
        harness.send_raw(GOOD)
        harness.send_raw(GOOD)
        for _ in range(100):  # bounded: up to 5 s
            if len(seen) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(seen) == 2
        assert harness.receiver.drops == {"handler-error": 1}
    finally:
        await harness.receiver.stop()


async def test_commands_beyond_the_pending_limit_are_dropped_and_stop_drains(
    tmp_path: Path,
) -> None:
    release = asyncio.Event()
    finished: list[Command] = []

    async def slow(command: Command) -> None:
        await release.wait()
        finished.append(command)

    harness = await start(tmp_path, slow, max_pending=1)
    harness.send_raw(GOOD)
    harness.send_raw(GOOD)
    for _ in range(100):
        if harness.receiver.drops:
            break
        await asyncio.sleep(0.05)
    assert harness.receiver.drops == {"busy": 1} and harness.receiver.accepted == 1
    asyncio.get_running_loop().call_later(0.1, release.set)
    await harness.receiver.stop(grace=5)
    assert len(finished) == 1  # the accepted command finished before stop returned


async def test_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]
        settings = make_settings(tmp_path / "data", ports={"responder-trap": taken})
        receiver = NmsTrapReceiver(settings, lambda command: asyncio.sleep(0))
        with pytest.raises(ListenerError) as raised:
            await receiver.start()
        await receiver.stop()
    assert str(raised.value).startswith(f"responder-trap: cannot listen on udp 127.0.0.1:{taken}")
