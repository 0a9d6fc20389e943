"""ArcSight CEF: ``CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension``.

Escaping (CEF spec, "Character encoding"): in the header ``\\|`` is a pipe and ``\\\\`` a
backslash; in the extension ``\\=`` is an equals sign, ``\\\\`` a backslash and ``\\n``,
``\\r`` line breaks. Extension values may contain spaces: a new pair starts only where a
space is followed by ``key=`` with an unescaped ``=``. Empty values (``c6a2= c6a2Label=``)
are kept as empty strings.

Tolerated beyond the spec: ``\\|`` in the extension (a pipe), an unescaped ``=`` inside a
value that does not follow a space (``request=http://x/?a=b``), and any other backslash
pair left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from garrison.collectors.syslog.errors import BAD_CEF, ParseError

_START = re.compile(r"CEF:(\d{1,3})\|")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]-")
_EXTENSION_ESCAPES = {"=": "=", "\\": "\\", "n": "\n", "r": "\r", "|": "|"}
HEADER_FIELDS = 7  # after "CEF:n": vendor, product, version, signature id, name, severity


@dataclass(slots=True)
class CefRecord:
    version: int
    vendor: str
    product: str
    device_version: str
    signature_id: str
    name: str
    severity: str  # "0".."10", or Low/Medium/High/Very-High
    extension: dict[str, str] = field(default_factory=dict)
    prefix: str = ""  # text before "CEF:" in the syslog message, if any
    unparsed: str = ""  # extension text before the first key=value (kept, not fatal)


def find_cef(message: str) -> int:
    """Where ``CEF:n|`` starts in a syslog message body, or -1."""
    match = _START.search(message)
    return -1 if match is None else match.start()


def parse_cef(message: str) -> CefRecord:
    """Parse a message that contains ``CEF:``; raises ParseError only."""
    start = find_cef(message)
    if start < 0:
        raise ParseError(BAD_CEF, "no 'CEF:<version>|' in the message")
    prefix = message[:start].strip()
    header, extension_text = _split_header(message[start + 4 :])
    extension, unparsed = parse_extension(extension_text)
    version, vendor, product, device_version, signature_id, name, severity = header
    return CefRecord(
        version=int(version),
        vendor=vendor,
        product=product,
        device_version=device_version,
        signature_id=signature_id,
        name=name,
        severity=severity.strip(),
        extension=extension,
        prefix=prefix,
        unparsed=unparsed,
    )


def _split_header(text: str) -> tuple[list[str], str]:
    """Seven pipe-separated header fields (unescaped) and the raw extension after them."""
    fields: list[str] = []
    current: list[str] = []
    pos = 0
    while pos < len(text) and len(fields) < HEADER_FIELDS:
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in "|\\":
            current.append(text[pos + 1])
            pos += 2
            continue
        if char == "|":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        pos += 1
    if len(fields) < HEADER_FIELDS:
        got = len(fields) + 1
        raise ParseError(BAD_CEF, f"a CEF header needs {HEADER_FIELDS + 1} fields, got {got}")
    return fields, text[pos:]


def parse_extension(text: str) -> tuple[dict[str, str], str]:
    """``key=value key2=value with spaces`` -> ({key: value, ...}, text before the first
    key). The last of a repeated key wins. Text that is not a pair (a line cut at the
    front, a vendor's free text) is returned apart: an alert is worth more than a perfect
    line."""
    starts = _pair_starts(text)
    if not starts:
        return {}, text.strip()
    out: dict[str, str] = {}
    for index, (key_start, equals) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        out[text[key_start:equals]] = _unescape(text[equals + 1 : end].rstrip(" \t"))
    return out, text[: starts[0][0]].strip()


def _pair_starts(text: str) -> list[tuple[int, int]]:
    """(key start, position of its '=') for each pair: an unescaped '=' whose key runs
    back to the start of the text or to a space."""
    starts: list[tuple[int, int]] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "=":
            key_start = pos
            while key_start > 0 and text[key_start - 1] in _KEY_CHARS:
                key_start -= 1
            if key_start < pos and (key_start == 0 or text[key_start - 1] in " \t"):
                starts.append((key_start, pos))
        pos += 1
    return starts


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out: list[str] = []
    pos = 0
    while pos < len(value):
        char = value[pos]
        if char == "\\" and pos + 1 < len(value) and value[pos + 1] in _EXTENSION_ESCAPES:
            out.append(_EXTENSION_ESCAPES[value[pos + 1]])
            pos += 2
        else:
            out.append(char)
            pos += 1
    return "".join(out)
