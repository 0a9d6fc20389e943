"""TPT-SMS-TRAP-MIB, the notifications the SMS exchanges with a network management system
(NMS), and the pure decoding of the two commands an NMS sends to Garrison on UDP 162.

Names are ``1.3.6.1.4.1.10734.3.4.3.0.n`` (notifications) and ``.3.4.3.1.n`` (objects).
Outbound (the NMS-trap and SNMP-trap actions): tptSmsQuarantineRequest (.0.1),
tptSmsQuarantineRelease (.0.3) and tptSmsPolicyNotification (.0.5); the NMS acknowledges
the first two with Ack (.0.2) and ReleaseAck (.0.4). Inbound commands:

* **tptSmsQuarantineCommand** (.0.14): DeviceIP (.1.5), the host to quarantine, and
  PolicyName (.1.12), the policy to open; an absent or empty name is passed on as ``""``,
  and the engine chooses the default policy, as the SMS does for a name it does not know.
* **tptSmsUnQuarantineRequest** (.0.6): by NotifyId (.1.1), by DeviceIP (.1.5) with the
  MAC looked up, or by DeviceIP and DeviceMAC (.1.6).

What is accepted, to be lenient with NMS products without guessing:

* an object's name with or without the ``.0`` instance suffix (net-snmp's ``snmptrap``
  sends whatever the operator types);
* DeviceIP as IpAddress, or as an OctetString holding an address in text (the only way to
  carry IPv6) or 16 raw octets; it must be a host address (not unspecified, multicast or
  the broadcast address);
* DeviceMAC as 6 raw octets or as text ``aa:bb:cc:dd:ee:ff``, ``aa-bb-cc-dd-ee-ff``,
  ``aabb.ccdd.eeff`` or 12 hex digits; it comes out as lower-case colon form;
* NotifyId as an integer, or as an OctetString of decimal digits; 1 to 2^31-1.

Anything else raises :class:`MalformedCommand` whose ``reason`` is the drop reason the
receiver counts. The functions here do no I/O; authentication (community, USM) is the
receiver's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from garrison.collectors.snmp_trap.ber import DecodeError
from garrison.collectors.snmp_trap.messages import (
    DEFAULT_MAX_SIZE,
    IpAddress,
    TrapMessage,
    Value,
    decode,
)

TRAP_MIB = "1.3.6.1.4.1.10734.3.4.3"
QUARANTINE_REQUEST = f"{TRAP_MIB}.0.1"
QUARANTINE_ACK = f"{TRAP_MIB}.0.2"
QUARANTINE_RELEASE = f"{TRAP_MIB}.0.3"
RELEASE_ACK = f"{TRAP_MIB}.0.4"
POLICY_NOTIFICATION = f"{TRAP_MIB}.0.5"
UNQUARANTINE_REQUEST = f"{TRAP_MIB}.0.6"
QUARANTINE_COMMAND = f"{TRAP_MIB}.0.14"

NOTIFY_ID = f"{TRAP_MIB}.1.1"
NOTIFY_DATA = f"{TRAP_MIB}.1.2"
POLICY_MATCH_DATA = f"{TRAP_MIB}.1.3"
NOTIFY_TYPE = f"{TRAP_MIB}.1.4"
DEVICE_IP = f"{TRAP_MIB}.1.5"
DEVICE_MAC = f"{TRAP_MIB}.1.6"
SWITCH_PORT = f"{TRAP_MIB}.1.7"
ENDPOINT_USER = f"{TRAP_MIB}.1.8"
ACTION_LIST = f"{TRAP_MIB}.1.9"
PARAM_LIST = f"{TRAP_MIB}.1.10"
OPTION_LIST = f"{TRAP_MIB}.1.11"
POLICY_NAME = f"{TRAP_MIB}.1.12"

MAX_NOTIFY_ID = 2**31 - 1
MAX_POLICY_NAME = 255  # characters; longer is not a name an operator typed

# Reasons (the receiver counts drops by them).
MALFORMED = "malformed"  # not a well-formed SNMP notification
NOT_A_COMMAND = "not-a-command"  # a notification, but not one of the two commands
ACKNOWLEDGEMENT = "acknowledgement"  # an NMS's Ack/ReleaseAck: expected, not a command
MISSING_ADDRESS = "missing-address"
BAD_ADDRESS = "bad-address"
BAD_MAC = "bad-mac"
BAD_NOTIFY_ID = "bad-notify-id"
BAD_POLICY = "bad-policy"
MISSING_TARGET = "missing-target"


class MalformedCommand(ValueError):
    """A datagram that is not a usable NMS command; ``reason`` says why in one word."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class QuarantineCommand:
    """tptSmsQuarantineCommand: open a response for ``address`` under ``policy_name``
    (``""``: the engine's default policy). ``source`` is the NMS's address."""

    address: str
    policy_name: str
    source: str


