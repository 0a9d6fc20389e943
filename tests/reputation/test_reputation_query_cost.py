"""What a 10,000-address query costs the database, on every backend: a bounded number of
statements that does not grow with the store, and (on SQLite, where the plan is easy to
read) index searches only, never a scan of the entries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.dialects import sqlite

from garrison.auth import Principal
from garrison.reputation.service import EntryInput, ReputationService
from garrison.store import Store, upgrade
from garrison.store.reputation import NETWORK_SLOTS, _network_query

ME = Principal.local_cli()


@contextmanager
def counted(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def add(service: ReputationService, values: list[str]) -> None:
    for start in range(0, len(values), 5000):
        service.add_many(ME, [EntryInput(v) for v in values[start : start + 5000]])


def test_ten_thousand_addresses_cost_a_bounded_number_of_statements(store: Store) -> None:
    service = ReputationService(store)
    hosts = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(2000)]
    add(service, hosts + [f"10.1.{i}.0/24" for i in range(200)] + ["2001:db8::/64"])
    wanted = hosts[::2] + [f"10.1.{i % 200}.9" for i in range(4000)]
    wanted += [f"172.16.{i // 250}.{i % 250}" for i in range(5000)]  # absent
    assert len(wanted) == 10_000

    def query() -> tuple[int, int]:
        with counted(store) as statements:
            found = service.query_addresses(ME, wanted)
        return len(found), len(statements)

    found, statements = query()
    assert found == 1000 + 200
    # One seek per prefix length in use (3, plus the one that finds no more), a point
    # lookup per address and length, NETWORK_SLOTS to a statement, and the tags.
    keys = 10_000 * 2  # IPv4 addresses meet the IPv4 lengths only (/24 and /32)
    bound = 4 + -(-keys // NETWORK_SLOTS) + -(-found // 500) + 5
    assert statements <= bound
    # Five times the entries, of the same prefix lengths, none matching: the same cost.
    add(service, [f"11.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(10_000)])
    assert query() == (found, statements)


def test_the_address_lookup_searches_the_index_on_sqlite(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(store.engine)
    compiled = _network_query().compile(dialect=sqlite.dialect())
    zeros = tuple(0 for _ in compiled.positiontup or ())
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", zeros).fetchall()
    details = [row[-1] for row in plan]
    assert any("USING COVERING INDEX ix_reputation_entries_network" in d or
               "USING INDEX ix_reputation_entries_network" in d for d in details)  # fmt: skip
    assert not any(d.startswith("SCAN") for d in details), details
    store.close()
