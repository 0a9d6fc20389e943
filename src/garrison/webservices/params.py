"""A Web service call's parameters: query string, form body and multipart fields merged,
as the SMS's servlets take them. Pure: bytes in, `Params` out.

Clients repeat a parameter in the URL and the body, put ``ip`` in the URL and the rest in
a form, upload files under any field name, and send ``Content-Type: application/json`` on
a GET (facts sheet, tolerance rules 1, 2 and 5). So: every source is merged in order
(query string first, then the body), repeated keys are all kept, the first file part under
any name is the upload, and only a form content type makes the body parameters; any other
body (JSON included) is kept raw, never read as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from urllib.parse import parse_qsl

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class ParamError(ValueError):
    """Parameters that cannot be used: a malformed body, or one parameter given twice
    with different values where only one makes sense. The message is for the caller."""


@dataclass(frozen=True, slots=True)
class FilePart:
    """One uploaded file of a multipart body."""

    field: str  # the form field's name: "file", "name", "requestFile", "uploadfile", ...
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Params:
    pairs: tuple[tuple[str, str], ...] = ()  # every (name, value), in arrival order
    files: tuple[FilePart, ...] = ()
    body: bytes = b""  # the raw request body, whatever its type

    def __contains__(self, key: object) -> bool:
        return any(name == key for name, _ in self.pairs)

    def get_all(self, key: str) -> list[str]:
        return [value for name, value in self.pairs if name == key]

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (blank included), else ``default``."""
        return next((value for name, value in self.pairs if name == key), default)

    def single(self, key: str) -> str | None:
        """The one value of a parameter that takes one value, stripped; None when absent or
        blank. The same value repeated (URL and body) is fine; different values are not."""
        values = list(dict.fromkeys(v.strip() for v in self.get_all(key) if v.strip()))
        if len(values) > 1:
            raise ParamError(f"{key} is given {len(values)} times with different values")
        return values[0] if values else None

    def first_file(self) -> FilePart | None:
        """The upload: the first file part, whatever its field name."""
        return self.files[0] if self.files else None

    def without(self, *keys: str) -> list[tuple[str, str]]:
        """The pairs minus ``keys`` (say, credentials before an audit record)."""
        return [(name, value) for name, value in self.pairs if name not in keys]


def _content_type(header: str) -> Message:
    message = Message()
    message["content-type"] = header or "application/octet-stream"
    return message


def media_type(header: str) -> str:
    """``Multipart/Form-Data; boundary=x`` -> ``multipart/form-data``."""
    return _content_type(header).get_content_type()


def parse_query(query: bytes | str) -> list[tuple[str, str]]:
    """``a=1&a=2&b`` -> ``[("a", "1"), ("a", "2"), ("b", "")]``; ``+`` is a space."""
    text = query.decode("utf-8", "replace") if isinstance(query, bytes) else query
    return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")


def parse(query: bytes, content_type: str, body: bytes) -> Params:
    """Merge the query string and, for a form content type, the body."""
    pairs = parse_query(query)
    files: list[FilePart] = []
    kind = media_type(content_type)
    if kind == FORM:
        pairs += parse_query(body)
    elif kind == MULTIPART and body:
        boundary = _content_type(content_type).get_param("boundary")
        if not isinstance(boundary, str) or not boundary:
            raise ParamError("multipart body without a boundary in its Content-Type")
        fields, files = parse_multipart(body, boundary.encode("latin-1", "replace"))
        pairs += fields
    return Params(pairs=tuple(pairs), files=tuple(files), body=body)


# -- multipart/form-data (RFC 7578) ----------------------------------------------------------


def parse_multipart(body: bytes, boundary: bytes) -> tuple[list[tuple[str, str]], list[FilePart]]:
    """The text fields and file parts of a multipart/form-data body.

    Parts are found by searching for the delimiter, so binary content is returned byte for
    byte. Line ends may be CRLF (the standard) or bare LF (some hand-made clients).
    """
    delimiter = b"--" + boundary
    if body.startswith(delimiter):
        position = len(delimiter)
    else:  # a preamble before the first delimiter is allowed
        found = body.find(b"\n" + delimiter)
        if found < 0:
            raise ParamError("multipart body without its boundary")
        position = found + 1 + len(delimiter)
    fields: list[tuple[str, str]] = []
    files: list[FilePart] = []
    while not body.startswith(b"--", position):  # "--" after a delimiter closes the body
        line_end = body.find(b"\n", position)
        if line_end < 0:
            raise ParamError("multipart body ends without its closing boundary")
        start = line_end + 1
        found = body.find(b"\n" + delimiter, start - 1)
        if found < 0:
            raise ParamError("multipart body ends without its closing boundary")
        end = found - 1 if found > start and body[found - 1 : found] == b"\r" else found
        _add_part(body[start : max(start, end)], fields, files)
        position = found + 1 + len(delimiter)
    return fields, files


def _split_headers(part: bytes) -> tuple[bytes, bytes]:
    if part.startswith((b"\r\n", b"\n")):  # no headers at all
        return b"", part[2:] if part.startswith(b"\r\n") else part[1:]
    ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := part.find(sep)) >= 0]
    if not ends:
        return part, b""
    index, length = min(ends)
    return part[:index], part[index + length :]


def _add_part(part: bytes, fields: list[tuple[str, str]], files: list[FilePart]) -> None:
    raw_headers, content = _split_headers(part)
    headers = Message()
    # Split on LF only: str.splitlines would also split inside a name at \x1e or \x85.
    for raw_line in raw_headers.split(b"\n"):
        name, colon, value = raw_line.decode("utf-8", "replace").partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    raw_name = headers.get_param("name", header="content-disposition")
    name = collapse_rfc2231_value(raw_name) if raw_name is not None else ""
    filename = headers.get_filename()
    if filename is None:
        if name:
            fields.append((name, content.decode("utf-8", "replace")))
        return
    if not filename and not content:
        return  # a browser's empty file input: no file was chosen
    content_type = headers.get_content_type() if "content-type" in headers else ""
    files.append(FilePart(field=name, filename=filename, content_type=content_type, data=content))
