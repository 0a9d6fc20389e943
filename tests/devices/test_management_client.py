"""The device management client against a real ipsim fleet, and against small local servers
that misbehave (no answer, not TLS, a 500, a body that is not JSON)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.devices.management import (
    DeviceManagementClient,
    Failure,
    ManagementError,
    ManagementPool,
    PinStore,
    Trust,
    normalize_fingerprint,
    parse_endpoint,
    show_fingerprint,
)
from garrison.store.devices import DeviceRecord
from ipsim import certs
from ipsim.testing import FleetProcess, free_port


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetProcess]:
    with FleetProcess(
        tmp_path_factory.mktemp("mgmt-client"),
        "--devices",
        "2",
        "--rate",
        "50",
        "--transport",
        "none",
        "--seed",
        "7",
    ) as f:
        yield f


def pinned(device: dict, **kwargs: object) -> DeviceManagementClient:
    """A client of an ipsim device, its certificate pinned as the fleet file announces it."""
    m = device["management"]
    return DeviceManagementClient(
        f"{m['url']}#sha256={m['cert_sha256']}", secret=m["token"], **kwargs
    )


def independent(device: dict) -> httpx.Client:
    m = device["management"]
    return httpx.Client(
        base_url=m["url"],
        verify=False,
        headers={"Authorization": f"Bearer {m['token']}"},
        timeout=10,
    )


# -- against ipsim ----------------------------------------------------------------------


async def test_status_names_the_device(fleet: FleetProcess) -> None:
    device = fleet.devices[0]
    async with pinned(device) as client:
        status = await client.status()
    assert status["name"] == device["name"]
    assert status["serial"] == device["serial"]
    assert status["sys_object_id"] == device["sys_object_id"]


async def test_quarantine_add_list_remove(fleet: FleetProcess) -> None:
    device = fleet.devices[0]
    async with pinned(device) as client:
        assert await client.quarantine_add("198.51.100.7", "test reason", "1-1") is True
        assert await client.quarantine_add("198.51.100.7", "again") is False
        assert await client.quarantine_add("2001:db8::7") is True
        hosts = {h.ip: h for h in await client.quarantine_list()}
        assert hosts["198.51.100.7"].reason == "test reason"
        assert hosts["198.51.100.7"].segment == "1-1"
        assert hosts["198.51.100.7"].added_ns > 0
        assert "2001:db8::7" in hosts
        # The device itself agrees, asked without Garrison's client.
        with independent(device) as api:
            listed = {h["ip"] for h in api.get("/quarantine").json()["hosts"]}
        assert {"198.51.100.7", "2001:db8::7"} <= listed
        assert await client.quarantine_remove("198.51.100.7") is True
        assert await client.quarantine_remove("198.51.100.7") is False  # 404: already gone
        assert await client.quarantine_remove("2001:db8::7") is True
        assert {h.ip for h in await client.quarantine_list()} & {
            "198.51.100.7",
            "2001:db8::7",
        } == set()


async def test_a_bad_address_is_refused_before_sending(fleet: FleetProcess) -> None:
    async with pinned(fleet.devices[0]) as client:
        with pytest.raises(ManagementError) as caught:
            await client.quarantine_add("198.51.100.300")
    assert caught.value.failure is Failure.INVALID
    assert "not an IPv4 or IPv6 address" in caught.value.reason


async def test_apply_profile_takes_effect_and_a_bad_one_is_rejected(fleet: FleetProcess) -> None:
    async with pinned(fleet.devices[1]) as client:
        profile = await client.apply_profile(
            "Perimeter", "2.1", filters={7610: "Block"}, categories={"Exploits": "Block"}
        )
        assert profile["name"] == "Perimeter" and profile["version"] == "2.1"
        assert (await client.status())["profile"]["name"] == "Perimeter"
        with pytest.raises(ManagementError) as caught:
            await client.apply_profile("Broken", categories={"No Such Category": "Block"})
    error = caught.value
    assert error.failure is Failure.REJECTED and error.status == 422
    assert "invalid_profile" in error.reason and "No Such Category" in error.reason
    assert not error.retryable


async def test_install_filter_package_and_a_hash_mismatch(fleet: FleetProcess) -> None:
    package = b"DV package " * 1000
    async with pinned(fleet.devices[1]) as client:
        installed = await client.install_filter_package("4.0.0.1", package)
        assert installed["sha256"] == hashlib.sha256(package).hexdigest()
        assert installed["size"] == len(package)
        assert (await client.status())["versions"]["filter_package"] == "4.0.0.1"
        with pytest.raises(ManagementError) as caught:
            await client.install_filter_package("4.0.0.2", package, sha256="00" * 32)
    assert caught.value.status == 422 and "sha256_mismatch" in caught.value.reason
    async with pinned(fleet.devices[1]) as client:
        assert (await client.status())["versions"]["filter_package"] == "4.0.0.1"


async def test_events_since_pages_in_order(fleet: FleetProcess) -> None:
    async with pinned(fleet.devices[0]) as client:
        for _ in range(100):  # the fleet makes 50 events/s; at most 10 s
            first = await client.events_since(0, limit=5)
            if first.last_seq >= 10:
                break
            await asyncio.sleep(0.1)
        assert [e["seq"] for e in first.events] == [1, 2, 3, 4, 5]
        assert first.more and first.next_since == 5 and not first.truncated
        second = await client.events_since(first.next_since, limit=5)
    assert [e["seq"] for e in second.events] == [6, 7, 8, 9, 10]


async def test_basic_credentials_work(fleet: FleetProcess) -> None:
    m = fleet.devices[0]["management"]
    async with DeviceManagementClient(
        f"{m['url']}#sha256={m['cert_sha256']}", username=m["username"], secret=m["password"]
    ) as client:
        assert (await client.status())["name"] == fleet.devices[0]["name"]


async def test_a_bad_token_is_a_clear_401_and_is_never_shown(
    fleet: FleetProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-token-" + "x" * 20
    m = fleet.devices[0]["management"]
    client = DeviceManagementClient(f"{m['url']}#sha256={m['cert_sha256']}", secret=wrong)
    async with client:
        with pytest.raises(ManagementError) as caught:
            await client.quarantine_list()
    error = caught.value
    assert error.failure is Failure.UNAUTHORIZED and error.status == 401
    assert "401" in error.reason and "credentials" in error.reason
    assert not error.retryable
    assert wrong not in str(error) and wrong not in repr(client)
    assert wrong not in caplog.text


async def test_a_closed_port_is_unreachable_and_retryable() -> None:
    port = free_port(socket.SOCK_STREAM)
    client = DeviceManagementClient(f"https://127.0.0.1:{port}", secret="t", pins=PinStore())
    async with client:
        with pytest.raises(ManagementError) as caught:
            await client.status()
    assert caught.value.failure is Failure.UNREACHABLE
    assert "connection refused" in caught.value.reason
    assert caught.value.retryable


async def test_a_device_that_never_answers_times_out() -> None:
    async with silent_server() as port:
        for trust in (Trust(verify=False), None):  # the request, and the pinning handshake
            client = DeviceManagementClient(
                f"https://127.0.0.1:{port}", secret="t", trust=trust, pins=PinStore(), timeout=0.5
            )
            started = asyncio.get_running_loop().time()
            async with client:
                with pytest.raises(ManagementError) as caught:
                    await client.status()
            assert caught.value.failure is Failure.TIMEOUT, caught.value.reason
            assert "timed out after 0.5 s" in caught.value.reason
            assert asyncio.get_running_loop().time() - started < 5


async def test_a_self_signed_device_fails_verification_without_a_pin(fleet: FleetProcess) -> None:
    m = fleet.devices[0]["management"]
    async with DeviceManagementClient(m["url"], secret=m["token"]) as client:
        with pytest.raises(ManagementError) as caught:
            await client.status()
    assert caught.value.failure is Failure.TLS
    assert "not trusted" in caught.value.reason and "self-signed" in caught.value.reason
    assert not caught.value.retryable


async def test_a_wrong_pin_is_refused_before_any_credentials_are_sent(
    fleet: FleetProcess,
) -> None:
    first, second = (d["management"] for d in fleet.devices)
    # Device 0's address, device 1's fingerprint: what a man in the middle would look like.
    client = DeviceManagementClient(
        f"{first['url']}#sha256={second['cert_sha256']}", secret=first["token"]
    )
    async with client:
        with pytest.raises(ManagementError) as caught:
            await client.status()
    error = caught.value
    assert error.failure is Failure.TLS and not error.retryable
    assert "does not match the pinned one" in error.reason
    assert show_fingerprint(first["cert_sha256"]) in error.reason


async def test_trust_on_first_use_pins_the_certificate_in_a_file(
    fleet: FleetProcess, tmp_path: Path
) -> None:
    m = fleet.devices[0]["management"]
    pins = PinStore(tmp_path / "tls" / "device-pins.json")
    async with DeviceManagementClient(m["url"], secret=m["token"], pins=pins) as client:
        assert (await client.status())["name"] == fleet.devices[0]["name"]
    stored = json.loads((tmp_path / "tls" / "device-pins.json").read_text())
    assert stored == {f"127.0.0.1:{m['port']}": show_fingerprint(m["cert_sha256"])}

    # Another pin store on the same file finds it; a different certificate there is refused.
    other = fleet.devices[1]["management"]["cert_sha256"]
    (tmp_path / "tls" / "device-pins.json").write_text(
        json.dumps({f"127.0.0.1:{m['port']}": other})
    )
    reread = PinStore(tmp_path / "tls" / "device-pins.json")
    async with DeviceManagementClient(m["url"], secret=m["token"], pins=reread) as client:
        with pytest.raises(ManagementError) as caught:
            await client.status()
        assert "does not match the pinned one" in caught.value.reason
        assert reread.forget(f"127.0.0.1:{m['port']}")
        assert (await client.status())["name"] == fleet.devices[0]["name"]


async def test_verification_can_be_turned_off_explicitly(fleet: FleetProcess) -> None:
    m = fleet.devices[0]["management"]
    async with DeviceManagementClient(f"{m['url']}#verify=off", secret=m["token"]) as client:
        assert (await client.status())["name"] == fleet.devices[0]["name"]


async def test_a_ca_file_verifies_with_host_name(fleet: FleetProcess, tmp_path: Path) -> None:
    # ipsim's certificate is self-signed, so it is its own CA; its SAN holds 127.0.0.1.
    m = fleet.devices[0]["management"]
    pem = ssl.get_server_certificate(("127.0.0.1", m["port"]))
    cafile = tmp_path / "device.pem"
    cafile.write_text(pem)
    async with DeviceManagementClient(
        m["url"], secret=m["token"], trust=Trust(cafile=cafile)
    ) as client:
        assert (await client.status())["name"] == fleet.devices[0]["name"]
    missing = DeviceManagementClient(
        m["url"], secret=m["token"], trust=Trust(cafile=tmp_path / "nope.pem")
    )
    with pytest.raises(ManagementError) as caught:
        await missing.status()
    assert caught.value.failure is Failure.CONFIG and "CA file not found" in caught.value.reason


async def test_the_pool_rebuilds_a_client_when_the_device_changes(fleet: FleetProcess) -> None:
    device = device_record(fleet.devices[0], device_id=1)
    pool = ManagementPool(pins=PinStore())
    first = pool.client(device)
    assert (await first.status())["name"] == fleet.devices[0]["name"]
    assert pool.client(device) is first
    wrong = pool.client(replace(device, mgmt_secret="another"))
    assert wrong is not first
    with pytest.raises(ManagementError, match="401"):
        await wrong.status()
    await pool.close()


# -- against servers that misbehave -----------------------------------------------------


async def test_a_server_that_is_not_tls_is_a_tls_failure() -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async with local_server(plain) as port:
        client = DeviceManagementClient(
            f"https://127.0.0.1:{port}", secret="t", trust=Trust(verify=False)
        )
        async with client:
            with pytest.raises(ManagementError) as caught:
                await client.status()
    assert caught.value.failure is Failure.TLS
    assert "TLS handshake failed" in caught.value.reason


@pytest.mark.parametrize(
    ("status", "body", "failure", "words"),
    [
        (500, b"<html>Internal explosion\n\x00here</html>", Failure.DEVICE, "answered 500"),
        (200, b"this is not json", Failure.DEVICE, "not JSON: this is not json"),
        (200, b"[1, 2]", Failure.DEVICE, "does not follow the device protocol"),
        (403, b'{"error": "forbidden", "message": "read only"}', Failure.REJECTED, "forbidden"),
    ],
)
async def test_unexpected_answers_are_quoted(
    tmp_path: Path, status: int, body: bytes, failure: Failure, words: str
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    cert, key, fingerprint = certs.make_self_signed("bad-device", "127.0.0.1", tmp_path)
    async with local_server(answer, tls=certs.server_context(cert, key)) as port:
        client = DeviceManagementClient(
            f"https://127.0.0.1:{port}#sha256={fingerprint}", secret="t"
        )
        async with client:
            with pytest.raises(ManagementError) as caught:
                await client.status()
    error = caught.value
    assert error.failure is failure and words in error.reason, error.reason
    assert error.retryable is (failure is Failure.DEVICE)
    assert "\x00" not in error.reason


# -- pure parts -------------------------------------------------------------------------


def test_endpoints_are_parsed() -> None:
    plain = parse_endpoint("https://10.0.0.5")
    assert plain.base_url == "https://10.0.0.5/api/v1" and plain.port == 443
    assert plain.trust == Trust()
    assert parse_endpoint("https://ips.example:8443/api/v1/").base_url == (
        "https://ips.example:8443/api/v1"
    )
    colons = show_fingerprint("ab" * 32)
    pinned_endpoint = parse_endpoint(f"https://[2001:db8::1]:4443/#sha256={colons}")
    assert pinned_endpoint.trust.sha256 == "ab" * 32
    assert pinned_endpoint.key == "[2001:db8::1]:4443"
    assert parse_endpoint("https://h#verify=off").trust.verify is False


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "no management URL"),
        ("http://10.0.0.5", "https://host"),
        ("https://10.0.0.5:99999", "invalid port"),
        ("https://10.0.0.5#sha256=abc", "64 hex digits"),
        ("https://10.0.0.5#pin=abc", "fragment"),
    ],
)
def test_bad_endpoints_are_refused_clearly(url: str, words: str) -> None:
    with pytest.raises(ManagementError) as caught:
        parse_endpoint(url)
    assert caught.value.failure is Failure.CONFIG and words in caught.value.reason


def test_a_client_needs_a_secret() -> None:
    with pytest.raises(ManagementError, match="no management secret"):
        DeviceManagementClient("https://10.0.0.5", secret="")


@given(st.text(max_size=200))
def test_parse_endpoint_never_fails_otherwise(text: str) -> None:
    with suppress(ManagementError):
        parse_endpoint(text)


@given(st.text(max_size=100))
def test_fingerprints_normalize_or_are_refused(text: str) -> None:
    try:
        digits = normalize_fingerprint(text)
    except ManagementError:
        return
    assert len(digits) == 64 and normalize_fingerprint(show_fingerprint(digits)) == digits


# -- helpers ----------------------------------------------------------------------------


def device_record(device: dict, device_id: int) -> DeviceRecord:
    now = datetime.now(UTC)
    m = device["management"]
    return DeviceRecord(
        id=device_id,
        name=device["name"],
        address="127.0.0.1",
        location="",
        group_id=None,
        snmp_port=161,
        snmp_version="2c",
        snmp_community="public",
        snmp_user="",
        snmp_auth_protocol="",
        snmp_auth_key="",
        snmp_priv_protocol="",
        snmp_priv_key="",
        mgmt_url=m["url"],
        mgmt_username="",
        mgmt_secret=m["token"],
        sys_name="",
        sys_descr="",
        sys_object_id="",
        model="",
        serial="",
        os_version="",
        state="unknown",
        state_reason="",
        last_polled_at=None,
        last_change_at=None,
        created_at=now,
        updated_at=now,
    )


@asynccontextmanager
async def local_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[int]:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)  # type: ignore[misc]
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    async with local_server(hold) as port:
        try:
            yield port
        finally:
            for writer in held:
                writer.close()
