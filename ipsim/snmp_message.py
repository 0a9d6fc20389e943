"""SNMP messages on the wire: v2c community messages and v3 USM messages (RFC 3412/3414/3416).

Pure: bytes in, dataclasses out, and back. The agent and the trap sender own the sockets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ipsim import ber, usm
from ipsim.ber import Oid, Value

GET = 0xA0
GET_NEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
GET_BULK = 0xA5
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8

VERSION_1 = 0
VERSION_2C = 1
VERSION_3 = 3

FLAG_AUTH = 0x01
FLAG_PRIV = 0x02
FLAG_REPORTABLE = 0x04
USM_SECURITY_MODEL = 3

# Error statuses (RFC 3416) the agent uses.
NO_ERROR = 0
TOO_BIG = 1
NOT_WRITABLE = 17
GEN_ERR = 5

# usmStats counters reported back to a manager (RFC 3414 section 5).
USM_STATS_UNSUPPORTED_SEC_LEVELS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0)
USM_STATS_NOT_IN_TIME_WINDOWS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0)
USM_STATS_UNKNOWN_USER_NAMES = (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0)
USM_STATS_UNKNOWN_ENGINE_IDS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0)
USM_STATS_WRONG_DIGESTS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0)
USM_STATS_DECRYPTION_ERRORS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0)

SYS_UPTIME_0 = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID_0 = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)


@dataclass
class Pdu:
    """A PDU. For GetBulk, error_status is non-repeaters and error_index is max-repetitions."""

    tag: int
    request_id: int
    error_status: int = 0
    error_index: int = 0
    varbinds: list[tuple[Oid, Value]] = field(default_factory=list)


def encode_pdu(pdu: Pdu) -> bytes:
    return ber.tlv(
        pdu.tag,
        ber.encode_int(pdu.request_id)
        + ber.encode_int(pdu.error_status)
        + ber.encode_int(pdu.error_index)
        + ber.encode_varbinds(pdu.varbinds),
    )


def decode_pdu(data: bytes, element: ber.Tlv) -> Pdu:
    rid, status, index, vbs = list(ber.children(data, element))
    return Pdu(
        element.tag,
        ber.decode_signed(data, ber.expect(rid, ber.INTEGER)),
        ber.decode_signed(data, ber.expect(status, ber.INTEGER)),
        ber.decode_signed(data, ber.expect(index, ber.INTEGER)),
        ber.decode_varbinds(data, vbs),
    )


# --- v1/v2c ---------------------------------------------------------------------------------


def encode_community(version: int, community: bytes, pdu: Pdu) -> bytes:
    return ber.encode_sequence(
        ber.encode_int(version), ber.encode_octets(community), encode_pdu(pdu)
    )


def message_version(data: bytes) -> int:
    top = ber.expect(ber.read_tlv(data, 0), ber.SEQUENCE)
    first = next(ber.children(data, top))
    return ber.decode_signed(data, ber.expect(first, ber.INTEGER))


def decode_community(data: bytes) -> tuple[int, bytes, Pdu]:
    top = ber.expect(ber.read_tlv(data, 0), ber.SEQUENCE)
    version, community, pdu = list(ber.children(data, top))
    return (
        ber.decode_signed(data, version),
        data[community.start : community.end],
        decode_pdu(data, pdu),
    )


# --- v3 -------------------------------------------------------------------------------------


@dataclass
class V3Message:
    """A decoded v3 message before security processing."""

    msg_id: int
    max_size: int
    flags: int
    security_model: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_params: bytes
    priv_params: bytes
    auth_offset: int  # absolute offset of auth_params in the message, to zero it for the HMAC
    scoped_pdu: bytes  # plaintext scopedPDU TLV, or the ciphertext when FLAG_PRIV is set


def decode_v3(data: bytes) -> V3Message:
    top = ber.expect(ber.read_tlv(data, 0), ber.SEQUENCE)
    _version, header, sec, payload = list(ber.children(data, top))
    msg_id, max_size, flags, model = list(ber.children(data, ber.expect(header, ber.SEQUENCE)))
    sec_seq = ber.read_tlv(data, ber.expect(sec, ber.OCTET_STRING).start, sec.end)
    engine, boots, time, user, auth, priv = list(
        ber.children(data, ber.expect(sec_seq, ber.SEQUENCE))
    )
    flag_bytes = data[flags.start : flags.end]
    return V3Message(
        msg_id=ber.decode_signed(data, msg_id),
        max_size=ber.decode_signed(data, max_size),
        flags=flag_bytes[0] if flag_bytes else 0,
        security_model=ber.decode_signed(data, model),
        engine_id=data[engine.start : engine.end],
        boots=ber.decode_signed(data, boots),
        time=ber.decode_signed(data, time),
        user=data[user.start : user.end],
        auth_params=data[auth.start : auth.end],
        priv_params=data[priv.start : priv.end],
        auth_offset=auth.start,
        # Ciphertext: the octet string's contents. Plaintext: the whole scopedPDU element
        # (it starts right after the security parameters), so it decodes on its own.
        scoped_pdu=(
            data[payload.start : payload.end]
            if payload.tag == ber.OCTET_STRING
            else data[sec.end : payload.end]
        ),
    )


def verify_digest(data: bytes, msg: V3Message, user: usm.UsmUser, auth_key: bytes) -> bool:
    if len(msg.auth_params) != user.mac_length:
        return False
    zeroed = (
        data[: msg.auth_offset] + bytes(user.mac_length) + data[msg.auth_offset + user.mac_length :]
    )
    expected = usm.digest(user.auth_protocol, auth_key, zeroed)
    return usm.hmac.compare_digest(expected, msg.auth_params)


def decode_scoped_pdu(scoped: bytes) -> tuple[bytes, bytes, Pdu]:
    top = ber.expect(ber.read_tlv(scoped, 0), ber.SEQUENCE)
    engine, name, pdu = list(ber.children(scoped, top))
    return scoped[engine.start : engine.end], scoped[name.start : name.end], decode_pdu(scoped, pdu)


def encode_v3(
    *,
    msg_id: int,
    flags: int,
    engine_id: bytes,
    boots: int,
    time: int,
    user: usm.UsmUser | None,
    user_name: bytes,
    context_engine_id: bytes,
    context_name: bytes,
    pdu: Pdu,
    salt: bytes = b"",
    max_size: int = 65507,
) -> bytes:
    """Build a v3 message; authenticate and encrypt it with the user's keys as flags ask."""
    scoped = ber.encode_sequence(
        ber.encode_octets(context_engine_id), ber.encode_octets(context_name), encode_pdu(pdu)
    )
    auth_key = priv_key = b""
    if flags & FLAG_AUTH:
        assert user is not None
        auth_key, priv_key = user.keys(engine_id)
    priv_params = b""
    if flags & FLAG_PRIV:
        priv_params = salt
        payload = ber.encode_octets(usm.encrypt(priv_key, boots, time, salt, scoped))
    else:
        payload = scoped
    mac_length = user.mac_length if flags & FLAG_AUTH and user else 0
    head_parts = [
        ber.encode_octets(engine_id),
        ber.encode_int(boots),
        ber.encode_int(time),
        ber.encode_octets(user_name),
    ]
    auth_tlv = ber.encode_octets(bytes(mac_length))
    sec_body = b"".join(head_parts) + auth_tlv + ber.encode_octets(priv_params)
    sec_seq = ber.tlv(ber.SEQUENCE, sec_body)
    sec_octets = ber.encode_octets(sec_seq)
    # Where the auth parameters' contents land inside sec_octets.
    offset_in_sec = (
        (len(sec_octets) - len(sec_seq))
        + (len(sec_seq) - len(sec_body))
        + sum(len(p) for p in head_parts)
        + (len(auth_tlv) - mac_length)
    )
    version = ber.encode_int(VERSION_3)
    header = ber.encode_sequence(
        ber.encode_int(msg_id),
        ber.encode_int(max_size),
        ber.encode_octets(bytes([flags])),
        ber.encode_int(USM_SECURITY_MODEL),
    )
    body = version + header + sec_octets + payload
    whole = ber.tlv(ber.SEQUENCE, body)
    if not flags & FLAG_AUTH:
        return whole
    offset = (len(whole) - len(body)) + len(version) + len(header) + offset_in_sec
    mac = usm.digest(user.auth_protocol, auth_key, whole)  # type: ignore[union-attr]
    return whole[:offset] + mac + whole[offset + mac_length :]
