"""RFC 5424 messages: ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]``.

The header is strict enough to tell fields apart (single spaces, ``-`` for nothing), the
rest is tolerant: lowercase ``t``/``z``, more than six fraction digits, a missing zone
(read as UTC), leap second 60, and a MSG with or without its UTF-8 BOM.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from garrison.collectors.syslog.errors import BAD_HEADER, BAD_STRUCTURED_DATA, ParseError
from garrison.collectors.syslog.message import SyslogMessage, decode_text

BOM = b"\xef\xbb\xbf"
NIL = b"-"
_VERSION = re.compile(rb"[1-9][0-9]{0,2} ")
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"([Zz]|[+-]\d{2}:?\d{2})?"
)
# SD-NAME: printable US-ASCII except '=', space, ']' and '"' (RFC 5424 6.3.2).
_SD_NAME = re.compile(rb"[!#-<>-\\^-~]{1,32}")


def looks_like_rfc5424(rest: bytes) -> bool:
    """After the PRI, a version number and a space: ``1 `` (what tells the RFCs apart)."""
    return _VERSION.match(rest) is not None


def parse_rfc5424(facility: int, severity: int, rest: bytes) -> SyslogMessage:
    """Parse what follows the PRI; raises ParseError only."""
    fields = rest.split(b" ", 6)
    if len(fields) < 7:
        raise ParseError(BAD_HEADER, f"RFC 5424 header with {len(fields)} of 7 fields")
    version, stamp, host, app, procid, msgid, tail = fields
    if version != b"1":
        raise ParseError(BAD_HEADER, f"RFC 5424 version {version.decode()} is not 1")
    for name, value in (("HOSTNAME", host), ("APP-NAME", app), ("PROCID", procid)):
        if not value:
            raise ParseError(BAD_HEADER, f"empty {name} (two spaces in the header)")
    if not msgid:
        raise ParseError(BAD_HEADER, "empty MSGID (two spaces in the header)")
    structured, message = parse_structured_data(tail)
    return SyslogMessage(
        facility=facility,
        severity=severity,
        format="rfc5424",
        timestamp=parse_timestamp(stamp),
        hostname=_field(host),
        app_name=_field(app),
        procid=_field(procid),
        msgid=_field(msgid),
        structured_data=structured,
        message=_message(message),
    )


def parse_timestamp(raw: bytes) -> datetime | None:
    """An RFC 3339 timestamp (aware), or None for ``-``."""
    if raw == NIL:
        return None
    text = raw.decode("ascii", "replace")
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ParseError(BAD_HEADER, f"not an RFC 3339 timestamp: {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        tz = _zone(zone)
        # A leap second (60) is kept as the last microsecond of its minute.
        if second == 60:
            second, micro = 59, 999_999
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise ParseError(BAD_HEADER, f"timestamp {text[:40]!r}: {exc}") from None


def parse_structured_data(tail: bytes) -> tuple[dict[str, dict[str, str]], bytes]:
    """``-`` or ``[id name="value" ...]...``, then the rest as the MSG bytes."""
    if tail == NIL or tail.startswith(b"- "):
        return {}, tail[2:]
    if not tail.startswith(b"["):
        raise ParseError(BAD_STRUCTURED_DATA, f"expected '-' or '[', got {tail[:20]!r}")
    elements: dict[str, dict[str, str]] = {}
    pos = 0
    while pos < len(tail) and tail[pos : pos + 1] == b"[":
        pos, sd_id, params = _element(tail, pos + 1)
        # A repeated SD-ID is not allowed; keeping the first is the tolerant choice.
        elements.setdefault(sd_id, params)
    if pos == len(tail):
        return elements, b""
    if tail[pos : pos + 1] != b" ":
        raise ParseError(
            BAD_STRUCTURED_DATA, f"junk after structured data: {tail[pos : pos + 20]!r}"
        )
    return elements, tail[pos + 1 :]


def _element(data: bytes, pos: int) -> tuple[int, str, dict[str, str]]:
    """One SD-ELEMENT from just after its ``[``; returns the position after its ``]``."""
    match = _SD_NAME.match(data, pos)
    if match is None:
        raise ParseError(BAD_STRUCTURED_DATA, f"bad SD-ID at {data[pos : pos + 20]!r}")
    sd_id = match.group().decode("ascii")
    pos = match.end()
    params: dict[str, str] = {}
    while True:
        if data[pos : pos + 1] == b"]":
            return pos + 1, sd_id, params
        if data[pos : pos + 1] != b" ":
            raise ParseError(BAD_STRUCTURED_DATA, f"[{sd_id}: expected ' ' or ']'")
        while data[pos : pos + 1] == b" ":  # tolerate several spaces between params
            pos += 1
        match = _SD_NAME.match(data, pos)
        if match is None or data[match.end() : match.end() + 2] != b'="':
            raise ParseError(BAD_STRUCTURED_DATA, f'[{sd_id}: expected name="value"')
        name = match.group().decode("ascii")
        pos, value = _param_value(data, match.end() + 2, sd_id)
        params[name] = value


def _param_value(data: bytes, pos: int, sd_id: str) -> tuple[int, str]:
    """A PARAM-VALUE from just after its opening quote: ``\\"``, ``\\\\`` and ``\\]`` are
    escapes; any other backslash stays as it is (RFC 5424 6.3.3)."""
    out = bytearray()
    while pos < len(data):
        byte = data[pos]
        if byte == 0x5C and pos + 1 < len(data) and data[pos + 1] in b'"\\]':
            out.append(data[pos + 1])
            pos += 2
        elif byte == 0x22:
            return pos + 1, decode_text(bytes(out))
        else:
            out.append(byte)
            pos += 1
    raise ParseError(BAD_STRUCTURED_DATA, f"[{sd_id}: a value without its closing quote")


def _field(raw: bytes) -> str:
    return "" if raw == NIL else decode_text(raw)


def _message(raw: bytes) -> str:
    if raw.startswith(BOM):
        return raw[len(BOM) :].decode("utf-8", "replace")
    return decode_text(raw)


def _zone(zone: str | None) -> timezone:
    if zone is None or zone in "Zz":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"zone offset {zone} out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
