"""ipsim's SNMP agent read by net-snmp's snmpget, snmpwalk, snmpbulkwalk (v2c, v3 authPriv)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from ipsim.testing import FleetProcess

pytestmark = pytest.mark.skipif(
    shutil.which("snmpget") is None, reason="net-snmp tools not installed"
)

SYS_DESCR = ".1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = ".1.3.6.1.2.1.1.2.0"
SYS_UPTIME = ".1.3.6.1.2.1.1.3.0"
SYS_NAME = ".1.3.6.1.2.1.1.5.0"
HR_PROCESSOR_LOAD = ".1.3.6.1.2.1.25.3.3.1.2"
TRHA_STATE = ".1.3.6.1.4.1.10734.3.3.2.6.7.0"
TRHA_PARTNER = ".1.3.6.1.4.1.10734.3.3.2.6.9.0"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetProcess]:
    with FleetProcess(
        tmp_path_factory.mktemp("agent"), "--devices", "2", "--transport", "none", "--rate", "0"
    ) as f:
        yield f


def snmp(tool: str, device: dict, *args: str, v3: bool = False, timeout: float = 20) -> str:
    target = f"127.0.0.1:{device['snmp']['port']}"
    if v3:
        u = device["snmp"]["v3"]
        auth = [
            "-v3",
            "-l",
            "authPriv",
            "-u",
            u["user"],
            "-a",
            u["auth_protocol"],
            "-A",
            u["auth_password"],
        ]
        auth += ["-x", u["priv_protocol"], "-X", u["priv_password"]]
    else:
        auth = ["-v2c", "-c", device["snmp"]["community"]]
    result = subprocess.run(
        [tool, *auth, "-m", "", "-On", "-t", "2", "-r", "1", target, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"MIBS": "", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("v3", [False, True], ids=["v2c", "v3-authPriv"])
def test_snmpget_system_and_trha(fleet: FleetProcess, v3: bool) -> None:
    device = fleet.devices[0]
    out = snmp(
        "snmpget", device, SYS_DESCR, SYS_OBJECT_ID, SYS_NAME, TRHA_STATE, TRHA_PARTNER, v3=v3
    )
    assert f'{SYS_NAME} = STRING: "{device["name"]}"' in out
    assert f"{SYS_OBJECT_ID} = OID: .{device['sys_object_id']}" in out
    assert device["sys_object_id"].startswith("1.3.6.1.4.1.10734.1.3.")
    assert f"{TRHA_STATE} = INTEGER: 2" in out  # paired devices start connected
    assert f'{TRHA_PARTNER} = STRING: "{fleet.devices[1]["serial"]}"' in out


@pytest.mark.parametrize(
    ("tool", "v3"),
    [("snmpwalk", False), ("snmpbulkwalk", False), ("snmpwalk", True), ("snmpbulkwalk", True)],
)
def test_walk_reaches_the_end_of_the_mib_in_order(fleet: FleetProcess, tool: str, v3: bool) -> None:
    out = snmp(tool, fleet.devices[0], ".1", v3=v3)
    rows = [
        line
        for line in out.splitlines()
        if line.startswith(".") and "No more variables" not in line
    ]
    oids = [line.split(" = ", 1)[0] for line in rows]
    keys = [tuple(int(x) for x in oid.strip(".").split(".")) for oid in oids]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "walk must be strictly increasing"
    assert "No more variables left in this MIB View" in out  # walked off the end, cleanly
    names = set(oids)
    for expected in (
        SYS_UPTIME,
        ".1.3.6.1.2.1.2.1.0",
        ".1.3.6.1.2.1.2.2.1.10.1",
        ".1.3.6.1.2.1.31.1.1.1.6.1",
        ".1.3.6.1.2.1.25.2.3.1.6.1",
        ".1.3.6.1.2.1.25.3.3.1.2.196608",
        TRHA_STATE,
    ):
        assert expected in names
    # Segment ports are named 1A, 1B, ... in ifName.
    assert re.search(r'\.1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.1\.1 = STRING: "1A"', out)
    assert re.search(r'\.1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.1\.2 = STRING: "1B"', out)


def test_values_move_with_time(fleet: FleetProcess) -> None:
    device = fleet.devices[0]
    first = snmp("snmpget", device, SYS_UPTIME, ".1.3.6.1.2.1.31.1.1.1.6.1")
    import time

    time.sleep(1.2)
    second = snmp("snmpget", device, SYS_UPTIME, ".1.3.6.1.2.1.31.1.1.1.6.1")

    def numbers(text: str) -> list[int]:
        return [
            int(m)
            for m in re.findall(r"(?:Timeticks: \((\d+)\)|Counter64: (\d+))", text)
            for m in m
            if m
        ]

    assert all(b > a for a, b in zip(numbers(first), numbers(second), strict=True))
    load = snmp("snmpwalk", device, HR_PROCESSOR_LOAD)
    percent = int(re.search(r"INTEGER: (\d+)", load).group(1))  # type: ignore[union-attr]
    assert 1 <= percent <= 99


def test_v3_wrong_password_and_wrong_community_are_refused(fleet: FleetProcess) -> None:
    device = fleet.devices[0]
    u = device["snmp"]["v3"]
    bad = subprocess.run(
        [
            "snmpget",
            "-v3",
            "-l",
            "authPriv",
            "-u",
            u["user"],
            "-a",
            "SHA-256",
            "-A",
            "not-the-password",
            "-x",
            "AES",
            "-X",
            u["priv_password"],
            "-m",
            "",
            "-t",
            "1",
            "-r",
            "0",
            f"127.0.0.1:{device['snmp']['port']}",
            SYS_NAME,
        ],
        capture_output=True,
        text=True,
        timeout=15,
        env={"MIBS": "", "PATH": "/usr/bin:/bin"},
    )
    assert bad.returncode != 0 and "Authentication failure" in bad.stderr
    silent = subprocess.run(
        [
            "snmpget",
            "-v2c",
            "-c",
            "wrong",
            "-m",
            "",
            "-t",
            "0.5",
            "-r",
            "0",
            f"127.0.0.1:{device['snmp']['port']}",
            SYS_NAME,
        ],
        capture_output=True,
        text=True,
        timeout=15,
        env={"MIBS": "", "PATH": "/usr/bin:/bin"},
    )
    assert silent.returncode != 0 and "Timeout" in silent.stderr


def test_get_of_missing_objects(fleet: FleetProcess) -> None:
    out = snmp("snmpget", fleet.devices[1], ".1.3.6.1.2.1.1.5", ".1.3.6.1.2.1.99.0")
    assert "No Such Instance" in out and "No Such Object" in out
