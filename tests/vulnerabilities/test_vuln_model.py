"""A finding's rules, the runtime parameter and the severity bands."""

from __future__ import annotations

import pytest

from garrison.vulnerabilities.model import (
    Runtime,
    Severity,
    Tally,
    clean_text,
    format_instant,
    make_finding,
    severity_of_score,
)

JAN_15 = 1705309200000  # 2024-01-15T09:00:00.000Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-15T09:00:00.000Z", Runtime(JAN_15)),
        ("2024-01-15T09:00:00.000Z/", Runtime(JAN_15)),
        ("2024-01-15T09:00:00.123Z", Runtime(JAN_15 + 123)),
        ("2024-01-15T09:00:00Z", Runtime(JAN_15)),
        (
            "2024-01-15T09:00:00.000Z/2024-01-15T10:20:05.500Z",
            Runtime(JAN_15, JAN_15 + 4805500),
        ),
        (
            "2024-01-15T09:00:00.000Z/2024-01-15T10:20:05.500Z/",
            Runtime(JAN_15, JAN_15 + 4805500),
        ),
    ],
)
def test_runtime_takes_an_instant_or_a_span_and_a_trailing_slash(
    text: str, expected: Runtime
) -> None:
    assert Runtime.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2024-01-15 09:00:00", "is not yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
        ("2024-01-15T09:00:00.000+01:00", "is not yyyy-MM-dd"),
        ("2024-02-30T09:00:00.000Z", "not a real date"),
        ("2024-01-15T10:00:00.000Z/2024-01-15T09:00:00.000Z", "ends before it starts"),
        ("a/b/c", "is not yyyy-MM-dd"),
        ("/", "is not yyyy-MM-dd"),
    ],
)
def test_a_bad_runtime_says_what_is_expected(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Runtime.parse(text)


def test_runtime_text_is_the_sms_spelling() -> None:
    assert Runtime(JAN_15 + 7).text() == "2024-01-15T09:00:00.007Z"
    assert Runtime(JAN_15, JAN_15 + 1000).text() == (
        "2024-01-15T09:00:00.000Z/2024-01-15T09:00:01.000Z"
    )
    assert format_instant(0) == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (10.0, Severity.CRITICAL),
        (9.0, Severity.CRITICAL),
        (8.9, Severity.HIGH),
        (7.0, Severity.HIGH),
        (6.9, Severity.MEDIUM),
        (4.0, Severity.MEDIUM),
        (3.9, Severity.LOW),
        (0.1, Severity.LOW),
        (0.0, Severity.VERY_LOW),
    ],
)
def test_scores_map_to_the_nvd_bands(score: float, severity: Severity) -> None:
    assert severity_of_score(score) is severity


def test_severity_is_read_in_any_case_and_spacing() -> None:
    assert Severity.parse("very low") is Severity.VERY_LOW
    assert Severity.parse("VERY_LOW") is Severity.VERY_LOW
    assert Severity.parse(" High ") is Severity.HIGH
    with pytest.raises(ValueError, match="is not one of CRITICAL, HIGH, MEDIUM, LOW, VERY LOW"):
        Severity.parse("SEVERE")


def test_a_finding_is_canonical() -> None:
    finding = make_finding(
        ip_address=" 2001:DB8:0:0::1 ",
        severity="medium",
        mac_address="0050.56A1.B2C3",
        port="443",
        cve_ids="cve-2021-44228, CVE-2021-45046;CVE-2021-44228",
        host_name='web "01"\n',
        scan_start="1705309200000",
    )
    assert finding.ip_address == "2001:db8::1"
    assert finding.severity is Severity.MEDIUM
    assert finding.mac_address == "00:50:56:a1:b2:c3"
    assert finding.port == 443
    assert finding.cve_ids == ("CVE-2021-44228", "CVE-2021-45046")
    assert finding.host_name == "web '01'"
    assert finding.scan_start == JAN_15


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ip_address": ""}, "IP address is missing"),
        ({"ip_address": "10.0.0.256"}, "is not an IPv4 or IPv6 address"),
        ({"cve_ids": "CVE-21-1234"}, "CVE-YYYY-NNNN"),
        ({"cve_ids": "CVE-2021-123"}, "CVE-YYYY-NNNN"),
        ({"port": "65536"}, "is not a number from 0 to 65535"),
        ({"port": "http"}, "is not a number from 0 to 65535"),
        ({"mac_address": "not-a-mac"}, "is not a MAC address"),
        ({"scan_start": "2024-01-15"}, "is not a time in epoch milliseconds"),
        ({"scan_start": "2000", "scan_end": "1000"}, "ends before it starts"),
        ({"vulnerability_id": "x" * 256}, "over 255 characters"),
    ],
)
def test_a_finding_breaking_a_rule_says_which(fields: dict[str, str], reason: str) -> None:
    values = {"ip_address": "10.0.0.1", "severity": "LOW", **fields}
    with pytest.raises(ValueError, match=reason):
        make_finding(**values)


def test_clean_text_removes_what_the_csv_cannot_hold_and_cuts() -> None:
    assert clean_text('a\x00b\r\n"c"\t') == "a b  'c'"
    assert clean_text("abcdef   g", 8) == "abcdef"


def test_tally_counts_rows_hosts_and_the_span() -> None:
    tally = Tally()
    for ip, start, end in (
        ("10.0.0.1", 5000, 9000),
        ("10.0.0.1", 2000, None),
        ("10.0.0.2", None, None),
    ):
        tally.add(make_finding(ip_address=ip, severity="LOW", scan_start=start, scan_end=end))
    assert (tally.rows, len(tally.hosts)) == (3, 2)
    assert tally.runtime == Runtime(2000, 9000)
    assert Tally().runtime is None
