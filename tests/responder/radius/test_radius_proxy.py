"""The RADIUS proxy between real peers: ``radclient`` plays the switch, FreeRADIUS is the
site's RADIUS server. What the switch sees (accept, reject, silence) and what the site
server received (its debug log) are the evidence."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from garrison.config import Settings
from garrison.responder.radius import RadiusProxy
from garrison.responder.radius import packets as rp
from tests.responder.radius.freeradius_peer import (
    MISSING,
    FreeRadius,
    freeradius,
    radclient,
)
from tests.support import make_settings

pytestmark = [pytest.mark.skipif(bool(MISSING), reason=MISSING), pytest.mark.timeout(120)]

SWITCH_SECRET = "switchsecret"


@dataclass
class Quarantine:
    """The engine's quarantine registry, as a set of MACs and users."""

    macs: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def blocks(self, *, mac: str = "", user: str = "") -> bool:
        self.asked.append((mac, user))
        return mac in self.macs or user in self.users


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreeRadius]:
    with freeradius(tmp_path_factory.mktemp("freeradius")) as peer:
        yield peer


def proxy_settings(tmp_path: Path, upstream_port: int, **overrides: Any) -> Settings:
    config: dict[str, Any] = {
        "enabled": True,
        "upstream_host": "127.0.0.1",
        "upstream_port": upstream_port,
        "upstream_secret": "upstreamsecret",
        "upstream_timeout_seconds": 1.0,
        "upstream_retries": 1,
        "clients": [{"address": "127.0.0.0/8", "secret": SWITCH_SECRET}],
    }
    config.update(overrides)
    return make_settings(tmp_path / "data", ports={"radius-proxy": 0}, radius_proxy=config)


@pytest.fixture
def quarantine() -> Quarantine:
    return Quarantine()


@pytest.fixture
async def proxy(
    tmp_path: Path, site: FreeRadius, quarantine: Quarantine
) -> AsyncIterator[RadiusProxy]:
    settings = proxy_settings(tmp_path, site.auth_port)
    component = RadiusProxy(
        settings, quarantine, upstream_accounting_port=site.acct_port, log_interval=0
    )
    await component.start()
    try:
        yield component
    finally:
        await component.stop()


ALICE = 'User-Name = "alice", User-Password = "secret1", NAS-IP-Address = 127.0.0.9, '
ALICE += 'NAS-Port = 7, Calling-Station-Id = "00-11-22-33-44-55", Acct-Session-Id = "a1"'


async def test_accepted_user_gets_the_sites_accept_with_hidden_values_reencrypted(
    proxy: RadiusProxy, site: FreeRadius
) -> None:
    before = site.received("Access-Request")
    result = await radclient(proxy.port, "auth", SWITCH_SECRET, ALICE)
    assert result.received("Access-Accept"), result.output
    # radclient decrypts the Tunnel-Password with its own secret and authenticator: it
    # reads right only if the proxy re-encrypted it for this hop.
    assert 'Tunnel-Password:0 = "tunnelpass123"' in result.output
    assert 'Reply-Message = "hello alice"' in result.output
    assert site.received("Access-Request") == before + 1
    # The site server saw the password the switch sent, re-hidden with its own secret.
    assert 'User-Password = "secret1"' in site.request_blocks("Access-Request")[-1]
    session = proxy.sessions.by_user("alice")
    assert session is not None
    assert session.mac == "00:11:22:33:44:55"
    assert (session.client_address, session.nas_address, session.nas_port) == (
        "127.0.0.1",
        "127.0.0.9",
        7,
    )
    assert session.session_id == "a1"
    assert session.framed_ip == "10.1.2.3"  # from the Access-Accept
    assert proxy.sessions.by_address("10.1.2.3") == session
    assert proxy.stats["forwarded"] == 1 and proxy.stats["answered"] == 1


