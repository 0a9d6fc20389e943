"""The one-pass decoder (`fastpath.decode_known`) against the general path (`decode` then
`to_event`), which the other tests hold to pysnmp: on real net-snmp packets, on pysnmp's,
and on many generated and mutated packets. Whenever the one-pass decoder answers, its
community and event must be the general path's; where the general path refuses a
datagram, it must not answer; and on the ordinary TippingPoint shapes it must answer
(or it would be no shortcut)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from garrison.collectors.snmp_trap.ber import DecodeError, encode_oid
from garrison.collectors.snmp_trap.fastpath import decode_known
from garrison.collectors.snmp_trap.messages import decode
from garrison.collectors.snmp_trap.tippingpoint import (
    OBJECT_PREFIX,
    OBJECTS,
    POLICY_NOTIFY,
    QUARANTINE_NOTIFY,
    SYSTEM_LOG_NOTIFY,
    TRAPS,
    TRHA_NOTIFY,
    to_event,
)
from garrison.events.model import Event
from tests.collectors.test_snmp_trap_support import (
    DATA,
    policy_varbinds_pysnmp,
    pysnmp_v2c_trap,
)

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SOURCE = "192.0.2.10"


def general(datagram: bytes, device_id: int | None = 7) -> tuple[bytes, Event]:
    message = decode(datagram)
    return message.community, to_event(message, SOURCE, device_id)


def same_event(fast: Event, reference: Event) -> None:
    fast.received_at = reference.received_at  # the one field that is "now"
    assert fast == reference
    assert list(fast.extra.items()) == list(reference.extra.items())  # the stored JSON too


def check(datagram: bytes) -> tuple[bytes, Event] | None:
    """The one-pass answer, held to the general path's."""
    fast = decode_known(datagram, SOURCE, 7)
    try:
        reference = general(datagram)
    except DecodeError:
        assert fast is None, "answered for a datagram the general path refuses"
        return None
    if fast is not None:
        assert fast[0] == reference[0]
        same_event(fast[1], reference[1])
    return fast


# --- real packets ---------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(DATA.glob("netsnmp_v*.hex")), ids=lambda p: p.stem)
def test_stored_netsnmp_packets(path: Path) -> None:
    datagram = bytes.fromhex(path.read_text().strip())
    fast = check(datagram)
    if "v3" in path.stem:  # USM's, not a shortcut's
        assert fast is None
        return
    message = decode(datagram)
    if message.version == 1 and message.pdu_type == 0xA7 and message.trap_oid in TRAPS:
        assert fast is not None, "a v2c TippingPoint trap left to the general path"


def test_the_benchmark_packet_takes_the_shortcut() -> None:
    for sequence in (0, 1, 127, 128, 2**31 - 1, 2**32 - 1):
        datagram = pysnmp_v2c_trap("tp-secret", policy_varbinds_pysnmp(sequence))
        fast = check(datagram)
        assert fast is not None
        assert fast[0] == b"tp-secret"
        assert fast[1].sequence == sequence


def test_what_it_leaves_to_the_general_path() -> None:
    from pysnmp.proto.api import v2c

    varbinds = policy_varbinds_pysnmp()
    others = [
        pysnmp_v2c_trap("public", varbinds, inform=True),  # an inform needs its response
        pysnmp_v2c_trap(
            "public", [varbinds[0], (TRAP_OID, v2c.ObjectIdentifier("1.3.6.1.6.3.1.1.5.3"))]
        ),
        pysnmp_v2c_trap("public", varbinds[1:]),  # no sysUpTime.0
        pysnmp_v2c_trap("public", [*varbinds, ("1.3.6.1.4.1.9.9.1.0", v2c.Integer(1))]),
        pysnmp_v2c_trap("public", [*varbinds, (f"{OBJECT_PREFIX}11.1", v2c.OctetString(b"x"))]),
        pysnmp_v2c_trap("public", [*varbinds, (f"{OBJECT_PREFIX}11.0", v2c.Null())]),
    ]
    for datagram in others:
        assert check(datagram) is None
        general(datagram)  # which takes them


# --- generated packets ----------------------------------------------------------------


def length_octets(size: int, form: int) -> bytes:
    """A BER length in the shortest form, or (form 1, 2) a longer one senders may use."""
    if size < 0x80 and form == 0:
        return bytes((size,))
    if size < 0x100 and form <= 1:
        return bytes((0x81, size))
    return bytes((0x82, size >> 8, size & 0xFF))