@dataclass(frozen=True, slots=True)
class UnquarantineCommand:
    """tptSmsUnQuarantineRequest: close the response with ``notify_id``, or the one of
    ``address`` (and ``mac`` when given)."""

    notify_id: int | None
    address: str | None
    mac: str | None
    source: str


Command = QuarantineCommand | UnquarantineCommand


def format_notify_data(fields: Iterable[tuple[str, str]]) -> str:
    """``NAME:VALUE`` lines joined by newlines. Empty values are left out; a line break
    inside a value would start a false line, so breaks become spaces."""
    lines = []
    for name, value in fields:
        flat = re.sub(r"[\r\n]+", " ", str(value)).strip()
        if flat:
            lines.append(f"{name}:{flat}")
    return "\n".join(lines)


def parse_notify_data(text: str) -> list[tuple[str, str]]:
    """NotifyData back into its fields (for an NMS's side, and for tests)."""
    fields = []
    for line in text.split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            fields.append((name, value))
    return fields


def decode_command(datagram: bytes, source: str, max_size: int = DEFAULT_MAX_SIZE) -> Command:
    """A v1/v2c datagram to its command (the community is not checked here)."""
    return parse_command(decode_message(datagram, max_size), source)


def decode_message(datagram: bytes, max_size: int = DEFAULT_MAX_SIZE) -> TrapMessage:
    """The v1/v2c notification in ``datagram``; BER errors become ``MalformedCommand``."""
    try:
        return decode(datagram, max_size)
    except DecodeError as exc:
        raise MalformedCommand(MALFORMED, str(exc)) from None


def parse_command(message: TrapMessage, source: str) -> Command:
    """The command a decoded (and authenticated) notification carries."""
    if message.trap_oid == QUARANTINE_COMMAND:
        address = _address(_first(message, DEVICE_IP))
        if address is None:
            raise MalformedCommand(MISSING_ADDRESS, "tptSmsQuarantineCommand without DeviceIP")
        return QuarantineCommand(address, _policy(_first(message, POLICY_NAME)), source)
    if message.trap_oid == UNQUARANTINE_REQUEST:
        notify_id = _notify_id(_first(message, NOTIFY_ID))
        address = _address(_first(message, DEVICE_IP))
        mac = _mac(_first(message, DEVICE_MAC))
        if mac is not None and address is None:
            raise MalformedCommand(MISSING_ADDRESS, "DeviceMAC is only taken with DeviceIP")
        if notify_id is None and address is None:
            raise MalformedCommand(
                MISSING_TARGET, "tptSmsUnQuarantineRequest needs NotifyId or DeviceIP"
            )
        return UnquarantineCommand(notify_id, address, mac, source)
    if message.trap_oid in (QUARANTINE_ACK, RELEASE_ACK):
        raise MalformedCommand(ACKNOWLEDGEMENT, message.trap_oid)
    raise MalformedCommand(NOT_A_COMMAND, message.trap_oid[:120])


_MISSING = object()


