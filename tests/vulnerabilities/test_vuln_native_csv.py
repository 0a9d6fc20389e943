"""The SMS-Standard CSV: every rule of the facts sheet, with the line at fault; the writer
and the reader agree (property test); and no input makes the reader fail any other way."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garrison.vulnerabilities.model import (
    MAX_EPOCH_MS,
    PRODUCT_LENGTH,
    VENDOR_LENGTH,
    Finding,
    Runtime,
    Scan,
    Severity,
    clean_text,
    make_finding,
)
from garrison.vulnerabilities.native_csv import HEADER, NativeCsvError, parse, write

SAMPLE = Path(__file__).parents[1] / "data" / "vulnscans" / "sms_standard.csv"
HEADER_LINE = ",".join(f'"{name}"' for name in HEADER)
GOOD = (
    '"Tenable","Nessus","10.6","DMZ","192.0.2.10","","web01","443","www",'
    '"CVE-2021-44228,CVE-2021-45046","156032","Log4Shell","1705309202000","1705310406000",'
    '"CRITICAL"'
)


def rows(*lines: str, header: str = HEADER_LINE) -> bytes:
    return "\r\n".join([header, *lines]).encode() + b"\r\n"


def error_of(data: bytes) -> NativeCsvError:
    with pytest.raises(NativeCsvError) as caught:
        list(parse(data))
    return caught.value


def test_the_sample_file_reads_row_by_row() -> None:
    found = list(parse(SAMPLE.read_bytes()))
    assert [r.line for r in found] == [2, 3, 4, 5, 6]
    first = found[1]
    assert (first.vendor, first.product, first.version) == ("Tenable", "Nessus", "10.6.4")
    assert first.finding.cve_ids == ("CVE-2021-44228", "CVE-2021-45046")
    assert first.finding.severity is Severity.CRITICAL
    assert found[4].finding.severity is Severity.VERY_LOW
    assert found[4].finding.port is None


def test_bom_lf_line_ends_blank_lines_and_an_unquoted_header_are_fine() -> None:
    header = ",".join(HEADER).lower()
    data = b"\xef\xbb\xbf" + f"{header}\n\n{GOOD}\n\n".encode()
    assert [r.line for r in parse(data)] == [3]


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"", None, "the file is empty"),
        (GOOD.encode(), 1, "the first row must be the header row"),
        (rows(GOOD, header=HEADER_LINE.replace("ASSET_GROUP", "GROUP")), 1, "header column 4"),
        (rows(GOOD, header=HEADER_LINE.rsplit(",", 1)[0]), 1, "the header has 14 columns"),
        (rows(GOOD, GOOD.replace('"DMZ"', "DMZ")), 3, "value 4 is not in double quotes"),
        (rows(GOOD.replace('"Log4Shell"', '"Log4 "Shell""')), 2, "holds a double quote"),
        (rows(GOOD.rsplit(",", 1)[0]), 2, "the row has 14 values; the header has 15"),
        (rows(GOOD + ',""'), 2, "the row has 16 values"),
        (rows(GOOD + ","), 2, "value 16 is not in double quotes"),
        (rows(GOOD[:-1]), 2, "value 15 has no closing double quote"),
        (rows(GOOD.replace("CVE-2021-45046", "CVE-21-45046")), 2, "CVE-YYYY-NNNN"),
        (rows(GOOD.replace("1705309202000", "2024-01-15")), 2, "epoch milliseconds"),
        (rows(GOOD.replace("CRITICAL", "URGENT")), 2, "is not one of CRITICAL"),
        (rows(GOOD.replace("192.0.2.10", "192.0.2.300")), 2, "not an IPv4 or IPv6"),
    ],
)
def test_each_rule_is_enforced_with_its_line(data: bytes, line: int | None, reason: str) -> None:
    error = error_of(data)
    assert error.line == line
    assert reason in str(error)
    if line is not None:
        assert str(error).startswith(f"line {line}: ")


def test_a_row_of_64_kib_is_refused_and_one_byte_less_is_not() -> None:
    prefix = GOOD.replace('"Log4Shell"', '"{}"')
    fits = prefix.replace("{}", "x" * (65_535 - len(prefix) + 2))
    assert len(fits.encode()) == 65_535
    assert len(list(parse(rows(fits)))) == 1
    error = error_of(rows(GOOD, fits.replace('"x', '"xx')))
    assert error.line == 3
    assert "must be shorter than 65536" in str(error)


def test_not_utf8_names_the_line() -> None:
    error = error_of(rows(GOOD) + GOOD.replace("web01", "w\xe9b01").encode("latin-1"))
    assert (error.line, error.reason) == (3, "the row is not UTF-8 text")


def test_the_fifth_line_is_named_and_nothing_before_it_is_taken_for_granted() -> None:
    lines = [GOOD] * 3 + [GOOD.replace('"443"', '"4430000"')] + [GOOD]
    read: list[int] = []
    with pytest.raises(NativeCsvError, match=r"^line 5: port '4430000'"):
        for row in parse(rows(*lines)):
            read.append(row.line)
    assert read == [2, 3, 4]  # streamed: a caller sees the error before the later rows


def test_the_writer_writes_what_stdlib_csv_and_the_sms_rules_read() -> None:
    findings = [row.finding for row in parse(SAMPLE.read_bytes())]
    scan = Scan("Tenable", 'Nessus "Pro"', "10.6.4", Runtime(0))
    text = "".join(write(scan, findings))
    assert text.startswith(HEADER_LINE + "\r\n")
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(table[0]) == list(HEADER)
    assert table[1]["CVE_IDS"] == "CVE-2021-44228,CVE-2021-45046"
    assert table[1]["PRODUCT"] == "Nessus 'Pro'"
    assert [r.finding for r in parse(text.encode())] == findings


# -- properties -----------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@st.composite
def findings(draw: st.DrawFn) -> Finding:
    version = draw(st.sampled_from([4, 6]))
    address = draw(st.ip_addresses(v=version))
    start = draw(st.none() | st.integers(0, MAX_EPOCH_MS - 1))
    end = draw(st.none() | st.integers(start or 0, MAX_EPOCH_MS - 1))
    cves = draw(
        st.lists(
            st.tuples(st.integers(1000, 9999), st.integers(1000, 10**9)).map(
                lambda t: f"CVE-{t[0]}-{t[1]}"
            ),
            max_size=4,
        )
    )
    mac = draw(st.none() | st.binary(min_size=6, max_size=6))
    return make_finding(
        ip_address=str(address),
        severity=draw(st.sampled_from(list(Severity))),
        asset_group=draw(TEXT),
        mac_address="" if mac is None else mac.hex("-"),
        host_name=draw(TEXT),
        port=draw(st.none() | st.integers(0, 65535)),
        service=draw(TEXT),
        cve_ids=cves,
        vulnerability_id=draw(TEXT),
        vulnerability_title=draw(st.text(st.characters(codec="utf-8"), max_size=300)),
        scan_start=start,
        scan_end=end,
    )


@settings(max_examples=200)
@given(
    scan=st.builds(Scan, vendor=TEXT, product=TEXT, version=TEXT, runtime=st.just(Runtime(0))),
    written=st.lists(findings(), max_size=8),
)
def test_what_the_writer_writes_the_reader_reads_back(scan: Scan, written: list[Finding]) -> None:
    read = list(parse("".join(write(scan, written)).encode("utf-8")))
    assert [row.finding for row in read] == written
    assert [row.line for row in read] == list(range(2, len(written) + 2))
    for row in read:
        assert row.vendor == clean_text(scan.vendor, VENDOR_LENGTH)
        assert row.product == clean_text(scan.product, PRODUCT_LENGTH)


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_any_bytes_only_raise_the_format_error(data: bytes) -> None:
    with contextlib.suppress(NativeCsvError):
        list(parse(data))


@settings(max_examples=300)
@given(st.lists(st.text(st.characters(codec="utf-8"), max_size=60), max_size=20))
def test_any_row_values_after_a_good_header_only_raise_the_format_error(
    values: list[str],
) -> None:
    line = ",".join(f'"{v}"' if i % 3 else v for i, v in enumerate(values))
    try:
        list(parse(rows(line, GOOD)))
    except NativeCsvError as exc:
        assert exc.line is not None
