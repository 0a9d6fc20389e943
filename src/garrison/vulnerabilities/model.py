"""Vulnerability scans as the SMS's eVR keeps them: a scan (who scanned, with what, when)
and its findings, one a host and vulnerability (facts sheet §1.2 "Vulnerability scans").

Every file format (the SMS-Standard CSV, Nessus, Qualys, Nexpose) ends up as `Finding`
values made by `make_finding`, so the rules of a finding (a real IP address, CVE ids as
``CVE-YYYY-NNNN``, one of the five severities) live here once. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from garrison.responder.addresses import mac_or_empty

# Column sizes of the store, and so of a finding. Free text longer than these is cut (it is
# for people to read); an identifier that does not fit is refused.
VENDOR_LENGTH = 64
PRODUCT_LENGTH = 128
VERSION_LENGTH = 64
ASSET_GROUP_LENGTH = 255
HOST_NAME_LENGTH = 255
SERVICE_LENGTH = 128
VULNERABILITY_ID_LENGTH = 255
TITLE_LENGTH = 2048
MAX_CVES = 1000  # CVE ids a finding: keeps a written row far below the 64 KiB row limit
# Epoch milliseconds before the year 10000: the dates a timestamp column can hold.
MAX_EPOCH_MS = 253_402_300_800_000

CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
# Splits a CVE list: the SMS writes "CVE-1,CVE-2"; scanners add spaces or use semicolons.
CVE_SEPARATORS = re.compile(r"[\s,;]+")
# Control characters (Unicode category Cc: line ends, NUL...) and the double quote.
UNCLEAN = re.compile(r'[\x00-\x1f\x7f-\x9f"]')
RUNTIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z", re.IGNORECASE
)


class Severity(StrEnum):
    """The five severities of the SMS-Standard format, most urgent first."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    VERY_LOW = "VERY LOW"

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``high``, ``Very Low``, ``VERY_LOW`` -> the severity; ValueError otherwise."""
        key = " ".join(text.replace("_", " ").split()).upper()
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"severity {_shown(text)} is not one of {names}") from None


def severity_of_score(score: float) -> Severity:
    """A 0-10 score (CVSS, or a vendor's 1-10 rating) in the NVD's qualitative bands:
    9.0-10 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low, 0 ("none") very low."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.VERY_LOW


class ScanFileError(ValueError):
    """A scan file that cannot be imported; ``line`` is 1-based when the fault has one.
    The message is one line, for the caller."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability found on one host: a row of the SMS-Standard CSV. Times are epoch
    milliseconds; text is clean (see `clean_text`)."""

    ip_address: str
    severity: Severity
    asset_group: str = ""
    mac_address: str = ""
    host_name: str = ""
    port: int | None = None
    service: str = ""
    cve_ids: tuple[str, ...] = ()
    vulnerability_id: str = ""
    vulnerability_title: str = ""
    scan_start: int | None = None
    scan_end: int | None = None


@dataclass(frozen=True, slots=True)
class Runtime:
    """When a scan ran: an instant, or a start and an end (epoch milliseconds)."""

    start: int
    end: int | None = None

    @classmethod
    def parse(cls, text: str) -> Runtime:
        """``2024-01-02T03:04:05.678Z`` or ``<that>/<that>``; a trailing ``/`` is ignored
        (some scripts send one). Milliseconds may be left out. ValueError otherwise."""
        value = text.strip()
        parts = value[:-1].split("/") if value.endswith("/") else value.split("/")
        if not 1 <= len(parts) <= 2 or not all(parts):
            raise ValueError(_runtime_help(text))
        start, *end = (_instant(part, text) for part in parts)
        if end and end[0] < start:
            raise ValueError(f"runtime {_shown(text)} ends before it starts")
        return cls(start, end[0] if end else None)

    def text(self) -> str:
        """The SMS's spelling: ``start`` or ``start/end``."""
        if self.end is None:
            return format_instant(self.start)
        return f"{format_instant(self.start)}/{format_instant(self.end)}"


@dataclass(frozen=True, slots=True)
class Scan:
    """What a caller says about a scan: the scanner's vendor, product and version (free
    text) and when it ran."""

    vendor: str
    product: str
    version: str
    runtime: Runtime


@dataclass
class Tally:
    """What a run of findings adds up to: rows, distinct hosts, and the span of their scan
    times (the scan's runtime when the caller gives none)."""

    rows: int = 0
    hosts: set[str] = field(default_factory=set)
    first: int | None = None
    last: int | None = None

    def add(self, finding: Finding) -> None:
        self.rows += 1
        self.hosts.add(finding.ip_address)
        for moment in (finding.scan_start, finding.scan_end):
            if moment is not None:
                self.first = moment if self.first is None else min(self.first, moment)
                self.last = moment if self.last is None else max(self.last, moment)

    @property
    def runtime(self) -> Runtime | None:
        if self.first is None or self.last is None:
            return None
        return Runtime(self.first, self.last if self.last != self.first else None)


# -- making a finding ---------------------------------------------------------------------


def make_finding(
    *,
    ip_address: str,
    severity: Severity | str,
    asset_group: str = "",
    mac_address: str = "",
    host_name: str = "",
    port: int | str | None = None,
    service: str = "",
    cve_ids: str | Iterable[str] = (),
    vulnerability_id: str = "",
    vulnerability_title: str = "",
    scan_start: int | str | None = None,
    scan_end: int | str | None = None,
) -> Finding:
    """A checked, canonical finding; ValueError with a one-line reason otherwise."""
    vulnerability_id = clean_text(vulnerability_id)
    if len(vulnerability_id) > VULNERABILITY_ID_LENGTH:
        raise ValueError(f"vulnerability id is over {VULNERABILITY_ID_LENGTH} characters")
    start, end = epoch_ms(scan_start, "scan start date"), epoch_ms(scan_end, "scan end date")
    if start is not None and end is not None and end < start:
        raise ValueError("the device scan ends before it starts")
    return Finding(
        ip_address=host_address(ip_address),
        severity=severity if isinstance(severity, Severity) else Severity.parse(severity),
        asset_group=clean_text(asset_group, ASSET_GROUP_LENGTH),
        mac_address=mac_address_of(mac_address),
        host_name=clean_text(host_name, HOST_NAME_LENGTH),
        port=port_number(port),
        service=clean_text(service, SERVICE_LENGTH),
        cve_ids=cve_list(cve_ids),
        vulnerability_id=vulnerability_id,
        vulnerability_title=clean_text(vulnerability_title, TITLE_LENGTH),
        scan_start=start,
        scan_end=end,
    )


def clean_text(value: str, limit: int | None = None) -> str:
    """Text as a finding keeps it: control characters (line ends, NUL) become spaces,
    double quotes become single ones (the SMS-Standard CSV allows none inside a value),
    outer blanks go, and it is cut at ``limit`` characters."""
    text = UNCLEAN.sub(_replacement, value).strip()
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip()
    return text


def _replacement(match: re.Match[str]) -> str:
    return "'" if match.group() == '"' else " "


def host_address(text: str) -> str:
    """An IPv4 or IPv6 host address in its canonical spelling; ValueError otherwise."""
    value = text.strip()
    if not value:
        raise ValueError("the IP address is missing")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"IP address {_shown(text)} is not an IPv4 or IPv6 address") from None


