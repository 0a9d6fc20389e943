"""The data-access servlet's three answer formats, as generators of text chunks: rows in,
text out, nothing held but the chunk being filled, so a million rows stream with flat
memory. Pure: no I/O, no database.

* **csv**: a header row of the column names, then a row per record (stdlib ``csv``,
  minimal quoting, ``\\r\\n`` line ends as RFC 4180 has them: with a bare ``\\n`` the
  csv module would leave a value holding ``\\r`` unquoted). Several tables in one answer
  (DataDictionary without ``table``): each is a block of its name on a line of its own,
  its header, its rows and a blank line.
* **sql**: one MySQL statement per row, ``INSERT INTO``, ``REPLACE INTO`` or ``UPDATE ...
  WHERE <the table's key>`` (``mode``); text in single quotes with MySQL's backslash
  escapes, so a quote, a backslash or a newline inside a value never ends a statement.
* **xml**: the facts sheet's document, byte for byte in its structure::

      <?xml version="1.0" ?>
      <resultset><table name="T"><column name="C" type="Integer"/>...<data>
      <r><c>v</c>...</r>
      </data></table></resultset>

  with text escaped (``&``, ``<``, ``>``, and ``\\r`` as ``&#13;`` so it survives a
  parser's line-end normalisation); characters XML 1.0 cannot carry become U+FFFD.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from garrison.datatables.model import Table

CHUNK = 64 * 1024  # characters a chunk holds before it is handed on
MODES = ("insert", "update", "replace")
FORMATS = ("csv", "sql", "xml")
NEWLINE = "\r\n"  # a CSV line end

Rows = Iterable[Sequence[Any]]
Tables = Iterable[tuple[Table, Rows]]


class _Chunks:
    """Collects small strings; `full` says when they make a chunk worth sending."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    @property
    def full(self) -> bool:
        return self.size >= CHUNK

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        self.size = 0
        return text


# -- csv ------------------------------------------------------------------------------------


def csv_rows(table: Table, rows: Rows) -> Iterator[str]:
    """One table as CSV: the header, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=NEWLINE)
    writer.writerow(table.names)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_tables(tables: Tables) -> Iterator[str]:
    """Several tables: each a titled block ending in a blank line."""
    for table, rows in tables:
        yield table.name + NEWLINE
        yield from csv_rows(table, rows)
        yield NEWLINE


# -- sql ------------------------------------------------------------------------------------

# What mysql_real_escape_string escapes.
_MYSQL_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "'": "\\'",
        '"': '\\"',
        "\n": "\\n",
        "\r": "\\r",
        "\x00": "\\0",
        "\x1a": "\\Z",
    }
)


def sql_value(value: Any) -> str:
    """A value as a MySQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        value = str(value)
    return "'" + value.translate(_MYSQL_ESCAPES) + "'"


def _statement(table: Table, row: Sequence[Any], mode: str, head: str) -> str:
    values = [sql_value(v) for v in row]
    if mode != "update":
        return f"{head}({', '.join(values)});\n"
    pairs = dict(zip(table.names, values, strict=True))
    keys = set(table.key)
    changed = [f"{n} = {v}" for n, v in pairs.items() if n not in keys] or [
        f"{n} = {v}" for n, v in pairs.items()
    ]
    where = " AND ".join(
        f"{n} IS NULL" if pairs[n] == "NULL" else f"{n} = {pairs[n]}" for n in table.key
    )
    return f"UPDATE {table.name} SET {', '.join(changed)} WHERE {where};\n"


def sql_rows(table: Table, rows: Rows, mode: str = "insert") -> Iterator[str]:
    """One statement per row: INSERT (the default), REPLACE or UPDATE."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    verb = "REPLACE" if mode == "replace" else "INSERT"
    head = f"{verb} INTO {table.name} ({', '.join(table.names)}) VALUES "
    chunks = _Chunks()
    for row in rows:
        chunks.add(_statement(table, row, mode, head))
        if chunks.full:
            yield chunks.take()
    if chunks.size:
        yield chunks.take()


def sql_tables(tables: Tables, mode: str = "insert") -> Iterator[str]:
    for table, rows in tables:
        yield from sql_rows(table, rows, mode)


# -- xml ------------------------------------------------------------------------------------

_XML_SPECIAL = re.compile('[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_XML_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"}


def _xml_replace(match: re.Match[str]) -> str:
    return _XML_NAMED.get(match.group(), "\ufffd")


def xml_text(value: Any) -> str:
    """A cell's text, escaped; NULL is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = value if isinstance(value, str) else str(value)
    return _XML_SPECIAL.sub(_xml_replace, text)


def xml_head() -> str:
    return '<?xml version="1.0" ?>\n<resultset>'


def xml_table(table: Table, rows: Rows) -> Iterator[str]:
    """One ``<table>`` element: its columns, then ``<data>`` with a ``<r>`` per row."""
    chunks = _Chunks()
    chunks.add(f'<table name="{xml_text(table.name)}">')
    for column in table.columns:
        chunks.add(f'<column name="{xml_text(column.name)}" type="{column.type}"/>')
    chunks.add("<data>\n")
    for row in rows:
        chunks.add("<r>" + "".join(f"<c>{xml_text(v)}</c>" for v in row) + "</r>\n")
        if chunks.full:
            yield chunks.take()
    chunks.add("</data></table>")
    yield chunks.take()


def xml_tables(tables: Tables) -> Iterator[str]:
    """The whole document of one or more tables."""
    yield xml_head()
    for table, rows in tables:
        yield from xml_table(table, rows)
    yield "</resultset>\n"


def chunks(form: str, tables: Sequence[tuple[Table, Rows]], mode: str = "insert") -> Iterator[str]:
    """The answer in ``form`` (one of FORMATS) for ``tables``: a lone table's CSV has no
    title line."""
    if form == "csv":
        if len(tables) == 1:
            table, rows = tables[0]
            return csv_rows(table, rows)
        return csv_tables(tables)
    if form == "sql":
        return sql_tables(tables, mode)
    if form == "xml":
        return xml_tables(tables)
    raise ValueError(f"format {form!r} is not one of {', '.join(FORMATS)}")
