"""One pass from datagram to event for the traps a TippingPoint sends most.

The general path decodes every varbind into a (dotted OID, value) pair and then maps
the list (`messages.decode`, then `tippingpoint.to_event`). For a v2c trap whose kind is in
`tippingpoint.TRAPS` (tptPolicyNotify above all) this module does both at once: each
varbind is looked up by the *encoded* octets of its head (its length, the OID's TLV, the
value's tag and length), which checks them all and says where the value goes and how to
convert it, so no OID text and no intermediate list is made. The event is finished by
the same code as the general path (`tippingpoint.finish_event`).

It is a shortcut, never a second opinion: anything it is not sure of (another version or
PDU, an OID outside the TippingPoint table, an unusual value type or length form, any
malformation) makes it answer None, and the caller takes the general path, which then
accepts or refuses the datagram as it always did. The tests check on many generated
packets that whenever this answers, the general path gives the same event.
"""

from __future__ import annotations

from collections.abc import Callable
from socket import inet_ntoa
from typing import Any

from garrison.collectors.snmp_trap.ber import (
    COUNTER32,
    COUNTER64,
    GAUGE32,
    INTEGER,
    IP_ADDRESS,
    MAX_INTEGER_OCTETS,
    OBJECT_IDENTIFIER,
    OCTET_STRING,
    SEQUENCE,
    TIMETICKS,
    encode_oid,
)
from garrison.collectors.snmp_trap.messages import (
    SNMP_TRAP_OID,
    SYS_UPTIME,
    TRAP_V2,
    IpAddress,
    Value,
)
from garrison.collectors.snmp_trap.tippingpoint import (
    OBJECT_PREFIX,
    OBJECTS,
    TRAPS,
    Target,
    TrapKind,
    finish_event,
    number,
    text,
)
from garrison.events.model import Event

# A value's octets as the Event field (or extra entry) wants it. Raises _NotFast for a
# value the general decoder would refuse, so that it names the fault.
Converter = Callable[[bytes], Any]


class _NotFast(Exception):
    """Leave this datagram to the general path."""


def _checked_int(raw: bytes, signed: bool) -> int:
    if not 0 < len(raw) <= MAX_INTEGER_OCTETS:
        raise _NotFast
    return int.from_bytes(raw, "big", signed=signed)


def _decoded(tag: int) -> Callable[[bytes], Value]:
    """The value the general decoder gives for ``tag`` (`messages._varbinds`)."""
    if tag == OCTET_STRING:
        return bytes
    if tag == INTEGER:
        return lambda raw: _checked_int(raw, True)
    if tag == IP_ADDRESS:

        def address(raw: bytes) -> IpAddress:
            if len(raw) != 4:
                raise _NotFast
            return IpAddress(inet_ntoa(raw))

        return address
    return lambda raw: _checked_int(raw, False)


VALUE_TAGS = (OCTET_STRING, INTEGER, IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, COUNTER64)


# How the loop converts a value: the common pairs written out in the loop (no call),
# anything else through the target's converter applied to the decoded value.
TEXT = 0  # text() of an OCTET STRING
SIGNED = 1  # number() of an INTEGER
UNSIGNED = 2  # number() of a Counter32, Gauge32, TimeTicks or Counter64
SIGNED_TEXT = 3  # text() of an INTEGER
UNSIGNED_TEXT = 4  # text() of a Counter32, Gauge32, TimeTicks or Counter64
ADDRESS_TEXT = 5  # text() of an IpAddress
CALL = 6


def _conversion(target: Target, tag: int) -> tuple[int, Converter]:
    """How the loop converts a ``tag`` value for ``target``: the kinds other than CALL
    give what ``target.convert`` gives for the decoded value (the tests compare them on
    generated packets); the converter is for CALL and for values of a long form."""
    decoded = _decoded(tag)
    convert = target.convert

    def composed(raw: bytes) -> Any:
        return convert(decoded(raw))

    if convert is text:
        if tag == OCTET_STRING:
            return TEXT, composed
        if tag == INTEGER:
            return SIGNED_TEXT, composed
        if tag == IP_ADDRESS:
            return ADDRESS_TEXT, composed
        return UNSIGNED_TEXT, composed
    if convert is number and tag == INTEGER:
        return SIGNED, composed
    if convert is number and tag not in (IP_ADDRESS, OCTET_STRING):
        return UNSIGNED, composed
    return CALL, composed


