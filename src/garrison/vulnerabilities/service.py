"""Vulnerability scans: import (all or nothing), query, list, delete; every change audited.

Capabilities: reading needs ``events.read`` (vulnerability findings are host security data
read beside the events, by every role that reads events); importing and deleting need
``web-services``, the capability of the only path scans come in by (``vulnscanner/*``).

The SMS's eVR holds at most 10 million host-and-vulnerability rows; an import that would
go over is refused (`Conflict`, "delete scans first"), as the SMS refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from garrison.auth import Capability, Principal
from garrison.auth.audit import audited
from garrison.errors import Conflict, Invalid, NotFound
from garrison.events.addresses import Network, parse_network
from garrison.store import Store
from garrison.store.models import utcnow
from garrison.store.vulnerabilities import (
    FindingFilters,
    FindingRecord,
    ScanRecord,
    Vulnerabilities,
)
from garrison.vulnerabilities.model import CVE, Finding, Scan, Severity, Tally

MAX_FINDINGS = 10_000_000  # host x vulnerability rows the store holds (facts sheet §5)
MAX_PAGE = 10_000


class VulnerabilityService:
    def __init__(self, store: Store, *, limit: int | None = None) -> None:
        self.store = store
        self.limit = MAX_FINDINGS if limit is None else limit

    # -- importing ----------------------------------------------------------------------

    def import_scan(
        self,
        actor: Principal,
        scan: Scan,
        findings: Iterable[Finding],
        *,
        format: str,
        filename: str = "",
        expected: int | None = None,
    ) -> ScanRecord:
        """Keep ``scan`` and its ``findings`` in one transaction: all or nothing. The
        findings are streamed; an error they raise (a bad row) rolls everything back.
        ``expected`` (the row count, when known) lets an over-limit import be refused
        before anything is written."""
        actor.require(Capability.WEB_SERVICES)
        with self.store.transaction() as tx:
            room = self.limit - Vulnerabilities(tx.session).total_findings()
        if expected is not None and expected > room:
            raise self._full(str(expected), room)
        tally = Tally()
        with self.store.write_turn(), self.store.transaction() as tx:
            store = Vulnerabilities(tx.session)
            # Counted again inside the transaction: another import may have landed.
            room = self.limit - store.total_findings()
            scan_id = store.add_scan(
                scan,
                format=format,
                filename=filename[:255],
                imported_by=actor.username[:64],
                now=utcnow(),
            )
            store.add_findings(scan_id, self._counted(findings, tally, room))
            store.set_counts(scan_id, findings=tally.rows, hosts=len(tally.hosts))
            # One audit line for the whole import, in its commit, with what it did.
            tx.audit.add(
                actor=actor.username,
                action="vulnerabilities.import",
                target=f"scan:{scan_id}",
                client_address=actor.client_address,
                detail=json.dumps(
                    {
                        "format": format,
                        "filename": filename,
                        "findings": tally.rows,
                        "hosts": len(tally.hosts),
                    }
                ),
            )
            record = store.scan(scan_id)
        assert record is not None
        return record

    def _counted(self, findings: Iterable[Finding], tally: Tally, room: int) -> Iterator[Finding]:
        for finding in findings:
            tally.add(finding)
            if tally.rows > room:
                raise self._full(f"over {max(room, 0)}", room)  # stopped at the first row over
            yield finding

    def _full(self, rows: str, room: int) -> Conflict:
        return Conflict(
            f"the scan has {rows} rows and the store has "
            f"room for {max(room, 0)} of its {self.limit} host/vulnerability rows; "
            "delete scans first"
        )

    # -- reading ------------------------------------------------------------------------

    def query(
        self,
        actor: Principal,
        *,
        address: str | None = None,
        cve: str | None = None,
        severities: Iterable[Severity | str] = (),
        scan_id: int | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[FindingRecord]:
        """Findings in (scan, row) order; ``address`` is a host or a CIDR block."""
        actor.require(Capability.EVENTS_READ)
        filters = FindingFilters(
            network=_network(address),
            cve=_cve(cve),
            severities=_severities(severities),
            scan_id=scan_id,
        )
        with self.store.transaction() as tx:
            return Vulnerabilities(tx.session).query(
                filters, offset=max(offset, 0), limit=min(max(limit, 1), MAX_PAGE)
            )

    def list_scans(
        self, actor: Principal, *, offset: int = 0, limit: int = 100
    ) -> list[ScanRecord]:
        """Newest first."""
        actor.require(Capability.EVENTS_READ)
        with self.store.transaction() as tx:
            return Vulnerabilities(tx.session).scans(
                offset=max(offset, 0), limit=min(max(limit, 1), MAX_PAGE)
            )

    def get_scan(self, actor: Principal, scan_id: int) -> ScanRecord:
        actor.require(Capability.EVENTS_READ)
        with self.store.transaction() as tx:
            record = Vulnerabilities(tx.session).scan(scan_id)
        if record is None:
            raise NotFound(f"no vulnerability scan with id {scan_id}")
        return record

    # -- deleting -----------------------------------------------------------------------

    def delete_scan(self, actor: Principal, scan_id: int) -> ScanRecord:
        """Delete a scan and all its findings; the scan as it was."""
        actor.require(Capability.WEB_SERVICES)
        record = self.get_scan(actor, scan_id)
        detail: dict[str, Any] = {"findings": record.findings, "hosts": record.hosts}
        with (
            self.store.write_turn(),
            audited(self.store, actor, "vulnerabilities.delete", f"scan:{scan_id}", **detail) as tx,
        ):
            if not Vulnerabilities(tx.session).delete_scan(scan_id):
                raise NotFound(f"no vulnerability scan with id {scan_id}")
        return record


def _network(address: str | None) -> Network | None:
    if address is None or not address.strip():
        return None
    try:
        return parse_network(address)
    except ValueError:
        raise Invalid(
            f"address {address[:64]!r} is not an IPv4 or IPv6 address or CIDR block"
        ) from None


def _cve(cve: str | None) -> str | None:
    if cve is None or not cve.strip():
        return None
    if not CVE.fullmatch(cve.strip()):
        raise Invalid(f"cve {cve[:64]!r} is not in the form CVE-YYYY-NNNN")
    return cve.strip().upper()


def _severities(values: Iterable[Severity | str]) -> tuple[Severity, ...]:
    found: dict[Severity, None] = {}
    for value in values:
        try:
            found[value if isinstance(value, Severity) else Severity.parse(value)] = None
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    return tuple(found)
