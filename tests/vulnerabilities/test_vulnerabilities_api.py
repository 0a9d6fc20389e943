"""/api/v1/vulnerabilities on a real server: findings by address, CVE, severity and scan
with paging; the scans; deleting one; who may do what."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from garrison.auth import Principal, Role
from garrison.vulnerabilities.model import Runtime, Scan, make_finding
from garrison.vulnerabilities.service import VulnerabilityService
from tests.support import RunningServer, make_settings, start_server

SCAN = Scan("Tenable", "Nessus", "10.6.4", Runtime(1705309200000, 1705310406000))
ROWS = [
    ("192.0.2.10", "CRITICAL", "CVE-2021-44228,CVE-2021-45046", "156032"),
    ("192.0.2.10", "MEDIUM", "CVE-2014-3566", "78479"),
    ("192.0.2.11", "HIGH", "CVE-2012-2122", "59444"),
    ("2001:db8::25", "VERY LOW", "", "10287"),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(tmp_path_factory.mktemp("vulnapi") / "data", poller={"enabled": False})
    yield from start_server(settings)


@pytest.fixture
def scan_id(live: RunningServer) -> int:
    findings = [
        make_finding(
            ip_address=ip,
            severity=sev,
            cve_ids=cves,
            vulnerability_id=vid,
            scan_start=1705309202000,
        )
        for ip, sev, cves, vid in ROWS
    ]
    service = VulnerabilityService(live.services.store)
    return service.import_scan(Principal.local_cli(), SCAN, findings, format="Nessus").id


def key_for(live: RunningServer, role: Role) -> str:
    user = live.services.auth.create_user(
        Principal.local_cli(),
        username=f"u-{role}-{time.monotonic_ns()}",
        password="a long enough passphrase 1",
        role=role,
    )
    return live.services.auth.create_api_key(
        Principal.local_cli(), user_id=user.id, name="k"
    ).secret


def vulns(live: RunningServer, **params: object) -> list[dict[str, object]]:
    with live.admin() as api:
        answer = api.get("/api/v1/vulnerabilities", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_findings_by_address_cve_severity_and_scan(live: RunningServer, scan_id: int) -> None:
    mine = vulns(live, scan_id=scan_id)
    assert [f["vulnerability_id"] for f in mine] == ["156032", "78479", "59444", "10287"]
    first = mine[0]
    assert first["cve_ids"] == ["CVE-2021-44228", "CVE-2021-45046"]
    assert first["severity"] == "CRITICAL"
    assert first["scan_start"] == "2024-01-15T09:00:02Z"
    assert first["scan_id"] == scan_id
    by_host = vulns(live, scan_id=scan_id, address="192.0.2.10")
    assert [f["vulnerability_id"] for f in by_host] == ["156032", "78479"]
    by_block = vulns(live, scan_id=scan_id, address="192.0.2.0/24")
    assert {f["ip_address"] for f in by_block} == {"192.0.2.10", "192.0.2.11"}
    by_cve = vulns(live, scan_id=scan_id, cve="CVE-2012-2122")
    assert [f["ip_address"] for f in by_cve] == ["192.0.2.11"]
    severe = vulns(live, scan_id=scan_id, severity=["CRITICAL", "VERY LOW"])
    assert [f["severity"] for f in severe] == ["CRITICAL", "VERY LOW"]
    page = vulns(live, scan_id=scan_id, offset=1, limit=2)
    assert [f["vulnerability_id"] for f in page] == ["78479", "59444"]


def test_scans_are_listed_and_deleted(live: RunningServer, scan_id: int) -> None:
    with live.admin() as api:
        listed = api.get("/api/v1/vulnerabilities/scans").json()
        assert listed[0]["id"] == scan_id  # newest first
        shown = api.get(f"/api/v1/vulnerabilities/scans/{scan_id}").json()
        assert (shown["findings"], shown["hosts"], shown["format"]) == (4, 3, "Nessus")
        assert shown["runtime"] == "2024-01-15T09:00:00.000Z/2024-01-15T09:20:06.000Z"
        assert shown["runtime_start"] == "2024-01-15T09:00:00Z"
        assert api.delete(f"/api/v1/vulnerabilities/scans/{scan_id}").status_code == 204
        again = api.delete(f"/api/v1/vulnerabilities/scans/{scan_id}")
        assert again.status_code == 404
        assert again.json()["error"]["message"] == f"no vulnerability scan with id {scan_id}"
        assert api.get(f"/api/v1/vulnerabilities/scans/{scan_id}").status_code == 404
    assert vulns(live, scan_id=scan_id) == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"address": "192.0.2.300"}, "is not an IPv4 or IPv6 address or CIDR block"),
        ({"cve": "CVE-2021-1"}, "is not in the form CVE-YYYY-NNNN"),
        ({"severity": "URGENT"}, "severity"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_filters_answer_422(live: RunningServer, params: dict[str, str], reason: str) -> None:
    with live.admin() as api:
        answer = api.get("/api/v1/vulnerabilities", params=params)
    assert answer.status_code == 422
    assert reason in answer.json()["error"]["message"]


def test_auditors_read_but_may_not_delete_and_strangers_get_401(
    live: RunningServer, scan_id: int
) -> None:
    with live.client(key=key_for(live, Role.AUDITOR)) as auditor:
        assert auditor.get("/api/v1/vulnerabilities").status_code == 200
        assert auditor.get("/api/v1/vulnerabilities/scans").status_code == 200
        refused = auditor.delete(f"/api/v1/vulnerabilities/scans/{scan_id}")
        assert refused.status_code == 403
    with live.client(key=key_for(live, Role.OPERATOR)) as operator:
        assert operator.delete(f"/api/v1/vulnerabilities/scans/{scan_id}").status_code == 204
    with live.client() as stranger:
        assert stranger.get("/api/v1/vulnerabilities").status_code == 401
