"""The reputation batcher: many adds, few transactions; the cap; flush on interval, on
size and on stop; entries kept through a failed flush."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from garrison.auth import Principal
from garrison.errors import Invalid
from garrison.reputation.batcher import BatcherUnavailable, CapReached, ReputationBatcher
from garrison.reputation.service import EntryInput, ReputationService
from garrison.store import Store, upgrade

ME = Principal.local_cli()
OWNER = "responder:Policy A"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'reputation.db'}")
    upgrade(store.engine)
    yield store
    store.close()


@pytest.fixture
def service(store: Store) -> ReputationService:
    svc = ReputationService(store)
    svc.create_category(ME, "Kind", "list", values=["scanner", "worm"])
    return svc


def commits(store: Store) -> list[int]:
    """A list that grows by one each committed transaction."""
    seen: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: seen.append(1))
    return seen


def stored(service: ReputationService, *addresses: str) -> list[str]:
    return [r.value for r in service.query_addresses(ME, list(addresses))]


async def wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_thousand_adds_in_few_transactions(service: ReputationService, store: Store) -> None:
    batcher = ReputationBatcher(service, interval=3600, max_batch=400, default_cap=None)
    await batcher.start()
    addresses = [f"10.{i // 250}.{i % 250}.1" for i in range(1000)]
    committed = commits(store)
    for address in addresses:
        assert (
            await batcher.queue(EntryInput(address, {"Kind": "scanner"}), owner=OWNER) == "queued"
        )
    await batcher.stop()  # writes what the size trigger left
    writes = batcher.stats.flushes
    assert writes == 3  # 400 + 400 by size, the last 200 on stop
    assert batcher.stats.written == 1000
    # Three writes and the one read of the tag categories before the first add.
    assert len(committed) == writes + 1
    with store.transaction() as tx:
        assert len(tx.audit.query(action="reputation.add")) == writes
    found = service.query_addresses(ME, addresses)
    assert len(found) == 1000 and found[0].tags == (("Kind", "scanner"),)
    assert found[0].added_by == OWNER


async def test_interval_flush_and_repeated_adds(service: ReputationService) -> None:
    batcher = ReputationBatcher(service, interval=0.05)
    await batcher.start()
    try:
        assert await batcher.queue(EntryInput("10.0.0.1"), owner=OWNER) == "queued"
        assert await batcher.queue(EntryInput("10.0.0.1/32", {"Kind": "worm"}), owner=OWNER) == (
            "updated"
        )
        await wait_for(lambda: batcher.stats.flushes >= 1)
        [record] = service.query_addresses(ME, ["10.0.0.1"])
        assert record.tags == (("Kind", "worm"),)  # the later add's tags
        assert batcher.stats.written == 1
    finally:
        await batcher.stop()


async def test_cap(service: ReputationService) -> None:
    batcher = ReputationBatcher(service, interval=3600, default_cap=5)
    await batcher.start()
    try:
        for i in range(3):
            await batcher.queue(EntryInput(f"10.0.0.{i}"), owner=OWNER)
        for i in range(3, 10):
            await batcher.queue(EntryInput(f"10.0.0.{i}"), owner=OWNER, cap=4)
    except CapReached as exc:
        assert "reached its cap of 4" in str(exc)
    else:
        raise AssertionError("the cap did not stop the fifth entry")
    await batcher.flush()
    assert batcher.stats.written == 4
    # At the cap: a stored entry may be refreshed, a new one is refused, another owner is
    # not affected.
    assert await batcher.queue(EntryInput("10.0.0.0"), owner=OWNER, cap=4) == "queued"
    with pytest.raises(CapReached):
        await batcher.queue(EntryInput("10.0.0.99"), owner=OWNER, cap=4)
    assert await batcher.queue(EntryInput("10.0.0.99"), owner="responder:B") == "queued"
    await batcher.stop()
    assert service.count_added_by(ME, OWNER) == 4
    assert stored(service, "10.0.0.99") == ["10.0.0.99"]


async def test_cap_is_exact_at_flush(service: ReputationService) -> None:
    """Entries added by other paths meanwhile count: the flush enforces the cap again."""
    batcher = ReputationBatcher(service, interval=3600, default_cap=3)
    for i in range(3):
        await batcher.queue(EntryInput(f"10.0.1.{i}"), owner=OWNER)
    service.add_many(ME, [EntryInput("10.0.2.1"), EntryInput("10.0.2.2")], added_by=OWNER)
    await batcher.flush()
    assert service.count_added_by(ME, OWNER) == 3


async def test_bad_entries_are_refused_when_queued(service: ReputationService) -> None:
    batcher = ReputationBatcher(service)
    with pytest.raises(Invalid, match=r"'10\.0\.0\.300' is not an IPv4"):
        await batcher.queue(EntryInput("10.0.0.300"), owner=OWNER)
    with pytest.raises(Invalid, match="tag category 'Colour' does not exist"):
        await batcher.queue(EntryInput("10.0.0.3", {"Colour": "red"}), owner=OWNER)
    # A category created after the batcher read them is found.
    service.create_category(ME, "Colour", "text")
    assert await batcher.queue(EntryInput("10.0.0.3", {"Colour": "red"}), owner=OWNER) == "queued"


async def test_failed_flush_keeps_entries(
    service: ReputationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    batcher = ReputationBatcher(service, interval=3600)
    await batcher.queue(EntryInput("10.0.0.1"), owner=OWNER)
    real = service.add_batches
    calls = []

    def failing(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "add_batches", failing)
    assert await batcher.flush() == 0
    assert batcher.stats.pending == 1 and stored(service, "10.0.0.1") == []
    assert await batcher.flush() == 1
    assert stored(service, "10.0.0.1") == ["10.0.0.1"]


async def test_remove_and_stop(service: ReputationService) -> None:
    batcher = ReputationBatcher(service, interval=3600)
    await batcher.start()
    await batcher.queue(EntryInput("10.0.0.1"), owner=OWNER)
    await batcher.queue(EntryInput("10.0.0.2"), owner=OWNER)
    assert await batcher.remove("10.0.0.1", owner=OWNER) == 1  # still queued: dropped
    service.add(ME, "10.0.0.3")
    assert await batcher.remove("10.0.0.3", owner=OWNER) == 0  # a user's entry stays
    outcome = await batcher.write_now(EntryInput("10.0.0.4"), owner=OWNER)
    assert outcome.added == 1 and stored(service, "10.0.0.4") == ["10.0.0.4"]
    await batcher.stop()
    assert stored(service, "10.0.0.1", "10.0.0.2", "10.0.0.3") == ["10.0.0.2", "10.0.0.3"]
    assert await batcher.remove("10.0.0.2", owner=OWNER) == 1
    with pytest.raises(BatcherUnavailable):
        await batcher.queue(EntryInput("10.0.0.5"), owner=OWNER)


async def test_queue_is_bounded_while_the_database_fails(
    service: ReputationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object, **kwargs: object) -> object:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(service, "add_batches", down)
    batcher = ReputationBatcher(service, interval=3600, max_batch=2, max_pending=4)
    for i in range(4):  # each add from the second on tries a flush, which fails
        await batcher.queue(EntryInput(f"10.0.0.{i}"), owner=OWNER)
    assert batcher.stats.pending == 4
    with pytest.raises(BatcherUnavailable, match="4 unwritten entries"):
        await batcher.queue(EntryInput("10.0.0.9"), owner=OWNER)
    assert await batcher.queue(EntryInput("10.0.0.1"), owner=OWNER) == "updated"
