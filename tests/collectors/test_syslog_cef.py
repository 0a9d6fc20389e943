"""CEF parsing: header pipes, extension escapes, values with spaces, empty values."""

from __future__ import annotations

from pathlib import Path

import pytest

from garrison.collectors.syslog import ParseError, parse_cef
from garrison.collectors.syslog.cef import parse_extension

DATA = Path(__file__).parent.parent / "data" / "syslog"


def test_real_sms_sample_parses_completely() -> None:
    line = (DATA / "tippingpoint_cef_v42.log").read_text().splitlines()[0]
    record = parse_cef(line)
    assert (record.version, record.vendor, record.product, record.device_version) == (
        0,
        "TippingPoint",
        "UnityOne",
        "1.0.0.17",
    )
    assert (record.signature_id, record.name, record.severity) == (
        "7610",
        "Adlumin RepDV Manual Block",
        "1",
    )
    assert record.prefix == "<37>"
    ext = record.extension
    assert ext["cs4"] == "1-1B 1-1A"  # a value with a space
    assert ext["cn1Label"] == "VLAN ID"
    assert ext["c6a2"] == "" and ext["c6a2Label"] == "Source IPv6"  # empty values kept
    assert ext["dntdom"] == ""
    assert ext["rt"] == "1539348361056"
    assert len(ext) == 45


def test_elided_samples_still_parse() -> None:
    lines = (DATA / "tippingpoint_cef_v42.log").read_text().splitlines()[1:]
    second, third = (parse_cef(line) for line in lines)
    assert (second.signature_id, second.severity) == ("13012", "7")
    assert second.name == "13012: SIP: SipVicious Brute Force SIP Tool"
    assert second.extension["cs4"] == "6A 6B …"
    assert second.extension["cat"] == "Exploits"
    assert (third.signature_id, third.severity) == ("32391", "10")
    assert third.extension == {"cat": "Vulnerabilities …"}
    assert third.unparsed == "…"  # text before the first key is kept aside, not fatal


def test_header_escapes() -> None:
    record = parse_cef(r"CEF:0|Ven\|dor|Prod\\uct|1.0|100|a \| b=c|5|k=v")
    assert (record.vendor, record.product, record.name) == ("Ven|dor", "Prod\\uct", "a | b=c")
    assert record.extension == {"k": "v"}


def test_extension_escapes_and_tolerated_equals() -> None:
    ext, _ = parse_extension(
        r"cs6=a\=b c\\d msg=line1\nline2\rx request=http://x/?a=b&c=d fname=C:\\temp\\x"
        r" odd=\q"
    )
    assert ext == {
        "cs6": "a=b c\\d",
        "msg": "line1\nline2\rx",
        "request": "http://x/?a=b&c=d",
        "fname": "C:\\temp\\x",
        "odd": "\\q",
    }


def test_escaped_equals_does_not_start_a_key() -> None:
    assert parse_extension(r"msg=x y\=z")[0] == {"msg": "x y=z"}
    assert parse_extension(r"msg=x\\ y=z")[0] == {"msg": "x\\", "y": "z"}


def test_pipes_in_extension_are_literal() -> None:
    assert parse_cef("CEF:0|a|b|c|d|e|f|msg=x|y|z").extension == {"msg": "x|y|z"}


def test_no_extension() -> None:
    assert parse_cef("CEF:0|a|b|c|d|e|f|").extension == {}


def test_text_that_is_not_pairs_is_kept_aside() -> None:
    record = parse_cef("CEF:0|a|b|c|d|e|f|junk before key=value")
    assert (record.extension, record.unparsed) == ({"key": "value"}, "junk before")
    record = parse_cef("CEF:0|a|b|c|d|e|f|no pairs at all ")
    assert (record.extension, record.unparsed) == ({}, "no pairs at all")


@pytest.mark.parametrize(
    "text",
    [
        "CEF:0|a|b|c|d|e|f",  # six header fields
        "CEF:1000|a|b|c|d|e|f|g",  # not a version
        "nothing here",
    ],
)
def test_broken_cef(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_cef(text)
    assert caught.value.reason == "bad-cef"
