"""/api/v1 vulnerabilities: the findings of imported vulnerability scans (by address, CVE,
severity and scan), the scans, and deleting a scan. Scans come in through the Web
services (``vulnscanner/import`` and ``convert``).

Reading needs ``events.read``; deleting a scan needs ``web-services``, the capability that
imports them (see `garrison.vulnerabilities.service`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from garrison.api.deps import CurrentPrincipal, services
from garrison.api.routes import PathId, error_responses
from garrison.api.schemas import MAX_ID
from garrison.services import Services
from garrison.store.vulnerabilities import FindingRecord, ScanRecord
from garrison.vulnerabilities.model import Severity
from garrison.vulnerabilities.service import MAX_PAGE, VulnerabilityService

router = APIRouter(tags=["vulnerabilities"])


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


class FindingOut(BaseModel):
    scan_id: int
    ip_address: str
    mac_address: str
    host_name: str
    asset_group: str
    port: int | None
    service: str
    cve_ids: list[str]
    vulnerability_id: str
    vulnerability_title: str
    severity: Severity
    scan_start: datetime | None
    scan_end: datetime | None

    @classmethod
    def of(cls, record: FindingRecord) -> FindingOut:
        f = record.finding
        return cls(
            scan_id=record.scan_id,
            ip_address=f.ip_address,
            mac_address=f.mac_address,
            host_name=f.host_name,
            asset_group=f.asset_group,
            port=f.port,
            service=f.service,
            cve_ids=list(f.cve_ids),
            vulnerability_id=f.vulnerability_id,
            vulnerability_title=f.vulnerability_title,
            severity=f.severity,
            scan_start=_moment(f.scan_start),
            scan_end=_moment(f.scan_end),
        )


class ScanOut(BaseModel):
    id: int
    vendor: str
    product: str
    version: str
    format: str
    filename: str
    runtime: str
    runtime_start: datetime
    runtime_end: datetime | None
    findings: int
    hosts: int
    imported_by: str
    imported_at: datetime

    @classmethod
    def of(cls, record: ScanRecord) -> ScanOut:
        scan = record.scan
        start = _moment(scan.runtime.start)
        assert start is not None
        return cls(
            id=record.id,
            vendor=scan.vendor,
            product=scan.product,
            version=scan.version,
            format=record.format,
            filename=record.filename,
            runtime=scan.runtime.text(),
            runtime_start=start,
            runtime_end=_moment(scan.runtime.end),
            findings=record.findings,
            hosts=record.hosts,
            imported_by=record.imported_by,
            imported_at=record.imported_at,
        )


def _service(svc: Services) -> VulnerabilityService:
    return VulnerabilityService(svc.store)


@router.get("/vulnerabilities", response_model=list[FindingOut], responses=error_responses(403))
def list_findings(
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    address: str | None = Query(
        None, max_length=64, description="a host address or CIDR block", examples=["10.0.0.0/24"]
    ),
    cve: str | None = Query(None, max_length=32, examples=["CVE-2021-44228"]),
    severity: list[Severity] = Query(
        [], description="any of these (repeat the parameter); all when none"
    ),
    scan_id: int | None = Query(None, ge=1, le=MAX_ID),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
) -> list[FindingOut]:
    """Findings of every kept scan, in scan and row order; every filter given must match."""
    found = _service(svc).query(
        principal,
        address=address,
        cve=cve,
        severities=severity,
        scan_id=scan_id,
        offset=offset,
        limit=limit,
    )
    return [FindingOut.of(record) for record in found]


@router.get("/vulnerabilities/scans", response_model=list[ScanOut], responses=error_responses(403))
def list_scans(
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(100, ge=1, le=1000),
) -> list[ScanOut]:
    """Imported scans, newest first."""
    scans = _service(svc).list_scans(principal, offset=offset, limit=limit)
    return [ScanOut.of(record) for record in scans]


@router.get(
    "/vulnerabilities/scans/{scan_id}",
    response_model=ScanOut,
    responses=error_responses(403, 404),
)
def get_scan(
    scan_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> ScanOut:
    return ScanOut.of(_service(svc).get_scan(principal, scan_id))


@router.delete(
    "/vulnerabilities/scans/{scan_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(403, 404),
)
def delete_scan(
    scan_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> Response:
    """Delete a scan and all its findings (making room under the 10 million row limit)."""
    _service(svc).delete_scan(principal, scan_id)
    return Response(status_code=204)
