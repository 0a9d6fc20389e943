"""RADIUS packets as bytes: decoding, signing and verifying, password hiding.

Pure functions, no sockets. The proxy works on the raw attribute list (code, value) in
the order it arrived: it must forward attributes it has no dictionary entry for, keep
repeated attributes (Proxy-State, EAP-Message) in order, and recompute exactly the
authenticators a re-signed packet needs. pyrad's ``Packet`` groups attributes by type and
decodes values, which is right for building a packet by name, so pyrad serves for the
dictionary and for named attributes (``load_dictionary``, ``encode_named``), and these
helpers for the bytes.

References: RFC 2865 (packet format, User-Password hiding, Response Authenticator),
RFC 2866 (Accounting Request Authenticator), RFC 2869 section 5.14 and RFC 3579 section
3.2 (Message-Authenticator), RFC 2868 section 3.5 and RFC 2548 section 2.4.2 (salt
encryption of Tunnel-Password and MS-MPPE keys), RFC 5176 (Disconnect and CoA).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import secrets
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pyrad import dictionary as pyrad_dictionary
from pyrad import packet as pyrad_packet

# Packet codes (RFC 2865 section 3, RFC 2866, RFC 5176 section 2.3).
ACCESS_REQUEST = 1
ACCESS_ACCEPT = 2
ACCESS_REJECT = 3
ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
ACCESS_CHALLENGE = 11
STATUS_SERVER = 12
DISCONNECT_REQUEST = 40
DISCONNECT_ACK = 41
DISCONNECT_NAK = 42
COA_REQUEST = 43
COA_ACK = 44
COA_NAK = 45

CODE_NAMES = {
    ACCESS_REQUEST: "Access-Request",
    ACCESS_ACCEPT: "Access-Accept",
    ACCESS_REJECT: "Access-Reject",
    ACCOUNTING_REQUEST: "Accounting-Request",
    ACCOUNTING_RESPONSE: "Accounting-Response",
    ACCESS_CHALLENGE: "Access-Challenge",
    STATUS_SERVER: "Status-Server",
    DISCONNECT_REQUEST: "Disconnect-Request",
    DISCONNECT_ACK: "Disconnect-ACK",
    DISCONNECT_NAK: "Disconnect-NAK",
    COA_REQUEST: "CoA-Request",
    COA_ACK: "CoA-ACK",
    COA_NAK: "CoA-NAK",
}

# Attribute types this package reads or writes.
USER_NAME = 1
USER_PASSWORD = 2
CHAP_PASSWORD = 3
NAS_IP_ADDRESS = 4
NAS_PORT = 5
FRAMED_IP_ADDRESS = 8
REPLY_MESSAGE = 18
STATE = 24
VENDOR_SPECIFIC = 26
CALLING_STATION_ID = 31
NAS_IDENTIFIER = 32
PROXY_STATE = 33
ACCT_STATUS_TYPE = 40
ACCT_SESSION_ID = 44
EVENT_TIMESTAMP = 55
CHAP_CHALLENGE = 60
TUNNEL_PASSWORD = 69
EAP_MESSAGE = 79
MESSAGE_AUTHENTICATOR = 80
NAS_IPV6_ADDRESS = 95
ERROR_CAUSE = 101

# Acct-Status-Type values (RFC 2866 section 5.1).
ACCT_START = 1
ACCT_STOP = 2
ACCT_INTERIM_UPDATE = 3

# Vendor-specific attributes hidden with the salt scheme (RFC 2548 section 2.4.2/2.4.3).
MICROSOFT = 311
MS_MPPE_SEND_KEY = 16
MS_MPPE_RECV_KEY = 17
SALTED_VENDOR_ATTRIBUTES = {(MICROSOFT, MS_MPPE_SEND_KEY), (MICROSOFT, MS_MPPE_RECV_KEY)}

HEADER_LENGTH = 20
# RFC 2865 section 3: "The maximum length is 4096."
MAX_PACKET_LENGTH = 4096
MAX_VALUE_LENGTH = 253
ZERO_VECTOR = bytes(16)

# Requests whose Request Authenticator is an MD5 over the packet (not random) and whose
# Message-Authenticator is computed with a zero authenticator field.
SIGNED_REQUESTS = frozenset({ACCOUNTING_REQUEST, DISCONNECT_REQUEST, COA_REQUEST})
RANDOM_AUTHENTICATOR_REQUESTS = frozenset({ACCESS_REQUEST, STATUS_SERVER})

Attribute = tuple[int, bytes]


class MalformedPacket(ValueError):
    """Bytes that are not a RADIUS packet; ``reason`` is a short counter key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class RadiusPacket:
    """A packet's header and its attributes in wire order, values raw."""

    code: int
    identifier: int
    authenticator: bytes
    attributes: tuple[Attribute, ...] = ()

    @property
    def name(self) -> str:
        return CODE_NAMES.get(self.code, f"code {self.code}")

    def values(self, attribute: int) -> list[bytes]:
        return [value for code, value in self.attributes if code == attribute]

    def first(self, attribute: int) -> bytes | None:
        for code, value in self.attributes:
            if code == attribute:
                return value
        return None

    def has(self, attribute: int) -> bool:
        return any(code == attribute for code, _ in self.attributes)

    def text(self, attribute: int) -> str:
        """A text attribute, UTF-8 (RFC 2865 section 5); bytes that are not UTF-8 are
        replaced rather than refused, so a bad name never stops a packet."""
        value = self.first(attribute)
        return value.decode("utf-8", "replace") if value is not None else ""

    def integer(self, attribute: int) -> int | None:
        value = self.first(attribute)
        if value is None or len(value) != 4:
            return None
        return int.from_bytes(value, "big")

    def address(self, attribute: int) -> str:
        """An IPv4 (4 octets) or IPv6 (16 octets) address attribute, or ""."""
        value = self.first(attribute)
        if value is None or len(value) not in (4, 16):
            return ""
        return str(ipaddress.ip_address(value))

    def with_attributes(self, attributes: Iterable[Attribute]) -> RadiusPacket:
        return replace(self, attributes=tuple(attributes))

    def encode(self) -> bytes:
        """The packet with its authenticator field as it stands (no signing)."""
        body = encode_attributes(self.attributes)
        return _header(self.code, self.identifier, len(body)) + self.authenticator + body


