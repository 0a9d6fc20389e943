"""TCP framing: octet counting and LF framing, fed in every possible split."""

from __future__ import annotations

from garrison.collectors.syslog import FrameDecoder, FramingError, ParseError
from garrison.collectors.syslog.framing import Framing


def feed_split(data: bytes, max_bytes: int = 1000) -> list[bytes | ParseError]:
    """The same stream fed one byte at a time and in two pieces at every offset must give
    the same frames."""
    whole = FrameDecoder(max_bytes)
    expected = [*whole.feed(data), *whole.close()]
    bytewise = FrameDecoder(max_bytes)
    got: list[bytes | ParseError] = []
    for i in range(len(data)):
        got += bytewise.feed(data[i : i + 1])
    got += bytewise.close()
    assert _shape(got) == _shape(expected)
    for cut in range(len(data) + 1):
        halves = FrameDecoder(max_bytes)
        split = [*halves.feed(data[:cut]), *halves.feed(data[cut:]), *halves.close()]
        assert _shape(split) == _shape(expected), cut
    return expected


def _shape(items: list[bytes | ParseError]) -> list[object]:
    return [item if isinstance(item, bytes) else item.reason for item in items]


def test_octet_counting() -> None:
    frames = feed_split(b"5 <13>a11 <13>b\nc d e")
    assert frames == [b"<13>a", b"<13>b\nc d e"]  # LF inside an octet-counted frame is data


def test_octet_counting_tolerates_lf_between_frames() -> None:
    assert feed_split(b"5 <13>a\n5 <13>b\r\n") == [b"<13>a", b"<13>b"]


def test_lf_framing() -> None:
    frames = feed_split(b"<13>one\n<13>two\r\n\n<13>three")
    assert frames == [b"<13>one", b"<13>two", b"<13>three"]  # the last line without LF is kept


def test_framing_is_chosen_by_the_first_byte() -> None:
    decoder = FrameDecoder(100)
    decoder.feed(b"<13>x\n")
    assert decoder.framing is Framing.LF
    assert decoder.feed(b"5 <13>a\n") == [b"5 <13>a"]  # stays LF: a line like any other


def test_truncated_octet_frame() -> None:
    decoder = FrameDecoder(100)
    assert decoder.feed(b"20 <13>short") == []
    (error,) = decoder.close()
    assert isinstance(error, ParseError) and error.reason == "truncated"
    partial_count = FrameDecoder(100)
    partial_count.feed(b"12")
    assert _shape(partial_count.close()) == ["truncated"]


def test_oversized_octet_frame_is_skipped_exactly() -> None:
    big = b"<13>" + b"x" * 50
    frames = feed_split(b"%d %s5 <13>a" % (len(big), big), max_bytes=20)
    assert _shape(frames) == ["oversized", b"<13>a"]


def test_oversized_line_is_skipped_to_its_lf() -> None:
    frames = feed_split(b"<13>" + b"x" * 50 + b"\n<13>ok\n", max_bytes=20)
    assert _shape(frames) == ["oversized", b"<13>ok"]


def test_oversized_frame_cut_by_close_is_counted_once() -> None:
    decoder = FrameDecoder(10)
    assert _shape(decoder.feed(b"100 <13>xxxx")) == ["oversized"]
    assert decoder.close() == []


def test_garbage_framing_is_fatal_but_keeps_earlier_frames() -> None:
    for stream in (b"5 <13>aX <13>b", b"05 <13>a", b"12345678901 x", b"\x16\x03\x01\x02\x00"):
        decoder = FrameDecoder(100)
        items = decoder.feed(stream)
        assert isinstance(items[-1], FramingError), stream
        assert all(isinstance(item, bytes) for item in items[:-1])
        assert decoder.feed(b"5 <13>a") == []
        assert decoder.close() == []
    decoder = FrameDecoder(100)
    assert _shape(decoder.feed(b"5 <13>aX <13>b")) == [b"<13>a", "framing"]
