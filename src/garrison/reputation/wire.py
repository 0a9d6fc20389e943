"""The SMS's reputation wire formats, pure: ``TagData``, import files and query answers.

- ``TagData`` (``repEntries/add``): ``Cat1,Val1,Cat2,Val2,...``, one CSV record.
- Import files (``repEntries/import``, and the file form of ``repEntries/delete``): one
  entry a line, the address first, then category,value pairs. CSV for ipv4, ipv6 and dns;
  **pipe-delimited for url** (a URL holds commas). An error names its 1-based line.
- Query answers (``repEntries/query``): ``<addr>,<Cat>,<Val>,...`` a line.

Shared CSV rules: fields may be quoted, ``""`` is a quote inside a quoted field, a quoted
field may span lines, spaces after a delimiter are skipped (``Cat, "Jan 22, 2014"``), list
values are joined with ``~~~`` inside one field. Of the pairs, an empty value drops its
pair (a category left without a value too: ``1.2.3.4,Cat`` or a trailing comma); a value
without a category is an error, as is a category named twice in one record.

Everything here raises `WireError` (an `Invalid`) and nothing else, whatever the input:
the Web services turn it into a one-line answer, and the property tests hold it to that.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from garrison.errors import Invalid
from garrison.reputation.model import LIST_SEPARATOR, EntryKind

COMMA = ","
PIPE = "|"
QUOTE = '"'
MAX_IMPORT_LINES = 100_000  # entries one file may hold; the SMS advises 1,000-10,000
FILE_KINDS = {k.value: k for k in EntryKind}

__all__ = [
    "LIST_SEPARATOR",
    "ImportLine",
    "WireError",
    "delimiter_for",
    "format_answer",
    "format_answer_line",
    "format_import",
    "format_record",
    "format_tag_data",
    "parse_answer_line",
    "parse_entry_type",
    "parse_import",
    "parse_tag_data",
]


class WireError(Invalid):
    """Input that does not follow the wire format; ``line`` is the 1-based line of a
    file, when the input was one."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class ImportLine:
    """One entry of an import file: where it was, its address and its tags."""

    line: int
    value: str
    tags: dict[str, str] = field(default_factory=dict)


def delimiter_for(kind: EntryKind | str) -> str:
    """A file's field separator: pipes for URLs, commas for the rest."""
    return PIPE if str(kind).lower() == EntryKind.URL else COMMA


def parse_entry_type(value: str | None, default: EntryKind | None = EntryKind.IPV4) -> EntryKind:
    """The ``type`` parameter in any case (``IPv4``, ``DNS``); absent gives ``default``."""
    if value is None or not value.strip():
        if default is None:
            raise WireError("type is required: ipv4, ipv6, dns or url")
        return default
    kind = FILE_KINDS.get(value.strip().lower())
    if kind is None:
        raise WireError(f"type {value.strip()[:40]!r} is not one of ipv4, ipv6, dns, url")
    return kind


# -- reading ------------------------------------------------------------------------------


def _reader(text: str, delimiter: str) -> Any:
    # newline="": csv sees line ends as they are, so a quoted field keeps its own.
    return csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar=QUOTE,
        doublequote=True,
        skipinitialspace=True,
        strict=True,
    )


