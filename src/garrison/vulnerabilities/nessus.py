"""Tenable Nessus ``.nessus`` files (format v2, ``NessusClientData_v2``) as findings.

    <NessusClientData_v2><Report name="...">
      <ReportHost name="10.0.0.5">
        <HostProperties><tag name="host-ip">10.0.0.5</tag> <tag name="host-fqdn">...</tag>
          <tag name="mac-address">...</tag> <tag name="HOST_START_TIMESTAMP">1705309202</tag>
          ...</HostProperties>
        <ReportItem port="443" svc_name="www" protocol="tcp" severity="2"
                    pluginID="51192" pluginName="SSL Certificate Cannot Be Trusted">
          <cve>CVE-2014-3566</cve> ...</ReportItem>

A finding a ``ReportItem``: the host's address (``host-ip``, else the ReportHost's name),
MAC (the first of ``mac-address``), name (``host-fqdn``, ``hostname``, ``netbios-name``),
the item's port (0, Nessus's "no port", is none), service (``svc_name``), CVE ids,
plugin id and name, and the host's scan start and end (the ``*_TIMESTAMP`` tags, epoch
seconds; else ``HOST_START``/``HOST_END`` as ctime text, read as UTC).

Severity (Nessus 0-4): 4 critical -> CRITICAL, 3 high -> HIGH, 2 medium -> MEDIUM,
1 low -> LOW, 0 info -> VERY LOW. An informational item (severity 0) without a CVE id is
information gathering, not a vulnerability ("Nessus Scan Information", "OS
Identification"), and is left out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

from garrison.vulnerabilities import xmlsource
from garrison.vulnerabilities.model import (
    Finding,
    ScanFileError,
    Severity,
    host_address,
    mac_address_of,
    make_finding,
    ms_of,
)
from garrison.vulnerabilities.xmlsource import attribute, line_of, text_of

VENDOR = "Tenable"
PRODUCT = "Nessus"
ROOT = "NessusClientData_v2"
SEVERITIES = {
    "4": Severity.CRITICAL,
    "3": Severity.HIGH,
    "2": Severity.MEDIUM,
    "1": Severity.LOW,
    "0": Severity.VERY_LOW,
}
HOST_NAME_TAGS = ("host-fqdn", "hostname", "netbios-name")
CTIME = "%a %b %d %H:%M:%S %Y"  # HOST_START: "Mon Jan 15 09:00:02 2024"


def convert(data: bytes) -> Iterator[Finding]:
    """The findings of a .nessus file; ScanFileError (with the line) at the first fault."""
    root = xmlsource.parse(data, "Nessus")
    if xmlsource.local_name(root.tag) != ROOT:
        raise ScanFileError(
            f"the root element is <{xmlsource.local_name(root.tag)[:40]}>, not <{ROOT}>: "
            "export the scan as a .nessus (v2) file",
            line_of(root),
        )
    for host in root.iter("ReportHost"):
        yield from _host(host)


def _host(host: ET.Element) -> Iterator[Finding]:
    tags = {
        attribute(tag, "name"): text_of(tag)
        for tag in host.findall("HostProperties/tag")
        if attribute(tag, "name")
    }
    name = attribute(host, "name")
    address = tags.get("host-ip") or name
    host_name = next((tags[t] for t in HOST_NAME_TAGS if tags.get(t)), "")
    if not host_name and name != address:
        host_name = name
    macs = tags.get("mac-address", "").split()  # one a line when the host has several
    try:
        common = {
            "ip_address": host_address(address),
            "mac_address": mac_address_of(macs[0] if macs else ""),
            "host_name": host_name,
            "scan_start": _moment(tags, "HOST_START"),
            "scan_end": _moment(tags, "HOST_END"),
        }
    except ValueError as exc:
        raise ScanFileError(f"ReportHost {name[:64]!r}: {exc}", line_of(host)) from None
    for item in host.iter("ReportItem"):
        severity = SEVERITIES.get(attribute(item, "severity"))
        if severity is None:
            raise ScanFileError(
                f"ReportItem severity {attribute(item, 'severity')[:20]!r} is not 0 to 4",
                line_of(item),
            )
        cves = [text_of(cve) for cve in item.findall("cve")]
        if severity is Severity.VERY_LOW and not cves:
            continue  # information gathering, not a vulnerability
        port = attribute(item, "port")
        try:
            yield make_finding(
                severity=severity,
                port=None if port in ("", "0") else port,
                service=attribute(item, "svc_name"),
                cve_ids=cves,
                vulnerability_id=attribute(item, "pluginID"),
                vulnerability_title=attribute(item, "pluginName"),
                **common,
            )
        except ValueError as exc:
            raise ScanFileError(f"ReportHost {name[:64]!r}: {exc}", line_of(item)) from None


def _moment(tags: dict[str, str], name: str) -> int | None:
    """A host's start or end in epoch ms; None when absent or unreadable (it is only
    informative, so a scanner's odd date does not refuse the file)."""
    stamp = tags.get(f"{name}_TIMESTAMP", "")
    if stamp.isascii() and stamp.isdigit() and len(stamp) <= 11:
        return int(stamp) * 1000
    try:
        return ms_of(datetime.strptime(tags.get(name, ""), CTIME).replace(tzinfo=UTC))
    except ValueError:
        return None
