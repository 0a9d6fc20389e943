"""Packets and libpcap files, byte by byte: Ethernet, IPv4/IPv6, TCP, UDP and ICMP(v6) with
correct checksums, and the classic pcap container (microsecond timestamps, linktype
Ethernet) that tcpdump, tshark and scapy read. Pure: no sockets, no clocks.

Why by hand: ipsim's packet traces are a few synthetic packets per event; a packet library
would be a heavy dependency for forty lines of struct packing, and the checksums are the
one thing that must be right for tshark to show the trace without complaint.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass

MAGIC_MICROSECONDS = 0xA1B2C3D4
VERSION = (2, 4)
SNAPLEN = 65_535
LINKTYPE_ETHERNET = 1
GLOBAL_HEADER_SIZE = 24
RECORD_HEADER_SIZE = 16
MEDIA_TYPE = "application/vnd.tcpdump.pcap"  # IANA's name for a libpcap file

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58

# TCP flags
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Packet:
    """One captured frame and when it was seen."""

    time_ns: int
    frame: bytes


# -- the pcap container -----------------------------------------------------------------------


def global_header(snaplen: int = SNAPLEN, linktype: int = LINKTYPE_ETHERNET) -> bytes:
    """The 24-byte file header: magic, version 2.4, zone 0, sigfigs 0, snaplen, linktype."""
    return struct.pack("<IHHiIII", MAGIC_MICROSECONDS, *VERSION, 0, 0, snaplen, linktype)


def record(packet: Packet, snaplen: int = SNAPLEN) -> bytes:
    """One packet record: seconds, microseconds, captured and original lengths, the bytes."""
    seconds, nanos = divmod(packet.time_ns, 1_000_000_000)
    captured = packet.frame[:snaplen]
    header = struct.pack("<IIII", seconds, nanos // 1000, len(captured), len(packet.frame))
    return header + captured


def write(packets: Iterable[Packet]) -> bytes:
    """A whole pcap file."""
    return global_header() + b"".join(record(p) for p in packets)


# -- checksums --------------------------------------------------------------------------------


def internet_checksum(data: bytes) -> int:
    """RFC 1071: the ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo_header(src: IPAddress, dst: IPAddress, proto: int, length: int) -> bytes:
    if src.version == 4:
        return src.packed + dst.packed + struct.pack("!BBH", 0, proto, length)
    return src.packed + dst.packed + struct.pack("!I3xB", length, proto)


def _with_checksum(segment: bytes, offset: int, pseudo: bytes, *, zero_is_ffff: bool) -> bytes:
    checksum = internet_checksum(pseudo + segment)
    if zero_is_ffff and checksum == 0:
        checksum = 0xFFFF  # UDP: 0 means "no checksum", so a computed 0 is sent as all ones
    return segment[:offset] + struct.pack("!H", checksum) + segment[offset + 2 :]


# -- transport --------------------------------------------------------------------------------


def tcp(
    src: IPAddress,
    dst: IPAddress,
    sport: int,
    dport: int,
    *,
    seq: int,
    ack: int = 0,
    flags: int,
    payload: bytes = b"",
    window: int = 64_240,
) -> bytes:
    """A TCP segment (20-byte header, no options) with its checksum."""
    header = struct.pack(
        "!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, window, 0, 0
    )
    segment = header + payload
    pseudo = _pseudo_header(src, dst, PROTO_TCP, len(segment))
    return _with_checksum(segment, 16, pseudo, zero_is_ffff=False)


def udp(src: IPAddress, dst: IPAddress, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP datagram with its checksum (mandatory over IPv6, given over IPv4 too)."""
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = _pseudo_header(src, dst, PROTO_UDP, len(datagram))
    return _with_checksum(datagram, 6, pseudo, zero_is_ffff=True)


def icmp_echo(
    src: IPAddress, dst: IPAddress, *, reply: bool, ident: int, seq: int, payload: bytes
) -> tuple[int, bytes]:
    """An echo request or reply: (IP protocol, message). ICMPv6's checksum covers a pseudo
    header; ICMPv4's does not."""
    if src.version == 4:
        kind, proto, pseudo = (0 if reply else 8), PROTO_ICMP, b""
    else:
        kind, proto = (129 if reply else 128), PROTO_ICMPV6
        pseudo = _pseudo_header(src, dst, proto, 8 + len(payload))
    message = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload
    return proto, _with_checksum(message, 2, pseudo, zero_is_ffff=False)


# -- network and link -------------------------------------------------------------------------


def ipv4(
    src: ipaddress.IPv4Address,
    dst: ipaddress.IPv4Address,
    proto: int,
    payload: bytes,
    *,
    ident: int = 0,
    ttl: int = 64,
    more_fragments: bool = False,
    fragment_offset: int = 0,
) -> bytes:
    """An IPv4 packet (20-byte header, Don't Fragment unless it is a fragment).
    ``fragment_offset`` is in bytes and must be a multiple of 8."""
    if fragment_offset % 8:
        raise ValueError("a fragment offset is a multiple of 8 bytes")
    fragmented = more_fragments or fragment_offset
    flags = (0x2000 if more_fragments else 0) if fragmented else 0x4000
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        ident & 0xFFFF,
        flags | (fragment_offset // 8),
        ttl,
        proto,
        0,
        src.packed,
        dst.packed,
    )
    header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
    return header + payload


def ipv6(
    src: ipaddress.IPv6Address,
    dst: ipaddress.IPv6Address,
    proto: int,
    payload: bytes,
    *,
    hop_limit: int = 64,
    flow: int = 0,
) -> bytes:
    """An IPv6 packet (fixed header, no extension headers)."""
    first = (6 << 28) | (flow & 0xFFFFF)
    return struct.pack("!IHBB", first, len(payload), proto, hop_limit) + (
        src.packed + dst.packed + payload
    )


def ip(src: IPAddress, dst: IPAddress, proto: int, payload: bytes, *, ident: int = 0) -> bytes:
    """IPv4 or IPv6, after the addresses' family."""
    if isinstance(src, ipaddress.IPv4Address) and isinstance(dst, ipaddress.IPv4Address):
        return ipv4(src, dst, proto, payload, ident=ident)
    if isinstance(src, ipaddress.IPv6Address) and isinstance(dst, ipaddress.IPv6Address):
        return ipv6(src, dst, proto, payload, flow=ident)
    raise ValueError("source and destination must be of one address family")


def ethernet(dst_mac: bytes, src_mac: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst_mac + src_mac + struct.pack("!H", ethertype) + payload


def mac_for(address: IPAddress) -> bytes:
    """A stable, locally administered unicast MAC for a host (02:xx:... from its address)."""
    return bytes([0x02, 0x00]) + address.packed[-4:]


def frame(src: IPAddress, dst: IPAddress, ip_packet: bytes) -> bytes:
    """An IP packet in an Ethernet frame between the two hosts' MACs."""
    ethertype = ETHERTYPE_IPV4 if src.version == 4 else ETHERTYPE_IPV6
    return ethernet(mac_for(dst), mac_for(src), ethertype, ip_packet)
