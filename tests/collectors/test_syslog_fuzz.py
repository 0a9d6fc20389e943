"""Fuzzing every syslog parser with hypothesis: whatever the bytes, the only exception is
ParseError. Seeds are real messages (tests/data/syslog), mutated byte-wise; round trips
check that what a correct sender writes comes back unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from garrison.collectors.syslog import FrameDecoder, ParseError, parse_cef, parse_syslog, to_event
from garrison.collectors.syslog.cef import parse_extension
from garrison.collectors.syslog.framing import FramingError

DATA = Path(__file__).parent.parent / "data" / "syslog"
SEEDS = [
    *(DATA / "fuzz_seeds.txt").read_bytes().splitlines(),
    *(DATA / "tippingpoint_cef_v42.log").read_bytes().splitlines(),
    *(DATA / "tippingpoint_cef_v42_completed.log").read_bytes().splitlines(),
]
# The characters every syslog and CEF grammar turns on, to hit the edges more often.
SPECIALS = b'<>[]"=\\| -:\n\r\x00\xef\xbb\xbf0123456789TZ.+'
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed with a few bytes inserted, deleted or replaced."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "cut"]))
        byte = draw(st.one_of(st.sampled_from(list(SPECIALS)), st.integers(0, 255)))
        if op == "insert":
            data.insert(pos, byte)
        elif op == "delete" and pos < len(data):
            del data[pos]
        elif op == "replace" and pos < len(data):
            data[pos] = byte
        elif op == "cut":
            del data[pos:]
    return bytes(data)


syslog_bytes = st.one_of(
    mutated(),
    st.binary(max_size=300),
    st.lists(st.sampled_from(list(SPECIALS)), max_size=120).map(bytes),
    st.builds(lambda pri, rest: b"<%d>" % pri + rest, st.integers(0, 200), st.binary(max_size=200)),
    st.builds(lambda rest: b"<13>1 " + rest, st.binary(max_size=200)),
)
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9998, 1, 1), timezones=st.just(UTC)
)


def only_parse_errors(data: bytes, now: datetime) -> None:
    try:
        message = parse_syslog(data, now)
        to_event(message, source_address="127.0.0.1", received_at=now)
    except ParseError as exc:
        assert exc.reason


@FUZZ
@given(syslog_bytes, moments)
def test_parse_and_normalize_raise_only_parse_error(data: bytes, now: datetime) -> None:
    only_parse_errors(data, now)


@FUZZ
@given(st.one_of(mutated().map(lambda b: b.decode("latin-1")), st.text(max_size=300)))
def test_cef_raises_only_parse_error(text: str) -> None:
    try:
        parse_cef(text)
    except ParseError as exc:
        assert exc.reason == "bad-cef"


@FUZZ
@given(st.binary(max_size=400), st.lists(st.integers(1, 64), min_size=1, max_size=20))
def test_framing_never_raises(stream: bytes, chunks: list[int]) -> None:
    decoder = FrameDecoder(64)
    pos = 0
    items: list[bytes | ParseError] = []
    for size in chunks * 20:
        if pos >= len(stream):
            break
        items += decoder.feed(stream[pos : pos + size])
        pos += size
    items += decoder.close()
    for item in items:
        assert isinstance(item, bytes | ParseError)
        if isinstance(item, bytes):
            assert 0 < len(item) <= 64
    # Nothing follows a framing error.
    errors = [i for i, item in enumerate(items) if isinstance(item, FramingError)]
    assert not errors or errors == [len(items) - 1]


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=80), max_size=10), st.integers(1, 17))
def test_octet_counting_round_trip(messages: list[bytes], chunk: int) -> None:
    messages = [b"<13>" + m for m in messages]
    stream = b"".join(b"%d %s" % (len(m), m) for m in messages)
    decoder = FrameDecoder(100)
    got: list[bytes | ParseError] = []
    for pos in range(0, len(stream), chunk):
        got += decoder.feed(stream[pos : pos + chunk])
    got += decoder.close()
    assert got == messages


# Values a CEF sender may put in the extension (escaped as the spec says).
cef_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
    max_size=30,
).map(lambda v: v.strip(" \t"))
cef_keys = st.from_regex(r"[a-z][A-Za-z0-9]{0,10}", fullmatch=True)


def escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n")


@FUZZ
@given(st.dictionaries(cef_keys, cef_values, max_size=8))
def test_cef_extension_round_trip(pairs: dict[str, str]) -> None:
    # A value with " word=" inside is a new key by the spec's own rule; a correct sender
    # escapes that "=", so the round trip holds.
    text = " ".join(f"{k}={escape_value(v)}" for k, v in pairs.items())
    assert parse_extension(text) == (pairs, "")


@FUZZ
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=15),
        min_size=6,
        max_size=6,
    )
)
def test_cef_header_round_trip(fields: list[str]) -> None:
    escaped = [f.replace("\\", "\\\\").replace("|", "\\|") for f in fields]
    record = parse_cef("CEF:0|" + "|".join(escaped) + "|k=v")
    got = [
        record.vendor,
        record.product,
        record.device_version,
        record.signature_id,
        record.name,
        record.severity,
    ]
    assert got[:5] == fields[:5]
    assert got[5] == fields[5].strip()
    assert record.extension == {"k": "v"}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS))
def test_every_seed_parses(seed: bytes) -> None:
    only_parse_errors(seed, datetime(2024, 6, 15, tzinfo=UTC))
