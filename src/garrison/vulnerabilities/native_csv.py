"""The SMS-Standard CSV, the eVR's native scan format: read with every rule of the SMS,
and written, so a converted scan can be handed back in it.

    VENDOR,PRODUCT,VERSION,ASSET_GROUP,IP_ADDRESS,MAC_ADDRESS,HOST_NAME,PORT,SERVICE,
    CVE_IDS,VULNERABILITY_ID,VULNERABILITY_TITLE,DEVICE_SCAN_START_DATE,
    DEVICE_SCAN_END_DATE,SEVERITY

The rules (facts sheet §1.2): the first line is that header; every row has as many values
as the header; every value is in double quotes and holds no double quote; a row is
shorter than 65,536 bytes; CVE ids are ``CVE-YYYY-NNNN``, comma-separated inside the
quotes; dates are epoch milliseconds; SEVERITY is CRITICAL, HIGH, MEDIUM, LOW or VERY LOW.
The stdlib ``csv`` module would quietly accept what the SMS refuses (unquoted values,
doubled quotes), so rows are split here by those rules, one physical line a row.

Tolerated beyond the letter: a UTF-8 byte-order mark, CRLF or LF line ends, blank lines,
the header's names unquoted or in any case, severities in any case. Every error names its
1-based line. Pure: bytes in, rows out; text out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from garrison.vulnerabilities.model import (
    PRODUCT_LENGTH,
    VENDOR_LENGTH,
    VERSION_LENGTH,
    Finding,
    Scan,
    ScanFileError,
    clean_text,
    make_finding,
)

HEADER = (
    "VENDOR",
    "PRODUCT",
    "VERSION",
    "ASSET_GROUP",
    "IP_ADDRESS",
    "MAC_ADDRESS",
    "HOST_NAME",
    "PORT",
    "SERVICE",
    "CVE_IDS",
    "VULNERABILITY_ID",
    "VULNERABILITY_TITLE",
    "DEVICE_SCAN_START_DATE",
    "DEVICE_SCAN_END_DATE",
    "SEVERITY",
)
MAX_ROW_BYTES = 65_536  # a row must be shorter than this
LINE_END = "\r\n"
BOM = b"\xef\xbb\xbf"
QUOTE = '"'


class NativeCsvError(ScanFileError):
    """An SMS-Standard CSV file that breaks a rule; the message names the line."""


@dataclass(frozen=True, slots=True)
class NativeRow:
    """A data row: the scanner it names and the finding it holds."""

    line: int
    vendor: str
    product: str
    version: str
    finding: Finding


# -- reading ------------------------------------------------------------------------------


def parse(data: bytes) -> Iterator[NativeRow]:
    """The rows of an SMS-Standard CSV file, checked one by one as they are read (so a
    caller may stream them); NativeCsvError at the first broken rule."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    header_seen = False
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        if not raw.strip():
            continue
        if len(raw) >= MAX_ROW_BYTES:
            raise NativeCsvError(
                f"the row is {len(raw)} bytes; a row must be shorter than {MAX_ROW_BYTES}", number
            )
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise NativeCsvError("the row is not UTF-8 text", number) from None
        if not header_seen:
            _check_header(line, number)
            header_seen = True
            continue
        yield _row(line, number)
    if not header_seen:
        raise NativeCsvError(f"the file is empty; it needs the header row {','.join(HEADER)}")


def split_row(line: str) -> list[str]:
    """The values of ``"a","b,c",""``; ValueError when a value is not in double quotes or
    holds one."""
    values: list[str] = []
    position = 0
    while True:
        index = len(values) + 1
        if not line.startswith(QUOTE, position):
            raise ValueError(f"value {index} is not in double quotes")
        end = line.find(QUOTE, position + 1)
        if end < 0:
            raise ValueError(f"value {index} has no closing double quote")
        values.append(line[position + 1 : end])
        position = end + 1
        if position == len(line):
            return values
        if line[position] != ",":
            raise ValueError(
                f"value {index} holds a double quote or has text after its closing quote "
                "(double quotes inside a value are not allowed)"
            )
        position += 1


def _check_header(line: str, number: int) -> None:
    names = [name.strip().strip(QUOTE).strip().upper() for name in line.split(",")]
    expected = ",".join(HEADER)
    if names[0] not in HEADER:
        raise NativeCsvError(f"the first row must be the header row {expected}", number)
    if len(names) != len(HEADER):
        raise NativeCsvError(
            f"the header has {len(names)} columns; the SMS-Standard header has "
            f"{len(HEADER)}: {expected}",
            number,
        )
    for index, (name, wanted) in enumerate(zip(names, HEADER, strict=True), start=1):
        if name != wanted:
            raise NativeCsvError(
                f"header column {index} is {name[:40]!r}; expected {wanted} "
                f"(the header is {expected})",
                number,
            )


def _row(line: str, number: int) -> NativeRow:
    try:
        values = split_row(line)
    except ValueError as exc:
        raise NativeCsvError(str(exc), number) from None
    if len(values) != len(HEADER):
        raise NativeCsvError(
            f"the row has {len(values)} values; the header has {len(HEADER)}", number
        )
    (vendor, product, version, asset_group, ip, mac, host, port, service, cves, vuln_id,
     title, start, end, severity) = values  # fmt: skip
    try:
        finding = make_finding(
            ip_address=ip,
            severity=severity,
            asset_group=asset_group,
            mac_address=mac,
            host_name=host,
            port=port,
            service=service,
            cve_ids=cves,
            vulnerability_id=vuln_id,
            vulnerability_title=title,
            scan_start=start,
            scan_end=end,
        )
    except ValueError as exc:
        raise NativeCsvError(str(exc), number) from None
    return NativeRow(
        line=number,
        vendor=clean_text(vendor, VENDOR_LENGTH),
        product=clean_text(product, PRODUCT_LENGTH),
        version=clean_text(version, VERSION_LENGTH),
        finding=finding,
    )


# -- writing ------------------------------------------------------------------------------


def write(scan: Scan, findings: Iterable[Finding]) -> Iterator[str]:
    """The file, a line at a time (header first, CRLF line ends): each row names the
    scan's vendor, product and version."""
    yield _line(HEADER)
    # A finding's text is clean already (model.clean_text: no quote, no line end); the
    # scan's names are the caller's text, so they are made so here, once.
    names = tuple(clean_text(name) for name in (scan.vendor, scan.product, scan.version))
    for finding in findings:
        yield _line((*names, *_values(finding)))


def _values(finding: Finding) -> tuple[str, ...]:
    return (
        finding.asset_group,
        finding.ip_address,
        finding.mac_address,
        finding.host_name,
        "" if finding.port is None else str(finding.port),
        finding.service,
        ",".join(finding.cve_ids),
        finding.vulnerability_id,
        finding.vulnerability_title,
        "" if finding.scan_start is None else str(finding.scan_start),
        "" if finding.scan_end is None else str(finding.scan_end),
        finding.severity.value,
    )


def _line(values: Iterable[str]) -> str:
    return ",".join(f'"{value}"' for value in values) + LINE_END
