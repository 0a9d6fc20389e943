"""Packet traces: the few packets around an event whose packet-trace flag is set, and the
bounded log of the events a device keeps traces for.

A real IPS with a "... + Trace" action set keeps the packets that fired the filter in a
trace buffer; the SMS fetches them later (``pcaps/getByEventIds``). ipsim keeps the events
themselves (a reference each, in a ring of `TRACE_CAPACITY`) and builds the packets when
asked: a trace is a pure function of its event, so the same event always gives the same
bytes, and keeping a thousand traces costs a thousand references.

The exchange: for TCP a handshake, the attacker's data, then the server's acknowledgement
unless the action was Block (the IPS dropped the packet, so the trace ends on it); a port
scan's SYN meets an RST. UDP: the request, sent twice when blocked (the client retries).
ICMP: an echo request and, unless blocked, its reply. ``ip`` filters: IPv4 fragments that
overlap (Teardrop) or a TCP SYN (a reputation hit). Packets are a few milliseconds apart
and the last one is at the event's time.
"""

from __future__ import annotations

import ipaddress
import random
from collections import OrderedDict
from collections.abc import Iterable

from ipsim import pcap
from ipsim.payloads import CLIENT, Message, messages
from ipsim.pcap import ACK, PSH, RST, SYN, IPAddress, Packet
from ipsim.traffic import AttackEvent

TRACE_CAPACITY = 1_000  # traces a device keeps; older ones are dropped first
GAP_NS = 3_000_000  # between two packets of one trace (3 ms)
EPHEMERAL = (49_152, 65_535)
TEARDROP = 10045  # the catalogue's fragment-overlap filter


class _Flow:
    """One TCP/UDP conversation between the event's client and server."""

    def __init__(self, event: AttackEvent, rng: random.Random) -> None:
        self.client: IPAddress = ipaddress.ip_address(event.src_ip)
        self.server: IPAddress = ipaddress.ip_address(event.dst_ip)
        self.cport = event.src_port or rng.randint(*EPHEMERAL)
        self.sport = event.dst_port or 443
        self.cseq = rng.getrandbits(32)
        self.sseq = rng.getrandbits(32)
        self.ident = rng.getrandbits(16)
        self.frames: list[bytes] = []

    def _ends(self, from_client: bool) -> tuple[IPAddress, IPAddress, int, int]:
        if from_client:
            return self.client, self.server, self.cport, self.sport
        return self.server, self.client, self.sport, self.cport

    def _emit(self, src: IPAddress, dst: IPAddress, proto: int, transport: bytes) -> None:
        self.ident += 1
        packet = pcap.ip(src, dst, proto, transport, ident=self.ident)
        self.frames.append(pcap.frame(src, dst, packet))

    def tcp(self, from_client: bool, flags: int, payload: bytes = b"") -> None:
        src, dst, sport, dport = self._ends(from_client)
        seq, ack = (self.cseq, self.sseq) if from_client else (self.sseq, self.cseq)
        ack = ack if flags & ACK else 0
        segment = pcap.tcp(src, dst, sport, dport, seq=seq, ack=ack, flags=flags, payload=payload)
        self._emit(src, dst, pcap.PROTO_TCP, segment)
        advance = len(payload) + (1 if flags & SYN else 0)
        if from_client:
            self.cseq += advance
        else:
            self.sseq += advance

    def udp(self, from_client: bool, payload: bytes) -> None:
        src, dst, sport, dport = self._ends(from_client)
        self._emit(src, dst, pcap.PROTO_UDP, pcap.udp(src, dst, sport, dport, payload))

    def icmp_echo(self, reply: bool, seq: int, payload: bytes) -> None:
        src, dst = (self.server, self.client) if reply else (self.client, self.server)
        proto, message = pcap.icmp_echo(
            src, dst, reply=reply, ident=self.ident & 0xFFFF, seq=seq, payload=payload
        )
        self._emit(src, dst, proto, message)


