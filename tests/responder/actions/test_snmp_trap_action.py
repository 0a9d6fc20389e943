"""The SNMP trap action and the shared sender: tptSmsPolicyNotification with NotifyId,
NotifyData and the rendered message, received by net-snmp's snmptrapd over v2c, v3
authPriv (SHA-256/AES and SHA-512/AES-256) and as acknowledged v3 informs; refused
credentials and silent managers are failures with their reason; the datagram itself is
read back with Garrison's own decoder to check every type."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pysnmp.proto import rfc1902

from garrison import ports
from garrison.collectors.snmp_trap.messages import SYS_UPTIME, IpAddress, Oid, decode
from garrison.responder.actions.base import ActionFailed
from garrison.responder.actions.snmp_trap import (
    MAX_MESSAGE_OCTETS,
    SnmpTrapAction,
    SnmpTrapConfig,
)
from garrison.responder.nms_commands import (
    NOTIFY_DATA,
    NOTIFY_ID,
    POLICY_MATCH_DATA,
    POLICY_NOTIFICATION,
    parse_notify_data,
)
from garrison.responder.snmp_out import TrapTarget, send_trap, snmp_value
from ipsim.testing import Snmptrapd
from tests.responder.snmp_peers import (
    TRAPD_USER,
    V3_SETTINGS,
    capture_port,
    context,
    require_snmptrapd,
    services,
    silent_port,
    wait_traps,
)

STRONG_USER = {
    **TRAPD_USER,
    "user": "strong",
    "auth_protocol": "SHA-512",
    "auth_password": "strongauth123",
    "priv_protocol": "AES-256",
    "priv_password": "strongpriv123",
}
INFORM_USER = ("informer", "SHA-256", "informauth123", "AES", "informpriv123")


def config(**values: Any) -> SnmpTrapConfig:
    return SnmpTrapConfig.model_validate({"host": "127.0.0.1", **values})


@pytest.fixture
def trapd(tmp_path: Path) -> Any:
    require_snmptrapd()
    workdir = tmp_path / "trapd"
    workdir.mkdir()
    daemon = Snmptrapd(workdir, users=[TRAPD_USER, STRONG_USER])
    # A user localized to snmptrapd's own engine: what a v3 inform (to an authoritative
    # receiver) needs.
    with daemon.conf_path.open("a") as conf:
        conf.write("createUser {} {} {} {} {}\n".format(*INFORM_USER))
    with daemon:
        yield daemon


async def run_once(settings: SnmpTrapConfig, tmp_path: Path, **changes: Any) -> str:
    action = SnmpTrapAction(settings, services(tmp_path))
    try:
        result = await action.run(context(**changes))
    finally:
        await action.close()
    return result.detail


def test_settings_defaults_and_refusals() -> None:
    defaults = config()
    assert defaults.port == ports.get("responder-snmp").port == 162
    assert SnmpTrapConfig.TEMPLATES == ("message",)
    for values, words in [
        ({"version": "3", "user": "u", "auth_key": "authpass123"}, "at least 8"),
        ({"version": "1"}, "version"),
        ({"auth_protocol": "SHA-3"}, "auth_protocol"),
        ({"message": "x" * 5000}, "message"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
    ]:
        with pytest.raises(ValidationError) as error:
            config(**values)
        assert words in str(error.value), values


async def test_v2c_trap_about_the_host(trapd: Snmptrapd, tmp_path: Path) -> None:
    settings = config(port=trapd.port, message="Garrison: {address} hit {policy} ({phase})")
    detail = await run_once(settings, tmp_path)
    assert detail == f"SNMP trap tptSmsPolicyNotification sent to 127.0.0.1:{trapd.port}"
    (trap,) = await wait_traps(trapd, 1)
    assert trap.trap_oid == POLICY_NOTIFICATION
    assert trap.varbinds[POLICY_MATCH_DATA] == "Garrison: 10.1.2.3 hit Quarantine Policy (initial)"
    assert trap.varbinds[NOTIFY_ID] == "4242" and trap.types[NOTIFY_ID] == "INTEGER"
    assert parse_notify_data(trap.varbinds[NOTIFY_DATA]) == [
        ("IP", "10.1.2.3"),
        ("MAC", "00:11:22:aa:bb:cc"),
        ("USER", "alice"),
        ("POLICY", "Quarantine Policy"),
        ("RESPONSE", "17"),
        ("PHASE", "initial"),
        ("TRIGGER", "threshold"),
    ]


async def test_v3_authpriv_traps_with_two_protocol_pairs(trapd: Snmptrapd, tmp_path: Path) -> None:
    await run_once(config(port=trapd.port, **V3_SETTINGS), tmp_path, phase="timeout")
    strong = {
        **V3_SETTINGS,
        "user": "strong",
        "auth_protocol": "SHA-512",
        "auth_key": "strongauth123",
        "priv_protocol": "AES-256",
        "priv_key": "strongpriv123",
    }
    await run_once(config(port=trapd.port, **strong), tmp_path, address="192.0.2.9")
    first, second = await wait_traps(trapd, 2)
    assert first.trap_oid == second.trap_oid == POLICY_NOTIFICATION
    assert "PHASE:timeout" in first.varbinds[NOTIFY_DATA].split("\n")
    assert "IP:192.0.2.9" in second.varbinds[NOTIFY_DATA].split("\n")


async def test_v3_informs_are_acknowledged_or_refused(trapd: Snmptrapd, tmp_path: Path) -> None:
    name, auth_protocol, auth_key, priv_protocol, priv_key = INFORM_USER
    inform = {
        "version": "3",
        "user": name,
        "auth_protocol": auth_protocol,
        "auth_key": auth_key,
        "priv_protocol": priv_protocol,
        "priv_key": priv_key,
        "inform": True,
        "timeout_seconds": 2,
        "retries": 0,
    }
    detail = await run_once(config(port=trapd.port, **inform), tmp_path)
    assert detail.startswith("SNMP inform (acknowledged) tptSmsPolicyNotification")
    (trap,) = await wait_traps(trapd, 1)
    assert trap.trap_oid == POLICY_NOTIFICATION
    wrong = config(port=trapd.port, **{**inform, "auth_key": "not-the-key"})
    with pytest.raises(ActionFailed) as failed:
        await run_once(wrong, tmp_path)
    assert f"127.0.0.1:{trapd.port} refused the SNMP credentials" in failed.value.reason
    assert not failed.value.retryable  # another attempt with the same key cannot help
    assert "not-the-key" not in failed.value.reason


async def test_an_inform_nobody_answers_fails(tmp_path: Path) -> None:
    with silent_port() as port:
        settings = config(port=port, inform=True, timeout_seconds=0.2, retries=0)
        started = time.monotonic()
        with pytest.raises(ActionFailed) as failed:
            await run_once(settings, tmp_path)
    assert failed.value.reason == (
        f"no acknowledgement from 127.0.0.1:{port} to the inform (1 attempt of 0.2 s)"
    )
    assert failed.value.retryable and time.monotonic() - started < 5


async def test_an_unresolvable_host_fails(tmp_path: Path) -> None:
    with pytest.raises(ActionFailed) as failed:
        await run_once(config(host="no-such-host.invalid", port=9), tmp_path)
    assert failed.value.reason.startswith("cannot send to no-such-host.invalid:9")


async def test_the_datagram_read_back_by_garrisons_decoder(tmp_path: Path) -> None:
    long_message = "é" * MAX_MESSAGE_OCTETS  # two octets each: must be cut, never split
    with capture_port() as (port, sock):
        await run_once(
            config(port=port, community="s3cret", message=long_message), tmp_path, user=""
        )
        datagram, _ = sock.recvfrom(65535)
    message = decode(datagram)
    assert message.community == b"s3cret" and message.trap_oid == POLICY_NOTIFICATION
    assert message.uptime is not None
    values = dict(message.varbinds)
    assert values[NOTIFY_ID] == 4242
    assert b"USER:" not in values[NOTIFY_DATA]  # an unknown user is left out
    text = values[POLICY_MATCH_DATA]
    assert isinstance(text, bytes) and len(text) == MAX_MESSAGE_OCTETS
    assert text.decode("utf-8") == "é" * (MAX_MESSAGE_OCTETS // 2)


async def test_send_trap_delivers_before_it_closes_its_engine() -> None:
    # A fresh engine opens its socket in a task; the trap must not be lost when the
    # engine closes right after send_trap returns.
    with capture_port() as (port, sock):
        target = TrapTarget(host="127.0.0.1", port=port, community="public")
        varbinds = [
            ("1.3.6.1.4.1.10734.3.4.3.1.5", IpAddress("10.9.8.7")),
            ("1.3.6.1.4.1.10734.3.4.3.1.4", Oid("1.3.6.1.4.1.10734")),
            ("1.3.6.1.4.1.10734.3.4.3.1.10", b"\x00\x01"),
        ]
        await send_trap(target, "1.3.6.1.4.1.10734.3.4.3.0.17", varbinds)
        datagram, _ = sock.recvfrom(65535)
    message = decode(datagram)
    assert message.trap_oid == "1.3.6.1.4.1.10734.3.4.3.0.17"
    assert message.varbinds == varbinds


def test_snmp_values() -> None:
    assert isinstance(snmp_value(5), rfc1902.Integer32)
    assert bytes(snmp_value("é")) == "é".encode()
    assert isinstance(snmp_value(ipaddress.IPv4Address("10.0.0.1")), rfc1902.IpAddress)
    assert isinstance(snmp_value(Oid("1.3.6")), rfc1902.ObjectIdentifier)
    counter = rfc1902.Counter64(7)
    assert snmp_value(counter) is counter
    for bad in (2**31, True, 1.5):
        with pytest.raises(ValueError):
            snmp_value(bad)  # type: ignore[arg-type]
    assert SYS_UPTIME == "1.3.6.1.2.1.1.3.0"


def test_secrets_stay_out_of_repr() -> None:
    target = config(**V3_SETTINGS).target()
    assert "authpass123" not in repr(target) and "privpass123" not in repr(target)
    assert "s3cret" not in repr(config(community="s3cret"))
