"""The reputation wire formats (TagData, import files, query answer lines): the facts
sheet's examples to the byte, errors with line numbers, and properties: what is written
reads back the same (with our reader and with the standard library's csv), and no input
whatever raises anything but `WireError`."""

from __future__ import annotations

import contextlib
import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garrison.errors import Invalid
from garrison.reputation.model import EntryKind
from garrison.reputation.wire import (
    ImportLine,
    WireError,
    format_answer,
    format_answer_line,
    format_import,
    format_tag_data,
    parse_answer_line,
    parse_entry_type,
    parse_import,
    parse_tag_data,
)

KINDS = list(EntryKind)

# -- TagData ------------------------------------------------------------------------------


def test_tag_data_of_the_guide() -> None:
    assert parse_tag_data('MalwareIpType,infectedHost,CreatedDate,"Jan 22, 2014"') == {
        "MalwareIpType": "infectedHost",
        "CreatedDate": "Jan 22, 2014",
    }
    assert parse_tag_data("Reputation DV Score - Manual,90") == {
        "Reputation DV Score - Manual": "90"
    }
    ttl = "Reputation Entries TTL,2018-10-25 07:15:00-0400"
    assert parse_tag_data(ttl) == {"Reputation Entries TTL": "2018-10-25 07:15:00-0400"}


def test_tag_data_quoting_lists_and_empty_values() -> None:
    # "" inside quotes is a quote; a space before an opening quote is skipped.
    assert parse_tag_data('Note, "say ""hi"", then go",List,a~~~b') == {
        "Note": 'say "hi", then go',
        "List": "a~~~b",
    }
    # An empty value drops its pair, a category left without a value too.
    assert parse_tag_data("A,,B,1,C") == {"B": "1"}
    assert parse_tag_data("") == {}
    assert parse_tag_data(",,") == {}


@pytest.mark.parametrize(
    ("given_text", "says"),
    [
        (",5", "the value '5' has an empty category"),
        ("A,1,A,2", "tag category 'A' is given twice"),
        ('A,"open', "a quoted field is not closed"),
        ('A,"x"y', "a closing quote must be followed by a delimiter"),
        ("A,1\nB,2", "one line of Cat,Value pairs"),
    ],
)
def test_tag_data_errors(given_text: str, says: str) -> None:
    with pytest.raises(WireError, match=says):
        parse_tag_data(given_text)


# -- import files -------------------------------------------------------------------------


def test_import_csv_with_quotes_comments_blank_lines_and_line_numbers() -> None:
    data = (
        "\ufeff# exported 2026-03-01\r\n"
        '1.2.3.4,MalwareIpType,cncHost~~~infectedHost,Note,"a, ""b"""\r\n'
        "\r\n"
        '10.0.0.0/8,Note,"two\r\nlines"\r\n'
        "  192.0.2.7  ,Score,  40 ,Empty,\r\n"
    ).encode()
    assert parse_import(data, EntryKind.IPV4) == [
        ImportLine(2, "1.2.3.4", {"MalwareIpType": "cncHost~~~infectedHost", "Note": 'a, "b"'}),
        ImportLine(4, "10.0.0.0/8", {"Note": "two\r\nlines"}),
        ImportLine(6, "192.0.2.7", {"Score": "40"}),
    ]


def test_url_files_are_pipe_delimited() -> None:
    data = b'http://evil.example/a,b?c=1|Kind|phish\n"http://x.example/|odd"|Kind|"a|b"\n'
    assert parse_import(data, "URL") == [
        ImportLine(1, "http://evil.example/a,b?c=1", {"Kind": "phish"}),
        ImportLine(2, "http://x.example/|odd", {"Kind": "a|b"}),
    ]


@pytest.mark.parametrize(
    ("data", "says", "line"),
    [
        (b"1.1.1.1\n" * 6 + b'1.1.1.7,Note,"open\n1.1.1.8\n', "a quoted field is not closed", 7),
        (b"1.1.1.1\n" * 6 + b",Note,x\n", "the first field must be the entry", 7),
        (b"1.1.1.1\n" * 6 + b"1.1.1.7,,x\n", "has an empty category", 7),
        (b"1.1.1.1\n" * 6 + b"1.1.1.7,A,1,A,2\n", "given twice", 7),
        (b"1.1.1.1\n" * 6 + b"1.1.1.7,Note,caf\xe9\n", "not UTF-8 text", 7),
        (b'1.1.1.1,Note,"x"y\n', "a closing quote must be followed by a delimiter", 1),
    ],
)
def test_import_errors_name_the_line(data: bytes, says: str, line: int) -> None:
    with pytest.raises(WireError, match=f"^line {line}: .*{says}") as caught:
        parse_import(data, EntryKind.IPV4)
    assert caught.value.line == line


