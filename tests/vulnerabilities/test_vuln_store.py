"""Vulnerability scans in the store on SQLite, PostgreSQL and MariaDB, through the service:
queries by host, block, CVE, severity and scan with paging; all-or-nothing imports across
insert batches; the 10-million-row cap; deleting; capabilities; the migration."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from garrison.auth import Principal, Role
from garrison.errors import Conflict, Forbidden, Invalid, NotFound
from garrison.store import Store
from garrison.store.models import Base
from garrison.store.vulnerabilities import CHUNK, CVES, FINDINGS, SCANS
from garrison.vulnerabilities.model import Finding, Runtime, Scan, Severity, make_finding
from garrison.vulnerabilities.service import VulnerabilityService

ME = Principal.local_cli()
OPERATOR = Principal(username="op", role=Role.OPERATOR, via="cli")
AUDITOR = Principal(username="aud", role=Role.AUDITOR, via="cli")
SCAN = Scan("Tenable", "Nessus", "10.6.4", Runtime(1705309200000, 1705310406000))
TABLES = ("vulnerability_scans", "vulnerability_findings", "vulnerability_cves")


def finding(ip: str, vuln: str, severity: str = "HIGH", cves: str = "") -> Finding:
    return make_finding(
        ip_address=ip, severity=severity, vulnerability_id=vuln, cve_ids=cves, port="443"
    )


SAMPLE = [
    finding("192.0.2.10", "156032", "CRITICAL", "CVE-2021-44228,CVE-2021-45046"),
    finding("192.0.2.10", "78479", "MEDIUM", "CVE-2014-3566"),
    finding("192.0.2.11", "59444", "HIGH", "CVE-2012-2122"),
    finding("198.51.100.7", "156032", "CRITICAL", "CVE-2021-44228"),
    finding("2001:db8::25", "70658", "LOW"),
    finding("2001:db8::26", "10287", "VERY LOW"),
]


@pytest.fixture
def service(store: Store) -> VulnerabilityService:
    return VulnerabilityService(store)


def count(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def ids(found: list) -> list[tuple[str, str]]:
    return [(r.finding.ip_address, r.finding.vulnerability_id) for r in found]


def test_the_migration_builds_exactly_these_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(table in repr(d) for table in TABLES)]
    assert ours == []
    indexes = {
        tuple(ix["column_names"])
        for table in TABLES[1:]
        for ix in inspect(store.engine).get_indexes(table)
    }
    assert {("addr_hi", "addr_lo"), ("cve",)} <= indexes


def test_an_imported_scan_is_kept_and_counted(store: Store, service: VulnerabilityService) -> None:
    record = service.import_scan(
        OPERATOR, SCAN, SAMPLE, format="SMS-Standard", filename="dmz.csv", expected=6
    )
    assert (record.findings, record.hosts) == (6, 5)
    assert record.scan == SCAN
    assert (record.format, record.filename, record.imported_by) == ("SMS-Standard", "dmz.csv", "op")
    assert service.get_scan(AUDITOR, record.id) == record
    stored = service.query(AUDITOR, scan_id=record.id)
    assert [r.finding for r in stored] == SAMPLE  # every field back, in file order
    with store.transaction() as tx:
        audit = tx.audit.query(action="vulnerabilities.import")
    assert audit[0].target == f"scan:{record.id}"
    assert json.loads(audit[0].detail)["findings"] == 6


def test_queries_by_host_block_cve_severity_and_scan(service: VulnerabilityService) -> None:
    first = service.import_scan(ME, SCAN, SAMPLE, format="Nessus")
    second = service.import_scan(ME, SCAN, SAMPLE[:2], format="Nessus")
    assert ids(service.query(AUDITOR, address="192.0.2.10", scan_id=first.id)) == [
        ("192.0.2.10", "156032"),
        ("192.0.2.10", "78479"),
    ]
    assert len(service.query(AUDITOR, address="192.0.2.10")) == 4  # both scans
    assert {r.finding.ip_address for r in service.query(AUDITOR, address="192.0.2.0/24")} == {
        "192.0.2.10",
        "192.0.2.11",
    }
    assert ids(service.query(AUDITOR, address="2001:db8::/64")) == [
        ("2001:db8::25", "70658"),
        ("2001:db8::26", "10287"),
    ]
    log4shell = service.query(AUDITOR, cve="cve-2021-44228")
    assert [(r.scan_id, r.finding.ip_address) for r in log4shell] == [
        (first.id, "192.0.2.10"),
        (first.id, "198.51.100.7"),
        (second.id, "192.0.2.10"),
    ]
    assert ids(service.query(AUDITOR, cve="CVE-2021-45046", address="192.0.2.10/32")) == [
        ("192.0.2.10", "156032"),
        ("192.0.2.10", "156032"),
    ]
    low = service.query(AUDITOR, severities=["low", Severity.VERY_LOW], scan_id=first.id)
    assert [r.finding.severity for r in low] == [Severity.LOW, Severity.VERY_LOW]
    assert service.query(AUDITOR, address="203.0.113.0/24") == []
    assert service.query(AUDITOR, scan_id=999) == []


def test_paging_walks_every_row_once(service: VulnerabilityService) -> None:
    many = [finding(f"10.0.{i // 250}.{i % 250}", f"v{i}") for i in range(CHUNK + 37)]
    record = service.import_scan(ME, SCAN, iter(many), format="SMS-Standard")
    assert record.findings == CHUNK + 37
    pages = [service.query(AUDITOR, offset=o, limit=400) for o in range(0, CHUNK + 37, 400)]
    assert [len(p) for p in pages] == [400, 400, 237]
    assert [r.finding for page in pages for r in page] == many
    assert service.query(AUDITOR, offset=CHUNK + 37) == []


def test_scans_are_listed_newest_first(service: VulnerabilityService) -> None:
    made = [service.import_scan(ME, SCAN, SAMPLE[:n], format="Nessus").id for n in (1, 2, 3)]
    assert [s.id for s in service.list_scans(AUDITOR)] == made[::-1]
    assert [s.findings for s in service.list_scans(AUDITOR, offset=1, limit=1)] == [2]


def test_a_failing_import_keeps_nothing_even_after_whole_batches(
    store: Store, service: VulnerabilityService
) -> None:
    def rows() -> Iterator[Finding]:
        for i in range(2 * CHUNK + 500):
            if i == 2 * CHUNK + 400:
                raise ValueError("line 2402: a bad row")
            yield finding("10.1.0.1", f"v{i}", cves="CVE-2020-0001")

    with pytest.raises(ValueError, match="line 2402"):
        service.import_scan(ME, SCAN, rows(), format="SMS-Standard")
    assert [count(store, t) for t in (SCANS, FINDINGS, CVES)] == [0, 0, 0]
    with store.transaction() as tx:
        assert tx.audit.query(action="vulnerabilities.import") == []


def test_the_row_cap_refuses_an_import_and_keeps_nothing(store: Store) -> None:
    service = VulnerabilityService(store, limit=8)
    service.import_scan(ME, SCAN, SAMPLE, format="Nessus")  # 6 of 8
    with pytest.raises(Conflict, match=r"room for 2 of its 8 .* delete scans first"):
        service.import_scan(ME, SCAN, SAMPLE[:3], format="Nessus", expected=3)
    # Without a count given, the stream is stopped at the first row over.
    with pytest.raises(Conflict, match="over 2 rows"):
        service.import_scan(ME, SCAN, SAMPLE[:3], format="Nessus")
    assert count(store, FINDINGS) == 6
    assert service.import_scan(ME, SCAN, SAMPLE[:2], format="Nessus").findings == 2


def test_deleting_a_scan_deletes_its_findings_and_makes_room(store: Store) -> None:
    service = VulnerabilityService(store, limit=6)
    first = service.import_scan(ME, SCAN, SAMPLE, format="Nessus")
    gone = service.delete_scan(OPERATOR, first.id)
    assert gone.id == first.id
    assert [count(store, t) for t in (SCANS, FINDINGS, CVES)] == [0, 0, 0]
    with pytest.raises(NotFound, match=f"no vulnerability scan with id {first.id}"):
        service.delete_scan(OPERATOR, first.id)
    assert service.import_scan(ME, SCAN, SAMPLE, format="Nessus").findings == 6
    with store.transaction() as tx:
        deleted = tx.audit.query(action="vulnerabilities.delete")
    assert deleted[0].target == f"scan:{first.id}"


def test_auditors_read_but_may_not_import_or_delete(service: VulnerabilityService) -> None:
    record = service.import_scan(ME, SCAN, SAMPLE[:1], format="Nessus")
    assert len(service.query(AUDITOR)) == 1
    with pytest.raises(Forbidden):
        service.import_scan(AUDITOR, SCAN, SAMPLE, format="Nessus")
    with pytest.raises(Forbidden):
        service.delete_scan(AUDITOR, record.id)


@pytest.mark.parametrize(
    ("filters", "reason"),
    [
        ({"address": "10.0.0.300"}, "is not an IPv4 or IPv6 address or CIDR block"),
        ({"cve": "CVE-2021"}, "is not in the form CVE-YYYY-NNNN"),
        ({"severities": ["urgent"]}, "is not one of CRITICAL"),
    ],
)
def test_bad_filters_are_invalid(
    service: VulnerabilityService, filters: dict[str, object], reason: str
) -> None:
    with pytest.raises(Invalid, match=reason):
        service.query(AUDITOR, **filters)  # type: ignore[arg-type]
