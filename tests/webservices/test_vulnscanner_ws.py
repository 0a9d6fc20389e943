"""vulnscanner/import and vulnscanner/convert on a real Garrison HTTPS server, called as SMS
scripts call them: curl -F with smsuser/smspass, Python requests with multipart uploads
under other field names, sloppy paths; answers read with the stdlib csv module; bad files
answer 400 with the line and import nothing; over the row cap answers 412."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from garrison.store.vulnerabilities import FINDINGS, SCANS
from garrison.vulnerabilities import service as vulnerability_service
from garrison.vulnerabilities.native_csv import HEADER
from tests.support import ADMIN_PASSWORD, RunningServer
from tests.webservices.curl_peer import curl, needs_curl
from tests.webservices.ws_support import ADMIN, module_server, newest_audit, q

pytestmark = [
    needs_curl,
    # The test server's certificate is self-signed; SMS scripts turn verification off too.
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

DATA = Path(__file__).parents[1] / "data" / "vulnscans"
NATIVE = DATA / "sms_standard.csv"
RUNTIME = "2024-01-15T09:00:00.000Z/2024-01-15T09:20:06.000Z"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from module_server(tmp_path_factory, "vulnws")


def totals(live: RunningServer) -> tuple[int, int]:
    """(scans, findings) the store holds."""
    with live.services.store.engine.connect() as conn:
        scans = conn.execute(SCANS.select()).all()
        findings = conn.execute(FINDINGS.select()).all()
    return len(scans), len(findings)


def post(
    live: RunningServer,
    method: str,
    params: dict[str, str],
    field: str,
    path: Path,
    **more: object,
) -> requests.Response:
    with path.open("rb") as upload:
        return requests.post(
            f"{live.url()}/vulnscanner/{method}",
            params=params,
            files={field: (path.name, upload, "application/octet-stream")},
            verify=False,
            timeout=30,
            **more,  # type: ignore[arg-type]
        )


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


# -- import -----------------------------------------------------------------------------------


def test_curl_import_with_smsuser_and_smspass(live: RunningServer) -> None:
    before = totals(live)
    params = {"vendor": "SMS-Standard", "product": "Nessus", "version": "10.6.4"}
    reply = curl(
        live,
        "/vulnscanner/import" + q(runtime=RUNTIME + "/", **params, **ADMIN),
        "-F",
        f"file=@{NATIVE}",
    )
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.body.endswith("vulnerabilities on 3 hosts\n")
    scan_id = int(reply.body.split()[2].rstrip(":"))
    assert totals(live) == (before[0] + 1, before[1] + 5)
    row = newest_audit(live, "webservices.vulnscanner.import")
    assert (row.actor, row.target, row.outcome) == ("admin", f"scan:{scan_id}", "success")
    detail = json.loads(row.detail)
    assert (detail["findings"], detail["hosts"], detail["filename"]) == (5, 3, NATIVE.name)
    assert detail["runtime"] == RUNTIME


@pytest.mark.parametrize("field", ["name", "requestFile", "uploadfile"])
def test_requests_multipart_under_any_field_name(live: RunningServer, field: str) -> None:
    before = totals(live)
    params = {"vendor": "sms-standard", "product": "P", "version": "1", "runtime": RUNTIME}
    reply = post(live, "import", params, field, NATIVE, headers={"X-SMS-API-KEY": live.api_key})
    assert reply.status_code == 200, reply.text
    assert totals(live) == (before[0] + 1, before[1] + 5)


def test_a_sloppy_path_basic_auth_and_the_files_own_names(live: RunningServer) -> None:
    # No product, version or runtime: the first row's and the span of the rows' dates.
    reply = curl(
        live,
        "//vulnscanner/import&vendor=SMS-Standard",
        "-u",
        f"admin:{ADMIN_PASSWORD}",
        "-F",
        f"uploadfile=@{NATIVE};type=text/csv",
    )
    assert reply.status == 200, reply.body
    scan_id = int(reply.body.split()[2].rstrip(":"))
    with live.admin() as api:
        shown = api.get(f"/api/v1/vulnerabilities/scans/{scan_id}").json()
    assert (shown["vendor"], shown["product"], shown["version"]) == ("Tenable", "Nessus", "10.6.4")
    assert shown["runtime"] == "2024-01-15T09:00:02.000Z/2024-01-15T09:20:06.000Z"


def test_a_bad_row_5_imports_nothing_and_says_line_5(live: RunningServer, tmp_path: Path) -> None:
    lines = NATIVE.read_bytes().split(b"\r\n")
    lines[4] = lines[4].replace(b'"LOW"', b'"SEVERE"')  # the file's 5th line
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\r\n".join(lines))
    before = totals(live)
    reply = curl(
        live,
        "/vulnscanner/import" + q(vendor="SMS-Standard", runtime=RUNTIME, **ADMIN),
        "-F",
        f"file=@{bad}",
    )
    assert reply.status == 400
    assert reply.body.startswith("line 5: severity 'SEVERE' is not one of")
    assert reply.body.count("\n") == 1  # one line
    assert totals(live) == before
    row = newest_audit(live, "webservices.vulnscanner.import")
    assert (row.outcome, row.target) == ("failure", "file:bad.csv")
    assert json.loads(row.detail)["reason"].startswith("line 5:")


@pytest.mark.parametrize(
    ("params", "upload", "reason"),
    [
        ({"runtime": RUNTIME}, True, "vendor is required"),
        ({"vendor": "Nessus", "runtime": RUNTIME}, True, "import takes vendor=SMS-Standard"),
        ({"vendor": "SMS-Standard", "runtime": "yesterday"}, True, "runtime 'yesterday' is not"),
        ({"vendor": "SMS-Standard", "runtime": RUNTIME}, False, "the scan file is required"),
    ],
)
def test_bad_import_calls_answer_400_with_a_reason(
    live: RunningServer, params: dict[str, str], upload: bool, reason: str
) -> None:
    before = totals(live)
    extra = ["-F", f"file=@{NATIVE}"] if upload else ["-X", "POST"]
    reply = curl(live, "/vulnscanner/import" + q(**params, **ADMIN), *extra)
    assert reply.status == 400
    assert reason in reply.body
    assert totals(live) == before


def test_an_import_over_the_row_cap_answers_412(
    live: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, held = totals(live)
    monkeypatch.setattr(vulnerability_service, "MAX_FINDINGS", held + 4)
    before = totals(live)
    reply = post(
        live, "import", {"vendor": "SMS-Standard", **ADMIN}, "file", NATIVE
    )  # five rows, room for four
    assert reply.status_code == 412
    assert reply.text.startswith("the scan has 5 rows and the store has room for 4")
    assert "delete scans first" in reply.text
    assert totals(live) == before


# -- convert ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "sample", "expected_vendor", "product", "rows"),
    [
        ("Nessus", "scan.nessus", "Tenable", "Nessus", 5),
        ("NESSUS", "scan.nessus", "Tenable", "Nessus", 5),
        ("Qualys-CSV", "qualys_scan.csv", "Qualys", "Qualys VM", 4),
        ("qualys-csv", "qualys_scan.csv", "Qualys", "Qualys VM", 4),
        ("Nexpose", "nexpose_report.xml", "Rapid7", "Nexpose", 4),
        ("rapid7", "nexpose_report.xml", "Rapid7", "Nexpose", 4),
    ],
)
def test_convert_answers_the_native_csv_and_imports_it(
    live: RunningServer,
    vendor: str,
    sample: str,
    expected_vendor: str,
    product: str,
    rows: int,
) -> None:
    before = totals(live)
    reply = curl(
        live,
        "/vulnscanner/convert" + q(vendor=vendor, version="2024.1", **ADMIN),
        "-F",
        f"file=@{DATA / sample}",
    )
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("text/csv")
    assert "-sms-standard.csv" in reply.headers["content-disposition"]
    converted = table(reply.body)
    assert reply.body.splitlines()[0] == ",".join(f'"{name}"' for name in HEADER)
    assert len(converted) == rows
    for row in converted:
        assert (row["VENDOR"], row["PRODUCT"], row["VERSION"]) == (
            expected_vendor,
            product,
            "2024.1",
        )
        assert row["SEVERITY"] in {"CRITICAL", "HIGH", "MEDIUM", "LOW", "VERY LOW"}
        assert row["DEVICE_SCAN_START_DATE"].isdigit()
    log4shell = [r for r in converted if "CVE-2021-44228" in r["CVE_IDS"]]
    assert [(r["IP_ADDRESS"], r["PORT"], r["SEVERITY"]) for r in log4shell] == [
        ("192.0.2.10", "443", "CRITICAL")
    ]
    assert totals(live) == (before[0] + 1, before[1] + rows)
    detail = json.loads(newest_audit(live, "webservices.vulnscanner.convert").detail)
    assert (detail["findings"], detail["vendor"], detail["format"]) == (
        rows,
        expected_vendor,
        {"NESSUS": "Nessus", "qualys-csv": "Qualys-CSV", "rapid7": "Rapid7"}.get(vendor, vendor),
    )


def test_a_converted_file_imports_back_unchanged(live: RunningServer, tmp_path: Path) -> None:
    converted = post(
        live,
        "convert",
        {"vendor": "Nessus", "runtime": RUNTIME},
        "requestFile",
        DATA / "scan.nessus",
        auth=("admin", ADMIN_PASSWORD),
    )
    assert converted.status_code == 200, converted.text
    again = tmp_path / "again.csv"
    again.write_bytes(converted.content)
    imported = post(live, "import", {"vendor": "SMS-Standard", **ADMIN}, "file", again)
    assert imported.status_code == 200, imported.text
    scan_id = int(imported.text.split()[2].rstrip(":"))
    with live.admin() as api:
        found = api.get("/api/v1/vulnerabilities", params={"scan_id": scan_id}).json()
    assert [(f["ip_address"], f["vulnerability_id"]) for f in found] == [
        (r["IP_ADDRESS"], r["VULNERABILITY_ID"]) for r in table(converted.text)
    ]


@pytest.mark.parametrize(
    ("vendor", "sample", "status", "reason"),
    [
        ("OpenVAS", "scan.nessus", 400, "vendor 'OpenVAS' is not one of Nexpose"),
        ("SMS-Standard", "sms_standard.csv", 400, "need no conversion: use vulnscanner/import"),
        ("Nessus", "nexpose_report.xml", 400, "Nessus file: line 2: the root element is"),
        ("Nexpose", "qualys_scan.csv", 400, "Nexpose file: line 1: the file is not well-formed"),
        ("Qualys-CSV", "scan.nessus", 400, "Qualys-CSV file: no results header row"),
    ],
)
def test_bad_convert_calls_answer_with_a_reason(
    live: RunningServer, vendor: str, sample: str, status: int, reason: str
) -> None:
    before = totals(live)
    reply = post(live, "convert", {"vendor": vendor, **ADMIN}, "file", DATA / sample)
    assert reply.status_code == status
    assert reason in reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    assert totals(live) == before


def test_a_bad_host_in_a_nessus_file_names_its_line(live: RunningServer, tmp_path: Path) -> None:
    broken = tmp_path / "broken.nessus"
    nessus = (DATA / "scan.nessus").read_bytes()
    broken.write_bytes(nessus.replace(b">192.0.2.11<", b">192.0.2.1100<"))
    before = totals(live)
    reply = post(live, "convert", {"vendor": "Nessus", **ADMIN}, "uploadfile", broken)
    assert reply.status_code == 400
    line = nessus[: nessus.index(b'<ReportHost name="db01')].count(b"\n") + 1
    assert reply.text.startswith(f"Nessus file: line {line}: ReportHost 'db01.example.com'")
    assert totals(live) == before
