"""The reputation store and ReputationService on SQLite, PostgreSQL and MariaDB: address
queries through containing blocks, DNS substring and exact names, tags, TTL expiry,
capabilities and audit, all-or-nothing writes, and the indexes the queries rely on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from garrison.auth import Principal, Role
from garrison.errors import Conflict, Forbidden, Invalid, NotFound
from garrison.reputation.model import (
    DV_SCORE_CATEGORY,
    TTL_CATEGORY,
    UnknownCategory,
    parse_address,
)
from garrison.reputation.service import EntryInput, ReputationService
from garrison.store import Store
from garrison.store.reputation import ReputationEntries

ME = Principal.local_cli()
OPERATOR = Principal(username="op", role=Role.OPERATOR, via="cli")
AUDITOR = Principal(username="aud", role=Role.AUDITOR, via="cli")
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: Store, clock: Clock) -> ReputationService:
    svc = ReputationService(store, clock=clock)
    svc.create_category(
        ME, "MalwareIpType", "list", values=["cncHost", "infectedHost"], multiple=True
    )
    svc.create_category(ME, "AtaHost", "text")
    return svc


def values(records: list) -> list[str]:
    return [r.value for r in records]


def test_migration_creates_tables_and_builtin_categories(store: Store) -> None:
    inspector = inspect(store.engine)
    assert {"reputation_entries", "reputation_tag_categories", "reputation_tags"} <= set(
        inspector.get_table_names()
    )
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("reputation_entries")}
    assert indexes["ix_reputation_entries_network"] == ["addr_hi", "addr_lo", "prefix"]
    assert indexes["ix_reputation_entries_expires_at"] == ["expires_at"]
    names = [c.name for c in ReputationService(store).list_categories(AUDITOR)]
    assert names == [DV_SCORE_CATEGORY, TTL_CATEGORY]


def test_address_queries_find_containing_blocks(service: ReputationService) -> None:
    service.add(ME, "10.1.2.3/8", {"MalwareIpType": "cncHost"})
    service.add(ME, "10.1.2.0/24")
    service.add(ME, "10.1.2.3")
    service.add(ME, "192.168.66.127/24")
    service.add(ME, "2001:db8::/32", {"AtaHost": "v6.example"})
    service.add(ME, "2001:db8:1::7")
    # The CIDR was stored normalised, and an address inside it finds it.
    assert values(service.query_addresses(ME, ["10.200.0.1"])) == ["10.0.0.0/8"]
    # Every containing block, sorted by address, each once.
    assert values(service.query_addresses(ME, ["10.1.2.3", "10.1.2.9"])) == [
        "10.0.0.0/8",
        "10.1.2.0/24",
        "10.1.2.3",
    ]
    assert values(service.query_addresses(ME, ["192.168.66.1"])) == ["192.168.66.0/24"]
    assert service.query_addresses(ME, ["11.0.0.1", "192.168.67.1"]) == []
    # IPv6, and an IPv4-mapped address is its IPv4 self.
    assert values(service.query_addresses(ME, ["2001:db8:1::7"])) == [
        "2001:db8::/32",
        "2001:db8:1::7",
    ]
    assert values(service.query_addresses(ME, ["::ffff:10.0.0.1"])) == ["10.0.0.0/8"]
    assert service.query_addresses(ME, ["2001:db9::1"]) == []
    # A block asks for the entries holding all of it.
    assert values(service.query_addresses(ME, ["10.1.0.0/16"])) == ["10.0.0.0/8"]
    with pytest.raises(Invalid, match=r"'10\.0\.0\.256' is not an IPv4"):
        service.query_addresses(ME, ["10.0.0.256"])
    record = service.get(ME, "10.9.9.9/8")
    assert record is not None and record.tags == (("MalwareIpType", "cncHost"),)
    with service.store.transaction() as tx:
        entries = ReputationEntries(tx.session)
        assert entries.prefixes() == [32, 104, 120, 128]  # IPv4 /n is 96 + n
        inside = entries.inside(parse_address("10.0.0.0/8"))
        assert values(inside) == ["10.0.0.0/8", "10.1.2.0/24", "10.1.2.3"]


def test_dns_substring_and_exact(service: ReputationService) -> None:
    service.add(ME, "foo.com")  # matches any name containing it
    service.add(ME, "[bar.com]")  # matches bar.com only
    service.add(ME, ".baz.org")  # subdomains of baz.org
    assert values(service.query_names(ME, ["www.foo.com"])) == ["foo.com"]
    assert values(service.query_names(ME, ["FOO.COM."])) == ["foo.com"]
    assert values(service.query_names(ME, ["notfoo.community"])) == ["foo.com"]  # substring
    assert values(service.query_names(ME, ["bar.com"])) == ["[bar.com]"]
    assert service.query_names(ME, ["www.bar.com", "bar.co"]) == []
    assert values(service.query_names(ME, ["a.baz.org"])) == [".baz.org"]
    assert service.query_names(ME, ["baz.org"]) == []
    assert values(service.query_names(ME, ["foo.com.bar.com"])) == ["foo.com"]
    # Exact lookups of the entries themselves.
    assert values(service.query_exact(ME, ["[BAR.com]", "foo.com", "nope.com"], kind="dns")) == [
        "[bar.com]",
        "foo.com",
    ]


def test_urls_and_tags_update(service: ReputationService) -> None:
    first = service.add(
        ME, "HTTP://Evil.example/Path", {"AtaHost": "a", "MalwareIpType": "cncHost"}, kind="url"
    )
    assert (first.added, first.updated) == (1, 0)
    again = service.add(
        ME, "http://evil.example/Path", {"MalwareIpType": ["infectedHost", "cncHost"]}, kind="url"
    )
    assert (again.added, again.updated) == (0, 1)
    record = service.get(ME, "http://evil.example/Path", kind="url")
    assert record is not None
    # The given category was replaced, the other kept.
    assert record.tags == (("AtaHost", "a"), ("MalwareIpType", "infectedHost~~~cncHost"))
    assert service.get(ME, "http://evil.example/path", kind="url") is None  # paths keep case


def test_tag_errors_name_category_and_entry(service: ReputationService) -> None:
    with pytest.raises(Invalid, match="tag 'MalwareIpType': 'worm' is not one of its values"):
        service.add(ME, "1.2.3.4", {"MalwareIpType": "worm"})
    with pytest.raises(Invalid, match="tag category 'Colour' does not exist"):
        service.add(ME, "1.2.3.4", {"Colour": "red"})
    with pytest.raises(Invalid, match=r"tag 'Reputation DV Score - Manual': 150 is outside"):
        service.add(ME, "1.2.3.4", {DV_SCORE_CATEGORY: 150})
    # A batch is all or nothing, and the error says which entry.
    items = [EntryInput("1.1.1.1"), EntryInput("2.2.2.2", {"AtaHost": "x" * 300})]
    with pytest.raises(Invalid, match=r"entry 2 \('2.2.2.2'\): tag 'AtaHost': text longer"):
        service.add_many(ME, items)
    assert service.query_addresses(ME, ["1.1.1.1"]) == []


def test_ttl_expiry(service: ReputationService, clock: Clock) -> None:
    service.add(ME, "10.0.0.1", {TTL_CATEGORY: "2026-03-01 13:00:00+0000"})
    service.add(ME, "10.0.0.2", expires_at=START + timedelta(hours=2))
    service.add(ME, "10.0.0.0/24", {"AtaHost": "stays"})
    soon = service.get(ME, "10.0.0.2")
    assert soon is not None and soon.tag(TTL_CATEGORY) == "2026-03-01 14:00:00+0000"
    assert soon.expires_at == START + timedelta(hours=2)
    with pytest.raises(Invalid, match="already past"):
        service.add(ME, "10.0.0.3", {TTL_CATEGORY: "2026-03-01 11:00:00+0000"})
    clock.now = START + timedelta(hours=1, seconds=1)
    # Expired entries are hidden at once, and removed by expire().
    assert values(service.query_addresses(ME, ["10.0.0.1"])) == ["10.0.0.0/24"]
    assert values(service.query_addresses(ME, ["10.0.0.2"])) == ["10.0.0.0/24", "10.0.0.2"]
    assert service.expire() == 1
    with service.store.transaction() as tx:
        assert ReputationEntries(tx.session).count() == 2
    clock.now = START + timedelta(days=1)
    assert service.expire(chunk=1) == 1  # chunked: loops until done
    assert service.expire() == 0
    assert values(service.query_addresses(ME, ["10.0.0.2"])) == ["10.0.0.0/24"]
    # Re-adding an expired entry before the sweep revives it without the old expiry.
    service.add(ME, "10.0.0.9", expires_at=clock.now + timedelta(minutes=1))
    clock.now += timedelta(minutes=2)
    service.add(ME, "10.0.0.9")
    assert values(service.query_addresses(ME, ["10.0.0.9"])) == ["10.0.0.0/24", "10.0.0.9"]


def test_delete_owned_and_caps(service: ReputationService) -> None:
    service.add(ME, "10.0.0.1")
    service.add_many(ME, [EntryInput("10.0.0.2")], added_by="responder:p")
    assert service.delete_owned(ME, ["10.0.0.1", "10.0.0.2"], "responder:p") == 1
    assert values(service.query_addresses(ME, ["10.0.0.1", "10.0.0.2"])) == ["10.0.0.1"]
    assert service.delete(ME, ["10.0.0.1/32", "10.0.0.7"]) == 1
    outcome = service.add_many(
        ME, [EntryInput(f"10.1.0.{i}") for i in range(5)], added_by="responder:p", cap=3
    )
    assert (outcome.added, outcome.over_cap) == (3, ("10.1.0.3", "10.1.0.4"))
    assert service.count_added_by(ME, "responder:p") == 3
    # At the cap, refreshing an owned entry is still allowed.
    refresh = service.add_many(ME, [EntryInput("10.1.0.0")], added_by="responder:p", cap=3)
    assert (refresh.added, refresh.updated, refresh.over_cap) == (0, 1, ())


def test_capabilities_and_audit(service: ReputationService, store: Store) -> None:
    service.add(OPERATOR, "10.0.0.1")  # operators manage reputation
    assert values(service.query_addresses(AUDITOR, ["10.0.0.1"])) == ["10.0.0.1"]
    with pytest.raises(Forbidden):
        service.add(AUDITOR, "10.0.0.2")
    with pytest.raises(Forbidden):
        service.create_category(AUDITOR, "X", "text")
    with pytest.raises(Forbidden):
        service.delete(AUDITOR, ["10.0.0.1"])
    service.add_many(ME, [EntryInput(f"10.2.0.{i}") for i in range(50)])
    with store.transaction() as tx:
        adds = tx.audit.query(action="reputation.add")
    assert len(adds) == 2  # one line a write, however many entries
    details = sorted((a.target, json.loads(a.detail)["added"]) for a in adds)
    assert details == [("reputation:10.0.0.1", 1), ("reputation:50 entries", 50)]


def test_categories(service: ReputationService) -> None:
    with pytest.raises(Conflict):
        service.create_category(ME, "AtaHost", "text")
    score = service.create_category(ME, "Confidence", "range", minimum=0, maximum=100)
    assert (score.minimum, score.maximum) == (0, 100)
    service.add(ME, "1.2.3.4", {"AtaHost": "x"})
    with pytest.raises(Conflict, match="used by entries"):
        service.delete_category(ME, "AtaHost")
    service.delete_category(ME, "AtaHost", force=True)
    record = service.get(ME, "1.2.3.4")
    assert record is not None and record.tags == ()
    with pytest.raises(NotFound):
        service.delete_category(ME, "AtaHost")
    with pytest.raises(Invalid, match="built in"):
        service.delete_category(ME, TTL_CATEGORY)


def test_many_entries_in_one_write(service: ReputationService) -> None:
    """5,000 entries in one transaction; queries stay exact among them."""
    items = [EntryInput(f"172.{16 + i // 250}.{i % 250}.0/24") for i in range(4000)]
    items += [EntryInput(f"2001:db8:{i:x}::/48", {"AtaHost": f"h{i}"}) for i in range(1000)]
    outcome = service.add_many(ME, items)
    assert outcome.added == 5000
    assert values(service.query_addresses(ME, ["172.17.3.9", "2001:db8:3e7::1"])) == [
        "172.17.3.0/24",
        "2001:db8:3e7::/48",
    ]
    assert service.query_addresses(ME, ["172.16.250.1"]) == []


def test_delete_all_by_source_and_paging(service: ReputationService) -> None:
    service.add_many(ME, [EntryInput(f"10.3.0.{i}") for i in range(7)])
    service.add_many(ME, [EntryInput(f"10.4.0.{i}") for i in range(3)], source="repdv")
    page = service.list_entries(AUDITOR, limit=4)
    rest = service.list_entries(AUDITOR, after=page[-1].id, limit=100)
    assert [r.value for r in page + rest] == [f"10.3.0.{i}" for i in range(7)] + [
        f"10.4.0.{i}" for i in range(3)
    ]
    assert [r.value for r in service.list_entries(ME, source="repdv")] == [
        f"10.4.0.{i}" for i in range(3)
    ]
    assert service.list_entries(ME, kind="dns") == []
    with pytest.raises(Forbidden):
        service.delete_all(AUDITOR)
    # Other sources' entries stay, so the user entries go a chunk at a time.
    assert service.delete_all(ME, "user", chunk=3) == 7
    assert [r.value for r in service.list_entries(ME)] == [f"10.4.0.{i}" for i in range(3)]
    assert service.delete_all(ME, "repdv") == 3  # nothing else: whole-table statements
    assert service.delete_all(ME) == 0
    with pytest.raises(Invalid, match="unknown entry source 'feed'"):
        service.delete_all(ME, "feed")


def test_errors_of_file_entries_name_their_line(service: ReputationService) -> None:
    items = [EntryInput("1.1.1.1", line=3), EntryInput("1.1.1.2", {"Colour": "x"}, line=9)]
    with pytest.raises(UnknownCategory, match=r"^line 9: tag category 'Colour' does not exist"):
        service.add_many(ME, items)
    bad = [EntryInput("1.1.1.1", kind="ipv4", line=1), EntryInput("::1", kind="ipv4", line=2)]
    with pytest.raises(Invalid, match=r"^line 2: '::1' is an ipv6 address, not ipv4"):
        service.delete_many(ME, bad)
    service.add(ME, "1.1.1.1")
    assert service.delete_many(ME, bad[:1]) == 1