def _csv_reason(error: csv.Error) -> str:
    message = str(error)
    if "unexpected end of data" in message or "newline inside string" in message:
        return "a quoted field is not closed"
    if "expected after" in message:
        return f"a closing quote must be followed by a delimiter ({message})"
    if "field larger than field limit" in message:
        # csv's own, process-wide limit (128 Ki characters): read, never changed here.
        return f"a field is longer than {csv.field_size_limit()} characters"
    return message


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each record; csv errors become `WireError` at the line
    where the record starts."""
    reader = _reader(text, delimiter)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise WireError(f"line {start}: {_csv_reason(exc)}", line=start) from None
        line, start = start, reader.line_num + 1
        yield line, fields


def _pairs(fields: Sequence[str], where: str, line: int | None = None) -> dict[str, str]:
    """``Cat,Val,...`` fields as category -> value (both stripped; empty values dropped)."""
    tags: dict[str, str] = {}
    for index in range(0, len(fields), 2):
        category = fields[index].strip()
        value = fields[index + 1].strip() if index + 1 < len(fields) else ""
        if not value:
            continue  # the SMS's rule: an empty value drops its pair
        if not category:
            raise WireError(f"{where}: the value {value[:40]!r} has an empty category", line)
        if category in tags:
            raise WireError(
                f"{where}: tag category {category[:60]!r} is given twice "
                f"(join a list's values with {LIST_SEPARATOR})",
                line,
            )
        tags[category] = value
    return tags


def parse_tag_data(text: str) -> dict[str, str]:
    """``MalwareIpType,infectedHost,CreatedDate,"Jan 22, 2014"`` -> category -> value."""
    records = [fields for _, fields in _records(text, COMMA) if fields]
    if not records:
        return {}
    if len(records) > 1:
        raise WireError("TagData: one line of Cat,Value pairs (a line break outside quotes)")
    return _pairs(records[0], "TagData")


def decode(data: bytes | str) -> str:
    """A file's text: UTF-8 (a byte-order mark skipped); bad bytes name their line."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WireError(f"line {line}: not UTF-8 text (byte {exc.start + 1})", line) from None


def parse_import(
    data: bytes | str, kind: EntryKind | str, *, limit: int = MAX_IMPORT_LINES
) -> list[ImportLine]:
    """Every entry of an import file of ``kind``. Blank lines and lines starting with
    ``#`` are skipped. Addresses are not checked here (the model does that, and its error
    is given the line); the format is."""
    lines: list[ImportLine] = []
    for line, fields in _records(decode(data), delimiter_for(kind)):
        if not any(f.strip() for f in fields):
            continue
        value = fields[0].strip()
        if value.startswith("#"):
            continue
        if not value:
            raise WireError(f"line {line}: the first field must be the entry", line)
        if len(lines) >= limit:
            raise WireError(
                f"line {line}: more than {limit} entries in one file; split it "
                "(the SMS advises 1,000 to 10,000 a file)",
                line,
            )
        tags = _pairs(fields[1:], f"line {line}", line)
        lines.append(ImportLine(line=line, value=value, tags=tags))
    return lines


def parse_answer_line(text: str) -> tuple[str, list[tuple[str, str]]]:
    """A query answer line back into (entry, [(category, value), ...])."""
    records = [fields for _, fields in _records(text, COMMA) if fields]
    if len(records) != 1:
        raise WireError("an answer line holds exactly one record")
    value, *rest = records[0]
    if len(rest) % 2:
        raise WireError("an answer line has an entry and then category,value pairs")
    return value, [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]


# -- writing ------------------------------------------------------------------------------


def _quoted(text: str, delimiter: str) -> str:
    """``text`` as one field: quoted when it holds what the reader would otherwise split
    on or strip (the delimiter, a quote, a line end, leading or trailing space), or is
    empty."""
    special = (delimiter, QUOTE, "\r", "\n")
    if text and text == text.strip() and not any(c in text for c in special):
        return text
    return QUOTE + text.replace(QUOTE, QUOTE * 2) + QUOTE


def format_record(fields: Iterable[str], delimiter: str = COMMA) -> str:
    """One record, without a line end."""
    return delimiter.join(_quoted(f, delimiter) for f in fields)


def _flat(tags: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[str]:
    pairs = tags.items() if isinstance(tags, Mapping) else tags
    return [text for pair in pairs for text in pair]


def format_tag_data(tags: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    return format_record(_flat(tags))


def format_answer_line(value: str, tags: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """``1.1.1.2,AtaHost,myata.device.com,MalwareIpType,cncHost~~~infectedHost``."""
    return format_record([value, *_flat(tags)])


def format_answer(entries: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> str:
    """Query answer lines, each ending with a newline, in the order given (the store
    sorts by address)."""
    return "".join(format_answer_line(value, tags) + "\n" for value, tags in entries)


def format_import(
    entries: Iterable[tuple[str, Mapping[str, str] | Iterable[tuple[str, str]]]],
    kind: EntryKind | str,
) -> str:
    """An import file of ``kind`` (pipes for URLs), one entry a line."""
    delimiter = delimiter_for(kind)
    return "".join(
        format_record([value, *_flat(tags)], delimiter) + "\n" for value, tags in entries
    )
