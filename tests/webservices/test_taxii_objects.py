"""POSTing STIX 2.0 bundles to the TAXII collection of a real Garrison HTTPS server, with
`requests` and curl as feed scripts do, and what lands in the reputation store: entries of
the four kinds tagged with the STIX ID, severity and confidence, benign indicators
skipped, revocations deleting, valid_until as the TTL, unsupported patterns as failures of
the status resource, and the whole request refused for an oversized body, a wrong content
type or a body that is no bundle."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from garrison.reputation.model import TTL_CATEGORY, TagKind
from tests.support import ADMIN_PASSWORD, RunningServer
from tests.webservices.curl_peer import curl, needs_curl
from tests.webservices.taxii_support import (
    ME,
    OBJECTS,
    STIX,
    TAXII,
    bundle,
    entry,
    indicator,
    post,
    quiet_tls,
    stix_id,
    tags,
)
from tests.webservices.ws_support import module_server

pytestmark = quiet_tls


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from module_server(tmp_path_factory, "taxii")


def accepted(answer: requests.Response) -> dict[str, Any]:
    """The status resource of a POST the server took."""
    assert answer.status_code == 202, answer.text
    assert answer.headers["content-type"] == TAXII
    status: dict[str, Any] = answer.json()
    assert status["status"] == "complete"
    assert status["pending_count"] == 0 and status["pendings"] == []
    assert status["total_count"] == status["success_count"] + status["failure_count"]
    assert status["success_count"] == len(status["successes"])
    assert status["failure_count"] == len(status["failures"])
    return status


def refused(answer: requests.Response, status: int) -> str:
    """The description of a TAXII error."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == TAXII
    error = answer.json()
    assert set(error) == {"title", "description", "http_status"}
    assert error["http_status"] == str(status)
    description: str = error["description"]
    return description


def test_a_bundle_of_the_four_kinds_becomes_tagged_entries(live: RunningServer) -> None:
    objects = [
        {
            "type": "identity",
            "id": stix_id("identity"),
            "name": "Feed",
            "identity_class": "organization",
        },
        indicator(
            "[ipv4-addr:value = '198.51.100.7']",
            labels=["malicious-activity", "sms-severity-high", "sms-confidence-75"],
        ),
        indicator("[ipv4-addr:value = '203.0.113.77/24']"),
        indicator("[ipv6-addr:value = '2001:DB8::1']", labels=["feed-severity-medium"]),
        indicator("[domain-name:value = 'Evil.Example']", labels=["confidence-0"]),
        indicator("[url:value = 'http://Evil.Example/drop?x=\\'1\\'']", labels=["x-severity-low"]),
    ]
    status = accepted(post(live, bundle(*objects)))
    assert status["total_count"] == 6 and status["failures"] == []
    assert status["successes"] == [o["id"] for o in objects]
    assert status["request_timestamp"].endswith("Z")

    ids = [o["id"] for o in objects]
    assert tags(live, "198.51.100.7", "ipv4") == {
        "STIX - ID": ids[1],
        "STIX - Severity": "High",
        "STIX - Confidence": "75",
    }
    assert tags(live, "203.0.113.0/24", "ipv4") == {"STIX - ID": ids[2]}  # CIDR normalised
    assert tags(live, "2001:db8::1", "ipv6") == {"STIX - ID": ids[3], "STIX - Severity": "Medium"}
    assert tags(live, "evil.example", "dns") == {"STIX - ID": ids[4], "STIX - Confidence": "0"}
    assert tags(live, "http://evil.example/drop?x='1'", "url") == {
        "STIX - ID": ids[5],
        "STIX - Severity": "Low",
    }
    record = entry(live, "198.51.100.7", "ipv4")
    assert record is not None and record.source == "user" and record.added_by == "admin"

    # The STIX categories were made on first use, with the kinds their values need.
    categories = live.services.reputation.list_categories(ME)
    made = {c.name: c for c in categories if c.name.startswith("STIX - ")}
    assert made["STIX - ID"].kind is TagKind.TEXT
    assert (made["STIX - Severity"].kind, made["STIX - Severity"].choices) == (
        TagKind.LIST,
        ("High", "Medium", "Low"),
    )
    confidence = made["STIX - Confidence"]
    assert (confidence.kind, confidence.minimum, confidence.maximum) == (TagKind.RANGE, 0, 100)


