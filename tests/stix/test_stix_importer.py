"""Bundles imported into the reputation store on SQLite, PostgreSQL and MariaDB: tags,
expiry, categories made on first use (and a site's own kept), revocation by the
``STIX - ID`` tag, bad entries failing alone, and no write at all without the capability."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from garrison.auth import Principal, Role
from garrison.errors import Forbidden
from garrison.reputation.model import TagKind
from garrison.reputation.service import ReputationService
from garrison.stix.bundle import parse_bundle
from garrison.stix.importer import STIX_ID, STIX_SEVERITY, Outcome, import_decisions
from garrison.store import Store
from garrison.store.stix import entries_tagged

ME = Principal.local_cli()
AUDITOR = Principal(username="aud", role=Role.AUDITOR, via="cli")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def service(store: Store) -> ReputationService:
    return ReputationService(store, clock=lambda: NOW)


def indicator(n: int, pattern: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "id": f"indicator--{n}",
        "labels": [],
        "pattern": pattern,
        **fields,
    }


def run(service: ReputationService, *objects: object, actor: Principal = ME) -> Outcome:
    body = json.dumps({"type": "bundle", "id": "bundle--1", "objects": list(objects)}).encode()
    return import_decisions(service, actor, parse_bundle(body))


def test_import_tag_expire_and_revoke(service: ReputationService, store: Store) -> None:
    outcome = run(
        service,
        indicator(1, "[ipv4-addr:value = '10.1.2.3/16']", labels=["sms-severity-high"]),
        indicator(2, "[domain-name:value = 'evil.example']", valid_until="2030-01-01T00:00:00Z"),
        indicator(3, "[url:value = 'http://evil.example/x']"),
        indicator(4, "[ipv6-addr:value = 'not an address']"),
        {"type": "identity", "id": "identity--1"},
    )
    assert outcome.successes == ["indicator--1", "indicator--2", "indicator--3", "identity--1"]
    assert [stix for stix, _ in outcome.failures] == ["indicator--4"]
    assert (outcome.imported, outcome.skipped) == (3, 1)

    network = service.get(ME, "10.1.0.0/16")
    assert network is not None
    assert dict(network.tags) == {STIX_ID: "indicator--1", STIX_SEVERITY: "High"}
    name = service.get(ME, "evil.example", kind="dns")
    assert name is not None and name.expires_at == datetime(2030, 1, 1, tzinfo=UTC)

    with store.transaction() as tx:
        found = entries_tagged(tx.session, STIX_ID, ["indicator--1", "indicator--3", "x"])
    assert [(e.kind, e.value, e.tag) for e in found] == [
        ("ipv4", "10.1.0.0/16", "indicator--1"),
        ("url", "http://evil.example/x", "indicator--3"),
    ]

    revoked = run(
        service,
        {"type": "indicator", "id": "indicator--1", "revoked": True},
        {"type": "indicator", "id": "indicator--3", "revoked": True},
    )
    assert (revoked.successes, revoked.deleted) == (["indicator--1", "indicator--3"], 2)
    assert service.get(ME, "10.1.0.0/16") is None
    assert service.get(ME, "http://evil.example/x", kind="url") is None
    assert service.get(ME, "evil.example", kind="dns") is not None


def test_a_sites_own_stix_categories_are_kept(service: ReputationService) -> None:
    service.create_category(ME, STIX_SEVERITY, "list", values=["High", "Low"])
    outcome = run(
        service,
        indicator(1, "[ipv4-addr:value = '192.0.2.1']", labels=["severity-low"]),
        indicator(2, "[ipv4-addr:value = '192.0.2.2']", labels=["severity-medium"]),
    )
    assert outcome.successes == ["indicator--1"]
    assert outcome.failures[0][0] == "indicator--2"
    assert "'Medium' is not one of its values" in outcome.failures[0][1]
    kinds = {c.name: c.kind for c in service.list_categories(ME)}
    assert kinds[STIX_SEVERITY] is TagKind.LIST and kinds[STIX_ID] is TagKind.TEXT


def test_a_bundle_without_indicators_makes_no_categories(service: ReputationService) -> None:
    outcome = run(service, {"type": "identity", "id": "identity--1"})
    assert outcome.successes == ["identity--1"]
    assert STIX_ID not in {c.name for c in service.list_categories(ME)}


def test_without_the_write_capability_nothing_is_written(service: ReputationService) -> None:
    with pytest.raises(Forbidden):
        run(service, indicator(1, "[ipv4-addr:value = '192.0.2.9']"), actor=AUDITOR)
    assert service.get(ME, "192.0.2.9") is None
    assert STIX_ID not in {c.name for c in service.list_categories(ME)}
