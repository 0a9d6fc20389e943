"""The STIX pattern subset Garrison imports: one ``=`` comparison on a domain name, IPv4 or
IPv6 address or URL; everything else refused with a message that says what was not
supported. Property tests: no exception but PatternError on any text, and a round trip
through the canonical form for every value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.reputation.model import EntryKind
from garrison.stix.pattern import (
    ENTRY_KINDS,
    Comparison,
    PatternError,
    escape,
    format_pattern,
    parse_pattern,
    unescape,
)


@pytest.mark.parametrize(
    ("pattern", "object_type", "value", "kind"),
    [
        ("[ipv4-addr:value = '198.51.100.7']", "ipv4-addr", "198.51.100.7", EntryKind.IPV4),
        ("[ipv4-addr:value='10.0.0.0/8']", "ipv4-addr", "10.0.0.0/8", EntryKind.IPV4),
        ("[ipv6-addr:value = '2001:db8::1']", "ipv6-addr", "2001:db8::1", EntryKind.IPV6),
        ("[domain-name:value = 'evil.example']", "domain-name", "evil.example", EntryKind.DNS),
        (
            "[url:value = 'http://evil.example/a b']",
            "url",
            "http://evil.example/a b",
            EntryKind.URL,
        ),
        ("  [ URL:Value\t=\n'x' ]  ", "url", "x", EntryKind.URL),
        (
            r"[url:value = 'http://e.example/?q=\'1\'&p=\\x']",
            "url",
            r"http://e.example/?q='1'&p=\x",
            EntryKind.URL,
        ),
        ("[domain-name:value = 'a]b[c AND d']", "domain-name", "a]b[c AND d", EntryKind.DNS),
        ("[domain-name:value = '']", "domain-name", "", EntryKind.DNS),
    ],
)
def test_supported_patterns_give_their_comparison(
    pattern: str, object_type: str, value: str, kind: EntryKind
) -> None:
    comparison = parse_pattern(pattern)
    assert comparison == Comparison(object_type, value)
    assert comparison.kind is kind


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "the pattern is empty"),
        ("   ", "the pattern is empty"),
        ("ipv4-addr:value = '1.2.3.4'", "a pattern starts with '['"),
        ("([ipv4-addr:value = '1.2.3.4'])", "grouped observations are not supported"),
        (
            "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
            "object type 'file' is not supported",
        ),
        ("[email-addr:value = 'a@b.example']", "object type 'email-addr' is not supported"),
        (
            "[ipv4-addr:resolves_to_refs[0].value = '1.2.3.4']",
            "is not supported; only ipv4-addr:value",
        ),
        ("[ipv4-addr:value[0] = '1.2.3.4']", "object path ipv4-addr:value[... is not supported"),
        ("[ipv4-addr = '1.2.3.4']", "is not an object path"),
        ("[ipv4-addr:value != '1.2.3.4']", "operator != is not supported; only ="),
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", "operator ISSUBSET is not supported"),
        ("[domain-name:value LIKE '%.example']", "operator LIKE is not supported"),
        ("[domain-name:value MATCHES '^a']", "operator MATCHES is not supported"),
        ("[ipv4-addr:value IN ('1.2.3.4', '5.6.7.8')]", "operator IN is not supported"),
        ("[ipv4-addr:value NOT = '1.2.3.4']", "negated comparisons (NOT) are not supported"),
        (
            "[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '5.6.7.8']",
            "only a single comparison is supported; found OR",
        ),
        (
            "[ipv4-addr:value = '1.2.3.4'] AND [url:value = 'x']",
            "only a single observation is supported; found AND",
        ),
        ("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [url:value = 'x']", "found FOLLOWEDBY"),
        (
            "[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS",
            "qualifiers (WITHIN) are not supported",
        ),
        (
            "[ipv4-addr:value = '1.2.3.4'] START t'2016-01-01T00:00:00Z' STOP t'2017-01-01Z'",
            "qualifiers (START)",
        ),
        ("[ipv4-addr:value = 16909060]", "the value must be a quoted string"),
        ("[url:value = b'aGk=']", "the value must be a quoted string ('...'), not 'b'"),
        ("[ipv4-addr:value = '1.2.3.4'", "ends without its closing ']'"),
        ("[ipv4-addr:value = '1.2.3.4]", "has no closing quote"),
        (r"[url:value = 'a\nb']", "has no closing quote, or a backslash"),
        ("[ipv4-addr:value = '1.2.3.4'] x", "unexpected 'x' after the closing ']'"),
        ("[ipv4-addr:value =", "needs a quoted value"),
        ("[ipv4-addr:value", "needs = and a quoted value"),
        ("[", "expected an object path such as ipv4-addr:value, found the end"),
        ("[ipv4-addr:value ! '1']", "unexpected '!' at character 18"),
    ],
)
def test_everything_else_is_refused_saying_why(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern(pattern)
    assert message in str(caught.value)


def test_a_long_token_is_quoted_shortened() -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern("[" + "x" * 5000 + ":value = 'a']")
    assert len(str(caught.value)) < 200


def test_the_canonical_form() -> None:
    assert format_pattern(Comparison("url", "a'b\\c")) == r"[url:value = 'a\'b\\c']"
    assert format_pattern(parse_pattern("[IPV4-ADDR:VALUE='1.2.3.4']")) == (
        "[ipv4-addr:value = '1.2.3.4']"
    )


# -- properties --------------------------------------------------------------------------------

comparisons = st.builds(Comparison, st.sampled_from(sorted(ENTRY_KINDS)), st.text())
# Text made of the grammar's own pieces finds deeper paths than uniform random characters.
pieces = st.sampled_from(
    ["[", "]", "(", ")", "'", "\\", "=", "!=", " ", ":", "value", "ipv4-addr", "url",
     "AND", "OR", "NOT", "WITHIN", ",", "'x'", "domain-name:value", "\n", "b", "."]
)  # fmt: skip


@given(st.text())
def test_any_text_parses_or_raises_pattern_error(text: str) -> None:
    try:
        parse_pattern(text)
    except PatternError as exc:
        assert str(exc) and "\n" not in str(exc)


@given(st.lists(pieces, max_size=20).map("".join))
def test_grammar_soup_parses_or_raises_pattern_error(text: str) -> None:
    try:
        comparison = parse_pattern(text)
    except PatternError:
        return
    assert parse_pattern(format_pattern(comparison)) == comparison


@given(comparisons)
def test_round_trip_through_the_canonical_form(comparison: Comparison) -> None:
    assert parse_pattern(format_pattern(comparison)) == comparison


@given(comparisons, st.lists(st.sampled_from([" ", "\t", "\n", "\r\n"]), min_size=5, max_size=5))
def test_whitespace_between_tokens_changes_nothing(
    comparison: Comparison, spaces: list[str]
) -> None:
    a, b, c, d, e = spaces
    text = f"{a}[{b}{comparison.object_type.upper()}:value{c}={d}'{escape(comparison.value)}'{e}]"
    assert parse_pattern(text) == comparison


@given(st.text())
def test_escape_and_unescape_are_inverse(value: str) -> None:
    assert unescape(escape(value)) == value