def _tcp_exchange(flow: _Flow, event: AttackEvent, talk: list[Message]) -> None:
    blocked = event.action == "Block"
    flow.tcp(True, SYN)
    if not talk:  # a scan probe: the closed port answers with a reset
        flow.sseq = 0
        flow.tcp(False, RST | ACK)
        return
    flow.tcp(False, SYN | ACK)
    flow.tcp(True, ACK)
    for message in talk:
        flow.tcp(message.sender == CLIENT, PSH | ACK, message.data)
    if not blocked:
        flow.tcp(False, ACK)


def _udp_exchange(flow: _Flow, event: AttackEvent, talk: list[Message]) -> None:
    payload = talk[0].data if talk else b""
    flow.udp(True, payload)
    if event.action == "Block":
        flow.udp(True, payload)  # no answer came: the client tries again


def _icmp_exchange(flow: _Flow, event: AttackEvent) -> None:
    payload = bytes(range(0x10, 0x40))  # 48 bytes, as ping's pattern
    flow.icmp_echo(False, 1, payload)
    if event.action != "Block":
        flow.icmp_echo(True, 1, payload)


def _teardrop(flow: _Flow) -> None:
    """Two fragments of one UDP datagram, the second starting inside the first."""
    client, server = flow.client, flow.server
    assert isinstance(client, ipaddress.IPv4Address) and isinstance(server, ipaddress.IPv4Address)
    datagram = pcap.udp(client, server, flow.cport, 9, b"\x58" * 36)  # to "discard"
    ident = flow.ident
    udp = pcap.PROTO_UDP
    first = pcap.ipv4(client, server, udp, datagram[:24], ident=ident, more_fragments=True)
    second = pcap.ipv4(client, server, udp, datagram[8:], ident=ident, fragment_offset=8)
    flow.frames += [pcap.frame(client, server, first), pcap.frame(client, server, second)]


def trace_packets(event: AttackEvent, salt: str = "") -> list[Packet]:
    """The packets of ``event``'s trace, oldest first; the same event gives the same bytes
    (``salt``, say the device's serial, keeps two devices' sequence numbers apart)."""
    rng = random.Random(f"{salt}:{event.seq}:{event.time_ns}")
    flow = _Flow(event, rng)
    if event.protocol == "tcp":
        _tcp_exchange(flow, event, messages(event))
    elif event.protocol == "udp":
        _udp_exchange(flow, event, messages(event))
    elif event.protocol == "icmp":
        _icmp_exchange(flow, event)
    elif event.filter_number == TEARDROP and flow.client.version == flow.server.version == 4:
        _teardrop(flow)
    else:  # an address-based filter: the first packet of a connection is enough
        flow.tcp(True, SYN)
    first = event.time_ns - GAP_NS * (len(flow.frames) - 1)
    return [Packet(first + i * GAP_NS, frame) for i, frame in enumerate(flow.frames)]


class TraceLog:
    """The events a device keeps packet traces for: the newest `TRACE_CAPACITY`, by
    sequence number."""

    def __init__(self, capacity: int = TRACE_CAPACITY) -> None:
        self.capacity = capacity
        self._events: OrderedDict[int, AttackEvent] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def add(self, event: AttackEvent) -> None:
        self._events[event.seq] = event
        while len(self._events) > self.capacity:
            self._events.popitem(last=False)

    def get(self, seqs: Iterable[int]) -> list[AttackEvent]:
        """The retained events among ``seqs``, in sequence order, each once."""
        found = {seq: self._events[seq] for seq in set(seqs) if seq in self._events}
        return [found[seq] for seq in sorted(found)]

    def all(self) -> list[AttackEvent]:
        return list(self._events.values())


def pcap_of(events: Iterable[AttackEvent], salt: str = "") -> bytes:
    """One pcap file of the traces of ``events``, packets in time order."""
    packets = [p for event in events for p in trace_packets(event, salt)]
    packets.sort(key=lambda p: p.time_ns)
    return pcap.write(packets)
