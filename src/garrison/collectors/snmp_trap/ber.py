"""The few BER primitives an SNMP message is made of, read with strict bounds.

Pure functions over ``bytes``: every read names the end it must not pass, and any flaw
raises :class:`DecodeError` with a short reason code (the drop reason the receiver
counts), never another exception. SNMP uses only definite lengths and low tag numbers,
so anything else is refused rather than guessed at.
"""

from __future__ import annotations

# Universal and SNMP application tags (RFC 1157, RFC 2578, RFC 3416).
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

# Longest INTEGER we take: a Counter64 with its leading zero octet.
MAX_INTEGER_OCTETS = 9
# RFC 2578 §3.5: at most 128 sub-identifiers.
MAX_OID_ARCS = 128


class DecodeError(ValueError):
    """The datagram is not a well-formed SNMP trap; ``reason`` is a short code such as
    ``truncated``, ``bad-length``, ``bad-tag``, ``bad-value``, ``bad-version``,
    ``not-a-trap``, ``no-trap-oid``, ``trailing`` or ``oversized``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The TLV at ``pos``: (tag, first value octet, end of value). The value must fit
    before ``end``."""
    if pos + 2 > end:
        raise DecodeError("truncated", f"header at {pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DecodeError("bad-tag", f"high tag number at {pos}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise DecodeError("bad-length", "indefinite length")
        if count > 4:
            raise DecodeError("bad-length", f"{count}-octet length")
        if pos + count > end:
            raise DecodeError("truncated", "long length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    stop = pos + length
    if stop > end:
        raise DecodeError("truncated", f"value of {length} octets at {pos}")
    return tag, pos, stop


def expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """The value bounds of a TLV that must carry ``tag``."""
    found, start, stop = read_header(data, pos, end)
    if found != tag:
        raise DecodeError("bad-tag", f"0x{found:02x} where 0x{tag:02x} belongs")
    return start, stop


def integer(data: bytes, start: int, stop: int) -> int:
    """A two's-complement INTEGER value."""
    size = stop - start
    if size == 0 or size > MAX_INTEGER_OCTETS:
        raise DecodeError("bad-value", f"{size}-octet integer")
    return int.from_bytes(data[start:stop], "big", signed=True)


def unsigned(data: bytes, start: int, stop: int) -> int:
    """Counter32, Gauge32, TimeTicks, Counter64. Some agents drop the leading zero octet
    of a large value; reading it unsigned takes their meaning rather than a negative."""
    size = stop - start
    if size == 0 or size > MAX_INTEGER_OCTETS:
        raise DecodeError("bad-value", f"{size}-octet unsigned")
    return int.from_bytes(data[start:stop], "big")


# OIDs repeat from trap to trap (the same varbind names each time), so their text is
# cached by encoded bytes; the cache is cleared when full, which bounds its memory.
_OID_CACHE: dict[bytes, str] = {}
_OID_CACHE_SIZE = 8192
# Sub-identifiers are unsigned 32-bit (the first also carries 2 * 40).
_MAX_ARC = 0xFFFFFFFF + 80


def oid(data: bytes, start: int, stop: int) -> str:
    """An OBJECT IDENTIFIER value as dotted text."""
    raw = data[start:stop]
    text = _OID_CACHE.get(raw)
    if text is not None:
        return text
    text = _oid_text(raw)
    if len(_OID_CACHE) >= _OID_CACHE_SIZE:
        _OID_CACHE.clear()
    _OID_CACHE[raw] = text
    return text


def _oid_text(raw: bytes) -> str:
    if not raw:
        raise DecodeError("bad-value", "empty oid")
    if raw[-1] & 0x80:
        raise DecodeError("bad-value", "oid ends inside a sub-identifier")
    arcs: list[int] = []
    value = 0
    fresh = True
    for octet in raw:
        if fresh and octet == 0x80:
            raise DecodeError("bad-value", "non-minimal sub-identifier")
        value = (value << 7) | (octet & 0x7F)
        if value > _MAX_ARC:
            raise DecodeError("bad-value", "sub-identifier above 2^32 + 80")
        if octet & 0x80:
            fresh = False
            continue
        arcs.append(value)
        value = 0
        fresh = True
    first = arcs[0]
    if first < 40:
        head = [0, first]
    elif first < 80:
        head = [1, first - 40]
    else:
        head = [2, first - 80]
    if len(arcs) + 1 > MAX_OID_ARCS:
        raise DecodeError("bad-value", "oid longer than 128 sub-identifiers")
    return ".".join(map(str, head + arcs[1:]))


def encode_oid(text: str) -> bytes:
    """The BER value octets of a dotted OID (for tests and tools, not the hot path)."""
    arcs = [int(part) for part in text.split(".")]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)
