"""ipsim's packet traces as pcap files: what tshark and scapy make of them (every filter of
the catalogue, IPv4 and IPv6, blocked and permitted), checksums, and the trace log."""

from __future__ import annotations

import ipaddress
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipsim import pcap
from ipsim.traces import TraceLog, pcap_of, trace_packets
from ipsim.traffic import CATALOGUE, AttackEvent, Filter

needs_tshark = pytest.mark.skipif(
    shutil.which("tshark") is None, reason="tshark is not installed (Debian package tshark)"
)
V4 = ("198.51.100.7", "10.10.0.5")
V6 = ("2001:db8::7", "2001:db8:1::5")
T0 = 1_795_600_000_000_000_000
CHECKSUMS = [
    "-o", "ip.check_checksum:TRUE",
    "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
]  # fmt: skip


def event(flt: Filter, seq: int, action: str, src: str, dst: str) -> AttackEvent:
    ported = flt.protocol in ("tcp", "udp")
    return AttackEvent(
        seq=seq,
        time_ns=T0 + seq * 100_000_000,
        filter_number=flt.number,
        filter_name=flt.name,
        category=flt.category,
        severity=flt.severity,
        protocol=flt.protocol,
        action=action,
        src_ip=src,
        src_port=40_000 + seq if ported else 0,
        dst_ip=dst,
        dst_port=(flt.dst_port or 31_337) if ported else 0,
        hit_count=1,
        aggregation_minutes=0,
        vlan=0,
        segment=1,
        in_port="1A",
        out_port="1B",
        profile="Default Security Profile",
        policy_uuid=flt.policy_uuid,
        signature_uuid=flt.signature_uuid,
        taxonomy=flt.taxonomy,
        message_params="",
        packet_trace=True,
    )


def every_kind() -> list[AttackEvent]:
    events: list[AttackEvent] = []
    for flt in CATALOGUE:
        for action in ("Block", "Permit"):
            for src, dst in (V4, V6):
                events.append(event(flt, len(events) + 1, action, src, dst))
    return events


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pcap") / "all.pcap"
    path.write_bytes(pcap_of(every_kind(), salt="X44A6685F3B0000"))
    return path