def _header(code: int, identifier: int, body_length: int) -> bytes:
    length = HEADER_LENGTH + body_length
    if length > MAX_PACKET_LENGTH:
        raise ValueError(f"packet of {length} octets is over the RADIUS limit of 4096")
    return struct.pack("!BBH", code, identifier, length)


def decode(data: bytes) -> RadiusPacket:
    """Decode one datagram (RFC 2865 section 3); octets past the Length field are
    padding and ignored. Raises ``MalformedPacket``, and nothing else, for bad bytes."""
    if len(data) < HEADER_LENGTH:
        raise MalformedPacket("too_short", f"{len(data)} octets, a header needs 20")
    code, identifier, length = struct.unpack("!BBH", data[:4])
    if length < HEADER_LENGTH or length > MAX_PACKET_LENGTH:
        raise MalformedPacket("bad_length", f"Length field {length} is outside 20..4096")
    if length > len(data):
        raise MalformedPacket("bad_length", f"Length field {length}, {len(data)} octets came")
    attributes: list[Attribute] = []
    position = HEADER_LENGTH
    while position < length:
        if length - position < 2:
            raise MalformedPacket("bad_attribute", f"truncated attribute at offset {position}")
        attribute, size = data[position], data[position + 1]
        if size < 2 or position + size > length:
            raise MalformedPacket(
                "bad_attribute", f"attribute {attribute} at offset {position} has length {size}"
            )
        attributes.append((attribute, bytes(data[position + 2 : position + size])))
        position += size
    return RadiusPacket(code, identifier, bytes(data[4:20]), tuple(attributes))


def encode_attributes(attributes: Iterable[Attribute]) -> bytes:
    parts = []
    for code, value in attributes:
        if not 0 < code < 256:
            raise ValueError(f"attribute type {code} is outside 1..255")
        if len(value) > MAX_VALUE_LENGTH:
            raise ValueError(f"attribute {code}: {len(value)} octets, at most 253 fit")
        parts.append(bytes((code, len(value) + 2)) + value)
    return b"".join(parts)


# --- authenticators -------------------------------------------------------------------


def _zero_message_authenticator(attributes: Sequence[Attribute]) -> tuple[Attribute, ...]:
    return tuple(
        (code, ZERO_VECTOR if code == MESSAGE_AUTHENTICATOR else value)
        for code, value in attributes
    )


def message_authenticator(
    code: int, identifier: int, vector: bytes, attributes: Sequence[Attribute], secret: bytes
) -> bytes:
    """HMAC-MD5 over the packet with the Message-Authenticator value zeroed and ``vector``
    in the authenticator field (RFC 3579 section 3.2): the random Request Authenticator
    for Access-Request, the request's authenticator for a reply, zeros for
    Accounting, CoA and Disconnect requests (RFC 5176 section 3.3)."""
    body = encode_attributes(_zero_message_authenticator(attributes))
    digest = hmac.new(secret, digestmod=hashlib.md5)
    digest.update(_header(code, identifier, len(body)) + vector + body)
    return digest.digest()