def test_the_status_can_be_fetched_again(live: RunningServer) -> None:
    status = accepted(post(live, bundle(indicator("[ipv4-addr:value = '198.51.100.8']"))))
    again = requests.get(
        live.url() + f"/taxii/feeds/status/{status['id']}/",
        auth=("admin", ADMIN_PASSWORD),
        headers={"Accept": TAXII},
        verify=False,
        timeout=30,
    )
    assert again.status_code == 200 and again.headers["content-type"] == TAXII
    assert again.json() == status


def test_benign_indicators_are_skipped(live: RunningServer) -> None:
    benign = indicator("[domain-name:value = 'benign.example']", labels=["benign"])
    status = accepted(post(live, bundle(benign)))
    assert status["successes"] == [benign["id"]]
    assert entry(live, "benign.example", "dns") is None


def test_revoked_deletes_the_entry_with_the_same_stix_id(live: RunningServer) -> None:
    first = indicator("[ipv4-addr:value = '192.0.2.10']")
    other = indicator("[ipv4-addr:value = '192.0.2.11']")
    accepted(post(live, bundle(first, other)))
    assert entry(live, "192.0.2.10", "ipv4") is not None

    revoked = {**first, "modified": "2026-02-01T00:00:00.000Z", "revoked": True}
    status = accepted(post(live, bundle(revoked)))
    assert status["successes"] == [first["id"]]
    assert entry(live, "192.0.2.10", "ipv4") is None
    assert entry(live, "192.0.2.11", "ipv4") is not None  # another indicator's entry stays

    # Revoking again, or an ID never seen, is no failure: the indicator is gone either way.
    status = accepted(post(live, bundle(revoked, {**revoked, "id": stix_id()})))
    assert status["success_count"] == 2


def test_add_then_revoke_in_one_bundle_leaves_nothing(live: RunningServer) -> None:
    added = indicator("[url:value = 'http://gone.example/']")
    revoked = {**added, "modified": "2026-02-01T00:00:00.000Z", "revoked": True}
    accepted(post(live, bundle(added, revoked)))
    assert entry(live, "http://gone.example/", "url") is None


def test_valid_until_becomes_the_ttl(live: RunningServer) -> None:
    item = indicator("[domain-name:value = 'ttl.example']", valid_until="2099-10-25T07:15:00.000Z")
    accepted(post(live, bundle(item)))
    record = entry(live, "ttl.example", "dns")
    assert record is not None
    assert record.expires_at == datetime(2099, 10, 25, 7, 15, tzinfo=UTC)
    assert record.tag(TTL_CATEGORY) == "2099-10-25 07:15:00+0000"


def test_unsupported_patterns_fail_alone_and_the_rest_imports(live: RunningServer) -> None:
    good = indicator("[ipv4-addr:value = '192.0.2.50']")
    bad = [
        indicator("[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"),
        indicator("[ipv4-addr:value = '192.0.2.51' OR ipv4-addr:value = '192.0.2.52']"),
        indicator("[ipv4-addr:value != '192.0.2.53']"),
        indicator("[domain-name:value MATCHES '^evil']"),
        indicator("[ipv4-addr:value = '192.0.2.54'] WITHIN 60 SECONDS"),
        indicator("[ipv4-addr:value = '2001:db8::54']"),  # the value is no IPv4 address
        indicator("[domain-name:value = 'no spaces.example']"),
        indicator(
            "[ipv4-addr:value = '192.0.2.55']",
            valid_until="2020-01-01T00:00:00Z",
            valid_from="2019-01-01T00:00:00Z",
        ),
        {**indicator("[ipv4-addr:value = '192.0.2.56']"), "pattern": 5},
        "not an object",
    ]
    document = bundle(good)
    document["objects"].extend(bad)
    status = accepted(post(live, document))
    assert status["successes"] == [good["id"]]
    assert status["total_count"] == 11 and status["failure_count"] == 10
    messages = {f["id"]: f["message"] for f in status["failures"]}
    ids = [b["id"] if isinstance(b, dict) else "objects[10]" for b in bad]
    expected = [
        "object type 'file' is not supported",
        "only a single comparison is supported; found OR",
        "operator != is not supported; only =",
        "operator MATCHES is not supported",
        "qualifiers (WITHIN) are not supported",
        "is an ipv6 address, not ipv4",
        "is not a DNS name",
        "is already past",
        'an indicator needs a "pattern" string',
        "not a STIX object",
    ]
    for stix, words in zip(ids, expected, strict=True):
        assert words in messages[stix], (stix, messages[stix])
    assert entry(live, "192.0.2.50", "ipv4") is not None
    for address in ("192.0.2.51", "192.0.2.53", "192.0.2.54", "192.0.2.55", "192.0.2.56"):
        assert entry(live, address, "ipv4") is None


