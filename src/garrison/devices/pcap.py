"""libpcap files: read the ones devices send, merge several into one, write it out.

``pcaps/getByEventIds`` asks each device for its traces and must answer ONE capture file:
one global header, then every packet record in time order. Devices may write either byte
order and microsecond or nanosecond timestamps (the two classic magics); the merged file is
little-endian with microsecond timestamps, which every reader (tcpdump, tshark, scapy,
old libpcap) takes. pcapng is refused: no device of the protocol sends it.

Pure: bytes in, bytes out, no I/O, so it is tested with generated captures.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GLOBAL_HEADER = struct.Struct("<IHHiIII")
RECORD_HEADER = struct.Struct("<IIII")
LINKTYPE_ETHERNET = 1
DEFAULT_SNAPLEN = 65_535
MAX_SNAPLEN = 262_144  # libpcap's own ceiling: a larger record is not a packet
CHUNK_BYTES = 64 * 1024


class PcapError(ValueError):
    """Bytes that are not a libpcap capture; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Record:
    time_ns: int
    data: bytes  # the captured bytes
    original_length: int  # the packet's length on the wire (>= len(data))


@dataclass(frozen=True, slots=True)
class Capture:
    linktype: int = LINKTYPE_ETHERNET
    snaplen: int = DEFAULT_SNAPLEN
    records: tuple[Record, ...] = field(default_factory=tuple)


def parse(data: bytes) -> Capture:
    """A libpcap file (either byte order, micro- or nanosecond timestamps)."""
    if len(data) < GLOBAL_HEADER.size:
        if data.startswith(PCAPNG_MAGIC):
            raise PcapError("pcapng files are not supported; send libpcap (pcap) files")
        raise PcapError(f"not a pcap file: {len(data)} bytes, a header alone is 24")
    for order in "<>":
        magic = struct.unpack_from(f"{order}I", data)[0]
        if magic in (MAGIC_MICRO, MAGIC_NANO):
            break
    else:
        if data.startswith(PCAPNG_MAGIC):
            raise PcapError("pcapng files are not supported; send libpcap (pcap) files")
        raise PcapError(f"not a pcap file: magic number {data[:4].hex()}")
    _, major, _, _, _, snaplen, linktype = struct.unpack_from(f"{order}IHHiIII", data)
    if major != 2:
        raise PcapError(f"pcap version {major} is not supported (2.x is)")
    scale = 1 if magic == MAGIC_NANO else 1000
    header = struct.Struct(f"{order}IIII")
    records: list[Record] = []
    position = GLOBAL_HEADER.size
    while position < len(data):
        number = len(records) + 1
        if position + header.size > len(data):
            raise PcapError(f"record {number}: its header is cut short")
        seconds, fraction, captured, original = header.unpack_from(data, position)
        position += header.size
        if captured > MAX_SNAPLEN or position + captured > len(data):
            raise PcapError(f"record {number}: {captured} bytes announced, not in the file")
        body = data[position : position + captured]
        position += captured
        time_ns = seconds * 1_000_000_000 + fraction * scale
        records.append(Record(time_ns, body, max(original, captured)))
    return Capture(linktype=linktype & 0x0FFFFFFF, snaplen=snaplen, records=tuple(records))


def merge(captures: Iterable[Capture]) -> Capture:
    """One capture of every record of ``captures``, oldest first (ties keep their order).
    All must share a link type: a pcap file has one."""
    captures = list(captures)
    linktypes = {c.linktype for c in captures}
    if len(linktypes) > 1:
        raise PcapError(f"captures of different link types cannot be merged: {sorted(linktypes)}")
    records = sorted((r for c in captures for r in c.records), key=lambda r: r.time_ns)
    return Capture(
        linktype=linktypes.pop() if linktypes else LINKTYPE_ETHERNET,
        snaplen=max((c.snaplen for c in captures), default=DEFAULT_SNAPLEN),
        records=tuple(records),
    )


def global_header(capture: Capture) -> bytes:
    return GLOBAL_HEADER.pack(MAGIC_MICRO, 2, 4, 0, 0, capture.snaplen, capture.linktype)


def record_bytes(record: Record) -> bytes:
    seconds, nanos = divmod(record.time_ns, 1_000_000_000)
    header = RECORD_HEADER.pack(seconds, nanos // 1000, len(record.data), record.original_length)
    return header + record.data


def chunks(capture: Capture, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The file, in pieces of about ``size`` bytes, for a streamed answer."""
    pending = [global_header(capture)]
    pending_bytes = len(pending[0])
    for record in capture.records:
        piece = record_bytes(record)
        pending.append(piece)
        pending_bytes += len(piece)
        if pending_bytes >= size:
            yield b"".join(pending)
            pending, pending_bytes = [], 0
    if pending:
        yield b"".join(pending)


def dump(capture: Capture) -> bytes:
    return b"".join(chunks(capture))
