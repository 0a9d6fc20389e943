"""The README's "Moving from an SMS" block, run as it is written: every curl line of it
against a real Garrison with an `ipsim` fleet, the way a site's scripts would call an SMS.
Only the server's address changes; curl is made to fail on any HTTP error."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ipsim.testing import FleetProcess
from tests.support import add_fleet_devices, make_settings, start_server, wait_for

ROOT = Path(__file__).resolve().parent.parent
# Stop at the first failing line, and make curl fail on an HTTP error status.
STRICT = 'set -euo pipefail\ncurl() { command curl --fail-with-body -sS "$@"; }\n'
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def sms_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Moving from an SMS", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the section has a sh block"
    return match[1]


def test_the_readme_sms_block_works_against_garrison(tmp_path: Path) -> None:
    block = sms_block()
    assert block.startswith("SMS=https://127.0.0.1:10443")
    settings = make_settings(tmp_path / "data", poller={"enabled": False})
    for server in start_server(settings):
        with (
            FleetProcess(
                tmp_path, "--devices", "2", "--rate", "20", "--trace-fraction", "0.5",
                "--seed", "3", "--manager", f"127.0.0.1:{server.ports['snmp-trap']}",
                "--transport", "trap",
            ) as fleet,
            server.admin() as api,
        ):  # fmt: skip
            add_fleet_devices(api, fleet.devices, management=True)
            policy = (ROOT / "scripts" / "demo-policy.json").read_text()
            created = api.post("/api/v1/responder/policies", json=json.loads(policy))
            assert created.status_code == 201, created.text

            def traced_on_device_1() -> bool:
                events = api.get("/api/v1/events", params={"device": "ips-001", "limit": 500})
                return any(e["packet_trace"] for e in events.json())

            wait_for("a traced event of ips-001 stored", traced_on_device_1)

            work = tmp_path / "site"
            (work / "garrison-data").mkdir(parents=True)
            (work / "garrison-data" / "demo-api-key").write_text(server.api_key + "\n")
            (work / "tests").symlink_to(ROOT / "tests")
            script = block.replace("https://127.0.0.1:10443", server.url(), 1)
            done = subprocess.run(
                ["bash", "-c", STRICT + script],
                cwd=work, capture_output=True, text=True, timeout=120,
                env={**os.environ, "LC_ALL": "C"},
            )  # fmt: skip
            assert done.returncode == 0, done.stderr + done.stdout

    out = done.stdout
    assert out.startswith("OK\n")
    assert "198.51.100.7,Reputation DV Score - Manual,90" in out
    assert "imported 2 entries" in out
    with open(work / "alerts.csv", newline="") as alerts:
        rows = list(csv.DictReader(alerts))
    assert rows and rows[0]["SEQUENCE_NUM"]
    with open(work / "signatures.csv", newline="") as signatures:
        assert {"ID", "NUM", "NAME"} <= set(next(csv.reader(signatures)))
    assert (work / "device-1.pcap").read_bytes()[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    assert '"collections"' in out
    with open(work / "scan.csv", newline="") as scan:
        assert next(csv.reader(scan))[:3] == ["VENDOR", "PRODUCT", "VERSION"]
    envelope = out[out.index("<?xml") : out.index("</smsResponse>") + len("</smsResponse>")]
    assert ET.fromstring(envelope.encode()).findtext("resultCode") == "0"
    assert out.rstrip().endswith("ips-001=false")
