"""Qualys scan results exported as CSV ("Qualys-CSV") as findings.

A Qualys scan CSV starts with a preamble (the report title, the company, the user, then a
``"Launch Date","Active Hosts",...,"Duration","Scan Title","Asset Groups",...`` line and its
values) before the results' header row::

    "IP","DNS","NetBIOS","OS","IP Status","QID","Title","Type","Severity","Port",
    "Protocol","FQDN","SSL","CVE ID","Vendor Reference",...

The header row is the first row with IP, QID, Title and Severity columns (in any order and
case; DNS, NetBIOS, FQDN, Port, Protocol, Type, CVE ID and Service are used when present).
A finding a result row: IP, host name (DNS, else FQDN, else NetBIOS), port, service
(Service, else Protocol), CVE ids (``CVE ID``, comma-separated), QID and title; the asset
group and the scan's start and end come from the preamble's Asset Groups, Launch Date and
Duration. Rows of type "Ig" (information gathered) are not vulnerabilities and are left
out.

Severity (Qualys 1-5): 5 urgent -> CRITICAL, 4 critical -> HIGH, 3 serious -> MEDIUM,
2 medium -> LOW, 1 minimal -> VERY LOW.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from garrison.vulnerabilities.model import Finding, ScanFileError, Severity, make_finding, ms_of

VENDOR = "Qualys"
PRODUCT = "Qualys VM"
SEVERITIES = {
    "5": Severity.CRITICAL,
    "4": Severity.HIGH,
    "3": Severity.MEDIUM,
    "2": Severity.LOW,
    "1": Severity.VERY_LOW,
}
REQUIRED = ("ip", "qid", "title", "severity")
INFORMATION = {"ig", "information gathered", "info"}
# "01/15/2024 at 09:00:00 (GMT+0000)"; the zone may be absent or "GMT-0500".
LAUNCH_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s*\(GMT\s*([+-])(\d{2}):?(\d{2})?\))?",
    re.IGNORECASE,
)
DURATION = re.compile(r"(\d+):(\d{2}):(\d{2})")


@dataclass
class _Preamble:
    asset_group: str = ""
    start: int | None = None
    end: int | None = None


def convert(data: bytes) -> Iterator[Finding]:
    """The findings of a Qualys scan CSV; ScanFileError (with the line) at the first fault."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # older exports are Windows-1252
    reader = csv.reader(io.StringIO(text, newline=""))
    preamble = _Preamble()
    columns: dict[str, int] | None = None
    launch_header: list[str] | None = None
    line = 1  # where the next record starts
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if columns is not None:
                finding = _finding(cells, columns, preamble, start)
                if finding is not None:
                    yield finding
            elif launch_header is not None:
                preamble = _preamble(launch_header, cells)
                launch_header = None
            elif "launch date" in (cell.lower() for cell in cells):
                launch_header = cells
            else:
                columns = _header(cells)
    except csv.Error as exc:
        raise ScanFileError(f"the file is not readable CSV ({exc})", reader.line_num) from None
    if columns is None:
        raise ScanFileError(
            "no results header row with IP, QID, Title and Severity columns: "
            "export the scan results from Qualys as CSV"
        )


def _header(cells: list[str]) -> dict[str, int] | None:
    names = {cell.lower(): index for index, cell in reversed(list(enumerate(cells)))}
    return names if all(name in names for name in REQUIRED) else None


def _preamble(names: list[str], values: list[str]) -> _Preamble:
    info = {name.lower(): value for name, value in zip(names, values, strict=False)}
    start = _launch_date(info.get("launch date", ""))
    duration = DURATION.fullmatch(info.get("duration", ""))
    end = None
    if start is not None and duration is not None:
        hours, minutes, seconds = (int(part) for part in duration.groups())
        end = start + ((hours * 60 + minutes) * 60 + seconds) * 1000
    return _Preamble(asset_group=info.get("asset groups", ""), start=start, end=end)


def _launch_date(text: str) -> int | None:
    match = LAUNCH_DATE.search(text)
    if match is None:
        return None
    month, day, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    offset = timedelta(hours=int(zone_h or 0), minutes=int(zone_m or 0))
    zone = timezone(-offset if sign == "-" else offset) if sign else UTC
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=zone
        )
    except ValueError:
        return None  # only informative: an odd date does not refuse the file
    return ms_of(moment)


def _finding(
    cells: list[str], columns: dict[str, int], preamble: _Preamble, line: int
) -> Finding | None:
    def cell(*names: str) -> str:
        for name in names:
            index = columns.get(name)
            if index is not None and index < len(cells) and cells[index]:
                return cells[index]
        return ""

    if cell("type").lower() in INFORMATION:
        return None
    severity = SEVERITIES.get(cell("severity"))
    if severity is None:
        raise ScanFileError(f"Severity {cell('severity')[:20]!r} is not 1 to 5", line)
    try:
        return make_finding(
            ip_address=cell("ip"),
            severity=severity,
            asset_group=preamble.asset_group,
            host_name=cell("dns", "fqdn", "netbios"),
            port=cell("port"),
            service=cell("service", "protocol"),
            cve_ids=cell("cve id"),
            vulnerability_id=cell("qid"),
            vulnerability_title=cell("title"),
            scan_start=preamble.start,
            scan_end=preamble.end,
        )
    except ValueError as exc:
        raise ScanFileError(str(exc), line) from None
