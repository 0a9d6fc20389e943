"""A STIX bundle read into decisions: the SMS's import rules (indicators only, benign
skipped, revoked deletes, valid_until the TTL, severity and confidence from the labels by
the facts sheet's regular expressions), bad objects failing alone, and a body that is no
bundle refused whole."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.stix.bundle import (
    BundleError,
    Failure,
    Import,
    Revoke,
    Skip,
    decide,
    parse_bundle,
    parse_timestamp,
)
from garrison.stix.labels import confidence, is_benign, severity
from garrison.stix.pattern import Comparison

ID = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def indicator(**fields: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "id": ID,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "labels": ["malicious-activity"],
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "valid_from": "2026-01-01T00:00:00Z",
        **fields,
    }


def body(*objects: object, **extra: object) -> bytes:
    return json.dumps(
        {"type": "bundle", "id": "bundle--1", "objects": list(objects), **extra}
    ).encode()


# -- labels ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("sms-severity-high", "High"),
        ("severity-low", "Low"),
        ("SMS-Severity-MEDIUM", "Medium"),
        ("a-b-c-severity-x1-high", "High"),
        ("feed-severity-very-high", "High"),
        ("feed-severity-very-much-high", None),  # one word at most after "severity-"
        ("severity-high-", None),
        ("severity-critical", None),
        ("sms_severity_high", None),
        ("sms-severity-high\n", None),
        ("\u017feverity-high", None),  # long s: no Unicode case folding
        ("x" * 300 + "-severity-high", None),
    ],
)
def test_severity_labels(label: str, expected: str | None) -> None:
    assert severity(["malicious-activity", label]) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("sms-confidence-75", 75),
        ("confidence-0", 0),
        ("Confidence-100", 100),
        ("x-y-confidence-9", 9),
        ("confidence-101", None),
        ("confidence-075", None),
        ("confidence-", None),
        ("confidence-\u0667", None),  # Arabic-Indic seven: ASCII digits only
    ],
)
def test_confidence_labels(label: str, expected: int | None) -> None:
    assert confidence([label]) == expected


def test_the_first_matching_label_wins_and_benign_is_any_case() -> None:
    assert severity(["severity-low", "severity-high"]) == "Low"
    assert confidence(["confidence-5", "confidence-50"]) == 5
    assert is_benign(["Benign"]) and not is_benign(["benign-ish"])


@given(st.text(max_size=300))
def test_label_rules_never_fail(label: str) -> None:
    assert severity([label]) in (None, "High", "Medium", "Low")
    value = confidence([label])
    assert value is None or 0 <= value <= 100


# -- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-25T07:15:00Z", datetime(2026, 10, 25, 7, 15, tzinfo=UTC)),
        ("2026-10-25T07:15:00.123456789Z", datetime(2026, 10, 25, 7, 15, 0, 123456, tzinfo=UTC)),
        ("2026-10-25T07:15:00-04:00", datetime(2026, 10, 25, 11, 15, tzinfo=UTC)),
        ("2026-10-25 07:15:00+0130", datetime(2026, 10, 25, 5, 45, tzinfo=UTC)),
        ("2026-10-25T07:15:00", datetime(2026, 10, 25, 7, 15, tzinfo=UTC)),
    ],
)
def test_timestamps(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-13-01T00:00:00Z", "2026-10-25", "0001-01-01T00:00:00+01:00", 5, None, "x"]
)
def test_bad_timestamps(text: object) -> None:
    with pytest.raises(ValueError, match=r"2026-01-01T00:00:00Z|not a valid date"):
        parse_timestamp(text)


# -- decisions ---------------------------------------------------------------------------------


def test_an_indicator_is_imported_with_its_tags_and_expiry() -> None:
    item = indicator(
        labels=["malicious-activity", "sms-severity-high", "sms-confidence-75"],
        valid_until="2099-01-01T00:00:00Z",
    )
    assert decide(item, 0) == Import(
        stix_id=ID,
        comparison=Comparison("ipv4-addr", "198.51.100.7"),
        severity="High",
        confidence=75,
        valid_until=datetime(2099, 1, 1, tzinfo=UTC),
    )


def test_revoked_wins_over_everything_else() -> None:
    assert decide(indicator(revoked=True, labels=["benign"], pattern="junk"), 0) == Revoke(ID)
    assert decide(indicator(revoked=False), 0) == Import(
        ID, Comparison("ipv4-addr", "198.51.100.7")
    )


def test_benign_is_skipped_and_other_objects_are_ignored() -> None:
    assert decide(indicator(labels=["benign"], pattern="anything"), 0) == Skip(
        ID, "labelled benign"
    )
    identity = {"type": "identity", "id": "identity--1", "name": "feed"}
    assert decide(identity, 3) == Skip("identity--1", "identity objects are not imported")


@pytest.mark.parametrize(
    ("item", "failure"),
    [
        ("text", Failure("objects[4]", "not a STIX object (a JSON object)")),
        ({"type": "indicator"}, Failure("objects[4]", 'a STIX object needs an "id"')),
        ({"id": "x--1"}, Failure("x--1", 'a STIX object needs a "type"')),
        (indicator(pattern=None), Failure(ID, 'an indicator needs a "pattern" string')),
        (indicator(revoked="true"), Failure(ID, '"revoked" must be true or false')),
        (indicator(labels="severity-high"), Failure(ID, '"labels" must be a list of strings')),
        (
            indicator(pattern="[file:name = 'x']"),
            Failure(
                ID,
                "object type 'file' is not supported; "
                "use one of domain-name, ipv4-addr, ipv6-addr, url",
            ),
        ),
        (
            indicator(valid_until="soon"),
            Failure(ID, "\"valid_until\": 'soon' is not a timestamp such as 2026-01-01T00:00:00Z"),
        ),
        (
            indicator(valid_until="2025-01-01T00:00:00Z"),
            Failure(ID, '"valid_until" must be later than "valid_from"'),
        ),
    ],
)
def test_bad_objects_fail_alone(item: object, failure: Failure) -> None:
    assert decide(item, 4) == failure


def test_a_bundle_is_one_decision_per_object_in_order() -> None:
    decisions = parse_bundle(
        body(
            {"type": "identity", "id": "identity--1"},
            indicator(id="indicator--a", pattern="[url:value = 'http://x.example/']"),
            indicator(id="indicator--b", revoked=True),
            17,
        )
    )
    assert [type(d) for d in decisions] == [Skip, Import, Revoke, Failure]
    assert parse_bundle(body()) == []
    assert parse_bundle(b'{"type": "bundle", "id": "bundle--1"}') == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the body is not JSON"),
        (b"{", "the body is not JSON"),
        (b"\xff\xfe{}", "the body is not"),
        (b"[]", "it must be a JSON object"),
        (b'{"type": "indicator"}', '"type" is \'indicator\', not "bundle"'),
        (b'{"objects": []}', 'it has no "type": "bundle"'),
        (b'{"type": null}', '"type" is null, not "bundle"'),
        (b'{"type": "bundle", "objects": {}}', '"objects" must be a list'),
        (b"[" * 100_000 + b"]" * 100_000, "the body is not"),
    ],
)
def test_a_body_that_is_no_bundle_is_refused_whole(raw: bytes, message: str) -> None:
    with pytest.raises(BundleError) as caught:
        parse_bundle(raw)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@given(st.binary(max_size=200))
def test_any_body_parses_or_raises_bundle_error(raw: bytes) -> None:
    with contextlib.suppress(BundleError):
        parse_bundle(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["id", "type", "labels", "pattern", "revoked", "valid_until", "valid_from"]
        ),
        json_values,
    )
)
def test_any_object_gets_a_decision(fields: dict[str, Any]) -> None:
    decision = decide({"type": "indicator", **fields}, 0)
    assert isinstance(decision, Import | Revoke | Skip | Failure)
