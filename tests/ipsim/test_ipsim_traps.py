"""ipsim's traps received by net-snmp's snmptrapd: tptPolicyNotify (v2c and v3 authPriv),
tptQuarantineNotify after a management-API quarantine, tptTrhaNotify after a TRHA change."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ipsim.testing import REPO_ROOT, FleetProcess, Snmptrapd

pytestmark = pytest.mark.skipif(shutil.which("snmptrapd") is None, reason="snmptrapd not installed")

TRAP_OID = ".1.3.6.1.6.3.1.1.4.1.0 = OID: "
POLICY_NOTIFY = ".1.3.6.1.4.1.10734.3.3.3.0.8"
TRHA_NOTIFY = ".1.3.6.1.4.1.10734.3.3.3.0.18"
QUARANTINE_NOTIFY = ".1.3.6.1.4.1.10734.3.3.3.0.20"
OBJ = ".1.3.6.1.4.1.10734.3.3.3.1."

# Every tptPolicyNotify object with the SNMP type net-snmp must print for it.
POLICY_TYPES = {
    11: "STRING",
    12: "STRING",
    13: "STRING",
    59: "STRING",
    57: "Gauge32",
    58: "Gauge32",
    15: "IpAddress",
    16: "Gauge32",
    17: "IpAddress",
    18: "Gauge32",
    26: "STRING",
    39: '(STRING|"")',
    23: "Gauge32",
    24: "Gauge32",
    19: "Gauge32",
    40: "Gauge32",
    27: "Gauge32",
    28: "Gauge32",
    29: "INTEGER",
    36: "Gauge32",
    37: "Gauge32",
    38: "Gauge32",
    20: "INTEGER",
    21: "INTEGER",
    22: "INTEGER",
    41: "Gauge32",
    25: "INTEGER",
    30: "Counter64",
    128: "Hex-STRING",
    129: "Hex-STRING",
    130: "STRING",
    131: "INTEGER",
    137: "STRING",
    138: "STRING",
    139: '(STRING|"")',
    140: '(STRING|"")',
    180: "INTEGER",
}


def traps(log: str, trap_oid: str) -> list[dict[int, str]]:
    """Each logged trap of that OID as {object arc: 'TYPE: value'}."""
    found = []
    for record in log.split("\n"):
        if TRAP_OID + trap_oid not in record:
            continue
        fields = {}
        for part in record.split("\t"):
            m = re.match(re.escape(OBJ) + r"(\d+) = (.*)$", part.strip())
            if m:
                fields[int(m.group(1))] = m.group(2)
        found.append(fields)
    return found


def check_policy(fields: dict[int, str], device: dict) -> None:
    assert list(fields) == list(POLICY_TYPES), "objects in the MIB's order"
    for arc, kind in POLICY_TYPES.items():
        assert re.match(kind, fields[arc]), (arc, fields[arc])
    assert fields[11] == f'STRING: "{device["name"]}"'
    assert re.fullmatch(r'STRING: "00000002-0002-0002-0002-\d{12}"', fields[12])
    assert re.fullmatch(r'STRING: "00000001-0001-0001-0001-\d{12}"', fields[13])
    assert fields[12][-13:] == fields[13][-13:]  # policy and signature of the same filter
    assert re.fullmatch(r"INTEGER: [1-4]", fields[25])  # severity
    assert re.fullmatch(r"INTEGER: [1-3]", fields[20])  # deny/allow/ratelimit
    assert re.fullmatch(r'STRING: "[0-9a-f-]{36}:[0-9a-f-]{36}"', fields[59])  # ZonePair


def test_v2c_policy_traps(tmp_path: Path) -> None:
    with (
        Snmptrapd(tmp_path) as trapd,
        FleetProcess(
            tmp_path,
            "--devices",
            "2",
            "--rate",
            "20",
            "--manager",
            f"127.0.0.1:{trapd.port}",
            "--no-management",
        ) as fleet,
    ):
        log = trapd.wait_for(TRAP_OID + POLICY_NOTIFY, count=10, timeout=15)
    policies = traps(log, POLICY_NOTIFY)
    names = {d["name"]: d for d in fleet.devices}
    for fields in policies:
        device = names[fields[11].split('"')[1]]
        check_policy(fields, device)
    # Each device numbers its events 1, 2, 3, ... in tptPolicyNotifySequence (Counter64).
    for name in names:
        seqs = [int(f[30].split()[-1]) for f in policies if f[11] == f'STRING: "{name}"']
        assert seqs == list(range(1, len(seqs) + 1))


def test_v3_authpriv_policy_traps(tmp_path: Path) -> None:
    # The trap receiver must know the device's engine ID and keys before the device starts:
    # `fleet-file` with the same seed and options gives the same credentials `run` will use.
    out = subprocess.run(
        [sys.executable, "-m", "ipsim", "fleet-file", "--devices", "1", "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
        check=True,
    )
    device = json.loads(out.stdout)["devices"][0]
    with (
        Snmptrapd(tmp_path, users=[device["snmp"]["v3"]], community="nobody-uses-this") as trapd,
        FleetProcess(
            tmp_path,
            "--devices",
            "1",
            "--seed",
            "7",
            "--rate",
            "20",
            "--snmp-version",
            "3",
            "--manager",
            f"127.0.0.1:{trapd.port}",
            "--no-management",
        ) as fleet,
    ):
        log = trapd.wait_for(TRAP_OID + POLICY_NOTIFY, count=5, timeout=15)
    assert fleet.devices[0]["snmp"]["v3"] == device["snmp"]["v3"]
    for fields in traps(log, POLICY_NOTIFY):
        check_policy(fields, device)


def test_quarantine_and_trha_traps(tmp_path: Path) -> None:
    with (
        Snmptrapd(tmp_path) as trapd,
        FleetProcess(
            tmp_path, "--devices", "2", "--rate", "0", "--manager", f"127.0.0.1:{trapd.port}"
        ) as fleet,
    ):
        device = fleet.devices[0]
        m = device["management"]
        with httpx.Client(
            base_url=m["url"],
            verify=False,
            headers={"Authorization": f"Bearer {m['token']}"},
            timeout=10,
        ) as api:
            added = api.post(
                "/quarantine",
                json={"ip": "198.51.100.77", "reason": "Responder policy P1", "segment": "1-1"},
            )
            assert added.status_code == 201
            assert api.delete("/quarantine/198.51.100.77").status_code == 200
            assert api.post("/sim/trha", json={"state": "unresponsive"}).json() == {
                "state": "unresponsive",
                "changed": True,
            }
        log = trapd.wait_for(TRAP_OID + QUARANTINE_NOTIFY, count=2)
        log = trapd.wait_for(TRAP_OID + TRHA_NOTIFY)
    add, remove = traps(log, QUARANTINE_NOTIFY)
    assert add[132] == "IpAddress: 198.51.100.77" and add[135] == "INTEGER: 1"
    assert add[133] == 'STRING: "Responder policy P1"' and add[134] == 'STRING: "1-1"'
    assert remove[132] == "IpAddress: 198.51.100.77" and remove[135] == "INTEGER: 2"
    (trha,) = traps(log, TRHA_NOTIFY)
    assert trha[86] == f'STRING: "{device["name"]}"'
    assert trha[87].startswith("Gauge32: ") and trha[88] == "INTEGER: 1"
