"""``vulnscanner/import`` and ``vulnscanner/convert``: vulnerability scans for the eVR
(facts sheet §1.2, "Vulnerability scans").

    vulnscanner/import?vendor=SMS-Standard&product=P&version=V&runtime=T  + a CSV file part
        -> 200 text "Imported scan <id>: <rows> vulnerabilities on <hosts> hosts"
    vulnscanner/convert?vendor=Nessus|Qualys-CSV|Nexpose|Rapid7&product=...  + a file part
        -> 200 text/csv: the scan in the SMS-Standard CSV, as it was imported

``runtime`` is ``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`` or ``start/end`` (a trailing ``/`` is
fine); when it is left out the span of the file's scan times is used. ``product`` and
``version`` default to the file's (its first row's, or the converter's product name).
The file is the first multipart file part, whatever its field name.

Convert both imports the scan and answers it in the native format: the SMS's guide does
not say what convert returns, and the converted CSV lets a script keep or check what was
imported (docs/webservices/vulnscanner.md). A bad file answers 400 with the line at fault
and imports nothing; an import that would take the store over 10 million
host/vulnerability rows answers 412.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from garrison.auth import Principal
from garrison.store.vulnerabilities import ScanRecord
from garrison.vulnerabilities import native_csv, nessus, nexpose, qualys
from garrison.vulnerabilities.model import (
    PRODUCT_LENGTH,
    VERSION_LENGTH,
    Finding,
    Runtime,
    Scan,
    ScanFileError,
    Tally,
    clean_text,
)
from garrison.vulnerabilities.service import VulnerabilityService
from garrison.webservices.params import FilePart
from garrison.webservices.responses import WebServiceError, csv, text

if TYPE_CHECKING:
    from garrison.webservices.app import Call

NATIVE = "SMS-Standard"
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Converter:
    format: str  # the vendor parameter, as the SMS spells it
    vendor: str  # the VENDOR column of the converted rows
    product: str  # the PRODUCT column when the caller names none
    convert: Callable[[bytes], Iterator[Finding]]


CONVERTERS = {
    "nessus": Converter("Nessus", nessus.VENDOR, nessus.PRODUCT, nessus.convert),
    "qualys-csv": Converter("Qualys-CSV", qualys.VENDOR, qualys.PRODUCT, qualys.convert),
    "nexpose": Converter("Nexpose", nexpose.VENDOR, nexpose.PRODUCT, nexpose.convert),
    "rapid7": Converter("Rapid7", nexpose.VENDOR, nexpose.PRODUCT, nexpose.convert),
}
VENDORS = "Nexpose, Qualys-CSV, Nessus or Rapid7"


@dataclass(frozen=True, slots=True)
class _Request:
    """What an import or convert call asks, checked."""

    upload: FilePart
    product: str | None
    version: str | None
    runtime: Runtime | None


def _request(call: Call) -> _Request:
    params = call.params
    raw_runtime = params.single("runtime")
    try:
        runtime = Runtime.parse(raw_runtime) if raw_runtime is not None else None
    except ValueError as exc:
        raise WebServiceError(400, str(exc)) from None
    upload = params.first_file()
    if upload is None:
        raise WebServiceError(
            400,
            "the scan file is required: send it as a multipart/form-data file part "
            "(curl -F file=@scan.csv)",
        )
    call.target = f"file:{upload.filename}"
    product, version = params.single("product"), params.single("version")
    return _Request(
        upload=upload,
        product=None if product is None else clean_text(product, PRODUCT_LENGTH),
        version=None if version is None else clean_text(version, VERSION_LENGTH),
        runtime=runtime,
    )


def _vendor(call: Call) -> str:
    vendor = call.params.single("vendor")
    if vendor is None:
        raise WebServiceError(
            400, f"vendor is required: {NATIVE} for import, {VENDORS} for convert"
        )
    return vendor


def _runtime(asked: Runtime | None, tally: Tally) -> Runtime:
    runtime = asked or tally.runtime
    if runtime is None:
        raise WebServiceError(
            400,
            "runtime is required (the file holds no scan times): "
            "yyyy-MM-dd'T'HH:mm:ss.SSS'Z' or start/end in that form",
        )
    return runtime


def _record(call: Call, record: ScanRecord) -> None:
    scan = record.scan
    call.target = f"scan:{record.id}"
    call.detail.update(
        scan=record.id,
        format=record.format,
        vendor=scan.vendor,
        product=scan.product,
        version=scan.version,
        runtime=scan.runtime.text(),
        filename=record.filename,
        findings=record.findings,
        hosts=record.hosts,
    )


# -- import -------------------------------------------------------------------------------


def _import_native(service: VulnerabilityService, actor: Principal, asked: _Request) -> ScanRecord:
    data = asked.upload.data
    # First pass: every rule checked, and the rows counted, before anything is written;
    # the second streams the rows into the store, so a large file is never held parsed.
    first: native_csv.NativeRow | None = None
    tally = Tally()
    for row in native_csv.parse(data):
        first = first or row
        tally.add(row.finding)
    scan = Scan(
        vendor=first.vendor if first else "",
        product=asked.product if asked.product is not None else (first.product if first else ""),
        version=asked.version if asked.version is not None else (first.version if first else ""),
        runtime=_runtime(asked.runtime, tally),
    )
    return service.import_scan(
        actor,
        scan,
        (row.finding for row in native_csv.parse(data)),
        format=NATIVE,
        filename=asked.upload.filename,
        expected=tally.rows,
    )


async def import_scan(call: Call) -> Response:
    """Import an SMS-Standard CSV scan."""
    vendor = _vendor(call)
    if vendor.lower() != NATIVE.lower():
        raise WebServiceError(
            400,
            f"import takes vendor={NATIVE} files; convert {VENDORS} files with vulnscanner/convert",
        )
    asked = _request(call)
    service = VulnerabilityService(call.services.store)
    try:
        record = await run_in_threadpool(_import_native, service, call.principal, asked)
    except ScanFileError as exc:
        raise WebServiceError(400, str(exc)) from None
    _record(call, record)
    return text(
        f"Imported scan {record.id}: {record.findings} vulnerabilities on {record.hosts} hosts"
    )


# -- convert ------------------------------------------------------------------------------


def _convert(
    service: VulnerabilityService, actor: Principal, converter: Converter, asked: _Request
) -> tuple[ScanRecord, list[Finding]]:
    findings = list(converter.convert(asked.upload.data))  # XML is held whole anyway
    tally = Tally()
    for finding in findings:
        tally.add(finding)
    scan = Scan(
        vendor=converter.vendor,
        product=asked.product if asked.product is not None else converter.product,
        version=asked.version or "",
        runtime=_runtime(asked.runtime, tally),
    )
    record = service.import_scan(
        actor,
        scan,
        findings,
        format=converter.format,
        filename=asked.upload.filename,
        expected=len(findings),
    )
    return record, findings


async def convert(call: Call) -> Response:
    """Convert a Nessus, Qualys or Nexpose scan, import it, and answer it as the
    SMS-Standard CSV."""
    vendor = _vendor(call)
    converter = CONVERTERS.get(vendor.lower())
    if converter is None:
        if vendor.lower() == NATIVE.lower():
            raise WebServiceError(400, f"{NATIVE} files need no conversion: use vulnscanner/import")
        raise WebServiceError(400, f"vendor {vendor[:40]!r} is not one of {VENDORS}")
    asked = _request(call)
    service = VulnerabilityService(call.services.store)
    try:
        record, findings = await run_in_threadpool(
            _convert, service, call.principal, converter, asked
        )
    except ScanFileError as exc:
        raise WebServiceError(400, f"{converter.format} file: {exc}") from None
    _record(call, record)
    answer = csv(native_csv.write(record.scan, findings))
    answer.headers["Content-Disposition"] = (
        f'attachment; filename="{_stem(asked.upload.filename)}-sms-standard.csv"'
    )
    return answer


def _stem(filename: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    return UNSAFE_FILENAME.sub("_", stem)[:100] or "scan"


METHODS = {"import": import_scan, "convert": convert}