def tlv(tag: int, value: bytes, form: int = 0) -> bytes:
    return bytes((tag,)) + length_octets(len(value), form) + value


def integer(value: int, size: int | None = None) -> bytes:
    size = size or max(1, (value.bit_length() + 8) // 8)
    return value.to_bytes(size, "big", signed=True)


def unsigned(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


OBJECT_NUMBERS = sorted(OBJECTS)
OCTETS = st.one_of(
    st.binary(max_size=40),
    st.binary(min_size=120, max_size=300),  # long-form lengths
    st.text(max_size=40).map(lambda t: t.encode()),
    st.sampled_from([b"", b"\x00", b"123", b" 42 ", b"00000001-0001-0001-0001-000000007610"]),
    st.sampled_from([bytes(16), bytes(range(16)), b"fe80::1"]),  # the IPv6 objects
)
VALUES = st.one_of(
    st.tuples(st.just(0x04), OCTETS),
    st.tuples(st.just(0x02), st.integers(-(2**63), 2**63).map(integer)),
    st.tuples(st.just(0x02), st.integers(0, 3).map(integer)),  # flags, severities
    st.tuples(st.sampled_from([0x41, 0x42, 0x43, 0x46]), st.integers(0, 2**64 - 1).map(unsigned)),
    st.tuples(st.just(0x40), st.binary(min_size=4, max_size=4)),
)
# Now and then something the shortcut must leave alone: an odd length, another type.
ODD_VALUES = st.one_of(
    VALUES,
    st.tuples(st.sampled_from([0x02, 0x41, 0x43]), st.sampled_from([b"", bytes(10)])),
    st.tuples(st.just(0x40), st.binary(max_size=6)),
    st.tuples(st.sampled_from([0x05, 0x44, 0x80]), st.just(b"")),
    st.tuples(st.just(0x06), st.just(encode_oid("1.3.6.1.4.1"))),
)


@st.composite
def varbind(draw: st.DrawFn, values: Any = VALUES, forms: Any = st.just(0)) -> bytes:
    number = draw(st.sampled_from(OBJECT_NUMBERS))
    tag, value = draw(values)
    name = tlv(0x06, encode_oid(f"{OBJECT_PREFIX}{number}.0"))
    return tlv(0x30, name + tlv(tag, value, draw(forms)), draw(forms))


@st.composite
def trap(draw: st.DrawFn, values: Any = VALUES, forms: Any = st.just(0)) -> bytes:
    trap_oid = draw(
        st.sampled_from([POLICY_NOTIFY, TRHA_NOTIFY, QUARANTINE_NOTIFY, SYSTEM_LOG_NOTIFY])
    )
    form = draw(forms)
    head = [
        tlv(
            0x30,
            tlv(0x06, encode_oid(SYS_UPTIME))
            + tlv(0x43, unsigned(draw(st.integers(0, 2**32 - 1)))),
        ),
        tlv(0x30, tlv(0x06, encode_oid(TRAP_OID)) + tlv(0x06, encode_oid(trap_oid))),
    ]
    varbinds = head + draw(st.lists(varbind(values, forms), max_size=45))
    pdu = (
        tlv(0x02, integer(draw(st.integers(-(2**31), 2**31 - 1))))
        + bytes.fromhex("020100020100")
        + tlv(0x30, b"".join(varbinds), form)
    )
    community = draw(st.binary(max_size=20))
    message = bytes.fromhex("020101") + tlv(0x04, community) + tlv(0xA7, pdu, form)
    return tlv(0x30, message, form)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trap())
def test_generated_traps_take_the_shortcut_and_agree(datagram: bytes) -> None:
    fast = check(datagram)
    assert fast is not None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trap(ODD_VALUES, st.integers(0, 2)))
def test_odd_values_and_length_forms_agree_or_are_left_alone(datagram: bytes) -> None:
    check(datagram)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    trap(),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutated_traps_agree_or_are_left_alone(seed: bytes, edits: list[tuple[int, int]]) -> None:
    datagram = bytearray(seed)
    for position, octet in edits:
        datagram[position % len(datagram)] = octet
    check(bytes(datagram))


@settings(max_examples=300, deadline=None)
@given(trap(), st.integers(1, 2000))
def test_truncated_and_extended_traps_are_left_alone(seed: bytes, cut: int) -> None:
    assume(cut < len(seed))
    assert decode_known(seed[:-cut], SOURCE, None) is None
    assert decode_known(seed + seed[:cut], SOURCE, None) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1200))
def test_random_bytes_never_raise(datagram: bytes) -> None:
    check(datagram)
