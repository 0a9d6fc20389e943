"""Just enough ASN.1 BER for SNMP: the universal and SNMP application types, with offsets.

Hand-written rather than pyasn1 because one process plays hundreds of agents and the USM
needs the absolute offset of the authentication parameters inside a message.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import NamedTuple

INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42  # also Unsigned32
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

UNSIGNED_TAGS = frozenset({COUNTER32, GAUGE32, TIMETICKS, COUNTER64})
UNSIGNED_LIMITS = {COUNTER32: 2**32, GAUGE32: 2**32, TIMETICKS: 2**32, COUNTER64: 2**64}

Oid = tuple[int, ...]


class BerError(ValueError):
    """The bytes are not the BER we expect; the caller drops the datagram."""


class Value(NamedTuple):
    """One typed SNMP value: the BER tag and a Python payload (int, bytes, Oid or None)."""

    tag: int
    value: int | bytes | Oid | None


def parse_oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip(".").split("."))


def format_oid(oid: Oid) -> str:
    return ".".join(str(arc) for arc in oid)


# Constructors that say which SNMP type a value has, so callers never handle raw tags.
def integer(n: int) -> Value:
    return Value(INTEGER, int(n))


def octets(data: bytes | str) -> Value:
    return Value(OCTET_STRING, data.encode() if isinstance(data, str) else bytes(data))


def object_id(oid: Oid | str) -> Value:
    return Value(OBJECT_IDENTIFIER, parse_oid(oid) if isinstance(oid, str) else tuple(oid))


def ip_address(address: str) -> Value:
    return Value(IP_ADDRESS, ipaddress.IPv4Address(address).packed)


def counter32(n: int) -> Value:
    return Value(COUNTER32, int(n) % 2**32)


def gauge32(n: int) -> Value:
    return Value(GAUGE32, max(0, min(int(n), 2**32 - 1)))


unsigned32 = gauge32


def timeticks(n: int) -> Value:
    return Value(TIMETICKS, int(n) % 2**32)


def counter64(n: int) -> Value:
    return Value(COUNTER64, int(n) % 2**64)


def null() -> Value:
    return Value(NULL, None)


NO_SUCH_OBJECT_VALUE = Value(NO_SUCH_OBJECT, None)
NO_SUCH_INSTANCE_VALUE = Value(NO_SUCH_INSTANCE, None)
END_OF_MIB_VIEW_VALUE = Value(END_OF_MIB_VIEW, None)


# --- encoding -------------------------------------------------------------------------------


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(body)) + body


def encode_signed(n: int) -> bytes:
    size = max(1, (n + (n < 0)).bit_length() // 8 + 1)
    return n.to_bytes(size, "big", signed=True)


def encode_unsigned(n: int) -> bytes:
    # A leading zero octet keeps values with the top bit set positive, as BER requires.
    return n.to_bytes(n.bit_length() // 8 + 1, "big")


def encode_oid_body(oid: Oid) -> bytes:
    if len(oid) < 2:
        oid = (*oid, 0) if oid else (0, 0)
    arcs = [oid[0] * 40 + oid[1], *oid[2:]]
    out = bytearray()
    for arc in arcs:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_value(value: Value) -> bytes:
    tag, payload = value
    if tag == INTEGER:
        return tlv(tag, encode_signed(payload))  # type: ignore[arg-type]
    if tag in UNSIGNED_TAGS:
        return tlv(tag, encode_unsigned(payload))  # type: ignore[arg-type]
    if tag == OBJECT_IDENTIFIER:
        return tlv(tag, encode_oid_body(payload))  # type: ignore[arg-type]
    if tag in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
        return bytes([tag, 0])
    return tlv(tag, payload)  # type: ignore[arg-type]  # octet strings, IpAddress, Opaque


def encode_int(n: int) -> bytes:
    return tlv(INTEGER, encode_signed(n))


def encode_octets(data: bytes) -> bytes:
    return tlv(OCTET_STRING, data)


def encode_sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def encode_varbinds(varbinds: list[tuple[Oid, Value]]) -> bytes:
    return encode_sequence(
        *(
            encode_sequence(tlv(OBJECT_IDENTIFIER, encode_oid_body(o)), encode_value(v))
            for o, v in varbinds
        )
    )


# --- decoding -------------------------------------------------------------------------------


class Tlv(NamedTuple):
    """A decoded element: its tag and where its contents sit in the whole buffer."""

    tag: int
    start: int
    end: int


def read_tlv(data: bytes, pos: int, limit: int | None = None) -> Tlv:
    limit = len(data) if limit is None else limit
    if pos + 2 > limit:
        raise BerError("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-byte tags are not used by SNMP")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > limit:
            raise BerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > limit:
        raise BerError("element runs past its container")
    return Tlv(tag, pos, pos + length)


def children(data: bytes, parent: Tlv) -> Iterator[Tlv]:
    pos = parent.start
    while pos < parent.end:
        child = read_tlv(data, pos, parent.end)
        yield child
        pos = child.end


def expect(element: Tlv, tag: int) -> Tlv:
    if element.tag != tag:
        raise BerError(f"expected tag 0x{tag:02x}, got 0x{element.tag:02x}")
    return element


def decode_signed(data: bytes, element: Tlv) -> int:
    if element.end == element.start:
        raise BerError("empty integer")
    return int.from_bytes(data[element.start : element.end], "big", signed=True)


def decode_oid(data: bytes, element: Tlv) -> Oid:
    body = data[element.start : element.end]
    if not body:
        raise BerError("empty OID")
    arcs: list[int] = []
    acc = 0
    for byte in body:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(acc)
            acc = 0
    first = arcs[0]
    head = (min(first // 40, 2), first - 40 * min(first // 40, 2))
    return (*head, *arcs[1:])


def decode_value(data: bytes, element: Tlv) -> Value:
    tag = element.tag
    body = data[element.start : element.end]
    if tag == INTEGER:
        return Value(tag, decode_signed(data, element))
    if tag in UNSIGNED_TAGS:
        return Value(tag, int.from_bytes(body, "big") if body else 0)
    if tag == OBJECT_IDENTIFIER:
        return Value(tag, decode_oid(data, element))
    if tag in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
        return Value(tag, None)
    return Value(tag, bytes(body))


def decode_varbinds(data: bytes, element: Tlv) -> list[tuple[Oid, Value]]:
    out = []
    for pair in children(data, expect(element, SEQUENCE)):
        name, value = list(children(data, expect(pair, SEQUENCE)))
        out.append((decode_oid(data, expect(name, OBJECT_IDENTIFIER)), decode_value(data, value)))
    return out
