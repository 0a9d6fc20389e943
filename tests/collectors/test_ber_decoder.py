"""The hand-written trap decoder against pysnmp/pyasn1 decoding the same packets: packets
from net-snmp's snmptrap (captured live and stored under tests/data/snmp_trap) and
packets pysnmp encodes; then every malformation, and a hypothesis fuzz that only a
DecodeError ever comes out."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysnmp.proto.api import v2c

from garrison.collectors.snmp_trap.ber import DecodeError, encode_oid
from garrison.collectors.snmp_trap.messages import (
    INFORM,
    RESPONSE,
    TRAP_V1,
    TRAP_V2,
    V1,
    V2C,
    IpAddress,
    Oid,
    TrapMessage,
    decode,
    inform_response,
)
from tests.collectors.test_snmp_trap_support import (
    DATA,
    POLICY_NOTIFY,
    TP,
    capture,
    policy_args,
    policy_varbinds_pysnmp,
    pysnmp_v2c_trap,
    reference_decode,
    snmptrap_v1,
    snmptrap_v2c,
)

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
STORED = sorted(p for p in DATA.glob("netsnmp_v[12]*.hex"))


def load(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def assert_same_as_reference(datagram: bytes) -> TrapMessage:
    ours = decode(datagram)
    ref = reference_decode(datagram)
    assert ours.version == ref["version"]
    assert ours.community == ref["community"]
    if ours.version == V1:
        assert ours.pdu_type == TRAP_V1
        for key in ("enterprise", "agent_address", "generic_trap", "specific_trap", "uptime"):
            assert getattr(ours, key) == ref[key], key
        assert ours.varbinds == ref["varbinds"]
    else:
        assert ours.request_id == ref["request_id"]
        head = ref["varbinds"][:2]
        assert head[0] == (SYS_UPTIME, ours.uptime)
        assert head[1] == (TRAP_OID, Oid(ours.trap_oid))
        assert ours.varbinds == ref["varbinds"][2:]
    # Types too: an IpAddress is not an OCTET STRING, an OID not a string.
    for (_, mine), (_, theirs) in zip(
        ours.varbinds, ref["varbinds"][-len(ours.varbinds) :], strict=True
    ):
        assert type(mine) is type(theirs) or (mine is None and theirs is None)
    return ours


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.stem)
def test_stored_netsnmp_packets_decode_as_pysnmp_reads_them(path: Path) -> None:
    assert_same_as_reference(load(path))


def test_live_snmptrap_v2c_policy_notify() -> None:
    datagram = capture(snmptrap_v2c("{port}", POLICY_NOTIFY, policy_args()))
    message = assert_same_as_reference(datagram)
    assert message.trap_oid == POLICY_NOTIFY
    assert message.uptime == 4242
    assert message.pdu_type == TRAP_V2
    assert len(message.varbinds) == len(policy_args()) // 3
    assert message.varbinds[0] == (f"{TP}.1.11.0", b"ips-lab-01")
    assert (f"{TP}.1.15.0", IpAddress("50.227.44.198")) in message.varbinds
    assert (f"{TP}.1.30.0", 19278229) in message.varbinds


def test_live_snmptrap_v1_is_translated_as_rfc3584_says() -> None:
    datagram = capture(snmptrap_v1("{port}", TP, 6, 8, policy_args(v1=True)))
    message = assert_same_as_reference(datagram)
    assert message.trap_oid == POLICY_NOTIFY  # enterprise + ".0." + specific
    assert (message.agent_address, message.enterprise) == ("10.0.0.9", TP)
    # net-snmp puts a Counter64 in a v1 trap if told to; snmptrapd takes it, so do we.
    with_counter64 = decode(capture(snmptrap_v1("{port}", TP, 6, 8, policy_args())))
    assert (f"{TP}.1.30.0", 19278229) in with_counter64.varbinds
    generic = capture(snmptrap_v1("{port}", "1.3.6.1.4.1.8072", 2, 0, []))
    assert decode(generic).trap_oid == "1.3.6.1.6.3.1.1.5.3"  # linkDown = generic 2 + 1


def test_pysnmp_encoded_packets_decode_the_same() -> None:
    datagram = pysnmp_v2c_trap("s3cret", policy_varbinds_pysnmp())
    message = assert_same_as_reference(datagram)
    assert message.community == b"s3cret"
    every_type = [
        (SYS_UPTIME, v2c.TimeTicks(0)),
        (TRAP_OID, v2c.ObjectIdentifier("1.3.6.1.4.1.99999.0.7")),
        ("1.3.6.1.4.1.99999.1", v2c.Integer(-2147483648)),
        ("1.3.6.1.4.1.99999.2", v2c.Counter32(4294967295)),
        ("1.3.6.1.4.1.99999.3", v2c.Gauge32(0)),
        ("1.3.6.1.4.1.99999.4", v2c.Counter64(2**64 - 1)),
        ("1.3.6.1.4.1.99999.5", v2c.Opaque(b"\x9f\x78\x04\x42\x28\x00\x00")),
        ("1.3.6.1.4.1.99999.6", v2c.OctetString(b"")),
        ("1.3.6.1.4.1.99999.7", v2c.ObjectIdentifier("2.999.1")),
        ("1.3.6.1.4.1.99999.8", v2c.null),
        ("1.3.6.1.4.1.99999.9", v2c.NoSuchObject("")),
        ("1.3.6.1.4.1.99999.10", v2c.OctetString(b"x" * 300)),  # a long-form length
    ]
    assert_same_as_reference(pysnmp_v2c_trap("public", every_type))
    inform = decode(pysnmp_v2c_trap("public", every_type, inform=True))
    assert inform.inform and inform.pdu_type == INFORM


def test_inform_response_is_the_same_message_as_a_response_pdu() -> None:
    datagram = pysnmp_v2c_trap("public", policy_varbinds_pysnmp(), inform=True)
    response = inform_response(datagram)
    assert len(response) == len(datagram)
    ref = reference_decode(response)
    assert ref["request_id"] == decode(datagram).request_id
    assert response[response.index(b"public") + 6] == RESPONSE


def v2c_bytes(pdu: bytes, community: bytes = b"public", version: int = V2C) -> bytes:
    body = bytes([0x02, 0x01, version, 0x04, len(community)]) + community + pdu
    return bytes([0x30, len(body)]) + body


def tlv(tag: int, value: bytes) -> bytes:
    assert len(value) < 128
    return bytes([tag, len(value)]) + value


def varbind(oid: str, value: bytes) -> bytes:
    return tlv(0x30, tlv(0x06, encode_oid(oid)) + value)


GOOD_VARBINDS = varbind(SYS_UPTIME, tlv(0x43, b"\x01")) + varbind(
    TRAP_OID, tlv(0x06, encode_oid("1.3.6.1.4.1.9.0.1"))
)


def trap_pdu(varbinds: bytes = GOOD_VARBINDS, tag: int = TRAP_V2) -> bytes:
    head = tlv(0x02, b"\x01") + tlv(0x02, b"\x00") + tlv(0x02, b"\x00")
    return tlv(tag, head + tlv(0x30, varbinds))


def test_hand_built_minimal_trap_decodes() -> None:
    message = decode(v2c_bytes(trap_pdu()))
    assert message.trap_oid == "1.3.6.1.4.1.9.0.1"
    assert message.uptime == 1 and message.varbinds == []
    assert message == decode(v2c_bytes(trap_pdu()))


MALFORMED = {
    "empty": (b"", "truncated"),
    "one octet": (b"\x30", "truncated"),
    "not a sequence": (b"\x04\x00", "bad-tag"),
    "garbage": (b"\x00garbage", "bad-tag"),
    "high tag number": (b"\x1f\x01\x00", "bad-tag"),
    "indefinite length": (b"\x30\x80\x00\x00", "bad-length"),
    "five-octet length": (b"\x30\x85\x00\x00\x00\x00\x01\x00", "bad-length"),
    "length past the end": (b"\x30\x10\x02\x01\x01", "truncated"),
    "trailing octets": (v2c_bytes(trap_pdu()) + b"\x00", "trailing"),
    "version 2": (v2c_bytes(trap_pdu(), version=2), "bad-version"),
    "version 3": (v2c_bytes(trap_pdu(), version=3), "bad-version"),
    "get request": (v2c_bytes(trap_pdu(tag=0xA0)), "not-a-trap"),
    "v1 pdu in v2c": (v2c_bytes(trap_pdu(tag=TRAP_V1)), "not-a-trap"),
    "v2 trap in v1": (v2c_bytes(trap_pdu(), version=V1), "not-a-trap"),
    "no trap oid": (v2c_bytes(trap_pdu(varbind(SYS_UPTIME, tlv(0x43, b"\x01")))), "no-trap-oid"),
    "trap oid not an oid": (
        v2c_bytes(trap_pdu(varbind(TRAP_OID, tlv(0x04, b"x")))),
        "no-trap-oid",
    ),
    "unknown value type": (
        v2c_bytes(trap_pdu(GOOD_VARBINDS + varbind("1.3.6.1", tlv(0x47, b"\x00")))),
        "bad-tag",
    ),
    "empty integer": (
        v2c_bytes(trap_pdu(GOOD_VARBINDS + varbind("1.3.6.1", tlv(0x02, b"")))),
        "bad-value",
    ),
    "ten-octet integer": (
        v2c_bytes(trap_pdu(GOOD_VARBINDS + varbind("1.3.6.1", tlv(0x02, b"\x01" * 10)))),
        "bad-value",
    ),
    "short ip address": (
        v2c_bytes(trap_pdu(GOOD_VARBINDS + varbind("1.3.6.1", tlv(0x40, b"\x01\x02")))),
        "bad-value",
    ),
    "null with content": (
        v2c_bytes(trap_pdu(GOOD_VARBINDS + varbind("1.3.6.1", tlv(0x05, b"\x00")))),
        "bad-value",
    ),
    "oid ends mid arc": (
        v2c_bytes(trap_pdu(GOOD_VARBINDS + tlv(0x30, tlv(0x06, b"\x2b\x86") + b"\x05\x00"))),
        "bad-value",
    ),
    "non-minimal oid arc": (
        v2c_bytes(trap_pdu(GOOD_VARBINDS + tlv(0x30, tlv(0x06, b"\x2b\x80\x01") + b"\x05\x00"))),
        "bad-value",
    ),
    "oid arc above 32 bits": (
        v2c_bytes(
            trap_pdu(
                GOOD_VARBINDS
                + tlv(0x30, tlv(0x06, b"\x2b\x9f" + b"\xff" * 4 + b"\x7f") + b"\x05\x00")
            )
        ),
        "bad-value",
    ),
    "varbind with two values": (
        v2c_bytes(trap_pdu(GOOD_VARBINDS + tlv(0x30, tlv(0x06, b"\x2b") + b"\x05\x00\x05\x00"))),
        "trailing",
    ),
    "bad generic trap": (
        v2c_bytes(
            tlv(
                TRAP_V1,
                tlv(0x06, b"\x2b\x06")
                + tlv(0x40, b"\x0a\x00\x00\x01")
                + tlv(0x02, b"\x07")
                + tlv(0x02, b"\x00")
                + tlv(0x43, b"\x00")
                + tlv(0x30, b""),
            ),
            version=V1,
        ),
        "bad-value",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_packets_raise_one_decode_error_with_a_reason(case: str) -> None:
    datagram, reason = MALFORMED[case]
    with pytest.raises(DecodeError) as raised:
        decode(datagram)
    assert raised.value.reason == reason


def test_oversized_and_truncated_real_packets() -> None:
    datagram = load(DATA / "netsnmp_v2c_policy.hex")
    with pytest.raises(DecodeError, match="oversized"):
        decode(datagram, max_size=len(datagram) - 1)
    for cut in range(len(datagram)):
        with pytest.raises(DecodeError) as raised:
            decode(datagram[:cut])
        assert raised.value.reason in ("truncated", "trailing"), cut


# --- fuzzing ------------------------------------------------------------------------

SEEDS = [load(p) for p in STORED] + [pysnmp_v2c_trap("public", policy_varbinds_pysnmp())]


def decode_or_refuse(datagram: bytes) -> None:
    try:
        message = decode(datagram)
    except DecodeError as exc:
        assert exc.reason
        return
    assert isinstance(message, TrapMessage)
    assert message.trap_oid


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_fuzz_random_bytes(datagram: bytes) -> None:
    decode_or_refuse(datagram)


@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(st.integers(0, 2000), st.integers(0, 255), st.sampled_from("sdit")),
        min_size=1,
        max_size=6,
    ),
)
def test_fuzz_mutated_valid_packets(seed: bytes, edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(seed)
    for position, octet, kind in edits:
        at = position % (len(data) + 1)
        if kind == "s" and at < len(data):
            data[at] = octet  # set
        elif kind == "d" and at < len(data):
            del data[at]  # delete
        elif kind == "i":
            data.insert(at, octet)  # insert
        elif kind == "t":
            del data[at:]  # truncate
    decode_or_refuse(bytes(data))


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(SEEDS), st.integers(0, 2000), st.sampled_from([0x80, 0x84, 0xFF, 0x7F]))
def test_fuzz_length_octets(seed: bytes, position: int, octet: int) -> None:
    # Lengths are where decoders go wrong: overwrite one with an extreme value.
    data = bytearray(seed)
    data[position % len(data)] = octet
    decode_or_refuse(bytes(data))