def mac_address_of(text: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` from any common spelling; "" for none; ValueError otherwise."""
    if not text.strip():
        return ""
    mac = mac_or_empty(text)
    if not mac:
        raise ValueError(f"MAC address {_shown(text)} is not a MAC address")
    return mac


def port_number(value: int | str | None) -> int | None:
    """0-65535, or None for no port; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise ValueError(f"port {_shown(text)} is not a number from 0 to 65535")
    return int(text)


def cve_list(value: str | Iterable[str]) -> tuple[str, ...]:
    """CVE ids, each ``CVE-YYYY-NNNN`` (four or more digits), upper case, each once."""
    items = CVE_SEPARATORS.split(value) if isinstance(value, str) else value
    found: dict[str, None] = {}
    for item in items:
        cve = item.strip()
        if not cve:
            continue
        if not CVE.fullmatch(cve):
            raise ValueError(
                f"CVE id {_shown(cve)} is not in the form CVE-YYYY-NNNN "
                "(a 4-digit year, then 4 or more digits)"
            )
        found[cve.upper()] = None
    if len(found) > MAX_CVES:
        raise ValueError(f"{len(found)} CVE ids; a finding holds at most {MAX_CVES}")
    return tuple(found)


def epoch_ms(value: int | str | None, what: str) -> int | None:
    """Epoch milliseconds (digits only), or None for none; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) >= MAX_EPOCH_MS:
        raise ValueError(f"{what} {_shown(text)} is not a time in epoch milliseconds")
    return int(text)


def ms_of(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def format_instant(ms: int) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'``."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _instant(part: str, whole: str) -> int:
    match = RUNTIME.fullmatch(part.strip())
    if match is None:
        raise ValueError(_runtime_help(whole))
    year, month, day, hour, minute, second, millis = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        raise ValueError(f"runtime {_shown(whole)} is not a real date and time") from None
    return ms_of(moment) + int((millis or "0").ljust(3, "0"))


def _runtime_help(text: str) -> str:
    return (
        f"runtime {_shown(text)} is not yyyy-MM-dd'T'HH:mm:ss.SSS'Z' or start/end "
        "in that form (e.g. 2024-01-15T09:00:00.000Z/2024-01-15T10:20:05.000Z)"
    )


def _shown(value: str) -> str:
    return repr(value if len(value) <= 64 else value[:64] + "...")
