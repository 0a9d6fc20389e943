"""Vulnerability scans and their findings (the SMS's eVR data), for up to ten million
host-and-vulnerability rows.

- ``vulnerability_scans``: one row a scan (vendor, product, version, runtime in epoch ms,
  the file's format and name, who imported it and when, and its row and host counts, so
  the total the store holds is a sum over this small table, not a count of millions).
- ``vulnerability_findings``: one row a finding, keyed by (scan, sequence number in the
  scan), so an import writes plain batched inserts and needs no keys back. The address is
  kept as text and as the two biased 64-bit halves the events table uses
  (`garrison.store.events.split_number`), indexed, so a host or a CIDR block is a range
  seek on every backend.
- ``vulnerability_cves``: one row a (finding, CVE id), indexed by CVE id: "who has
  CVE-2021-44228" is an index seek and a join on the findings' key.

`garrison.store.models` imports this module at its end, so Alembic sees these tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from garrison.events.addresses import Network, address_number
from garrison.store.events import _in_network, split_number
from garrison.store.models import Base, UTCDateTime
from garrison.vulnerabilities.model import (
    ASSET_GROUP_LENGTH,
    HOST_NAME_LENGTH,
    PRODUCT_LENGTH,
    SERVICE_LENGTH,
    TITLE_LENGTH,
    VENDOR_LENGTH,
    VERSION_LENGTH,
    VULNERABILITY_ID_LENGTH,
    Finding,
    Runtime,
    Scan,
    Severity,
)

CHUNK = 1000  # findings an INSERT batch: bounded memory, few round trips


class VulnerabilityScanRow(Base):
    __tablename__ = "vulnerability_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor: Mapped[str] = mapped_column(String(VENDOR_LENGTH))
    product: Mapped[str] = mapped_column(String(PRODUCT_LENGTH))
    version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    runtime_start: Mapped[int] = mapped_column(BigInteger)  # epoch ms
    runtime_end: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    format: Mapped[str] = mapped_column(String(16))  # SMS-Standard, Nessus, Qualys-CSV, ...
    filename: Mapped[str] = mapped_column(String(255))
    findings: Mapped[int] = mapped_column(BigInteger)
    hosts: Mapped[int] = mapped_column(BigInteger)
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class VulnerabilityFindingRow(Base):
    __tablename__ = "vulnerability_findings"
    __table_args__ = (Index("ix_vulnerability_findings_address", "addr_hi", "addr_lo"),)

    scan_id: Mapped[int] = mapped_column(
        ForeignKey("vulnerability_scans.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ip_address: Mapped[str] = mapped_column(String(64))
    addr_hi: Mapped[int] = mapped_column(BigInteger)
    addr_lo: Mapped[int] = mapped_column(BigInteger)
    mac_address: Mapped[str] = mapped_column(String(17))
    host_name: Mapped[str] = mapped_column(String(HOST_NAME_LENGTH))
    asset_group: Mapped[str] = mapped_column(String(ASSET_GROUP_LENGTH))
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    service: Mapped[str] = mapped_column(String(SERVICE_LENGTH))
    cve_ids: Mapped[str] = mapped_column(Text)  # comma-separated, as the CSV has them
    vulnerability_id: Mapped[str] = mapped_column(String(VULNERABILITY_ID_LENGTH))
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    severity: Mapped[str] = mapped_column(String(8))
    scan_start: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # epoch ms
    scan_end: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class VulnerabilityCveRow(Base):
    __tablename__ = "vulnerability_cves"
    __table_args__ = (
        ForeignKeyConstraint(
            ["scan_id", "seq"],
            ["vulnerability_findings.scan_id", "vulnerability_findings.seq"],
            ondelete="CASCADE",
        ),
    )

    scan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cve: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


SCANS = VulnerabilityScanRow.__table__
FINDINGS = VulnerabilityFindingRow.__table__
CVES = VulnerabilityCveRow.__table__
S, F, C = SCANS.c, FINDINGS.c, CVES.c


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanRecord:
    id: int
    scan: Scan
    format: str
    filename: str
    findings: int
    hosts: int
    imported_by: str
    imported_at: datetime


@dataclass(frozen=True, slots=True)
class FindingRecord:
    scan_id: int
    seq: int
    finding: Finding


@dataclass(frozen=True, slots=True)
class FindingFilters:
    """Findings to find: every filter given must match."""

    network: Network | None = None  # a host (/32, /128) or a CIDR block
    cve: str | None = None  # canonical: upper case
    severities: tuple[Severity, ...] = ()
    scan_id: int | None = None


def _scan_record(row: Any) -> ScanRecord:
    return ScanRecord(
        id=row.id,
        scan=Scan(
            vendor=row.vendor,
            product=row.product,
            version=row.version,
            runtime=Runtime(row.runtime_start, row.runtime_end),
        ),
        format=row.format,
        filename=row.filename,
        findings=row.findings,
        hosts=row.hosts,
        imported_by=row.imported_by,
        imported_at=row.imported_at,
    )


def _finding_record(row: Any) -> FindingRecord:
    return FindingRecord(
        scan_id=row.scan_id,
        seq=row.seq,
        finding=Finding(
            ip_address=row.ip_address,
            severity=Severity(row.severity),
            asset_group=row.asset_group,
            mac_address=row.mac_address,
            host_name=row.host_name,
            port=row.port,
            service=row.service,
            cve_ids=tuple(row.cve_ids.split(",")) if row.cve_ids else (),
            vulnerability_id=row.vulnerability_id,
            vulnerability_title=row.title,
            scan_start=row.scan_start,
            scan_end=row.scan_end,
        ),
    )


def _finding_row(scan_id: int, seq: int, finding: Finding) -> dict[str, Any]:
    hi, lo = split_number(address_number(finding.ip_address))
    return {
        "scan_id": scan_id,
        "seq": seq,
        "ip_address": finding.ip_address,
        "addr_hi": hi,
        "addr_lo": lo,
        "mac_address": finding.mac_address,
        "host_name": finding.host_name,
        "asset_group": finding.asset_group,
        "port": finding.port,
        "service": finding.service,
        "cve_ids": ",".join(finding.cve_ids),
        "vulnerability_id": finding.vulnerability_id,
        "title": finding.vulnerability_title,
        "severity": finding.severity.value,
        "scan_start": finding.scan_start,
        "scan_end": finding.scan_end,
    }


def _chunks(items: Iterable[Finding], size: int) -> Iterator[list[Finding]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _conditions(filters: FindingFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.network is not None:
        where.append(_in_network(F.addr_hi, F.addr_lo, filters.network))
    if filters.severities:
        where.append(F.severity.in_([s.value for s in filters.severities]))
    if filters.scan_id is not None:
        where.append(F.scan_id == filters.scan_id)
    return where


# -- repository ---------------------------------------------------------------------------


class Vulnerabilities:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_scan(
        self, scan: Scan, *, format: str, filename: str, imported_by: str, now: datetime
    ) -> int:
        """A new scan without findings yet; its id."""
        result = self._session.execute(
            insert(SCANS).values(
                vendor=scan.vendor,
                product=scan.product,
                version=scan.version,
                runtime_start=scan.runtime.start,
                runtime_end=scan.runtime.end,
                format=format,
                filename=filename,
                findings=0,
                hosts=0,
                imported_by=imported_by,
                imported_at=now,
            )
        )
        return int(result.inserted_primary_key[0])

    def add_findings(
        self, scan_id: int, findings: Iterable[Finding], *, first_seq: int = 1, chunk: int = CHUNK
    ) -> int:
        """Insert ``findings`` (streamed, ``chunk`` at a time); how many there were."""
        seq = first_seq
        for batch in _chunks(findings, chunk):
            rows = [_finding_row(scan_id, seq + i, f) for i, f in enumerate(batch)]
            cves = [
                {"scan_id": scan_id, "seq": row["seq"], "cve": cve}
                for row, finding in zip(rows, batch, strict=True)
                for cve in finding.cve_ids
            ]
            self._session.execute(insert(FINDINGS), rows)
            if cves:
                self._session.execute(insert(CVES), cves)
            seq += len(batch)
        return seq - first_seq

    def set_counts(self, scan_id: int, *, findings: int, hosts: int) -> None:
        self._session.execute(
            update(SCANS).where(S.id == scan_id).values(findings=findings, hosts=hosts)
        )

    def scan(self, scan_id: int) -> ScanRecord | None:
        row = self._session.execute(select(SCANS).where(S.id == scan_id)).first()
        return None if row is None else _scan_record(row)

    def scans(self, *, offset: int = 0, limit: int = 100) -> list[ScanRecord]:
        """Newest first."""
        rows = self._session.execute(
            select(SCANS).order_by(S.id.desc()).offset(offset).limit(limit)
        )
        return [_scan_record(row) for row in rows]

    def total_findings(self) -> int:
        """Rows held over every scan (a sum over the scans table)."""
        return int(self._session.execute(select(func.coalesce(func.sum(S.findings), 0))).scalar())

    def query(
        self, filters: FindingFilters, *, offset: int = 0, limit: int = 100
    ) -> list[FindingRecord]:
        """Findings matching ``filters`` in (scan, sequence) order."""
        statement = select(FINDINGS).where(*_conditions(filters))
        if filters.cve is not None:
            statement = statement.join(
                CVES, and_(C.scan_id == F.scan_id, C.seq == F.seq, C.cve == filters.cve)
            )
        statement = statement.order_by(F.scan_id, F.seq).offset(offset).limit(limit)
        return [_finding_record(row) for row in self._session.execute(statement)]

    def delete_scan(self, scan_id: int) -> bool:
        """Delete a scan and its findings; whether it existed. The children go first, by
        index, so no backend walks a cascade row by row."""
        self._session.execute(delete(CVES).where(C.scan_id == scan_id))
        self._session.execute(delete(FINDINGS).where(F.scan_id == scan_id))
        return bool(self._session.execute(delete(SCANS).where(S.id == scan_id)).rowcount)