def _fill_message_authenticator(
    code: int, identifier: int, vector: bytes, attributes: Sequence[Attribute], secret: bytes
) -> tuple[Attribute, ...]:
    if not any(attr == MESSAGE_AUTHENTICATOR for attr, _ in attributes):
        return tuple(attributes)
    value = message_authenticator(code, identifier, vector, attributes, secret)
    return tuple(
        (attr, value if attr == MESSAGE_AUTHENTICATOR else data) for attr, data in attributes
    )


def with_message_authenticator(attributes: Sequence[Attribute]) -> tuple[Attribute, ...]:
    """Make sure a Message-Authenticator is present, first as the BlastRADIUS advisory
    recommends (its value is filled when the packet is signed)."""
    if any(code == MESSAGE_AUTHENTICATOR for code, _ in attributes):
        return tuple(attributes)
    return ((MESSAGE_AUTHENTICATOR, ZERO_VECTOR), *attributes)


def sign_request(packet: RadiusPacket, secret: bytes) -> bytes:
    """Encode a request ready to send.

    Access-Request and Status-Server keep their random authenticator (which must be set)
    and get their Message-Authenticator filled in; Accounting, CoA and Disconnect
    requests get the Message-Authenticator over a zero authenticator, then the Request
    Authenticator MD5(Code+ID+Length+16 zero octets+Attributes+Secret)."""
    if packet.code in SIGNED_REQUESTS:
        attributes = _fill_message_authenticator(
            packet.code, packet.identifier, ZERO_VECTOR, packet.attributes, secret
        )
        body = encode_attributes(attributes)
        header = _header(packet.code, packet.identifier, len(body))
        authenticator = hashlib.md5(header + ZERO_VECTOR + body + secret).digest()
        return header + authenticator + body
    if len(packet.authenticator) != 16:
        raise ValueError(f"{packet.name} needs a 16-octet random Request Authenticator")
    attributes = _fill_message_authenticator(
        packet.code, packet.identifier, packet.authenticator, packet.attributes, secret
    )
    return replace(packet, attributes=attributes).encode()


def sign_reply(
    code: int,
    identifier: int,
    attributes: Sequence[Attribute],
    request_authenticator: bytes,
    secret: bytes,
) -> bytes:
    """Encode a reply: Message-Authenticator (if present) over the request's
    authenticator, then the Response Authenticator
    MD5(Code+ID+Length+RequestAuth+Attributes+Secret) (RFC 2865 section 3)."""
    filled = _fill_message_authenticator(
        code, identifier, request_authenticator, attributes, secret
    )
    body = encode_attributes(filled)
    header = _header(code, identifier, len(body))
    authenticator = hashlib.md5(header + request_authenticator + body + secret).digest()
    return header + authenticator + body


def _message_authenticator_ok(packet: RadiusPacket, vector: bytes, secret: bytes) -> bool:
    received = packet.first(MESSAGE_AUTHENTICATOR)
    if received is None:
        return True
    if len(received) != 16:
        return False
    # Computed over the attributes exactly as received (order and all).
    expected = message_authenticator(
        packet.code, packet.identifier, vector, packet.attributes, secret
    )
    return hmac.compare_digest(received, expected)


def verify_request(packet: RadiusPacket, secret: bytes) -> bool:
    """Whether a received request was signed with ``secret``.

    Accounting, CoA and Disconnect requests carry an MD5 over the packet; an
    Access-Request's authenticator is random, so only its Message-Authenticator, when
    present, proves the secret (without one, a wrong secret shows only as a garbled
    password)."""
    if packet.code in SIGNED_REQUESTS:
        raw = packet.encode()
        expected = hashlib.md5(raw[:4] + ZERO_VECTOR + raw[20:] + secret).digest()
        if not hmac.compare_digest(expected, packet.authenticator):
            return False
        return _message_authenticator_ok(packet, ZERO_VECTOR, secret)
    return _message_authenticator_ok(packet, packet.authenticator, secret)


def verify_reply(reply: RadiusPacket, request_authenticator: bytes, secret: bytes) -> bool:
    """Whether ``reply`` answers a request with ``request_authenticator`` signed with
    ``secret``: its Response Authenticator and, when present, its Message-Authenticator."""
    raw = reply.encode()
    expected = hashlib.md5(raw[:4] + request_authenticator + raw[20:] + secret).digest()
    if not hmac.compare_digest(expected, reply.authenticator):
        return False
    return _message_authenticator_ok(reply, request_authenticator, secret)