def _first(message: TrapMessage, name: str) -> Value | object:
    """The value of the first varbind named ``name`` or ``name.0``."""
    instance = name + ".0"
    for oid, value in message.varbinds:
        if oid in (name, instance):
            return value
    return _MISSING


def _address(value: Value | object) -> str | None:
    if value is _MISSING:
        return None
    if isinstance(value, IpAddress):
        parsed: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(value)
    elif isinstance(value, bytes):
        if not value:
            return None  # an empty DeviceIP is the same as none
        parsed = _address_octets(value)
    else:
        raise MalformedCommand(BAD_ADDRESS, "DeviceIP is neither an IpAddress nor a string")
    if (
        parsed.is_unspecified
        or parsed.is_multicast
        or parsed == ipaddress.IPv4Address("255.255.255.255")
    ):
        raise MalformedCommand(BAD_ADDRESS, f"{parsed} is not a host address")
    return str(parsed)


def _address_octets(value: bytes) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    # Text first: "1::1" is four octets long, yet plainly text.
    try:
        text = value.decode("ascii").strip().strip("\x00")
        parsed = ipaddress.ip_address(text)
    except (UnicodeDecodeError, ValueError):
        pass
    else:
        # An IPv4-mapped IPv6 address names the IPv4 host.
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
            return parsed.ipv4_mapped
        return parsed
    if len(value) in (4, 16):
        return ipaddress.ip_address(value)
    raise MalformedCommand(BAD_ADDRESS, f"DeviceIP {_shown(value)} is not an address")


_MAC_TEXT = re.compile(
    r"(?:[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4})"
    r"|(?:[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})"
    r"|(?:[0-9a-f]{12})"
)


def _mac(value: Value | object) -> str | None:
    if value is _MISSING:
        return None
    if not isinstance(value, bytes):
        raise MalformedCommand(BAD_MAC, "DeviceMAC is not an OctetString")
    if not value:
        return None
    if len(value) == 6:
        octets = value
    else:
        try:
            text = value.decode("ascii").strip().lower()
        except UnicodeDecodeError:
            raise MalformedCommand(BAD_MAC, f"DeviceMAC {_shown(value)}") from None
        if not _MAC_TEXT.fullmatch(text):
            raise MalformedCommand(BAD_MAC, f"DeviceMAC {_shown(value)}")
        octets = bytes.fromhex(re.sub(r"[:.\-]", "", text))
    return ":".join(f"{b:02x}" for b in octets)


def _notify_id(value: Value | object) -> int | None:
    if value is _MISSING:
        return None
    if isinstance(value, bytes):
        text = value.decode("ascii", "replace").strip()
        if not text:
            return None
        if not text.isdigit() or len(text) > 10:
            raise MalformedCommand(BAD_NOTIFY_ID, f"NotifyId {_shown(value)}")
        value = int(text)
    if not isinstance(value, int):  # an IpAddress, an OID, a Null
        raise MalformedCommand(BAD_NOTIFY_ID, "NotifyId is not an integer")
    if not 1 <= value <= MAX_NOTIFY_ID:
        raise MalformedCommand(BAD_NOTIFY_ID, f"NotifyId {value} is out of range")
    return value


def _policy(value: Value | object) -> str:
    if value is _MISSING:
        return ""
    if not isinstance(value, bytes):
        raise MalformedCommand(BAD_POLICY, "PolicyName is not an OctetString")
    try:
        name = value.decode("utf-8").strip().strip("\x00").strip()
    except UnicodeDecodeError:
        raise MalformedCommand(BAD_POLICY, "PolicyName is not UTF-8") from None
    if len(name) > MAX_POLICY_NAME:
        raise MalformedCommand(BAD_POLICY, f"PolicyName longer than {MAX_POLICY_NAME}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise MalformedCommand(BAD_POLICY, "PolicyName has control characters")
    return name


def _shown(value: bytes) -> str:
    """A short, printable rendering of a bad value for an error (never the whole thing)."""
    return repr(value[:40])
