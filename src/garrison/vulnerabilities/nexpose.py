"""Rapid7 Nexpose / InsightVM "XML Export 2.0" reports as findings.

    <NexposeReport version="2.0">
      <scans><scan id="7" startTime="20240115T090000123" endTime="..." .../></scans>
      <nodes><node address="10.0.0.5" hardware-address="005056A1B2C3" site-name="HQ">
          <names><name>web01.example.com</name></names>
          <tests><test id="ssh-weak-kex" status="vulnerable-version" scan-id="7"/></tests>
          <endpoints><endpoint protocol="tcp" port="443" status="open">
            <services><service name="HTTPS"><tests><test id="..." status="..."/>...
      </node></nodes>
      <VulnerabilityDefinitions>
        <vulnerability id="ssh-weak-kex" title="..." severity="4" cvssScore="5.3">
          <references><reference source="CVE">CVE-2015-4000</reference>...</references>
      </vulnerability></VulnerabilityDefinitions>

A finding a test whose status is ``vulnerable-*`` (exploited, version, potential), on the
node (no port) or on an endpoint's service (its port and service name): the node's
address, MAC (``hardware-address``), first name, and site (as the asset group); the
definition's id, title and CVE references; the times of the test's scan (or of the
report's only scan), ``yyyyMMdd'T'HHmmssSSS`` read as UTC.

Severity: the definition's ``cvssScore`` (else its ``severity``, Nexpose's 1-10 rating)
in the NVD bands of `model.severity_of_score`: 9-10 CRITICAL, 7-8.9 HIGH, 4-6.9 MEDIUM,
0.1-3.9 LOW, 0 VERY LOW.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from garrison.vulnerabilities import xmlsource
from garrison.vulnerabilities.model import (
    Finding,
    ScanFileError,
    Severity,
    cve_list,
    host_address,
    mac_address_of,
    make_finding,
    ms_of,
    severity_of_score,
)
from garrison.vulnerabilities.xmlsource import attribute, line_of, text_of

VENDOR = "Rapid7"
PRODUCT = "Nexpose"
ROOT = "NexposeReport"
VULNERABLE = "vulnerable"  # the prefix of the statuses that are findings
STAMP = "%Y%m%dT%H%M%S"  # then three digits of milliseconds


@dataclass(frozen=True, slots=True)
class _Definition:
    id: str
    title: str
    severity: Severity
    cves: tuple[str, ...]


def convert(data: bytes) -> Iterator[Finding]:
    """The findings of a Nexpose XML 2.0 report; ScanFileError (with the line) at the
    first fault."""
    root = xmlsource.parse(data, "Nexpose")
    name = xmlsource.local_name(root.tag)
    if name != ROOT:
        raise ScanFileError(
            f"the root element is <{name[:40]}>, not <{ROOT}>: "
            "export the report from Nexpose as XML Export 2.0",
            line_of(root),
        )
    version = attribute(root, "version")
    if version and not version.startswith("2."):
        raise ScanFileError(
            f"Nexpose XML version {version[:10]!r} is not supported; export as XML Export 2.0",
            line_of(root),
        )
    definitions = _definitions(root)
    scans = _scans(root)
    for node in root.iter("node"):
        yield from _node(node, definitions, scans)


def _definitions(root: ET.Element) -> dict[str, _Definition]:
    found: dict[str, _Definition] = {}
    for vulnerability in root.iterfind("VulnerabilityDefinitions/vulnerability"):
        original = attribute(vulnerability, "id")
        key = original.lower()
        score = _score(vulnerability)
        cves = [
            text_of(reference)
            for reference in vulnerability.iterfind("references/reference")
            if attribute(reference, "source").upper() == "CVE"
        ]
        title = attribute(vulnerability, "title") or key
        try:
            found[key] = _Definition(original, title, severity_of_score(score), cve_list(cves))
        except ValueError as exc:
            raise ScanFileError(
                f"vulnerability {key[:64]!r}: {exc}", line_of(vulnerability)
            ) from None
    return found


def _score(vulnerability: ET.Element) -> float:
    for name in ("cvssScore", "severity"):
        text = attribute(vulnerability, name)
        try:
            score = float(text)
        except ValueError:
            continue
        if 0.0 <= score <= 10.0:
            return score
    raise ScanFileError(
        f"vulnerability {attribute(vulnerability, 'id')[:64]!r} has neither a cvssScore nor "
        "a severity from 0 to 10",
        line_of(vulnerability),
    )


def _scans(root: ET.Element) -> dict[str, tuple[int | None, int | None]]:
    return {
        attribute(scan, "id"): (
            _stamp(attribute(scan, "startTime")),
            _stamp(attribute(scan, "endTime")),
        )
        for scan in root.iterfind("scans/scan")
    }


def _stamp(text: str) -> int | None:
    """``20240115T090000123`` in epoch ms; None when absent or unreadable (informative
    only, so an odd time does not refuse the file)."""
    try:
        moment = datetime.strptime(text[:15], STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    millis = text[15:18]
    return ms_of(moment) + (int(millis) if millis.isascii() and millis.isdigit() else 0)


def _node(
    node: ET.Element,
    definitions: dict[str, _Definition],
    scans: dict[str, tuple[int | None, int | None]],
) -> Iterator[Finding]:
    address = attribute(node, "address")
    try:
        common = {
            "ip_address": host_address(address),
            "mac_address": mac_address_of(attribute(node, "hardware-address")),
            "host_name": next((text_of(n) for n in node.iterfind("names/name") if text_of(n)), ""),
            "asset_group": attribute(node, "site-name"),
        }
    except ValueError as exc:
        raise ScanFileError(f"node {address[:64]!r}: {exc}", line_of(node)) from None
    only_scan = next(iter(scans.values())) if len(scans) == 1 else (None, None)
    places: list[tuple[ET.Element, str, str]] = [(node, "", "")]
    for endpoint in node.iterfind("endpoints/endpoint"):
        for service in endpoint.iterfind("services/service"):
            places.append((service, attribute(endpoint, "port"), attribute(service, "name")))
    for place, port, service_name in places:
        for test in place.iterfind("tests/test"):
            if not attribute(test, "status").lower().startswith(VULNERABLE):
                continue
            key = attribute(test, "id").lower()
            definition = definitions.get(key)
            if definition is None:
                raise ScanFileError(
                    f"test {key[:64]!r} of node {address[:64]!r} has no vulnerability "
                    "definition in the report",
                    line_of(test),
                )
            start, end = scans.get(attribute(test, "scan-id"), only_scan)
            try:
                yield make_finding(
                    severity=definition.severity,
                    port=port,
                    service=service_name,
                    cve_ids=definition.cves,
                    vulnerability_id=definition.id,
                    vulnerability_title=definition.title,
                    scan_start=start,
                    scan_end=end,
                    **common,
                )
            except ValueError as exc:
                raise ScanFileError(f"node {address[:64]!r}: {exc}", line_of(test)) from None