def new_authenticator() -> bytes:
    """A Request Authenticator for Access-Request: unpredictable and unique (RFC 2865
    section 3), from the operating system's CSPRNG."""
    return secrets.token_bytes(16)


# --- hidden values --------------------------------------------------------------------


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """User-Password hiding (RFC 2865 section 5.2): padded to 16-octet blocks, each XORed
    with MD5(secret + previous cipher block, starting with the authenticator)."""
    if len(password) > 128:
        raise ValueError(f"password of {len(password)} octets; RFC 2865 allows 128")
    padded = password + bytes(-len(password) % 16) if password else bytes(16)
    result = b""
    last = authenticator
    for start in range(0, len(padded), 16):
        block = _xor(padded[start : start + 16], hashlib.md5(secret + last).digest())
        result += block
        last = block
    return result


def reveal_password(hidden: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """The inverse of ``hide_password``; trailing NUL padding is removed."""
    if not hidden or len(hidden) % 16 or len(hidden) > 128:
        raise MalformedPacket(
            "bad_password", f"User-Password of {len(hidden)} octets, not 16..128 in blocks of 16"
        )
    result = b""
    last = authenticator
    for start in range(0, len(hidden), 16):
        block = hidden[start : start + 16]
        result += _xor(block, hashlib.md5(secret + last).digest())
        last = block
    return result.rstrip(b"\0")


def salt_encrypt(
    plain: bytes, secret: bytes, request_authenticator: bytes, salt: bytes | None = None
) -> bytes:
    """Salt encryption (RFC 2868 section 3.5, RFC 2548 section 2.4.2): a 2-octet salt
    with its high bit set, then the length-prefixed, zero-padded value XORed with
    MD5(secret + request authenticator + salt), chained like User-Password."""
    if len(plain) > 250:
        raise ValueError(f"value of {len(plain)} octets is too long to salt-encrypt")
    if salt is None:
        salt = secrets.token_bytes(2)
    salt = bytes((salt[0] | 0x80, salt[1]))
    data = bytes((len(plain),)) + plain
    data += bytes(-len(data) % 16)
    result = b""
    last = request_authenticator + salt
    for start in range(0, len(data), 16):
        block = _xor(data[start : start + 16], hashlib.md5(secret + last).digest())
        result += block
        last = block
    return salt + result


def salt_decrypt(value: bytes, secret: bytes, request_authenticator: bytes) -> bytes:
    if len(value) < 18 or (len(value) - 2) % 16:
        raise MalformedPacket("bad_salted_value", f"salt-encrypted value of {len(value)} octets")
    salt, data = value[:2], value[2:]
    result = b""
    last = request_authenticator + salt
    for start in range(0, len(data), 16):
        block = data[start : start + 16]
        result += _xor(block, hashlib.md5(secret + last).digest())
        last = block
    length = result[0]
    if length > len(result) - 1:
        raise MalformedPacket("bad_salted_value", "decrypted length is past the value")
    return result[1 : 1 + length]


def split_vendor_specific(value: bytes) -> tuple[int, list[Attribute]] | None:
    """A Vendor-Specific value in the RFC 2865 format (vendor id, then type-length-value
    sub-attributes), or None when it is not in that format (forwarded untouched)."""
    if len(value) < 6:
        return None
    vendor = int.from_bytes(value[:4], "big")
    subs: list[Attribute] = []
    position = 4
    while position < len(value):
        if len(value) - position < 2:
            return None
        code, size = value[position], value[position + 1]
        if size < 2 or position + size > len(value):
            return None
        subs.append((code, value[position + 2 : position + size]))
        position += size
    return vendor, subs


def join_vendor_specific(vendor: int, subs: Iterable[Attribute]) -> bytes:
    return vendor.to_bytes(4, "big") + b"".join(bytes((c, len(v) + 2)) + v for c, v in subs)


def rehide_reply_attributes(
    attributes: Sequence[Attribute],
    *,
    from_secret: bytes,
    from_vector: bytes,
    to_secret: bytes,
    to_vector: bytes,
) -> list[Attribute]:
    """Re-encrypt the salt-encrypted values of a reply (Tunnel-Password, MS-MPPE keys)
    from one hop's secret and Request Authenticator to the other's: a proxy that only
    re-signed the packet would hand the switch keys it decrypts to garbage."""

    def rehide(value: bytes) -> bytes:
        plain = salt_decrypt(value, from_secret, from_vector)
        return salt_encrypt(plain, to_secret, to_vector)

    result: list[Attribute] = []
    for code, value in attributes:
        if code == TUNNEL_PASSWORD and len(value) >= 19:
            # Tagged (RFC 2868 section 3.5): one tag octet before the salt.
            result.append((code, value[:1] + rehide(value[1:])))
        elif code == VENDOR_SPECIFIC and (split := split_vendor_specific(value)) is not None:
            vendor, subs = split
            if any((vendor, sub) in SALTED_VENDOR_ATTRIBUTES for sub, _ in subs):
                subs = [
                    (sub, rehide(data) if (vendor, sub) in SALTED_VENDOR_ATTRIBUTES else data)
                    for sub, data in subs
                ]
                value = join_vendor_specific(vendor, subs)
            result.append((code, value))
        else:
            result.append((code, value))
    return result


# --- dictionary and named attributes (pyrad) ------------------------------------------

BUILTIN_DICTIONARY = Path(__file__).with_name("dictionary")
FREERADIUS_DICTIONARIES = Path("/usr/share/freeradius")
# pyrad cannot read FreeRADIUS's master file (some vendor files use types it does not
# know), so Garrison reads the standard ones it can, in dependency order: each file's
# VALUE lines need the attribute defined by an earlier file.
FREERADIUS_FILES = (
    "dictionary.rfc2865",
    "dictionary.rfc2866",
    "dictionary.rfc2867",
    "dictionary.rfc2868",
    "dictionary.rfc2869",
    "dictionary.rfc3162",
    "dictionary.rfc3576",
    "dictionary.rfc3580",
    "dictionary.rfc4372",
    "dictionary.rfc4675",
    "dictionary.rfc5176",
    "dictionary.rfc6911",
    "dictionary.microsoft",
    "dictionary.cisco",
)


class _Quiet(logging.Filter):
    """pyrad warns about every attribute type it skips; those are FreeRADIUS's exotic
    ones Garrison never names, so the warning is noise at each start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING


@functools.lru_cache(maxsize=8)
def load_dictionary(path: str = "") -> pyrad_dictionary.Dictionary:
    """The RADIUS dictionary: ``path`` when set, else FreeRADIUS's standard files when
    installed, else the small one built in beside this module."""
    pyrad_log = logging.getLogger("pyrad")
    quiet = _Quiet()
    pyrad_log.addFilter(quiet)
    try:
        if path:
            try:
                return pyrad_dictionary.Dictionary(path)
            except (OSError, pyrad_dictionary.ParseError) as exc:
                raise ValueError(f"RADIUS dictionary {path}: {exc}") from None
        files = [FREERADIUS_DICTIONARIES / name for name in FREERADIUS_FILES]
        if all(file.is_file() for file in files[:5]):
            return pyrad_dictionary.Dictionary(*(str(f) for f in files if f.is_file()))
        return pyrad_dictionary.Dictionary(str(BUILTIN_DICTIONARY))
    finally:
        pyrad_log.removeFilter(quiet)


def encode_named(
    dictionary: pyrad_dictionary.Dictionary, items: Mapping[str, str] | Sequence[tuple[str, str]]
) -> list[Attribute]:
    """Attributes by dictionary name (``Filter-Id``, ``Tunnel-Private-Group-Id:1``,
    ``Cisco-AVPair``) with text values (integers by number or VALUE name) to raw
    attributes; vendor attributes come wrapped in Vendor-Specific. Raises ValueError
    naming the attribute for an unknown name or a value its type cannot hold."""
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    # A carrier packet; its secret and authenticator matter only for salt-encrypted
    # attributes, which these never are (they are refused below).
    carrier = pyrad_packet.Packet(
        code=0, id=0, secret=b"-", authenticator=ZERO_VECTOR, dict=dictionary
    )
    result: list[Attribute] = []
    for name, value in pairs:
        base = name.partition(":")[0]
        attribute = dictionary.attributes.get(base)
        if attribute is None:
            raise ValueError(f"attribute {base!r} is not in the RADIUS dictionary")
        if attribute.encrypt or attribute.type == "tlv":
            raise ValueError(f"attribute {base!r} is encrypted or structured; not supported here")
        carrier.clear()
        try:
            carrier.AddAttribute(name, value)
        except (ValueError, TypeError, KeyError, OverflowError, struct.error) as exc:
            raise ValueError(f"attribute {name!r}: value {value!r} does not fit: {exc}") from None
        for key, values in carrier.items():
            for raw in values:
                if isinstance(key, tuple):
                    vendor, code = key
                    result.append((VENDOR_SPECIFIC, join_vendor_specific(vendor, [(code, raw)])))
                else:
                    result.append((key, raw))
    return result
