"""An NMS drives the Responder with net-snmp's `snmptrap`: tptSmsQuarantineCommand opens
a response under the named policy (or the default an SMS would choose), and
tptSmsUnQuarantineRequest closes it by notify id or by address."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support import RunningServer, wait_for

COMMAND = "1.3.6.1.4.1.10734.3.4.3.0.14"
UNQUARANTINE = "1.3.6.1.4.1.10734.3.4.3.0.6"
NOTIFY_ID = "1.3.6.1.4.1.10734.3.4.3.1.1"
DEVICE_IP = "1.3.6.1.4.1.10734.3.4.3.1.5"
POLICY_NAME = "1.3.6.1.4.1.10734.3.4.3.1.12"

pytestmark = pytest.mark.skipif(
    shutil.which("snmptrap") is None, reason="net-snmp's snmptrap is not installed (apt snmp)"
)


def snmptrap(port: int, trap: str, *varbinds: str) -> None:
    subprocess.run(
        ["snmptrap", "-v2c", "-c", "public", "-m", "", f"127.0.0.1:{port}", "", trap, *varbinds],
        check=True,
        timeout=10,
    )


def test_nms_commands_open_and_close_responses(server: RunningServer) -> None:
    port = server.ports["responder-trap"]
    with server.admin() as api:
        created = api.post(
            "/api/v1/responder/policies",
            json={"name": "NMS isolation", "initiation": ["external"], "timeout_seconds": 600},
        )
        assert created.status_code == 201, created.text

        def responses(address: str) -> list[dict[str, object]]:
            return api.get("/api/v1/responses", params={"address": address}).json()

        snmptrap(port, COMMAND, DEVICE_IP, "a", "10.20.30.40", POLICY_NAME, "s", "NMS isolation")
        (opened,) = wait_for("the NMS's response", lambda: responses("10.20.30.40"), 20)
        assert opened["policy"] == "NMS isolation" and opened["trigger"] == "nms-trap"

        # A policy that does not exist: the SMS picks a default; here, the one policy that
        # SNMP traps may invoke.
        snmptrap(port, COMMAND, DEVICE_IP, "a", "10.20.30.41", POLICY_NAME, "s", "No such")
        (defaulted,) = wait_for("the default policy's", lambda: responses("10.20.30.41"), 20)
        assert defaulted["policy"] == "NMS isolation"

        # Release by notify id (the response id), and by address.
        snmptrap(port, UNQUARANTINE, NOTIFY_ID, "i", str(opened["id"]))
        snmptrap(port, UNQUARANTINE, DEVICE_IP, "a", "10.20.30.41")
        for address in ("10.20.30.40", "10.20.30.41"):
            wait_for(
                f"{address} released",
                lambda a=address: responses(a)[0]["state"] == "closed",
                20,
            )
        closed = responses("10.20.30.40")[0]
        assert "tptSmsUnQuarantineRequest" in closed["close_reason"]
