"""SNMP v1 and v2c trap messages (and the PDU inside a v3 scoped PDU), decoded by hand.

This is the receiver's hot path: pysnmp/pyasn1 decode the same packets in the tests as
the reference, but are some twenty times slower. The decoder walks the fixed shape of
a notification (message, PDU, varbind list, varbind, value) and nothing else, so there
is no recursion to bound. A v1 Trap-PDU is translated as RFC 3584 §3.1 says: the trap
OID from enterprise/generic/specific, the agent address and enterprise kept aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from socket import inet_ntoa

from garrison.collectors.snmp_trap.ber import (
    _OID_CACHE,
    COUNTER32,
    COUNTER64,
    END_OF_MIB_VIEW,
    GAUGE32,
    INTEGER,
    IP_ADDRESS,
    MAX_INTEGER_OCTETS,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    NULL,
    OBJECT_IDENTIFIER,
    OCTET_STRING,
    OPAQUE,
    SEQUENCE,
    TIMETICKS,
    DecodeError,
    expect,
    integer,
    oid,
    read_header,
    unsigned,
)

V1 = 0
V2C = 1
V3 = 3
VERSION_NAMES = {V1: "v1", V2C: "v2c", V3: "v3"}

# PDU tags (context-specific, constructed).
TRAP_V1 = 0xA4
INFORM = 0xA6
TRAP_V2 = 0xA7
RESPONSE = 0xA2

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
# RFC 3584 §3.1: generic traps 0..5 become snmpTraps.(generic + 1).
SNMP_TRAPS = "1.3.6.1.6.3.1.1.5."
ENTERPRISE_SPECIFIC = 6

# The datagram size above which a message is refused without reading it. TippingPoint
# traps stay under a typical MTU; the receiver's setting can raise it to 65507.
DEFAULT_MAX_SIZE = 16_384


class Oid(str):
    """A varbind value of type OBJECT IDENTIFIER (plain dotted text)."""

    __slots__ = ()


class IpAddress(str):
    """A varbind value of type IpAddress (dotted quad text)."""

    __slots__ = ()


Value = int | bytes | str | None
Varbind = tuple[str, Value]


@dataclass(slots=True)
class TrapMessage:
    version: int  # V1, V2C or V3
    community: bytes  # empty for v3
    pdu_type: int  # TRAP_V1, TRAP_V2 or INFORM
    request_id: int  # 0 for v1
    trap_oid: str
    uptime: int | None  # hundredths of a second since the sender's agent started
    varbinds: list[Varbind]  # after sysUpTime.0 and snmpTrapOID.0
    # v1 only (RFC 3584 keeps them as snmpTrapAddress.0 and snmpTrapEnterprise.0).
    agent_address: str = ""
    enterprise: str = ""
    generic_trap: int | None = None
    specific_trap: int | None = None
    # v3 only: who signed it.
    user: str = ""
    engine_id: bytes = b""
    context_name: bytes = field(default=b"")

    @property
    def inform(self) -> bool:
        return self.pdu_type == INFORM


def message_version(datagram: bytes) -> int:
    """The version field alone, so the receiver can route v3 to USM before decoding."""
    _, start, stop = _message_bounds(datagram, len(datagram))
    vstart, vstop = expect(datagram, start, stop, INTEGER)
    return integer(datagram, vstart, vstop)


def decode(datagram: bytes, max_size: int = DEFAULT_MAX_SIZE) -> TrapMessage:
    """A v1 or v2c trap or inform; :class:`DecodeError` for anything else."""
    size = len(datagram)
    if size > max_size:
        raise DecodeError("oversized", f"{size} octets")
    _, pos, end = _message_bounds(datagram, size)
    start, stop = expect(datagram, pos, end, INTEGER)
    version = integer(datagram, start, stop)
    if version not in (V1, V2C):
        raise DecodeError("bad-version", str(version))
    start, pos = expect(datagram, stop, end, OCTET_STRING)
    community = datagram[start:pos]
    message = decode_pdu(datagram, pos, end, version)
    message.community = community
    return message


def decode_pdu(data: bytes, pos: int, end: int, version: int) -> TrapMessage:
    """The PDU at ``pos``, which must fill the rest up to ``end``."""
    tag, pos, stop = read_header(data, pos, end)
    if stop != end:
        raise DecodeError("trailing", "octets after the PDU")
    if tag == TRAP_V1:
        if version != V1:
            raise DecodeError("not-a-trap", "v1 Trap-PDU in a later version")
        return _v1_trap(data, pos, stop)
    if tag in (TRAP_V2, INFORM):
        if version == V1:
            raise DecodeError("not-a-trap", "v2 PDU in a v1 message")
        return _v2_trap(data, pos, stop, tag, version)
    if tag & 0xE0 == 0xA0:
        raise DecodeError("not-a-trap", f"PDU 0x{tag:02x}")
    raise DecodeError("bad-tag", f"0x{tag:02x} where a PDU belongs")


def _message_bounds(data: bytes, size: int) -> tuple[int, int, int]:
    # Junk is named for its first octet before its length is believed.
    if size and data[0] != SEQUENCE:
        raise DecodeError("bad-tag", "message is not a SEQUENCE")
    tag, start, stop = read_header(data, 0, size)
    if tag != SEQUENCE:
        raise DecodeError("bad-tag", "message is not a SEQUENCE")
    if stop != size:
        raise DecodeError("trailing", f"{size - stop} octets after the message")
    return tag, start, stop


def _v2_trap(data: bytes, pos: int, end: int, tag: int, version: int) -> TrapMessage:
    start, pos = expect(data, pos, end, INTEGER)
    request_id = integer(data, start, pos)
    start, pos = expect(data, pos, end, INTEGER)  # error-status, 0 in a notification
    integer(data, start, pos)
    start, pos = expect(data, pos, end, INTEGER)  # error-index
    integer(data, start, pos)
    varbinds = _varbinds(data, pos, end)
    # RFC 3416 §4.2.6: sysUpTime.0 then snmpTrapOID.0. A sender that leaves out the
    # uptime is tolerated; one without a trap OID is not a notification.
    uptime: int | None = None
    index = 0
    if varbinds and varbinds[0][0] == SYS_UPTIME:
        value = varbinds[0][1]
        uptime = value if isinstance(value, int) else None
        index = 1
    if len(varbinds) <= index or varbinds[index][0] != SNMP_TRAP_OID:
        raise DecodeError("no-trap-oid")
    trap_oid = varbinds[index][1]
    if not isinstance(trap_oid, Oid):
        raise DecodeError("no-trap-oid", "snmpTrapOID.0 is not an OID")
    return TrapMessage(version, b"", tag, request_id, str(trap_oid), uptime, varbinds[index + 1 :])


def _v1_trap(data: bytes, pos: int, end: int) -> TrapMessage:
    start, pos = expect(data, pos, end, OBJECT_IDENTIFIER)
    enterprise = oid(data, start, pos)
    start, pos = expect(data, pos, end, IP_ADDRESS)
    if pos - start != 4:
        raise DecodeError("bad-value", "agent-addr is not 4 octets")
    agent = inet_ntoa(data[start:pos])
    start, pos = expect(data, pos, end, INTEGER)
    generic = integer(data, start, pos)
    start, pos = expect(data, pos, end, INTEGER)
    specific = integer(data, start, pos)
    start, pos = expect(data, pos, end, TIMETICKS)
    uptime = unsigned(data, start, pos)
    varbinds = _varbinds(data, pos, end)
    if 0 <= generic < ENTERPRISE_SPECIFIC:
        trap_oid = f"{SNMP_TRAPS}{generic + 1}"
    elif generic == ENTERPRISE_SPECIFIC:
        trap_oid = f"{enterprise}.0.{specific}"
    else:
        raise DecodeError("bad-value", f"generic-trap {generic}")
    return TrapMessage(
        V1,
        b"",
        TRAP_V1,
        0,
        trap_oid,
        uptime,
        varbinds,
        agent_address=agent,
        enterprise=enterprise,
        generic_trap=generic,
        specific_trap=specific,
    )


def _varbinds(data: bytes, pos: int, end: int) -> list[Varbind]:
    start, stop = expect(data, pos, end, SEQUENCE)
    if stop != end:
        raise DecodeError("trailing", "octets after the varbind list")
    varbinds: list[Varbind] = []
    append = varbinds.append
    cached = _OID_CACHE.get
    pos = start
    while pos < stop:
        # Fast path, the shape nearly every varbind has: short lengths, a known OID, a
        # string or an integer. Anything else falls through to the careful path below,
        # which also names whatever is wrong. (Literal tags: this loop is the hot spot.)
        if data[pos] == 0x30 and pos + 4 <= stop and data[pos + 2] == 0x06:
            vstop = pos + 2 + data[pos + 1]
            oend = pos + 4 + data[pos + 3]
            if oend + 2 <= vstop <= stop and data[pos + 1] < 0x80 and data[pos + 3] < 0x80:
                name = cached(data[pos + 4 : oend])
                tag = data[oend]
                if name is not None and oend + 2 + data[oend + 1] == vstop:
                    if tag == 0x04:
                        append((name, data[oend + 2 : vstop]))
                        pos = vstop
                        continue
                    if oend + 2 < vstop <= oend + 2 + MAX_INTEGER_OCTETS:
                        if tag == 0x02:
                            value = int.from_bytes(data[oend + 2 : vstop], "big", signed=True)
                            append((name, value))
                            pos = vstop
                            continue
                        if tag in _UNSIGNED:
                            append((name, int.from_bytes(data[oend + 2 : vstop], "big")))
                            pos = vstop
                            continue
                        if tag == 0x40 and vstop - oend == 6:
                            append((name, IpAddress(inet_ntoa(data[oend + 2 : vstop]))))
                            pos = vstop
                            continue
        vstart, vstop = expect(data, pos, stop, SEQUENCE)
        ostart, opos = expect(data, vstart, vstop, OBJECT_IDENTIFIER)
        name = oid(data, ostart, opos)
        tag, start, pos = read_header(data, opos, vstop)
        if pos != vstop:
            raise DecodeError("trailing", f"octets after the value of {name}")
        append((name, _value(data, tag, start, pos)))
    return varbinds


def _value(data: bytes, tag: int, start: int, stop: int) -> Value:
    if tag in (OCTET_STRING, OPAQUE):
        return data[start:stop]
    if tag == INTEGER:
        return integer(data, start, stop)
    if tag == OBJECT_IDENTIFIER:
        return Oid(oid(data, start, stop))
    if tag == IP_ADDRESS:
        if stop - start != 4:
            raise DecodeError("bad-value", "IpAddress is not 4 octets")
        return IpAddress(inet_ntoa(data[start:stop]))
    if tag in _UNSIGNED:
        return unsigned(data, start, stop)
    if tag in _EMPTY:
        if stop != start:
            raise DecodeError("bad-value", f"0x{tag:02x} with content")
        return None
    raise DecodeError("bad-tag", f"value type 0x{tag:02x}")


_UNSIGNED = frozenset((COUNTER32, GAUGE32, TIMETICKS, COUNTER64))
_EMPTY = frozenset((NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW))


def inform_response(datagram: bytes) -> bytes:
    """The Response-PDU that acknowledges a v2c InformRequest: the same message with
    the PDU tag changed (RFC 3416 §4.2.7: same request-id and varbinds, no error).
    Both tags are one octet, so no length changes."""
    _, pos, end = _message_bounds(datagram, len(datagram))
    _, pos = expect(datagram, pos, end, INTEGER)
    _, pos = expect(datagram, pos, end, OCTET_STRING)
    if datagram[pos] != INFORM:
        raise DecodeError("not-a-trap", "not an InformRequest")
    return datagram[:pos] + bytes((RESPONSE,)) + datagram[pos + 1 :]