async def test_wrong_password_gets_the_sites_reject(proxy: RadiusProxy, site: FreeRadius) -> None:
    before = site.received("Access-Request")
    result = await radclient(
        proxy.port, "auth", SWITCH_SECRET, 'User-Name = "alice", User-Password = "wrong"'
    )
    assert result.received("Access-Reject"), result.output
    assert "quarantined by Garrison" not in result.output
    assert site.received("Access-Request") == before + 1


async def test_mac_authentication_and_chap_pass_through(
    proxy: RadiusProxy, site: FreeRadius
) -> None:
    mac_auth = (
        'User-Name = "aa:bb:cc:dd:ee:01", User-Password = "aa:bb:cc:dd:ee:01", '
        'Calling-Station-Id = "AA-BB-CC-DD-EE-01", Message-Authenticator = 0x00'
    )
    result = await radclient(proxy.port, "auth", SWITCH_SECRET, mac_auth)
    assert result.received("Access-Accept") and 'Reply-Message = "mac ok"' in result.output
    # CHAP's challenge was the switch's authenticator; the proxy passes it on explicitly.
    chap = 'User-Name = "alice", CHAP-Password = "secret1"'
    result = await radclient(proxy.port, "auth", SWITCH_SECRET, chap)
    assert result.received("Access-Accept"), result.output
    assert "CHAP-Challenge" in site.request_blocks("Access-Request")[-1]


ALICE_AT = 'User-Name = "alice", User-Password = "secret1", Calling-Station-Id = '


@pytest.mark.parametrize(
    ("blocked", "request_text"),
    [("mac", ALICE_AT + '"AA-BB-CC-DD-EE-01"'), ("user", ALICE_AT + '"AA-BB-CC-DD-EE-02"')],
)
async def test_quarantined_host_is_rejected_by_the_proxy_and_never_reaches_the_site(
    proxy: RadiusProxy, site: FreeRadius, quarantine: Quarantine, blocked: str, request_text: str
) -> None:
    if blocked == "mac":
        quarantine.macs.add("aa:bb:cc:dd:ee:01")
    else:
        quarantine.users.add("alice")
    before = site.received("Access-Request")
    result = await radclient(
        proxy.port, "auth", SWITCH_SECRET, request_text + ", Proxy-State = 0x0102"
    )
    assert result.received("Access-Reject"), result.output
    assert 'Reply-Message = "quarantined by Garrison"' in result.output
    assert proxy.stats["rejected_quarantined"] == 1
    assert "forwarded" not in proxy.stats
    # The registry was asked with the MAC normalized, whatever the switch's spelling.
    assert quarantine.asked[-1][0].startswith("aa:bb:cc:dd:ee:0")
    # A marker request that is forwarded: when the site has it, it would have had the
    # rejected one before it, had that been forwarded.
    marker = await radclient(proxy.port, "auth", SWITCH_SECRET, 'User-Name = "marker"')
    assert marker.received("Access-Reject") and "quarantined" not in marker.output
    assert site.received("Access-Request") == before + 1
    assert 'User-Name = "marker"' in site.request_blocks("Access-Request")[-1]
    # The session is still learned: the switch-disconnect action needs it.
    assert proxy.sessions.by_user("alice") is not None


async def test_unknown_client_and_wrong_secret_get_no_answer_and_are_counted(
    tmp_path: Path, site: FreeRadius, quarantine: Quarantine
) -> None:
    settings = proxy_settings(
        tmp_path, site.auth_port, clients=[{"address": "10.0.0.0/8", "secret": "x"}]
    )
    stranger = RadiusProxy(settings, quarantine, log_interval=0)
    await stranger.start()
    try:
        result = await radclient(stranger.port, "auth", "x", ALICE, timeout=0.5, tries=2)
        assert not result.answered, result.output
        assert stranger.drops == {"unknown_client": 2}  # the try and the retry
    finally:
        await stranger.stop()

    settings = proxy_settings(tmp_path, site.auth_port)
    proxy = RadiusProxy(settings, quarantine, log_interval=0)
    await proxy.start()
    try:
        before = site.received("Access-Request")
        result = await radclient(
            proxy.port,
            "auth",
            "not-the-secret",
            ALICE + ", Message-Authenticator = 0x00",
            timeout=0.5,
            tries=2,
        )
        assert not result.answered, result.output
        assert proxy.drops == {"bad_message_authenticator": 2}
        assert site.received("Access-Request") == before
    finally:
        await proxy.stop()