def tshark(*args: str) -> str:
    done = subprocess.run(["tshark", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_tshark
def test_tshark_reads_every_kind_of_trace_without_complaint(capture: Path) -> None:
    listing = tshark("-r", str(capture))
    assert listing.count("\n") == sum(len(trace_packets(e)) for e in every_kind())
    assert "Malformed" not in listing and "Unknown" not in listing
    expert = tshark("-r", str(capture), "-q", "-z", "expert")
    assert "Errors (" not in expert, expert
    for text in (
        "GET /struts2-showcase/index.action",  # the filter shows in the payload
        "Standard query 0x",  # DNS
        "get-request",  # SNMP
        "Client Hello",  # TLS
        "Negotiate Protocol Request",  # SMB
        "OPTIONS sip:100@",  # SIP
        "Echo (ping) request",
        "Read Request, File: running-config",  # TFTP
        f"{V4[0]} → {V4[1]}",
        f"{V6[0]} → {V6[1]}",
    ):
        assert text in listing, text


@needs_tshark
def test_every_checksum_is_right(capture: Path) -> None:
    fields = tshark(
        "-r", str(capture), *CHECKSUMS,
        "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
        "-e", "udp.checksum.status", "-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status",
    )  # fmt: skip
    statuses = {s for line in fields.splitlines() for s in line.split("\t") if s}
    assert statuses == {"1"}, statuses  # 1: "Good"; 0 would be "Bad"


def test_scapy_reads_the_file_and_agrees_with_the_checksums(capture: Path) -> None:
    from scapy.all import ICMP, IP, TCP, UDP, IPv6, rdpcap

    packets = rdpcap(str(capture))
    assert len(packets) == sum(len(trace_packets(e)) for e in every_kind())
    times = [float(p.time) for p in packets]
    assert times == sorted(times)
    checked = 0
    for packet in packets:
        fragment = IP in packet and (packet[IP].flags.MF or packet[IP].frag)
        for layer in (IP, TCP, UDP, ICMP):
            if layer in packet and not (fragment and layer is not IP):
                original = packet[layer].chksum
                rebuilt = packet.__class__(bytes(packet))
                del rebuilt[layer].chksum
                assert packet.__class__(bytes(rebuilt))[layer].chksum == original
                checked += 1
    assert checked > 500
    assert {p[IPv6].src for p in packets if IPv6 in p} == {V6[0], V6[1]}


def test_a_blocked_tcp_exchange_ends_on_the_attackers_data() -> None:
    http = next(f for f in CATALOGUE if f.number == 7610)
    blocked = trace_packets(event(http, 1, "Block", *V4))
    permitted = trace_packets(event(http, 2, "Permit", *V4))
    assert len(blocked) == 4 and len(permitted) == 5  # SYN, SYN/ACK, ACK, data (+ ACK)
    assert b"%{(#_='multipart/form-data')" in blocked[-1].frame
    assert blocked[-1].time_ns == T0 + 100_000_000  # the last packet is the event's
    assert [p.time_ns for p in blocked] == sorted(p.time_ns for p in blocked)


def test_the_same_event_gives_the_same_bytes_and_salts_differ() -> None:
    flt = CATALOGUE[0]
    one = event(flt, 7, "Block", *V4)
    assert trace_packets(one, "A") == trace_packets(one, "A")
    assert trace_packets(one, "A") != trace_packets(one, "B")


def test_file_layout_is_classic_libpcap() -> None:
    data = pcap.write([pcap.Packet(1_500_000_000_123_456_789, b"\x01" * 60)])
    assert struct.unpack("<IHHiIII", data[:24]) == (0xA1B2C3D4, 2, 4, 0, 0, 65_535, 1)
    assert struct.unpack("<IIII", data[24:40]) == (1_500_000_000, 123_456, 60, 60)
    assert data[40:] == b"\x01" * 60


def test_internet_checksum_of_rfc_1071s_example() -> None:
    assert pcap.internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


ADDRESSES = st.one_of(
    st.tuples(st.ip_addresses(v=4), st.ip_addresses(v=4)),
    st.tuples(st.ip_addresses(v=6), st.ip_addresses(v=6)),
)


@given(ADDRESSES, st.integers(0, 65_535), st.integers(0, 65_535), st.binary(max_size=300))
def test_transport_checksums_verify_over_the_pseudo_header(
    ends: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...],
    sport: int,
    dport: int,
    payload: bytes,
) -> None:
    src, dst = ends
    for proto, segment in (
        (pcap.PROTO_UDP, pcap.udp(src, dst, sport, dport, payload)),
        (pcap.PROTO_TCP, pcap.tcp(src, dst, sport, dport, seq=1, flags=pcap.ACK, payload=payload)),
    ):
        pseudo = pcap._pseudo_header(src, dst, proto, len(segment))
        assert pcap.internet_checksum(pseudo + segment) == 0
    packet = pcap.ip(src, dst, pcap.PROTO_UDP, payload)
    if src.version == 4:
        assert pcap.internet_checksum(packet[:20]) == 0
        assert struct.unpack("!H", packet[2:4])[0] == len(packet)
    else:
        assert struct.unpack("!H", packet[4:6])[0] == len(payload)


def test_trace_log_keeps_the_newest_and_answers_in_sequence_order() -> None:
    log = TraceLog(capacity=3)
    flt = CATALOGUE[0]
    for seq in range(1, 6):
        log.add(event(flt, seq, "Block", *V4))
    assert [e.seq for e in log.all()] == [3, 4, 5]
    assert [e.seq for e in log.get([5, 1, 3, 5, 99])] == [3, 5]
