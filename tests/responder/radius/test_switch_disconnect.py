"""The switch-disconnect action against a real dynamic-authorization listener:
FreeRADIUS's ``listen { type = coa }`` plays the switch, holding the session of
AA-BB-CC-DD-EE-01 (ACK) and no other (NAK, Error-Cause 503). Its debug log shows what
the Disconnect-Request named."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from garrison.config import Settings
from garrison.errors import Invalid
from garrison.responder.actions.base import ActionContext, ActionFailed, ActionServices
from garrison.responder.actions.registry import build, parse_config
from garrison.responder.actions.switch_disconnect import (
    DYNAMIC_AUTHORIZATION_PORT,
    SwitchDisconnectConfig,
)
from garrison.responder.radius import RadiusProxy, SessionTable
from tests.responder.radius.freeradius_peer import MISSING, FreeRadius, freeradius, radclient
from tests.responder.radius.test_radius_proxy import Quarantine
from tests.support import make_settings

needs_freeradius = pytest.mark.skipif(bool(MISSING), reason=MISSING)
pytestmark = pytest.mark.timeout(120)

SWITCH_SECRET = "switchsecret"


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreeRadius]:
    if MISSING:
        pytest.skip(MISSING)
    with freeradius(tmp_path_factory.mktemp("das"), coa_secret=SWITCH_SECRET) as peer:
        yield peer


def settings_for(tmp_path: Path, **radius_proxy: Any) -> Settings:
    config: dict[str, Any] = {
        "upstream_secret": "upstreamsecret",
        "clients": [{"address": "127.0.0.1", "secret": SWITCH_SECRET}],
    }
    config.update(radius_proxy)
    return make_settings(tmp_path / "data", ports={"radius-proxy": 0}, radius_proxy=config)


def context(phase: str = "initial", **fields: Any) -> ActionContext:
    base: dict[str, Any] = {
        "response_id": 7,
        "policy": "Quarantine",
        "address": "10.1.2.3",
        "phase": phase,
        "trigger": "manual",
        "opened_at": datetime(2024, 5, 1, tzinfo=UTC),
    }
    base.update(fields)
    return ActionContext(**base)


def action(settings: Settings, sessions: SessionTable | None, **config: Any) -> Any:
    parsed = parse_config("switch-disconnect", config, "policy Quarantine: action 1")
    return build("switch-disconnect", parsed, ActionServices(settings, radius_sessions=sessions))


def sessions_with(mac_text: str, *, session_id: str = "s1", user: str = "alice") -> SessionTable:
    table = SessionTable()
    table.learn(
        client_address="127.0.0.1",
        nas_address="127.0.0.1",
        nas_port=12,
        session_id=session_id,
        calling_station_id=mac_text,
        user=user,
        framed_ip="10.1.2.3",
    )
    return table


@needs_freeradius
async def test_disconnect_ack_names_the_learned_session(tmp_path: Path, switch: FreeRadius) -> None:
    before = switch.received("Disconnect-Request")
    act = action(settings_for(tmp_path), sessions_with("AA-BB-CC-DD-EE-01"), port=switch.coa_port)
    result = await act.run(context(mac="aa:bb:cc:dd:ee:01"))
    assert result.detail.startswith(f"Disconnect-ACK from switch 127.0.0.1:{switch.coa_port}")
    assert result.data["session_id"] == "s1" and result.data["mac"] == "aa:bb:cc:dd:ee:01"
    assert switch.received("Disconnect-Request") == before + 1
    seen = switch.request_blocks("Disconnect-Request")[-1]
    for line in (
        'Calling-Station-Id = "AA-BB-CC-DD-EE-01"',  # as the switch wrote it
        'Acct-Session-Id = "s1"',
        'User-Name = "alice"',
        "NAS-IP-Address = 127.0.0.1",
        "Event-Timestamp = ",
        "Message-Authenticator = ",
    ):
        assert line in seen, seen


@needs_freeradius
async def test_session_is_found_by_framed_address_or_user(
    tmp_path: Path, switch: FreeRadius
) -> None:
    table = sessions_with("aabb.ccdd.ee01")
    act = action(settings_for(tmp_path), table, port=switch.coa_port)
    by_address = await act.run(context(address="10.1.2.3"))
    assert "Disconnect-ACK" in by_address.detail
    assert (
        'Calling-Station-Id = "aabb.ccdd.ee01"' in switch.request_blocks("Disconnect-Request")[-1]
    )
    by_user = await act.run(context(address="10.9.9.9", user="alice"))
    assert "Disconnect-ACK" in by_user.detail


@needs_freeradius
async def test_disconnect_nak_fails_with_the_error_cause_not_retryable(
    tmp_path: Path, switch: FreeRadius
) -> None:
    act = action(
        settings_for(tmp_path),
        sessions_with("AA-BB-CC-DD-EE-02", session_id="other"),
        port=switch.coa_port,
    )
    with pytest.raises(ActionFailed) as failure:
        await act.run(context(mac="aa:bb:cc:dd:ee:02"))
    assert failure.value.retryable is False
    assert "Disconnect-NAK" in failure.value.reason
    assert "503 Session Context Not Found" in failure.value.reason


@needs_freeradius
async def test_coa_mode_sends_the_configured_attributes(tmp_path: Path, switch: FreeRadius) -> None:
    act = action(
        settings_for(tmp_path),
        sessions_with("AA-BB-CC-DD-EE-01"),
        port=switch.coa_port,
        mode="coa",
        attributes={"Filter-Id": "quarantine-{response_id}", "Tunnel-Private-Group-Id:1": "666"},
    )
    result = await act.run(context(mac="AA:BB:CC:DD:EE:01"))
    assert result.detail.startswith("CoA-ACK from switch")
    seen = switch.request_blocks("CoA-Request")[-1]
    assert 'Filter-Id = "quarantine-7"' in seen, seen
    assert 'Tunnel-Private-Group-Id:1 = "666"' in seen, seen


@needs_freeradius
async def test_timeout_phase_is_a_no_op_or_the_configured_release_coa(
    tmp_path: Path, switch: FreeRadius
) -> None:
    table = sessions_with("AA-BB-CC-DD-EE-01")
    before = switch.received("CoA-Request") + switch.received("Disconnect-Request")
    plain = action(settings_for(tmp_path), table, port=switch.coa_port)
    result = await plain.run(context("timeout", mac="aa:bb:cc:dd:ee:01"))
    assert "nothing to undo" in result.detail
    assert switch.received("CoA-Request") + switch.received("Disconnect-Request") == before
    release = action(
        settings_for(tmp_path),
        table,
        port=switch.coa_port,
        release_attributes={"Filter-Id": "normal"},
    )
    result = await release.run(context("timeout", mac="aa:bb:cc:dd:ee:01"))
    assert result.detail.startswith("CoA-ACK")
    assert 'Filter-Id = "normal"' in switch.request_blocks("CoA-Request")[-1]


async def test_silent_switch_fails_retryable_within_the_time_limit(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        act = action(
            settings_for(tmp_path),
            sessions_with("AA-BB-CC-DD-EE-01"),
            port=port,
            timeout_seconds=0.6,
        )
        started = time.monotonic()
        with pytest.raises(ActionFailed) as failure:
            await act.run(context(mac="aa:bb:cc:dd:ee:01"))
        elapsed = time.monotonic() - started
        assert failure.value.retryable is True
        assert f"no answer from switch 127.0.0.1:{port}" in failure.value.reason
        assert 0.5 < elapsed < 2.0
        silent.setblocking(False)
        copies = []
        while True:
            try:
                copies.append(silent.recv(4096))
            except BlockingIOError:
                break
        # Retransmitted within the time limit, the same bytes each time.
        assert len(copies) >= 2 and len(set(copies)) == 1


@needs_freeradius
async def test_wrong_secret_is_ignored_by_the_switch(tmp_path: Path, switch: FreeRadius) -> None:
    act = action(
        settings_for(tmp_path),
        sessions_with("AA-BB-CC-DD-EE-01"),
        port=switch.coa_port,
        secret="not-the-switch-secret",
        timeout_seconds=0.6,
    )
    with pytest.raises(ActionFailed) as failure:
        await act.run(context(mac="aa:bb:cc:dd:ee:01"))
    assert failure.value.retryable and "no answer" in failure.value.reason


async def test_nothing_known_fails_saying_what_is_missing(tmp_path: Path) -> None:
    act = action(settings_for(tmp_path), SessionTable())
    with pytest.raises(ActionFailed) as failure:
        await act.run(context(address="10.5.5.5"))
    assert failure.value.retryable is False
    assert "no RADIUS session is known for address 10.5.5.5" in failure.value.reason
    assert "no fixed `switch`" in failure.value.reason
    no_proxy = action(settings_for(tmp_path), None)
    with pytest.raises(ActionFailed, match="no RADIUS proxy runs"):
        await no_proxy.run(context(mac="aa:bb:cc:dd:ee:09"))
    # A fixed switch, but neither MAC nor user to name there.
    fixed = action(settings_for(tmp_path), SessionTable(), switch="127.0.0.1")
    with pytest.raises(ActionFailed) as failure:
        await fixed.run(context(address="10.5.5.5"))
    assert failure.value.retryable is False and "no MAC or user" in failure.value.reason
    # A switch Garrison has no secret for.
    stranger = action(settings_for(tmp_path), SessionTable(), switch="192.0.2.1")
    with pytest.raises(ActionFailed, match=r"no secret for switch 192\.0\.2\.1"):
        await stranger.run(context(mac="aa:bb:cc:dd:ee:09"))


@needs_freeradius
async def test_fixed_switch_without_a_session_names_the_mac(
    tmp_path: Path, switch: FreeRadius
) -> None:
    act = action(settings_for(tmp_path), SessionTable(), switch="127.0.0.1", port=switch.coa_port)
    result = await act.run(context(mac="aa:bb:cc:dd:ee:01"))
    assert "Disconnect-ACK" in result.detail
    # RFC 3580's spelling when the switch's own is unknown.
    seen = switch.request_blocks("Disconnect-Request")[-1]
    assert 'Calling-Station-Id = "AA-BB-CC-DD-EE-01"' in seen


async def test_unknown_attribute_name_fails_not_retryable(tmp_path: Path) -> None:
    act = action(
        settings_for(tmp_path),
        sessions_with("AA-BB-CC-DD-EE-01"),
        attributes={"No-Such-Attribute": "1"},
    )
    with pytest.raises(ActionFailed) as failure:
        await act.run(context(mac="aa:bb:cc:dd:ee:01"))
    assert failure.value.retryable is False
    assert "'No-Such-Attribute' is not in the RADIUS dictionary" in failure.value.reason


def test_config_defaults_and_refusals() -> None:
    config = SwitchDisconnectConfig()
    assert config.port == DYNAMIC_AUTHORIZATION_PORT == 3799
    assert config.mode == "disconnect"
    for bad, message in (
        ({"mode": "shutdown"}, "mode"),
        ({"switch": "switch-1"}, "not an IP address"),
        ({"attributes": {"Filter Id": "x"}}, "not a RADIUS attribute name"),
        ({"attributes": {"Filter-Id": "{nope}"}}, "unknown template field"),
        ({"port": 0}, "port"),
        ({"colour": "red"}, "colour"),
    ):
        with pytest.raises(Invalid, match=message):
            parse_config("switch-disconnect", bad, "policy P: action 1")
    assert "secret" not in repr(SwitchDisconnectConfig(secret="hidden-one"))


@needs_freeradius
async def test_end_to_end_proxy_learns_action_disconnects_proxy_rejects(
    tmp_path: Path, switch: FreeRadius
) -> None:
    """The whole loop: the switch authenticates the host through the proxy (the proxy
    learns the session), the action disconnects it at the switch, and the host's next
    Access-Request is rejected by the proxy while it is quarantined."""
    settings = settings_for(
        tmp_path,
        enabled=True,
        upstream_port=switch.auth_port,
        upstream_timeout_seconds=1.0,
    )
    quarantine = Quarantine()
    proxy = RadiusProxy(settings, quarantine, log_interval=0)
    await proxy.start()
    try:
        request = (
            'User-Name = "aa:bb:cc:dd:ee:01", User-Password = "aa:bb:cc:dd:ee:01", '
            'Calling-Station-Id = "AA-BB-CC-DD-EE-01", Acct-Session-Id = "s1", NAS-Port = 4'
        )
        first = await radclient(proxy.port, "auth", SWITCH_SECRET, request)
        assert first.received("Access-Accept"), first.output
        quarantine.macs.add("aa:bb:cc:dd:ee:01")
        act = action(settings, proxy.sessions, port=switch.coa_port)
        result = await act.run(context(mac="aa:bb:cc:dd:ee:01"))
        assert "Disconnect-ACK" in result.detail
        seen = switch.request_blocks("Disconnect-Request")[-1]
        assert "NAS-Port = 4" not in seen  # not asked for by default
        assert 'Acct-Session-Id = "s1"' in seen
        again = await radclient(proxy.port, "auth", SWITCH_SECRET, request)
        assert again.received("Access-Reject") and "quarantined by Garrison" in again.output
    finally:
        await proxy.stop()
