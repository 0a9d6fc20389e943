"""End to end: an ipsim fleet's attack traffic reaches Garrison as traps, crosses a
threshold policy's threshold, and the response quarantines the attacker on every device
and emails the SOC (through aiosmtpd, an SMTP server that is not ours); the policy's
timeout then releases the host everywhere."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ipsim.testing import FleetProcess
from tests.support import (
    RunningServer,
    add_fleet_devices,
    make_settings,
    quarantine_list,
    start_server,
    wait_for,
)

DEVICES = 3


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:  # aiosmtpd's Controller cannot take port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def garrison(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[RunningServer]:
    settings = make_settings(
        tmp_path / "data",
        poller={"enabled": False},
        smtp={"host": "127.0.0.1", "port": mailbox[1], "starttls": "never"},
    )
    yield from start_server(settings)


@pytest.mark.timeout(180)
def test_an_attack_crossing_the_threshold_quarantines_everywhere_then_times_out(
    garrison: RunningServer, mailbox: tuple[Mailbox, int], tmp_path: Path
) -> None:
    box, _ = mailbox
    with (
        FleetProcess(
            tmp_path,
            *("--devices", str(DEVICES), "--seed", "5", "--rate", "20"),
            *("--manager", f"127.0.0.1:{garrison.ports['snmp-trap']}", "--transport", "trap"),
        ) as fleet,
        garrison.admin() as api,
    ):
        devices = fleet.fleet["devices"]
        add_fleet_devices(api, devices, management=True)
        policy = {
            "name": "Stop scanners",
            "initiation": ["threshold"],
            "threshold": {"hits": 10, "period_seconds": 60, "quiet_seconds": 3600},
            "max_open": 1,
            "timeout_seconds": 6,
            "initial_actions": [
                {"name": "quarantine", "type": "ips-quarantine", "settings": {"target": "all"}},
                {
                    "name": "tell the SOC",
                    "type": "email",
                    "depends_on": "quarantine",
                    "condition": "succeeded",
                    "settings": {
                        "to": ["soc@example.test"],
                        "subject": "Garrison quarantined {address} ({policy})",
                    },
                },
            ],
            "timeout_actions": [
                {"name": "release", "type": "ips-quarantine", "settings": {"target": "all"}}
            ],
        }
        created = api.post("/api/v1/responder/policies", json=policy)
        assert created.status_code == 201, created.text

        def opened() -> dict[str, Any] | None:
            found = api.get("/api/v1/responses", params={"policy": "Stop scanners"}).json()
            return found[0] if found else None

        response = wait_for("a threshold response", opened)
        attacker = response["address"]
        assert response["trigger"] == "threshold" and len(response["evidence"]) >= 1
        assert all(e["src_ip"] == attacker for e in response["evidence"])

        # Quarantined on every device, then the SOC is told.
        wait_for(
            "the attacker quarantined on every device",
            lambda: all(attacker in quarantine_list(d) for d in devices),
            timeout=20,
        )
        wait_for("the email", lambda: box.messages, timeout=20)
        recipients, content = box.messages[0]
        assert recipients == ["soc@example.test"]
        assert f"Subject: Garrison quarantined {attacker} (Stop scanners)" in content

        # The timeout closes it and releases the host everywhere.
        closed = wait_for(
            "the response to time out",
            lambda: (
                (r := api.get(f"/api/v1/responses/{response['id']}").json())["state"] == "closed"
                and r
            ),
            timeout=30,
        )
        assert closed["close_reason"] == "expired" and closed["host_state"] == "UNQUARANTINED"
        assert {(a["name"], a["state"]) for a in closed["actions"]} == {
            ("quarantine", "succeeded"),
            ("tell the SOC", "succeeded"),
            ("release", "succeeded"),
        }
        assert all(attacker not in quarantine_list(d) for d in devices)
