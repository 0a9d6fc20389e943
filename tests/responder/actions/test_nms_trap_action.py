"""The NMS trap action: NotifyData as a pure function, the settings it refuses, and
tptSmsQuarantineRequest / tptSmsQuarantineRelease received by net-snmp's snmptrapd over
v2c and v3 authPriv (SHA-256/AES); an inform nobody acknowledges is a recorded failure."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from garrison import ports
from garrison.responder.actions.base import ActionFailed
from garrison.responder.actions.nms_trap import (
    NmsTrapAction,
    NmsTrapConfig,
    notify_data,
    trap_for,
)
from garrison.responder.nms_commands import (
    NOTIFY_DATA,
    NOTIFY_ID,
    QUARANTINE_RELEASE,
    QUARANTINE_REQUEST,
    format_notify_data,
    parse_notify_data,
)
from ipsim.testing import Snmptrapd
from tests.responder.snmp_peers import (
    TRAPD_USER,
    V3_SETTINGS,
    context,
    require_snmptrapd,
    services,
    silent_port,
    wait_traps,
)


def config(**values: Any) -> NmsTrapConfig:
    return NmsTrapConfig.model_validate({"host": "127.0.0.1", **values})


def test_notify_data_is_name_value_lines() -> None:
    text = notify_data(context(), config(switch_action="VLAN isolation", quarantine_vlan=999))
    assert text == (
        "IP:10.1.2.3\nMAC:00:11:22:aa:bb:cc\nUSER:alice\nPOLICY:Quarantine Policy\n"
        "ACTION:VLAN isolation\nVLAN:999"
    )
    # Unknown MAC and user are left out; the default action; the link drop.
    text = notify_data(context(mac="", user=""), config(drop_port_link=True))
    assert text.split("\n") == [
        "IP:10.1.2.3",
        "POLICY:Quarantine Policy",
        "ACTION:RADIUS Reauthentication",
        "DROP_PORT_LINK:yes",
    ]


def test_a_line_break_inside_a_value_cannot_forge_a_line() -> None:
    text = notify_data(context(user="eve\nACTION:disable port\r\n"), config())
    fields = parse_notify_data(text)
    assert ("USER", "eve ACTION:disable port") in fields
    assert [name for name, _ in fields].count("ACTION") == 1
    assert format_notify_data([("A", "1"), ("B", ""), ("C", "x:y")]) == "A:1\nC:x:y"
    assert parse_notify_data("A:1\nC:x:y") == [("A", "1"), ("C", "x:y")]


def test_operation_picks_the_notification() -> None:
    assert trap_for("auto", "initial") == QUARANTINE_REQUEST
    assert trap_for("auto", "timeout") == QUARANTINE_RELEASE
    assert trap_for("request", "timeout") == QUARANTINE_REQUEST
    assert trap_for("release", "initial") == QUARANTINE_RELEASE
    with pytest.raises(ActionFailed) as failed:
        trap_for("auto", "sideways")
    assert not failed.value.retryable


def test_settings_defaults_and_refusals() -> None:
    defaults = config()
    assert defaults.port == ports.get("responder-nms").port == 162
    assert (defaults.version, defaults.community, defaults.operation) == ("2c", "public", "auto")
    assert defaults.switch_action == "RADIUS Reauthentication" and not defaults.inform
    assert "privpass" not in repr(config(**V3_SETTINGS))
    refused: list[tuple[dict[str, Any], str]] = [
        ({"version": "3"}, "needs a user"),
        ({**V3_SETTINGS, "auth_key": "short"}, "at least 8"),
        ({**V3_SETTINGS, "priv_protocol": "DES"}, "priv_protocol"),
        ({**V3_SETTINGS, "engine_id": "zz"}, "engine_id"),
        ({"community": ""}, "needs a community"),
        ({"switch_action": "reboot the switch"}, "switch_action"),
        ({"quarantine_vlan": 4095}, "quarantine_vlan"),
        ({"port": 0}, "port"),
        ({"comunity": "typo"}, "comunity"),
    ]
    for values, words in refused:
        with pytest.raises(ValidationError) as error:
            config(**values)
        assert words in str(error.value), values


@pytest.fixture
def trapd(tmp_path: Path) -> Any:
    require_snmptrapd()
    workdir = tmp_path / "trapd"
    workdir.mkdir()
    with Snmptrapd(workdir, users=[TRAPD_USER]) as daemon:
        yield daemon


async def test_v2c_request_then_release_reach_snmptrapd(trapd: Snmptrapd, tmp_path: Path) -> None:
    action = NmsTrapAction(config(port=trapd.port, quarantine_vlan=42), services(tmp_path))
    try:
        first = await action.run(context("initial"))
        second = await action.run(context("timeout"))
    finally:
        await action.close()
    assert "tptSmsQuarantineRequest trap for notify id 4242" in first.detail
    assert "tptSmsQuarantineRelease" in second.detail
    assert first.data["notify_id"] == "4242"
    request, release = await wait_traps(trapd, 2)
    assert request.trap_oid == QUARANTINE_REQUEST
    assert release.trap_oid == QUARANTINE_RELEASE
    for trap in (request, release):
        assert trap.varbinds[NOTIFY_ID] == "4242"
        assert (trap.types[NOTIFY_ID], trap.types[NOTIFY_DATA]) == ("INTEGER", "STRING")
        assert parse_notify_data(trap.varbinds[NOTIFY_DATA]) == [
            ("IP", "10.1.2.3"),
            ("MAC", "00:11:22:aa:bb:cc"),
            ("USER", "alice"),
            ("POLICY", "Quarantine Policy"),
            ("ACTION", "RADIUS Reauthentication"),
            ("VLAN", "42"),
        ]


async def test_v3_authpriv_sha256_aes_reaches_snmptrapd(trapd: Snmptrapd, tmp_path: Path) -> None:
    settings = config(port=trapd.port, operation="release", drop_port_link=True, **V3_SETTINGS)
    action = NmsTrapAction(settings, services(tmp_path))
    try:
        await action.run(context("initial", notify_id=7))
    finally:
        await action.close()
    (trap,) = await wait_traps(trapd, 1)
    assert trap.trap_oid == QUARANTINE_RELEASE
    assert trap.varbinds[NOTIFY_ID] == "7"
    assert "DROP_PORT_LINK:yes" in trap.varbinds[NOTIFY_DATA].split("\n")


async def test_an_acknowledged_inform_succeeds(trapd: Snmptrapd, tmp_path: Path) -> None:
    action = NmsTrapAction(config(port=trapd.port, inform=True), services(tmp_path))
    try:
        result = await action.run(context())
    finally:
        await action.close()
    assert "inform (acknowledged)" in result.detail
    (trap,) = await wait_traps(trapd, 1)
    assert trap.trap_oid == QUARANTINE_REQUEST


async def test_an_inform_nobody_answers_fails_with_the_reason(tmp_path: Path) -> None:
    with silent_port() as port:
        settings = config(port=port, inform=True, timeout_seconds=0.3, retries=1)
        action = NmsTrapAction(settings, services(tmp_path))
        started = time.monotonic()
        try:
            with pytest.raises(ActionFailed) as failed:
                await action.run(context())
        finally:
            await action.close()
    elapsed = time.monotonic() - started
    assert failed.value.reason == (
        f"no acknowledgement from 127.0.0.1:{port} to the inform (2 attempts of 0.3 s)"
    )
    assert failed.value.retryable
    assert elapsed < 5


async def test_a_notify_id_beyond_integer32_is_refused(tmp_path: Path) -> None:
    action = NmsTrapAction(config(port=9), services(tmp_path))
    try:
        with pytest.raises(ActionFailed) as failed:
            await action.run(context(notify_id=2**31))
    finally:
        await action.close()
    assert "does not fit NotifyId" in failed.value.reason and not failed.value.retryable
