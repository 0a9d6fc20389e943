"""A 100-device fleet starts within a bounded time, and every device answers snmpget."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ipsim.testing import FleetProcess

pytestmark = pytest.mark.skipif(
    shutil.which("snmpget") is None, reason="net-snmp tools not installed"
)

DEVICES = 100
START_BUDGET_SECONDS = 30  # measured ~2-4 s on a 2-core machine, with the HTTPS servers


@pytest.mark.timeout(120)
def test_hundred_devices_start_and_answer(tmp_path: Path) -> None:
    with FleetProcess(
        tmp_path,
        "--devices",
        str(DEVICES),
        "--rate",
        "1",
        "--transport",
        "none",
        start_timeout=START_BUDGET_SECONDS,
    ) as fleet:
        assert len(fleet.devices) == DEVICES
        assert fleet.startup_seconds < START_BUDGET_SECONDS
        # UDP and TCP ports are separate spaces: each must be unique within its own.
        assert len({d["snmp"]["port"] for d in fleet.devices}) == DEVICES
        assert len({d["management"]["port"] for d in fleet.devices}) == DEVICES
        for device in fleet.devices:
            out = subprocess.run(
                [
                    "snmpget",
                    "-v2c",
                    "-c",
                    device["snmp"]["community"],
                    "-m",
                    "",
                    "-On",
                    "-t",
                    "2",
                    "-r",
                    "1",
                    f"127.0.0.1:{device['snmp']['port']}",
                    ".1.3.6.1.2.1.1.5.0",
                    ".1.3.6.1.2.1.1.2.0",
                ],
                capture_output=True,
                text=True,
                timeout=15,
                env={"MIBS": "", "PATH": "/usr/bin:/bin"},
            )
            assert out.returncode == 0, out.stderr
            assert f'STRING: "{device["name"]}"' in out.stdout
            assert f"OID: .{device['sys_object_id']}" in out.stdout
        assert fleet.stop() == 0  # SIGTERM stops it cleanly
