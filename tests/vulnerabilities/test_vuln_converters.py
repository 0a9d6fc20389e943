"""Nessus, Qualys CSV and Nexpose files as findings: the sample exports field by field, the
severity maps, what is left out, and faults named with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from garrison.vulnerabilities import nessus, nexpose, qualys
from garrison.vulnerabilities.model import ScanFileError, Severity

DATA = Path(__file__).parents[1] / "data" / "vulnscans"
NESSUS = (DATA / "scan.nessus").read_bytes()
QUALYS = (DATA / "qualys_scan.csv").read_bytes()
NEXPOSE = (DATA / "nexpose_report.xml").read_bytes()


def fault(convert: object, data: bytes) -> ScanFileError:
    assert callable(convert)
    with pytest.raises(ScanFileError) as caught:
        list(convert(data))
    return caught.value


# -- Nessus ---------------------------------------------------------------------------------


def test_nessus_items_become_findings_with_their_hosts() -> None:
    found = list(nessus.convert(NESSUS))
    assert [(f.ip_address, f.vulnerability_id, f.severity) for f in found] == [
        ("192.0.2.10", "78479", Severity.MEDIUM),
        ("192.0.2.10", "156032", Severity.CRITICAL),
        ("192.0.2.10", "70658", Severity.LOW),
        ("192.0.2.11", "59444", Severity.HIGH),
        ("192.0.2.11", "10114", Severity.VERY_LOW),  # informational, but it has a CVE
    ]
    log4shell = found[1]
    assert log4shell.cve_ids == ("CVE-2021-44228", "CVE-2021-45046")
    assert (log4shell.port, log4shell.service) == (443, "www")
    assert log4shell.vulnerability_title == "Apache Log4j Remote Code Execution (Log4Shell)"
    assert log4shell.mac_address == "00:50:56:a1:b2:c3"  # the first of the host's MACs
    assert log4shell.host_name == "web01.example.com"
    assert (log4shell.scan_start, log4shell.scan_end) == (1705309202000, 1705310406000)
    db = found[3]
    assert db.host_name == "db01"
    # No *_TIMESTAMP tags: HOST_START / HOST_END as ctime text, UTC.
    assert (db.scan_start, db.scan_end) == (1705309210000, 1705310002000)
    assert found[4].port is None  # port 0: no port


def test_nessus_faults_are_named_with_their_line() -> None:
    bad_ip = NESSUS.replace(b'<tag name="host-ip">192.0.2.11</tag>', b"")
    error = fault(nessus.convert, bad_ip)
    assert "ReportHost 'db01.example.com'" in str(error)
    assert "is not an IPv4 or IPv6 address" in str(error)
    assert error.line == NESSUS[: NESSUS.index(b'<ReportHost name="db01')].count(b"\n") + 1
    bad_severity = NESSUS.replace(b'severity="3"', b'severity="high"')
    assert "severity 'high' is not 0 to 4" in str(fault(nessus.convert, bad_severity))
    bad_cve = NESSUS.replace(b"<cve>CVE-2012-2122</cve>", b"<cve>MS12-020</cve>")
    assert "CVE-YYYY-NNNN" in str(fault(nessus.convert, bad_cve))


def test_nessus_wrong_files_are_refused() -> None:
    assert "not <NessusClientData_v2>" in str(fault(nessus.convert, NEXPOSE))
    assert "not well-formed XML" in str(fault(nessus.convert, QUALYS))
    broken = fault(nessus.convert, NESSUS.replace(b"</ReportHost>", b"", 1))
    assert "not well-formed XML (mismatched tag)" in str(broken)
    assert broken.line is not None and broken.line > 40


def test_xml_entities_are_refused_before_anything_is_read() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><NessusClientData_v2>&b;</NessusClientData_v2>'
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<NexposeReport>&x;</NexposeReport>"
    )
    assert "refused for safety" in str(fault(nessus.convert, bomb))
    assert "refused for safety" in str(fault(nexpose.convert, external))


# -- Qualys ---------------------------------------------------------------------------------


def test_qualys_results_after_the_preamble_become_findings() -> None:
    found = list(qualys.convert(QUALYS))
    assert [(f.ip_address, f.vulnerability_id, f.severity) for f in found] == [
        ("192.0.2.10", "730310", Severity.CRITICAL),  # 5
        ("192.0.2.10", "38657", Severity.MEDIUM),  # 3
        ("192.0.2.11", "19579", Severity.HIGH),  # 4
        ("192.0.2.11", "82003", Severity.VERY_LOW),  # 1, a "Practice" (potential) row
    ]  # the "Ig" (information gathered) row is left out
    first = found[0]
    assert first.cve_ids == ("CVE-2021-44228", "CVE-2021-45046")
    assert (first.host_name, first.port, first.service) == ("web01.example.com", 443, "tcp")
    assert first.asset_group == "DMZ Servers"
    # Launch Date 09:00:00 GMT, Duration 00:20:06.
    assert (first.scan_start, first.scan_end) == (1705309200000, 1705310406000)


def test_qualys_without_a_preamble_and_with_columns_in_another_order() -> None:
    data = (
        b'"Severity","Title","QID","IP","CVE ID"\r\n'
        b'"2","Weak cipher","11","10.1.1.1",""\r\n'
        b'"9","Bad","12","10.1.1.2",""\r\n'
    )
    error = fault(qualys.convert, data)
    assert (error.line, error.reason) == (3, "Severity '9' is not 1 to 5")
    finding = next(qualys.convert(data))
    assert (finding.ip_address, finding.severity, finding.scan_start) == (
        "10.1.1.1",
        Severity.LOW,
        None,
    )


def test_qualys_faults_name_the_line_where_the_record_starts() -> None:
    # The first result's Threat cell spans two lines; the second result is on line 10.
    sweet32 = b'"192.0.2.10","web01.example.com","WEB01","Ubuntu Linux 22.04",' + (
        b'"host scanned, found vuln","38657"'
    )
    bad = QUALYS.replace(sweet32, sweet32.replace(b"192.0.2.10", b"192.0.2.999"))
    error = fault(qualys.convert, bad)
    assert error.line == 10
    assert "'192.0.2.999' is not an IPv4 or IPv6 address" in str(error)
    assert "no results header row" in str(fault(qualys.convert, NESSUS))


# -- Nexpose --------------------------------------------------------------------------------


def test_nexpose_vulnerable_tests_become_findings() -> None:
    found = list(nexpose.convert(NEXPOSE))
    assert [(f.ip_address, f.vulnerability_id, f.port, f.severity) for f in found] == [
        ("192.0.2.10", "generic-icmp-timestamp", None, Severity.VERY_LOW),  # cvss 0.0
        ("192.0.2.10", "apache-log4j-core-cve-2021-44228", 443, Severity.CRITICAL),
        ("192.0.2.10", "tls-cve-2016-2183", 443, Severity.MEDIUM),
        ("2001:db8:10::25", "ssh-cve-2008-5161", 22, Severity.LOW),
    ]  # the not-vulnerable test is left out
    log4j = found[1]
    assert log4j.service == "HTTPS"
    assert log4j.cve_ids == ("CVE-2021-44228",)  # the URL reference is not a CVE
    assert log4j.mac_address == "00:50:56:a1:b2:c3"
    assert log4j.host_name == "web01.example.com"
    assert log4j.asset_group == "DMZ Servers"
    assert (log4j.scan_start, log4j.scan_end) == (1705309200123, 1705310406456)
    assert found[2].cve_ids == ("CVE-2016-2183", "CVE-2016-6329")


def test_nexpose_severity_falls_back_to_the_rating_without_a_cvss_score() -> None:
    data = NEXPOSE.replace(b'severity="10" pciSeverity="5" cvssScore="10.0"', b'severity="8"')
    log4j = list(nexpose.convert(data))[1]
    assert log4j.severity is Severity.HIGH


def test_nexpose_faults_are_named_with_their_line() -> None:
    missing = NEXPOSE.replace(b'<vulnerability id="ssh-cve-2008-5161"', b'<vulnerability id="x"')
    error = fault(nexpose.convert, missing)
    assert "test 'ssh-cve-2008-5161' of node '2001:db8:10::25' has no vulnerability" in str(error)
    assert error.line == NEXPOSE[: NEXPOSE.index(b'<test id="ssh-cve')].count(b"\n") + 1
    old = fault(nexpose.convert, NEXPOSE.replace(b'version="2.0"', b'version="1.0"'))
    assert "XML version '1.0' is not supported" in str(old)
    assert "not <NexposeReport>" in str(fault(nexpose.convert, NESSUS))