def test_an_oversized_body_is_413_and_nothing_is_imported(live: RunningServer) -> None:
    item = indicator("[ipv4-addr:value = '192.0.2.99']", description="x" * 2_100_000)
    message = refused(post(live, bundle(item)), 413)
    assert "at most 2097152" in message
    assert entry(live, "192.0.2.99", "ipv4") is None
    # Exactly the limit is taken (padded with JSON whitespace).
    raw = json.dumps(bundle(indicator("[ipv4-addr:value = '192.0.2.98']"))).encode()
    assert accepted(post(live, raw + b" " * (2_097_152 - len(raw))))["success_count"] == 1


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/vnd.oasis.taxii+json; version=2.0",
        "application/vnd.oasis.stix+json; version=2.1",
        "text/plain",
    ],
)
def test_a_wrong_content_type_is_415(live: RunningServer, content_type: str) -> None:
    item = indicator("[ipv4-addr:value = '192.0.2.97']")
    message = refused(post(live, bundle(item), content_type=content_type), 415)
    assert "STIX 2.0" in message or STIX in message
    assert entry(live, "192.0.2.97", "ipv4") is None


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{not json", "the body is not JSON"),
        (b"", "the body is not JSON"),
        (b'{"type": "indicator", "id": "indicator--1"}', 'not "bundle"'),
        (b'{"type": "bundle", "objects": "x"}', '"objects" must be a list'),
    ],
)
def test_a_body_that_is_no_bundle_is_400(live: RunningServer, raw: bytes, words: str) -> None:
    assert words in refused(post(live, raw), 400)


def test_a_post_to_an_unknown_collection_is_404(live: RunningServer) -> None:
    path = "/taxii/feeds/collections/00000000-0000-0000-0000-000000000002/objects/"
    item = indicator("[ipv4-addr:value = '192.0.2.96']")
    assert "no collection" in refused(post(live, bundle(item), path=path), 404)
    assert entry(live, "192.0.2.96", "ipv4") is None


@needs_curl
def test_curl_posts_a_bundle_file_with_basic_auth(live: RunningServer, tmp_path: Path) -> None:
    item = indicator("[domain-name:value = 'curl.example']", labels=["sms-confidence-100"])
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(item)))
    reply = curl(
        live,
        OBJECTS,
        "-u", f"admin:{ADMIN_PASSWORD}",
        "-H", f"Content-Type: {STIX}",
        "-H", f"Accept: {TAXII}",
        "--data-binary", f"@{path}",
    )  # fmt: skip
    assert reply.status == 202 and reply.headers["content-type"] == TAXII
    assert json.loads(reply.body)["successes"] == [item["id"]]
    assert tags(live, "curl.example", "dns")["STIX - Confidence"] == "100"
    # curl -d without a Content-Type sends a form: not a STIX bundle.
    form = curl(live, OBJECTS, "-H", f"X-SMS-API-KEY: {live.api_key}", "-d", f"@{path}")
    assert form.status == 415 and json.loads(form.body)["http_status"] == "415"


def test_the_audit_row_counts_what_the_post_did(live: RunningServer) -> None:
    objects = [
        indicator("[ipv4-addr:value = '192.0.2.120']"),
        indicator("[ipv4-addr:value = '192.0.2.121']", labels=["benign"]),
        indicator("[file:name = 'x']"),
    ]
    status = accepted(post(live, bundle(*objects)))
    with live.services.store.transaction() as tx:
        rows = tx.audit.query(actor="admin", limit=20)
    row = next(r for r in rows if r.action.startswith("webservices.taxii."))
    detail = json.loads(row.detail)
    assert (row.outcome, detail["status"], detail["taxii_status"]) == ("success", 202, status["id"])
    assert (detail["imported"], detail["skipped"], detail["failed"]) == (1, 1, 1)


def test_the_entries_answer_repentries_query(live: RunningServer) -> None:
    accepted(
        post(live, bundle(indicator("[ipv4-addr:value = '192.0.2.130']", labels=["severity-high"])))
    )
    answer = requests.get(
        live.url() + "/repEntries/query",
        params={"ip": "192.0.2.130"},
        headers={"X-SMS-API-KEY": live.api_key},
        verify=False,
        timeout=30,
    )
    if answer.status_code == 404 and "not available" in answer.text:
        pytest.skip("repEntries/query is not served yet")
    assert answer.status_code == 200, answer.text
    line = answer.text.strip()
    assert line.startswith("192.0.2.130,") and "STIX - Severity,High" in line