def _tlv_prefix(oid: str) -> bytes:
    """The OID's TLV as it opens a varbind: tag, one-octet length, arcs."""
    arcs = encode_oid(oid)
    if len(arcs) >= 0x80:
        raise ValueError(f"{oid} is too long for a one-octet length")
    return bytes((OBJECT_IDENTIFIER, len(arcs))) + arcs


# Encoded OID TLV + value tag -> (into Event fields?, field or extra name, conversion
# kind, converter).
Slot = tuple[bool, str, int, Converter]
SLOTS: dict[bytes, Slot] = {
    _tlv_prefix(f"{OBJECT_PREFIX}{n}.0") + bytes((tag,)): (
        bool(target.field),
        target.field or target.name,
        *_conversion(target, tag),
    )
    for n, target in OBJECTS.items()
    for tag in VALUE_TAGS
}
UPTIME_KEY = _tlv_prefix(SYS_UPTIME) + bytes((TIMETICKS,))
TRAP_OID_KEY = _tlv_prefix(SNMP_TRAP_OID) + bytes((OBJECT_IDENTIFIER,))
TRAP_KINDS: dict[bytes, TrapKind] = {encode_oid(oid): spec for oid, spec in TRAPS.items()}

# The whole head of a varbind with short lengths -- SEQUENCE tag and length, the OID's
# TLV, the value's tag and length -- to (into fields?, name, converter, value length).
# One lookup then checks every tag and length of the varbind at once: the table holds
# only heads whose lengths agree and whose value length the general decoder accepts.
# Filled on first sight (at most every object x tag x length: a few thousand entries).
Head = tuple[bool, str, int, Converter, int]
_HEADS: dict[bytes, Head] = {}


def _head(key: bytes) -> Head:
    """The entry for a varbind head not seen before; _NotFast if it is no valid one."""
    if len(key) < 6 or key[0] != SEQUENCE or key[1] >= 0x80 or key[-1] >= 0x80:
        raise _NotFast
    slot = SLOTS.get(key[2:-1])
    size = key[-1]
    if slot is None or key[1] != len(key) - 2 + size:
        raise _NotFast
    tag = key[-2]
    if tag == IP_ADDRESS and size != 4:
        raise _NotFast
    if tag != OCTET_STRING and not 0 < size <= MAX_INTEGER_OCTETS:
        raise _NotFast
    head = (*slot, size)
    _HEADS[key] = head
    return head


def _long_varbind(data: bytes, pos: int, stop: int) -> tuple[Slot, int, int]:
    """A varbind with a long-form length (a value of 128 octets or more): its slot and
    its value's bounds."""
    body, end = _tlv(data, pos, stop, SEQUENCE)
    key_end = body + 3 + data[body + 1]
    slot = SLOTS.get(data[body:key_end])
    if slot is None:
        raise _NotFast
    value_start, value_end = _tlv(data, key_end - 1, end, data[key_end - 1])
    if value_end != end:
        raise _NotFast
    return slot, value_start, value_end


