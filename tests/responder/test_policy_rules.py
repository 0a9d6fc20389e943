"""The pure rules of policies: address sets, the action graph, templates, validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.errors import Invalid
from garrison.responder.addresses import AddressSet, normalize_address, normalize_mac
from garrison.responder.graph import check_graph, start_order
from garrison.responder.policy import compile_policy, parse_spec
from garrison.responder.templates import check_template, render


def test_address_set_matches_addresses_cidrs_and_ranges_in_both_families() -> None:
    allowed = AddressSet.parse(
        ["10.0.0.0/8", "192.0.2.10-192.0.2.20", "2001:db8::/32", "198.51.100.7"]
    )
    assert "10.200.1.1" in allowed
    assert "192.0.2.15" in allowed and "192.0.2.21" not in allowed
    assert "2001:db8::1" in allowed and "2001:db9::1" not in allowed
    assert "198.51.100.7" in allowed and "198.51.100.8" not in allowed
    assert "::ffff:10.1.1.1" in allowed  # the IPv4-mapped form is the same host
    assert "not-an-address" not in allowed


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("10.0.0.300", "not an address"),
        ("10.0.0.9-10.0.0.1", "ends before it starts"),
        ("10.0.0.1-2001:db8::1", "mixes IPv4 and IPv6"),
    ],
)
def test_a_malformed_address_set_entry_is_refused_by_name(entry: str, words: str) -> None:
    with pytest.raises(Invalid, match=words):
        AddressSet.parse(["10.0.0.0/8", entry], "never")


@given(st.ip_addresses())
def test_any_address_is_in_a_set_of_itself_and_not_in_the_empty_set(address: object) -> None:
    text = str(address)
    assert text in AddressSet.parse([text])
    assert text not in AddressSet.parse([])


def test_addresses_and_macs_are_normalized() -> None:
    assert normalize_address(" ::ffff:192.0.2.1 ") == "192.0.2.1"
    assert normalize_address("2001:DB8::1") == "2001:db8::1"
    assert normalize_mac("AA-BB-CC-DD-EE-0F") == "aa:bb:cc:dd:ee:0f"
    with pytest.raises(Invalid, match="MAC"):
        normalize_mac("aa:bb:cc")


def test_graph_refuses_cycles_unknown_and_duplicate_actions_naming_them() -> None:
    with pytest.raises(Invalid, match="cycle: a -> c -> b -> a"):
        check_graph([("a", "c"), ("b", "a"), ("c", "b")], "initial_actions")
    with pytest.raises(Invalid, match="'ghost', which is not an action"):
        check_graph([("a", "ghost")], "initial_actions")
    with pytest.raises(Invalid, match="two actions are named 'a'"):
        check_graph([("a", None), ("a", None)], "initial_actions")
    with pytest.raises(Invalid, match="depends on itself"):
        check_graph([("a", "a")], "initial_actions")


def test_start_order_puts_dependencies_first_then_priority() -> None:
    order = start_order([("mail", "block", 1), ("block", None, 50), ("log", None, 10)])
    assert order.index("block") < order.index("mail")
    assert order[0] == "log"


def test_templates_render_known_fields_and_refuse_unknown_ones() -> None:
    assert render("block {address} ({policy})", {"address": "192.0.2.1", "policy": "P"}) == (
        "block 192.0.2.1 (P)"
    )
    with pytest.raises(Invalid, match=r"unknown template field \{nope\}"):
        check_template("host {nope}", "settings.subject")
    with pytest.raises(Invalid, match="not a plain field name"):
        check_template("{address.__class__}", "settings.subject")
    with pytest.raises(Invalid, match="malformed"):
        check_template("{address", "settings.subject")


def _policy(**fields: object) -> dict[str, object]:
    return {"name": "P", **fields}


def test_policy_validation_names_the_broken_field() -> None:
    with pytest.raises(Invalid, match="timeout_seconds"):
        parse_spec(_policy(timeout_seconds=0))
    with pytest.raises(Invalid, match="threshold: a policy opened by threshold"):
        compile_policy(parse_spec(_policy(initiation=["threshold"])))
    with pytest.raises(Invalid, match=r"never: .*not an address"):
        compile_policy(parse_spec(_policy(never=["10.0.0.0/33"])))
    with pytest.raises(Invalid, match=r"threshold\.filter\.min_severity"):
        compile_policy(
            parse_spec(
                _policy(initiation=["threshold"], threshold={"filter": {"min_severity": "huge"}})
            )
        )
    with pytest.raises(Invalid, match="unknown action type 'teleport'"):
        compile_policy(parse_spec(_policy(initial_actions=[{"name": "x", "type": "teleport"}])))
