"""Reading and merging devices' pcap files (garrison.devices.pcap): both byte orders, micro-
and nanosecond files, one header and time order after a merge, clear errors otherwise."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.devices import pcap

RECORDS = st.lists(
    st.builds(
        lambda t, data: pcap.Record(t * 1000, data, len(data)),  # whole microseconds
        st.integers(0, 2**32 * 1_000_000 - 1),
        st.binary(max_size=80),
    ),
    max_size=20,
)


def foreign(records: list[tuple[int, bytes]], *, order: str, nano: bool) -> bytes:
    """A capture as another writer might make it: big-endian and/or nanosecond."""
    magic = pcap.MAGIC_NANO if nano else pcap.MAGIC_MICRO
    out = struct.pack(f"{order}IHHiIII", magic, 2, 4, 0, 0, 65_535, 1)
    for time_ns, data in records:
        seconds, nanos = divmod(time_ns, 1_000_000_000)
        fraction = nanos if nano else nanos // 1000
        out += struct.pack(f"{order}IIII", seconds, fraction, len(data), len(data)) + data
    return out


@given(RECORDS)
def test_dump_then_parse_gives_the_records_back(records: list[pcap.Record]) -> None:
    capture = pcap.Capture(records=tuple(records))
    assert pcap.parse(pcap.dump(capture)) == capture


@given(st.lists(RECORDS, max_size=5))
def test_a_merge_is_one_file_of_every_record_in_time_order(parts: list[list[pcap.Record]]) -> None:
    merged = pcap.parse(pcap.dump(pcap.merge(pcap.Capture(records=tuple(p)) for p in parts)))
    everything = [r for p in parts for r in p]
    assert sorted(merged.records, key=repr) == sorted(everything, key=repr)
    times = [r.time_ns for r in merged.records]
    assert times == sorted(times)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_either_byte_order_and_resolution_is_read(order: str, nano: bool) -> None:
    records = [(1_700_000_000_123_456_000, b"\xaa" * 14), (1_700_000_001_000_001_000, b"\xbb")]
    capture = pcap.parse(foreign(records, order=order, nano=nano))
    assert [(r.time_ns, r.data) for r in capture.records] == records
    # Written back as little-endian microseconds.
    assert pcap.dump(capture)[:4] == b"\xd4\xc3\xb2\xa1"


def test_chunks_are_bounded_and_join_to_the_file() -> None:
    capture = pcap.Capture(records=tuple(pcap.Record(i, bytes(1000), 1000) for i in range(100)))
    pieces = list(pcap.chunks(capture, size=4096))
    assert len(pieces) > 10 and all(len(p) < 4096 + 1016 for p in pieces)
    assert b"".join(pieces) == pcap.dump(capture)
    assert pcap.dump(pcap.merge([])) == pcap.global_header(pcap.Capture())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a pcap file: 0 bytes"),
        (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng files are not supported"),
        (b"GET / HTTP/1.1\r\n" + bytes(20), "not a pcap file: magic number 47455420"),
        (foreign([(0, b"abc")], order="<", nano=False)[:-1], "record 1: 3 bytes announced"),
        (foreign([(0, b"abc")], order="<", nano=False) + b"\x00" * 5, "record 2: its header"),
        (struct.pack("<IHHiIII", pcap.MAGIC_MICRO, 3, 0, 0, 0, 65_535, 1), "version 3"),
    ],
)
def test_what_is_not_a_pcap_file_says_why(data: bytes, message: str) -> None:
    with pytest.raises(pcap.PcapError, match=message):
        pcap.parse(data)


def test_link_types_must_agree() -> None:
    with pytest.raises(pcap.PcapError, match="different link types"):
        pcap.merge([pcap.Capture(linktype=1), pcap.Capture(linktype=101)])