async def test_silent_upstream_gets_no_answer_to_the_switch_and_is_counted(
    tmp_path: Path, quarantine: Quarantine
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.setblocking(False)
        settings = proxy_settings(
            tmp_path,
            silent.getsockname()[1],
            upstream_timeout_seconds=0.2,
            upstream_retries=2,
        )
        proxy = RadiusProxy(settings, quarantine, log_interval=0)
        await proxy.start()
        try:
            started = time.monotonic()
            result = await radclient(proxy.port, "auth", SWITCH_SECRET, ALICE, timeout=2, tries=1)
            assert not result.answered, result.output
            assert time.monotonic() - started < 10
            assert proxy.drops["upstream_timeout"] == 1
            # The first try and two retransmissions reached the silent server, all the
            # same bytes (same identifier and authenticator).
            sent = []
            while True:
                try:
                    sent.append(silent.recv(4096))
                except BlockingIOError:
                    break
            assert len(sent) == 3 and len(set(sent)) == 1
            assert rp.decode(sent[0]).has(rp.MESSAGE_AUTHENTICATOR)
        finally:
            await proxy.stop()


async def test_accounting_is_forwarded_and_teaches_the_framed_address(
    proxy: RadiusProxy, site: FreeRadius
) -> None:
    start = (
        'User-Name = "bob", Acct-Status-Type = Start, Acct-Session-Id = "b1", '
        'Calling-Station-Id = "aabb.ccdd.ee07", Framed-IP-Address = 192.0.2.7, NAS-Port = 3'
    )
    before = site.received("Accounting-Request")
    result = await radclient(proxy.port, "acct", SWITCH_SECRET, start)
    assert result.received("Accounting-Response"), result.output
    assert site.received("Accounting-Request") == before + 1
    session = proxy.sessions.by_address("192.0.2.7")
    assert session is not None and session.mac == "aa:bb:cc:dd:ee:07"
    assert session.calling_station_id == "aabb.ccdd.ee07" and session.session_id == "b1"
    stop = start.replace("Start", "Stop")
    result = await radclient(proxy.port, "acct", SWITCH_SECRET, stop)
    assert result.received("Accounting-Response"), result.output
    assert proxy.sessions.by_mac("aa:bb:cc:dd:ee:07") is None
    # A wrong secret shows in an Accounting-Request's authenticator.
    result = await radclient(proxy.port, "acct", "wrong", start, timeout=0.5)
    assert not result.answered
    assert proxy.drops == {"bad_authenticator": 1}


def access_request(identifier: int, user: str, password: str, secret: bytes) -> bytes:
    authenticator = rp.new_authenticator()
    attributes = (
        (rp.USER_NAME, user.encode()),
        (rp.USER_PASSWORD, rp.hide_password(password.encode(), secret, authenticator)),
    )
    return rp.sign_request(
        rp.RadiusPacket(rp.ACCESS_REQUEST, identifier, authenticator, attributes), secret
    )


class _Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.replies.put_nowait(data)


async def test_retransmission_is_answered_from_the_cache_not_forwarded_again(
    proxy: RadiusProxy, site: FreeRadius
) -> None:
    loop = asyncio.get_running_loop()
    transport, collect = await loop.create_datagram_endpoint(
        _Collect, remote_addr=("127.0.0.1", proxy.port)
    )
    try:
        raw = access_request(42, "alice", "secret1", SWITCH_SECRET.encode())
        before = site.received("Access-Request")
        transport.sendto(raw)
        first = await asyncio.wait_for(collect.replies.get(), 5)
        transport.sendto(raw)  # the switch did not hear us, say
        second = await asyncio.wait_for(collect.replies.get(), 5)
        assert first == second
        reply = rp.decode(first)
        assert reply.code == rp.ACCESS_ACCEPT and reply.identifier == 42
        assert rp.verify_reply(reply, raw[4:20], SWITCH_SECRET.encode())
        assert site.received("Access-Request") == before + 1
        assert proxy.stats["duplicates"] == 1
    finally:
        transport.close()


class _SlowServer(asyncio.DatagramProtocol):
    """A stand-in for a slow site server: answers every request with an Access-Accept
    after ``delay``, concurrently, echoing Proxy-State. Only for timing: FreeRADIUS
    answers too fast to show whether the proxy serializes."""

    def __init__(self, secret: bytes, delay: float) -> None:
        self.secret = secret
        self.delay = delay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        asyncio.get_running_loop().call_later(self.delay, self._answer, data, addr)

    def _answer(self, data: bytes, addr: tuple[Any, ...]) -> None:
        request = rp.decode(data)
        attributes = [(rp.PROXY_STATE, v) for v in request.values(rp.PROXY_STATE)]
        reply = rp.sign_reply(
            rp.ACCESS_ACCEPT, request.identifier, attributes, request.authenticator, self.secret
        )
        assert self.transport is not None
        self.transport.sendto(reply, addr)


async def test_requests_are_handled_concurrently(tmp_path: Path, quarantine: Quarantine) -> None:
    loop = asyncio.get_running_loop()
    server, _ = await loop.create_datagram_endpoint(
        lambda: _SlowServer(b"upstreamsecret", 0.5), local_addr=("127.0.0.1", 0)
    )
    proxy = RadiusProxy(
        proxy_settings(tmp_path, server.get_extra_info("sockname")[1]), quarantine, log_interval=0
    )
    await proxy.start()
    transport, collect = await loop.create_datagram_endpoint(
        _Collect, remote_addr=("127.0.0.1", proxy.port)
    )
    try:
        started = time.monotonic()
        for identifier in range(20):
            transport.sendto(access_request(identifier, f"u{identifier}", "p", b"switchsecret"))
        answered = {
            rp.decode(await asyncio.wait_for(collect.replies.get(), 5)).identifier
            for _ in range(20)
        }
        elapsed = time.monotonic() - started
        assert answered == set(range(20))
        assert elapsed < 3.0, f"20 requests of 0.5 s each took {elapsed:.1f} s: serialized?"
    finally:
        transport.close()
        await proxy.stop()
        server.close()


async def test_garbage_is_counted_and_the_proxy_keeps_serving(
    proxy: RadiusProxy, site: FreeRadius
) -> None:
    rng = random.Random(1812)
    datagrams = [rng.randbytes(rng.randrange(0, 300)) for _ in range(200)]
    # Valid headers with broken attributes, and packets of codes a proxy does not take.
    datagrams += [bytes([1, 9, 0, 30]) + bytes(16) + bytes([1, 40, 0, 0, 0, 0, 0, 0, 0, 0])]
    datagrams += [bytes([12, 1, 0, 20]) + bytes(16), bytes([1, 1, 0, 19]) + bytes(16)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in datagrams:
            sock.sendto(data, ("127.0.0.1", proxy.port))
    deadline = time.monotonic() + 5
    while proxy.stats.get("received", 0) < len(datagrams) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert proxy.stats["received"] == len(datagrams)
    # Every datagram is a counted drop, per reason.
    assert sum(proxy.drops.values()) == len(datagrams), proxy.drops
    assert {"too_short", "bad_length", "bad_attribute", "unsupported_code"} <= proxy.drops.keys()
    result = await radclient(proxy.port, "auth", SWITCH_SECRET, ALICE)
    assert result.received("Access-Accept"), result.output
    assert site.process.poll() is None
