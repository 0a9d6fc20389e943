"""The reputation-entry action: queued into the batcher or written at once, with templated
tags and a TTL; the cap; removal on timeout of its own entries only; clear failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from garrison.auth import Principal
from garrison.errors import Invalid
from garrison.events.model import Event, EventKind
from garrison.reputation.batcher import ReputationBatcher
from garrison.reputation.model import TTL_CATEGORY
from garrison.reputation.service import ReputationService
from garrison.responder.actions.base import ActionContext, ActionFailed, ActionServices
from garrison.responder.actions.registry import build, parse_config
from garrison.responder.actions.reputation_entry import ReputationEntry
from garrison.store import Store, upgrade
from tests.support import make_settings

ME = Principal.local_cli()
KIND = "reputation-entry"


@pytest.fixture
def service(tmp_path: Path) -> ReputationService:
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(store.engine)
    svc = ReputationService(store)
    svc.create_category(ME, "Attack", "text")
    svc.create_category(ME, "MalwareIpType", "list", values=["cncHost", "scanner"], multiple=True)
    return svc


@pytest.fixture
async def batcher(service: ReputationService) -> AsyncIterator[ReputationBatcher]:
    batcher = ReputationBatcher(service, interval=3600)
    await batcher.start()
    yield batcher
    await batcher.stop()
    service.store.close()


def action(tmp_path: Path, batcher: ReputationBatcher | None, **settings: Any) -> ReputationEntry:
    config = parse_config(KIND, settings, "policy P: action rep")
    services = ActionServices(settings=make_settings(tmp_path / "data"), reputation=batcher)
    built = build(KIND, config, services)
    assert isinstance(built, ReputationEntry)
    return built


def context(address: str = "10.1.2.3", phase: str = "initial", **changes: Any) -> ActionContext:
    event = Event(
        kind=EventKind.ALERT,
        collector="test",
        source_address="127.0.0.1",
        received_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        name="7610: Reputation Block",
        src_ip=address,
    )
    values: dict[str, Any] = {
        "response_id": 17,
        "policy": "Scanners",
        "address": address,
        "phase": phase,
        "trigger": "threshold",
        "opened_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "events": (event,),
    }
    values.update(changes)
    return ActionContext(**values)


def entries(service: ReputationService, *addresses: str) -> list[Any]:
    return service.query_addresses(ME, list(addresses))


async def test_queued_then_written_with_tags_and_ttl(
    tmp_path: Path, service: ReputationService, batcher: ReputationBatcher
) -> None:
    act = action(
        tmp_path,
        batcher,
        tags={"Attack": "{signature} ({policy})", "MalwareIpType": ["scanner"]},
        ttl_seconds=3600,
    )
    result = await act.run(context())
    assert result.detail == "queued 10.1.2.3 for the reputation store"
    assert result.data["reputation"] == "queued"
    assert entries(service, "10.1.2.3") == []  # not yet: aggregated
    again = await act.run(context())
    assert "already queued" in again.detail
    await batcher.flush()
    [record] = entries(service, "10.1.2.3")
    assert record.added_by == "responder:Scanners"
    assert record.tag("Attack") == "7610: Reputation Block (Scanners)"
    assert record.tag("MalwareIpType") == "scanner"
    assert record.expires_at is not None
    left = record.expires_at - datetime.now(UTC)
    assert timedelta(minutes=59) < left <= timedelta(hours=1)
    assert record.tag(TTL_CATEGORY) is not None
    with service.store.transaction() as tx:
        assert len(tx.audit.query(action="reputation.add")) == 1


async def test_written_at_once_and_cap(
    tmp_path: Path, service: ReputationService, batcher: ReputationBatcher
) -> None:
    act = action(tmp_path, batcher, aggregate=False, cap=2)
    first = await act.run(context("10.0.0.1"))
    assert first.detail == "added 10.0.0.1 in the reputation store"
    assert [r.value for r in entries(service, "10.0.0.1")] == ["10.0.0.1"]
    assert (await act.run(context("10.0.0.1"))).detail == "updated 10.0.0.1 in the reputation store"
    await act.run(context("2001:db8::5"))
    with pytest.raises(ActionFailed) as failed:
        await act.run(context("10.0.0.3"))
    assert "cap" in failed.value.reason and not failed.value.retryable
    assert entries(service, "10.0.0.3") == []
    # Queued mode says so at once too.
    queued = action(tmp_path, batcher, cap=2)
    with pytest.raises(ActionFailed, match="reached its cap of 2"):
        await queued.run(context("10.0.0.4"))


async def test_timeout_removes_only_when_asked_and_only_its_own(
    tmp_path: Path, service: ReputationService, batcher: ReputationBatcher
) -> None:
    keep = action(tmp_path, batcher, aggregate=False)
    await keep.run(context("10.0.0.1"))
    kept = await keep.run(context("10.0.0.1", phase="timeout"))
    assert "stays in the reputation store" in kept.detail
    assert len(entries(service, "10.0.0.1")) == 1

    remove = action(tmp_path, batcher, remove_on_timeout=True)
    assert (await remove.run(context("10.0.0.1", phase="timeout"))).detail == (
        "removed 10.0.0.1 from the reputation store"
    )
    assert entries(service, "10.0.0.1") == []
    # Queued but not yet written: removed from the queue.
    await remove.run(context("10.0.0.2"))
    await remove.run(context("10.0.0.2", phase="timeout"))
    await batcher.flush()
    assert entries(service, "10.0.0.2") == []
    # A user's entry for the same address is never taken away.
    service.add(ME, "10.0.0.3")
    absent = await remove.run(context("10.0.0.3", phase="timeout"))
    assert "not in the reputation store as an entry of this policy" in absent.detail
    assert len(entries(service, "10.0.0.3")) == 1


async def test_failures_are_clear(tmp_path: Path, batcher: ReputationBatcher) -> None:
    unknown = action(tmp_path, batcher, tags={"Colour": "red"})
    with pytest.raises(ActionFailed) as failed:
        await unknown.run(context())
    assert failed.value.reason == (
        "reputation entry for 10.1.2.3: tag category 'Colour' does not exist"
    )
    assert not failed.value.retryable
    bad_value = action(tmp_path, batcher, tags={"MalwareIpType": "worm"})
    with pytest.raises(ActionFailed, match="tag 'MalwareIpType': 'worm' is not one"):
        await bad_value.run(context())
    with pytest.raises(ActionFailed, match=r"'10\.1\.2\.999' is not an IPv4"):
        await action(tmp_path, batcher).run(context("10.1.2.999"))
    with pytest.raises(ActionFailed, match="no IP address"):
        await action(tmp_path, batcher).run(context(""))
    with pytest.raises(ActionFailed, match="runs no reputation store") as none:
        await action(tmp_path, None).run(context())
    assert not none.value.retryable
    await batcher.stop()
    with pytest.raises(ActionFailed, match="unavailable") as stopped:
        await action(tmp_path, batcher).run(context())
    assert stopped.value.retryable  # the writer may be back


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"ttl_seconds": 0}, "ttl_seconds"),
        ({"cap": 0}, "cap"),
        ({"tags": {"": "x"}}, "tags: Value error, a tag category needs a name"),
        ({"tags": {"Attack": "{nonsense}"}}, "unknown template field {nonsense}"),
    ],
)
def test_settings_are_checked_when_the_policy_is_saved(settings: dict[str, Any], says: str) -> None:
    with pytest.raises(Invalid, match=says.replace("{", r"\{").replace("}", r"\}")):
        parse_config(KIND, settings, "policy P: action rep")
