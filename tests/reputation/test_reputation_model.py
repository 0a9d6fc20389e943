"""Reputation entries and tags, pure: canonical addresses, names and URLs, the four tag
kinds and their errors, and a property test of address normalisation."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.errors import Invalid
from garrison.events.addresses import address_number
from garrison.reputation.model import (
    LIST_SEPARATOR,
    TTL_CATEGORY,
    EntryKind,
    TagCategory,
    TagKind,
    check_category,
    check_tag,
    check_tags,
    kind_of,
    network_key,
    parse_address,
    parse_dns,
    parse_entry,
    parse_ttl,
    parse_url,
    to_network,
)


@pytest.mark.parametrize(
    ("given_text", "canonical", "kind"),
    [
        ("10.1.2.3/8", "10.0.0.0/8", EntryKind.IPV4),
        ("192.168.66.127/24", "192.168.66.0/24", EntryKind.IPV4),  # the SMS guide's example
        (" 1.2.3.4 ", "1.2.3.4", EntryKind.IPV4),
        ("1.2.3.4/32", "1.2.3.4", EntryKind.IPV4),  # a host is listed without /32
        ("0.0.0.0/0", "0.0.0.0/0", EntryKind.IPV4),
        ("2001:DB8::1/32", "2001:db8::/32", EntryKind.IPV6),
        ("2001:0db8:0000::0001", "2001:db8::1", EntryKind.IPV6),
        ("2001:db8::1/128", "2001:db8::1", EntryKind.IPV6),
        ("::ffff:10.9.8.7", "10.9.8.7", EntryKind.IPV4),  # IPv4-mapped is IPv4
        ("::ffff:10.9.8.7/120", "10.9.8.0/24", EntryKind.IPV4),
        ("::/0", "::/0", EntryKind.IPV6),
    ],
)
def test_addresses_are_normalised(given_text: str, canonical: str, kind: EntryKind) -> None:
    entry = parse_address(given_text)
    assert entry.text == canonical
    assert entry.kind is kind
    assert entry.key == f"{kind}:{canonical}"
    assert parse_address(canonical) == entry  # one entry, however written


def test_cidr_numbers_live_in_the_shared_space() -> None:
    entry = parse_address("10.1.2.3/8")
    assert entry.prefix == 96 + 8
    assert entry.first == address_number("10.0.0.0")
    assert entry.network == ipaddress.ip_network("10.0.0.0/8")
    v6 = parse_address("2001:db8::/32")
    assert (v6.first, v6.prefix) == (int(ipaddress.ip_address("2001:db8::")), 32)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("", "needs an address"),
        ("10.0.0.300", "'10.0.0.300' is not an IPv4 or IPv6 address"),
        ("10.0.0.1/33", "'10.0.0.1/33' is not"),
        ("010.1.1.1", "is not an IPv4"),
        ("fe80::1%eth0", "scoped"),
        ("foo.com", "'foo.com' is not an IPv4"),
    ],
)
def test_bad_addresses_say_what_is_wrong(bad: str, says: str) -> None:
    with pytest.raises(Invalid, match=says):
        parse_address(bad)


def test_an_entry_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(Invalid, match="is an ipv4 address, not ipv6"):
        parse_entry("1.2.3.4", "ipv6")
    with pytest.raises(Invalid, match="unknown entry type 'hash'"):
        parse_entry("1.2.3.4", "hash")
    assert parse_entry("1.2.3.4", "IPv4").kind is EntryKind.IPV4  # callers send mixed case
    assert [kind_of(v) for v in ("10.0.0.0/8", "::1", "foo.com", "foo.com/x", "http://a")] == [
        EntryKind.IPV4,
        EntryKind.IPV6,
        EntryKind.DNS,
        EntryKind.URL,
        EntryKind.URL,
    ]


def test_dns_entries_substring_and_exact() -> None:
    substring = parse_dns("WWW.Foo.COM.")
    assert (substring.text, substring.name, substring.exact) == (
        "www.foo.com",
        "www.foo.com",
        False,
    )
    exact = parse_dns("[Foo.com]")
    assert (exact.text, exact.name, exact.exact) == ("[foo.com]", "foo.com", True)
    assert exact.key != parse_dns("foo.com").key  # two different entries
    assert parse_dns(".foo.com").text == ".foo.com"  # subdomains only
    assert parse_dns("bücher.de").name == "xn--bcher-kva.de"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("", "needs a name"),
        ("[]", "needs a name"),
        ("foo..com", "empty label"),
        ("[.foo.com]", "empty label"),  # an exact name has no leading dot
        ("*.foo.com", "no wildcards"),
        ("foo bar.com", "is not a DNS name"),
        ("a" * 64 + ".com", "at most 63"),
        (("a" * 60 + ".") * 5, "at most 253"),
    ],
)
def test_bad_names(bad: str, says: str) -> None:
    with pytest.raises(Invalid, match=says):
        parse_dns(bad)


def test_urls() -> None:
    assert parse_url("HTTP://WWW.Foo.com/Path?Q=A").text == "http://www.foo.com/Path?Q=A"
    assert parse_url("WWW.Foo.com/Path").text == "www.foo.com/Path"
    assert parse_url("foo.com,bar|x").text == "foo.com,bar|x"  # why URL files use pipes
    for bad, says in (
        ("", "needs a URL"),
        ("http://a b", "no spaces"),
        ("/path", "no host"),
        ("http:///x", "is not a URL"),
        ("a" * 3000, "at most 2048"),
    ):
        with pytest.raises(Invalid, match=says):
            parse_url(bad)


# -- tags -----------------------------------------------------------------------------------

SCORE = check_category("Score", "range", minimum=0, maximum=100)
KINDS = check_category("MalwareIpType", "list", choices=["cncHost", "infectedHost"], multiple=True)
SEVERITY = check_category("Trend Micro Severity", "list", choices=["High", "Medium", "Low"])
BLOCKED = check_category("Blocked", "yesno")
NOTE = check_category("Note", "text")
TTL = check_category(TTL_CATEGORY, "text")
ALL = {c.name: c for c in (SCORE, KINDS, SEVERITY, BLOCKED, NOTE, TTL)}


def test_tag_values_in_canonical_form() -> None:
    assert check_tag(SCORE, 90) == "90"
    assert check_tag(SCORE, " 7 ") == "7"
    assert check_tag(KINDS, "infectedhost~~~CNCHOST") == "infectedHost~~~cncHost"
    assert check_tag(KINDS, ["cncHost", "cnchost"]) == "cncHost"  # repeats fold
    assert check_tag(SEVERITY, "high") == "High"
    # The SMS's yes/no rule: "yes" in any case is yes, anything else is no.
    assert [check_tag(BLOCKED, v) for v in ("YES", "yes", "no", "maybe", True, False)] == [
        "yes",
        "yes",
        "no",
        "no",
        "yes",
        "no",
    ]
    assert check_tag(NOTE, "Jan 22, 2014") == "Jan 22, 2014"
    assert check_tag(TTL, "2026-10-25 07:15:00-0400") == "2026-10-25 11:15:00+0000"


@pytest.mark.parametrize(
    ("category", "value", "says"),
    [
        (SCORE, 101, "tag 'Score': 101 is outside 0..100"),
        (SCORE, "ninety", "tag 'Score': 'ninety' is not a whole number"),
        (SCORE, True, "tag 'Score': takes a whole number"),
        (SEVERITY, "Severe", "tag 'Trend Micro Severity': 'Severe' is not one of its values"),
        (SEVERITY, f"High{LIST_SEPARATOR}Low", "tag 'Trend Micro Severity': takes a single"),
        (BLOCKED, 3, "tag 'Blocked': a yes/no tag takes yes or no"),
        (NOTE, "x" * 256, "tag 'Note': text longer than 255"),
        (NOTE, "a\x00b", "tag 'Note': text holds control characters"),
        (TTL, "next tuesday", f"tag '{TTL_CATEGORY}': 'next tuesday' is not a date"),
    ],
)
def test_tag_errors_name_the_category(category: TagCategory, value: object, says: str) -> None:
    with pytest.raises(Invalid, match=says.replace("(", r"\(").replace("+", r"\+")):
        check_tag(category, value)  # type: ignore[arg-type]


def test_tag_sets() -> None:
    assert check_tags(ALL, {"Score": 5, "Note": "", "MalwareIpType": []}) == {"Score": "5"}
    with pytest.raises(Invalid, match="tag category 'Colour' does not exist"):
        check_tags(ALL, {"Colour": "red"})
    with pytest.raises(Invalid, match="empty category"):
        check_tags(ALL, {"": "red"})
    repdv = TagCategory(name="RepDV", kind=TagKind.TEXT, read_only=True)
    with pytest.raises(Invalid, match="tag category 'RepDV' is read-only"):
        check_tags({"RepDV": repdv}, {"RepDV": "x"})


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"name": "", "kind": "text"}, "needs a name"),
        ({"name": "X", "kind": "colour"}, "tag category 'X': unknown kind 'colour'"),
        ({"name": "X", "kind": "range"}, "tag category 'X': a numeric range needs minimum"),
        ({"name": "X", "kind": "range", "minimum": 5, "maximum": 1}, "minimum 5 is above"),
        ({"name": "X", "kind": "list"}, "tag category 'X': a list needs its values"),
        ({"name": "X", "kind": "list", "choices": ["a", "A"]}, "list values repeat"),
        ({"name": "X", "kind": "text", "multiple": True}, "only a list may allow multiple"),
        ({"name": "X", "kind": "text", "minimum": 1}, "only a numeric range has minimum"),
        ({"name": "a~~~b", "kind": "text"}, "no control characters or '~~~'"),
    ],
)
def test_bad_categories(settings: dict[str, object], says: str) -> None:
    with pytest.raises(Invalid, match=says):
        check_category(**settings)  # type: ignore[arg-type]


def test_ttl_forms() -> None:
    expected = datetime(2026, 10, 25, 11, 15, tzinfo=UTC)
    assert parse_ttl("2026-10-25 07:15:00-0400") == expected
    assert parse_ttl("2026-10-25T07:15:00-04:00") == expected
    assert parse_ttl("2026-10-25 11:15:00") == expected  # no zone: UTC


# -- property: normalisation ----------------------------------------------------------------


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_ipv4_normalisation_property(number: int, prefix: int) -> None:
    address = ipaddress.IPv4Address(number)
    entry = parse_address(f"{address}/{prefix}")
    network = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)
    assert entry.network == network
    assert address in entry.network
    assert parse_address(entry.text) == entry  # idempotent
    assert parse_address(f"::ffff:{address}/{96 + prefix}") == entry  # mapped is the same
    # The key the store looks the address up by is the entry's own key.
    assert network_key(address_number(str(address)) or 0, entry.prefix or 0) == entry.first


@given(st.integers(0, 2**128 - 1), st.integers(0, 128))
def test_ipv6_normalisation_property(number: int, prefix: int) -> None:
    address = ipaddress.IPv6Address(number)
    entry = parse_address(f"{address}/{prefix}")
    assert entry.first is not None and entry.prefix is not None
    assert parse_address(entry.text) == entry
    assert to_network(entry.first, entry.prefix) == entry.network
    number_in_space = address_number(str(address))
    assert number_in_space is not None
    assert network_key(number_in_space, entry.prefix) == entry.first
    if address.ipv4_mapped is None or prefix < 96:
        assert entry.network == ipaddress.IPv6Network(f"{address}/{prefix}", strict=False)
    else:
        assert entry.kind is EntryKind.IPV4
        assert address.ipv4_mapped in entry.network


# The fast path for plain IPv4 hosts must accept and write exactly what ipaddress does.
ipv4_like = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
    st.text(alphabet="0123456789. /", max_size=18),
    st.text(alphabet="0123456789.\u0661\uff11", max_size=15),  # non-ASCII digits
)


@given(ipv4_like)
def test_ipv4_fast_path_agrees_with_ipaddress(text: str) -> None:
    try:
        expected = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        with pytest.raises(Invalid):
            parse_address(text)
        return
    entry = parse_address(text)
    assert entry.network == expected
    assert entry.text == (
        str(expected.network_address) if expected.prefixlen == 32 else str(expected)
    )