def test_import_limit() -> None:
    data = "".join(f"10.0.0.{i}\n" for i in range(4)).encode()
    assert len(parse_import(data, "ipv4", limit=4)) == 4
    with pytest.raises(WireError, match="line 4: more than 3 entries in one file"):
        parse_import(data, "ipv4", limit=3)


def test_entry_types_in_any_case() -> None:
    assert parse_entry_type("IPv4") is EntryKind.IPV4
    assert parse_entry_type(" DNS ") is EntryKind.DNS
    assert parse_entry_type("Url") is EntryKind.URL
    assert parse_entry_type(None) is EntryKind.IPV4
    with pytest.raises(WireError, match="type 'ip4' is not one of ipv4, ipv6, dns, url"):
        parse_entry_type("ip4")
    with pytest.raises(WireError, match="type is required"):
        parse_entry_type("", default=None)
    assert issubclass(WireError, Invalid)  # a 400 wherever it is not caught


# -- query answers ------------------------------------------------------------------------


def test_answer_line_of_the_guide() -> None:
    tags = [("AtaHost", "myata.device.com"), ("ThreatScore", "28")]
    tags.append(("MalwareIpType", "cncHost~~~infectedHost"))
    line = format_answer_line("1.1.1.2", tags)
    assert (
        line
        == "1.1.1.2,AtaHost,myata.device.com,ThreatScore,28,MalwareIpType,cncHost~~~infectedHost"
    )
    assert format_answer([("1.1.1.2", tags), ("1.1.1.3", [])]) == line + "\n1.1.1.3\n"


def test_answer_values_are_quoted_only_when_needed() -> None:
    line = format_answer_line("http://x.example/a,b", {"Note": 'say "hi"', "Pad": " x"})
    assert line == '"http://x.example/a,b",Note,"say ""hi""",Pad," x"'
    assert next(csv.reader([line])) == ["http://x.example/a,b", "Note", 'say "hi"', "Pad", " x"]


# -- properties ---------------------------------------------------------------------------

anything = st.text(max_size=40)
stripped = anything.map(str.strip).filter(bool)
entries = stripped.filter(lambda v: not v.startswith("#"))
tag_sets = st.dictionaries(stripped, stripped, max_size=5)


@given(value=anything, tags=st.lists(st.tuples(anything, anything), max_size=5))
def test_answer_lines_round_trip_through_the_stdlib_csv(
    value: str, tags: list[tuple[str, str]]
) -> None:
    line = format_answer_line(value, tags)
    fields = next(csv.reader(io.StringIO(line, newline="")))
    assert fields == [value, *(text for pair in tags for text in pair)]
    assert parse_answer_line(line) == (value, tags)


@given(tags=tag_sets)
def test_tag_data_round_trips(tags: dict[str, str]) -> None:
    assert parse_tag_data(format_tag_data(tags)) == tags


@settings(max_examples=200)
@given(kind=st.sampled_from(KINDS), rows=st.lists(st.tuples(entries, tag_sets), max_size=8))
def test_import_files_round_trip(kind: EntryKind, rows: list[tuple[str, dict[str, str]]]) -> None:
    parsed = parse_import(format_import(rows, kind).encode(), kind)
    assert [(p.value, p.tags) for p in parsed] == rows
    assert [p.line for p in parsed] == sorted({p.line for p in parsed})


@settings(max_examples=300)
@given(data=st.binary(max_size=300), kind=st.sampled_from(KINDS))
def test_any_bytes_import_or_raise_wire_error(data: bytes, kind: EntryKind) -> None:
    try:
        lines = parse_import(data, kind)
    except WireError as exc:
        assert exc.line is None or exc.line >= 1
        assert "\n" not in str(exc) and "\r" not in str(exc)  # one line, for the answer
    else:
        assert all(line.value and line.line >= 1 for line in lines)


@settings(max_examples=300)
@given(text=st.text(alphabet=st.sampled_from(',"|~ \r\nab\x00\u2028'), max_size=60))
def test_any_text_parses_or_raises_wire_error(text: str) -> None:
    for parse in (parse_tag_data, parse_answer_line, parse_entry_type):
        with contextlib.suppress(WireError):
            parse(text)  # type: ignore[operator]
    with contextlib.suppress(WireError):
        parse_import(text, "url")
