"""The data-access answer formats as a client parses them: CSV read back with the csv
module, XML with xml.etree, SQL values unescaped as MySQL reads a string literal.
Property tests over awkward text (quotes, backslashes, line ends, control characters,
non-ASCII), plus the exact XML framing and the statement forms."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from garrison.datatables import formats
from garrison.datatables.model import INTEGER, LONG, STRING, Column, Table

TABLE = Table(
    "T",
    (Column("ID", INTEGER), Column("NAME", STRING, 64), Column("N", LONG)),
    key=("ID",),
    rows=(),
)

cells = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=40))
rows = st.lists(st.tuples(cells, cells, cells), max_size=20)


def text_of(value: Any) -> str:
    return "" if value is None else str(value)


def join(chunks: Any) -> str:
    return "".join(chunks)


# -- csv ------------------------------------------------------------------------------------


@given(rows)
def test_csv_reads_back_to_the_same_cells(data: list[tuple[Any, ...]]) -> None:
    text = join(formats.csv_rows(TABLE, data))
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == ["ID", "NAME", "N"]
    assert parsed[1:] == [[text_of(v) for v in row] for row in data]


def test_csv_dictreader_reads_columns_by_name() -> None:
    text = join(formats.csv_rows(TABLE, [(1, 'say "hi", then\nleave', None)]))
    (row,) = csv.DictReader(io.StringIO(text, newline=""))
    assert row == {"ID": "1", "NAME": 'say "hi", then\nleave', "N": ""}


def test_several_tables_in_csv_are_titled_blocks() -> None:
    other = Table("U", (Column("X", INTEGER),), key=("X",), rows=())
    text = join(formats.chunks("csv", [(TABLE, [(1, "a", 2)]), (other, [(7,)])]))
    assert text == "T\r\nID,NAME,N\r\n1,a,2\r\n\r\nU\r\nX\r\n7\r\n\r\n"


def test_a_large_table_comes_in_several_chunks() -> None:
    many = ((n, "x" * 50, n) for n in range(10_000))
    chunks = list(formats.csv_rows(TABLE, many))
    assert len(chunks) > 5
    assert all(len(c) < 2 * formats.CHUNK for c in chunks)


# -- xml ------------------------------------------------------------------------------------

XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_expected(value: Any) -> str:
    """What a parser gives back: text the XML can carry, with U+FFFD where it cannot."""
    return XML_INVALID.sub("\ufffd", text_of(value))


@given(rows)
def test_xml_reads_back_to_the_same_cells(data: list[tuple[Any, ...]]) -> None:
    text = join(formats.xml_tables([(TABLE, data)]))
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "resultset"
    table = root.find("table")
    assert table is not None and table.get("name") == "T"
    columns = [(c.get("name"), c.get("type")) for c in table.findall("column")]
    assert columns == [("ID", "Integer"), ("NAME", "String"), ("N", "Long")]
    parsed = [[c.text or "" for c in r.findall("c")] for r in root.findall("table/data/r")]
    assert parsed == [[xml_expected(v) for v in row] for row in data]


def test_xml_has_the_sms_framing() -> None:
    text = join(formats.xml_tables([(TABLE, [(1, "a<b & c>", None)])]))
    assert text == (
        '<?xml version="1.0" ?>\n'
        '<resultset><table name="T"><column name="ID" type="Integer"/>'
        '<column name="NAME" type="String"/><column name="N" type="Long"/><data>\n'
        "<r><c>1</c><c>a&lt;b &amp; c&gt;</c><c></c></r>\n"
        "</data></table></resultset>\n"
    )


def test_xml_of_several_tables_is_one_resultset() -> None:
    other = Table("U", (Column("X", INTEGER),), key=("X",), rows=())
    root = ET.fromstring(join(formats.xml_tables([(TABLE, []), (other, [(5,)])])))
    assert [t.get("name") for t in root.findall("table")] == ["T", "U"]
    assert root.find("table/data") is not None  # what callers look for first
    assert [c.text for c in root.findall("table[@name='U']/data/r/c")] == ["5"]


# -- sql ------------------------------------------------------------------------------------

_UNESCAPE = {"0": "\x00", "n": "\n", "r": "\r", "Z": "\x1a", "\\": "\\", "'": "'", '"': '"'}
_LITERAL = re.compile(r"NULL|-?\d+|'((?:[^'\\]|\\.)*)'", re.DOTALL)


def mysql_values(statement: str) -> list[Any]:
    """The values of ``INSERT ... VALUES (...)`` as MySQL reads them."""
    inside = statement[statement.index(") VALUES (") + len(") VALUES (") : -len(");\n")]
    values: list[Any] = []
    position = 0
    while position < len(inside):
        match = _LITERAL.match(inside, position)
        assert match, f"not a MySQL literal at {inside[position:]!r}"
        token = match.group(0)
        if token == "NULL":
            values.append(None)
        elif match.group(1) is None:
            values.append(int(token))
        else:
            values.append(re.sub(r"\\(.)", lambda m: _UNESCAPE[m.group(1)], match.group(1)))
        position = match.end()
        if inside.startswith(", ", position):
            position += 2
    return values


@given(rows)
def test_sql_values_read_back_as_mysql_reads_them(data: list[tuple[Any, ...]]) -> None:
    text = join(formats.sql_rows(TABLE, data))
    # Split at LF only (str.splitlines also splits at \x1e, \x85, \u2028, ...).
    statements = [line + "\n" for line in text.split("\n")[:-1]]
    # One statement a line: no quote, backslash or line end inside a value leaks out.
    assert len(statements) == len(data)
    for statement, row in zip(statements, data, strict=True):
        assert statement.startswith("INSERT INTO T (ID, NAME, N) VALUES (")
        assert mysql_values(statement) == list(row)


def test_sql_escapes_quotes_backslashes_and_newlines() -> None:
    (statement,) = formats.sql_rows(TABLE, [(1, "it's a \\ path\r\nnext", None)])
    assert statement == (
        "INSERT INTO T (ID, NAME, N) VALUES (1, 'it\\'s a \\\\ path\\r\\nnext', NULL);\n"
    )


def test_sql_modes() -> None:
    row = [(7, "x", None)]
    assert join(formats.sql_rows(TABLE, row, "replace")) == (
        "REPLACE INTO T (ID, NAME, N) VALUES (7, 'x', NULL);\n"
    )
    assert join(formats.sql_rows(TABLE, row, "update")) == (
        "UPDATE T SET NAME = 'x', N = NULL WHERE ID = 7;\n"
    )
    keyed = Table("K", (Column("A", INTEGER), Column("B", STRING, 9)), key=("A", "B"), rows=())
    assert join(formats.sql_rows(keyed, [(None, "b")], "update")) == (
        "UPDATE K SET A = NULL, B = 'b' WHERE A IS NULL AND B = 'b';\n"
    )