def _tlv(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """The value bounds of the TLV at ``pos``, which must carry ``tag`` and end by
    ``end``; short and one- or two-octet long lengths only."""
    if pos + 2 > end or data[pos] != tag:
        raise _NotFast
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        if length == 0x81:
            length = data[pos]
            pos += 1
        elif length == 0x82:
            length = (data[pos] << 8) | data[pos + 1]
            pos += 2
        else:
            raise _NotFast
    stop = pos + length
    if stop > end:
        raise _NotFast
    return pos, stop


def decode_known(
    datagram: bytes, source_address: str, device_id: int | None
) -> tuple[bytes, Event] | None:
    """(community, event) of a v2c TippingPoint trap of a kind in ``TRAPS``, or None
    when the general path must decide."""
    try:
        return _decode(datagram, source_address, device_id)
    except (_NotFast, IndexError):
        return None


def _decode(data: bytes, source_address: str, device_id: int | None) -> tuple[bytes, Event]:
    # Straight-line reads of the head of the message, in the forms senders use; any
    # other form (or a read past the end: IndexError) is left to the general path.
    length = data[1]
    if data[0] != SEQUENCE:
        raise _NotFast
    if length < 0x80:
        pos = 2
    elif length == 0x81:
        length, pos = data[2], 3
    elif length == 0x82:
        length, pos = (data[2] << 8) | data[3], 4
    else:
        raise _NotFast
    size = len(data)
    # The message fills the datagram; version 1 (v2c); a short community.
    if pos + length != size or data[pos : pos + 4] != b"\x02\x01\x01\x04":
        raise _NotFast
    length = data[pos + 4]
    if length >= 0x80:
        raise _NotFast
    pos += 5 + length
    community = data[pos - length : pos]
    # A Trap-PDU that fills the rest.
    length = data[pos + 1]
    if data[pos] != TRAP_V2:
        raise _NotFast
    if length < 0x80:
        pos += 2
    elif length == 0x81:
        length, pos = data[pos + 2], pos + 3
    elif length == 0x82:
        length, pos = (data[pos + 2] << 8) | data[pos + 3], pos + 4
    else:
        raise _NotFast
    if pos + length != size:
        raise _NotFast
    # request-id (any), error-status and error-index (0 in a notification).
    length = data[pos + 1]
    if data[pos] != INTEGER or not 0 < length <= MAX_INTEGER_OCTETS:
        raise _NotFast
    pos += 2 + length
    if data[pos : pos + 6] != b"\x02\x01\x00\x02\x01\x00":
        raise _NotFast
    pos += 6
    # The varbind list, to the end.
    length = data[pos + 1]
    if data[pos] != SEQUENCE:
        raise _NotFast
    if length < 0x80:
        pos += 2
    elif length == 0x81:
        length, pos = data[pos + 2], pos + 3
    elif length == 0x82:
        length, pos = (data[pos + 2] << 8) | data[pos + 3], pos + 4
    else:
        raise _NotFast
    stop = pos + length
    if stop != size:
        raise _NotFast
    # sysUpTime.0 (its value is not part of the event, but must be well formed).
    length = data[pos + 13]
    if (
        data[pos] != SEQUENCE
        or data[pos + 2 : pos + 13] != UPTIME_KEY
        or not 0 < length <= MAX_INTEGER_OCTETS
        or data[pos + 1] != 12 + length
    ):
        raise _NotFast
    pos += 14 + length
    # snmpTrapOID.0, which says the kind.
    length = data[pos + 15]
    if (
        data[pos] != SEQUENCE
        or data[pos + 2 : pos + 15] != TRAP_OID_KEY
        or data[pos + 1] != 14 + length
    ):
        raise _NotFast
    spec = TRAP_KINDS.get(data[pos + 16 : pos + 16 + length])
    if spec is None:
        raise _NotFast
    pos += 16 + length
    fields: dict[str, Any] = {}
    extra: dict[str, str] = {}
    heads = _HEADS.get
    # The hot loop: per varbind one slice and lookup of its head (which checks all of
    # its tags and lengths), one slice of its value and one conversion. The value's end
    # is checked against the list's once, after the loop.
    while pos < stop:
        key_end = pos + 6 + data[pos + 3]
        key = data[pos:key_end]
        head = heads(key)
        if head is None:
            if data[pos + 1] >= 0x80 or data[key_end - 1] >= 0x80:
                (into_fields, name, _, convert), key_end, pos = _long_varbind(data, pos, stop)
                value = convert(data[key_end:pos])
                if into_fields:
                    fields[name] = value
                else:
                    extra[name] = value
                continue
            head = _head(key)
        into_fields, name, kind, convert, size = head
        pos = key_end + size
        raw = data[key_end:pos]
        if kind == 0:  # TEXT
            value = raw.decode("utf-8", "replace").rstrip("\x00")
        elif kind == 1:  # SIGNED
            value = int.from_bytes(raw, "big", signed=True)
        elif kind == 2:  # UNSIGNED
            value = int.from_bytes(raw, "big")
        elif kind == 3:  # SIGNED_TEXT
            value = str(int.from_bytes(raw, "big", signed=True))
        elif kind == 4:  # UNSIGNED_TEXT
            value = str(int.from_bytes(raw, "big"))
        elif kind == 5:  # ADDRESS_TEXT
            value = inet_ntoa(raw)
        else:
            value = convert(raw)
        if into_fields:
            fields[name] = value
        else:
            extra[name] = value
    if pos != stop:
        raise _NotFast
    return community, finish_event(spec, fields, extra, source_address, device_id)
