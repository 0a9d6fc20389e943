"""The Responder engine over a real store: triggers, the action graph, retries and time
limits, expiry, retrigger rules, caps, and taking up unfinished work after a crash."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from garrison.auth import Principal
from garrison.bootstrap import initialize
from garrison.errors import Conflict, Invalid, NotFound
from garrison.events.model import Action, Event, EventKind, Severity
from garrison.responder.engine import Responder
from garrison.services import Services
from tests.responder import probe_action
from tests.responder.probe_action import RUNS, probe
from tests.support import ADMIN_PASSWORD, make_settings

ADMIN = Principal.local_cli()


@pytest.fixture
def services(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path / "data")
    initialize(settings, admin_password=ADMIN_PASSWORD)
    svc = Services.open(settings)
    probe_action.reset()
    yield svc
    svc.close()


@pytest.fixture
async def responder(services: Services) -> AsyncIterator[Responder]:
    engine = Responder(services)
    await engine.start()
    yield engine
    await engine.stop()


async def add_policy(engine: Responder, **document: Any) -> None:
    document.setdefault("initiation", ["manual", "external"])
    await asyncio.to_thread(engine.svc.policies.create_policy, ADMIN, document)
    await engine.reload_policies()


def states(record: Any) -> dict[str, str]:
    return {a.name: a.state for a in record.actions}


async def settled(engine: Responder, response_id: int) -> Any:
    await engine.idle()
    return engine.svc.policies.get_response(ADMIN, response_id)


async def test_actions_run_by_their_dependencies_and_conditions(responder: Responder) -> None:
    await add_policy(
        responder,
        name="Graph",
        initial_actions=[
            probe("block", fail_times=9, retries=0),
            probe("on-success", depends_on="block", condition="succeeded"),
            probe("on-failure", depends_on="block", condition="failed"),
            probe("after-anyway", depends_on="block", condition="always"),
            probe("independent", priority=1),
        ],
    )
    record = await responder.open(
        policy="Graph", address="192.0.2.7", trigger="manual", actor=ADMIN
    )
    done = await settled(responder, record.id)
    assert states(done) == {
        "block": "failed",
        "on-success": "skipped",
        "on-failure": "succeeded",
        "after-anyway": "succeeded",
        "independent": "succeeded",
        # the timeout phase has not run: the response is still open
    }
    assert done.state == "open" and done.host_state == "QUARANTINED"
    skipped = next(a for a in done.actions if a.name == "on-success")
    assert "condition is succeeded" in skipped.detail
    # A dependency runs before what depends on it.
    order = [label for label in RUNS if RUNS[label]]
    assert order.index("block") < order.index("on-failure")


async def test_a_failing_action_is_retried_and_a_hanging_one_is_cut_off(
    responder: Responder,
) -> None:
    await add_policy(
        responder,
        name="Retry",
        initial_actions=[
            probe("flaky", fail_times=2, retries=2),
            probe("hopeless", fail_times=5, retries=5, retryable=False),
            probe("stuck", hang=True, time_limit_seconds=0.2, retries=0),
        ],
    )
    record = await responder.open(policy="Retry", address="192.0.2.8", trigger="manual", actor=None)
    done = await settled(responder, record.id)
    by_name = {a.name: a for a in done.actions}
    assert by_name["flaky"].state == "succeeded" and by_name["flaky"].attempts == 3
    assert by_name["hopeless"].state == "failed" and by_name["hopeless"].attempts == 1
    assert "told to fail" in by_name["hopeless"].detail
    assert by_name["stuck"].state == "failed"
    assert "time limit of 0.2 s" in by_name["stuck"].detail


async def test_policy_sets_and_initiation_refuse_with_reasons(responder: Responder) -> None:
    await add_policy(
        responder,
        name="Scoped",
        initiation=["manual"],
        allow=["10.0.0.0/8"],
        never=["10.9.0.0/16"],
    )
    with pytest.raises(Invalid, match="Never Respond"):
        await responder.open(policy="Scoped", address="10.9.1.1", trigger="manual", actor=None)
    with pytest.raises(Invalid, match="outside policy 'Scoped'"):
        await responder.open(policy="Scoped", address="192.0.2.1", trigger="manual", actor=None)
    with pytest.raises(Invalid, match="does not allow an SNMP trap or Web service"):
        await responder.open(policy="Scoped", address="10.1.1.1", trigger="web-service", actor=None)
    with pytest.raises(NotFound, match="no Responder policy is named 'Nope'"):
        await responder.open(policy="Nope", address="10.1.1.1", trigger="manual", actor=None)
    with pytest.raises(Invalid, match="not an IPv4 or IPv6 address"):
        await responder.open(policy="Scoped", address="10.1.1", trigger="manual", actor=None)


async def test_expiry_closes_the_response_and_runs_timeout_actions(responder: Responder) -> None:
    await add_policy(
        responder,
        name="Short",
        timeout_seconds=1,
        initial_actions=[probe("quarantine")],
        timeout_actions=[probe("release")],
    )
    record = await responder.open(policy="Short", address="192.0.2.9", trigger="manual", actor=None)
    assert record.expires_at is not None
    deadline = time.monotonic() + 5
    done = None
    while time.monotonic() < deadline:
        done = responder.svc.policies.get_response(ADMIN, record.id)
        if done.state == "closed":
            break
        await asyncio.sleep(0.05)
    assert done is not None and done.state == "closed", done
    assert done.close_reason == "expired" and done.host_state == "UNQUARANTINED"
    assert done.closed_at is not None
    lateness = (done.closed_at - record.expires_at).total_seconds()
    assert -0.01 <= lateness < 1.0
    assert RUNS["release"] == [(record.id, "timeout", "192.0.2.9")]


@pytest.mark.parametrize("rule", ["extend", "ignore", "reopen"])
async def test_a_second_trigger_for_an_open_host_follows_the_policy(
    responder: Responder, rule: str
) -> None:
    await add_policy(
        responder,
        name="Again",
        retrigger=rule,
        timeout_seconds=600,
        initial_actions=[probe("act")],
        timeout_actions=[probe("undo")],
    )
    first = await responder.open(policy="Again", address="192.0.2.10", trigger="manual", actor=None)
    await asyncio.sleep(0.05)
    second = await responder.open(
        policy="Again", address="192.0.2.10", trigger="manual", actor=None
    )
    await responder.idle()
    if rule == "reopen":
        assert second.id != first.id
        old = responder.svc.policies.get_response(ADMIN, first.id)
        assert old.state == "closed" and RUNS["undo"] == [(first.id, "timeout", "192.0.2.10")]
    else:
        assert second.id == first.id
        assert len(RUNS["act"]) == 1
        assert (second.expires_at > first.expires_at) == (rule == "extend")


async def test_caps_on_open_responses(responder: Responder) -> None:
    await add_policy(responder, name="Capped", max_open=2)
    for host in ("192.0.2.1", "192.0.2.2"):
        await responder.open(policy="Capped", address=host, trigger="manual", actor=None)
    with pytest.raises(Conflict, match="already has 2 open responses"):
        await responder.open(policy="Capped", address="192.0.2.3", trigger="manual", actor=None)


def alert(src: str, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "kind": EventKind.ALERT,
        "collector": "test",
        "source_address": "127.0.0.1",
        "severity": Severity.CRITICAL,
        "src_ip": src,
        "dst_ip": "198.51.100.1",
        "signature_number": 7001,
        "name": "7001: HTTP: SQL injection",
        **fields,
    }
    return Event(**values)


async def test_threshold_opens_one_response_when_hits_cross_and_then_stays_quiet(
    responder: Responder,
) -> None:
    await add_policy(
        responder,
        name="Attackers",
        initiation=["threshold"],
        threshold={
            "hits": 3,
            "period_seconds": 60,
            "quiet_seconds": 600,
            "filter": {"min_severity": "major"},
        },
        initial_actions=[probe("block")],
    )
    bus = responder.svc.bus
    bus.publish(alert("203.0.113.5", severity=Severity.LOW))  # not qualified
    bus.publish(alert("203.0.113.5"))
    bus.publish(alert("203.0.113.6"))
    bus.publish(alert("203.0.113.5"))
    await asyncio.sleep(0.1)
    assert RUNS["block"] == []
    bus.publish(alert("203.0.113.5"))  # the third qualified hit
    for _ in range(5):  # quiet period: no new threshold period
        bus.publish(alert("203.0.113.5"))
    deadline = time.monotonic() + 5
    while not RUNS["block"] and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await responder.idle()
    assert [address for _, _, address in RUNS["block"]] == ["203.0.113.5"]
    (opened,) = responder.svc.policies.list_responses(ADMIN, policy="Attackers")
    assert opened.trigger == "threshold" and len(opened.evidence) == 3
    assert opened.evidence[0]["signature_number"] == 7001


async def test_an_ips_quarantine_escalates_once_per_host_and_releases_everywhere(
    responder: Responder,
) -> None:
    await add_policy(
        responder,
        name="Escalate",
        initiation=["escalation"],
        initial_actions=[probe("tell")],
    )
    quarantined = Event(
        kind=EventKind.QUARANTINE,
        collector="snmp-trap",
        source_address="127.0.0.1",
        src_ip="203.0.113.77",
        action=Action.QUARANTINE,
        device_name="ips-1",
    )
    for _ in range(3):
        responder.svc.bus.publish(quarantined)
    deadline = time.monotonic() + 5
    while not RUNS["tell"] and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await responder.idle()
    (opened,) = responder.svc.policies.list_responses(ADMIN, policy="Escalate")
    assert opened.trigger == "escalation" and "ips-1" in opened.reason
    assert [a["name"] for a in opened.plan["timeout"]] == ["release-everywhere"]
    assert opened.plan["timeout"][0]["settings"] == {"target": "all", "operation": "release"}
    assert len(RUNS["tell"]) == 1


async def test_quarantined_macs_and_users_are_known_until_closed(responder: Responder) -> None:
    await add_policy(responder, name="Nac")
    record = await responder.open(
        policy="Nac",
        address="192.0.2.30",
        trigger="manual",
        actor=None,
        mac="AA:BB:CC:00:00:01",
        user="Mallory",
    )
    assert responder.hosts.blocks(mac="aa:bb:cc:00:00:01")
    assert responder.hosts.blocks(user="mallory")
    await responder.close(record.id, actor=ADMIN, reason="cleaned")
    assert not responder.hosts.blocks(mac="aa:bb:cc:00:00:01", user="mallory")
    closed = await settled(responder, record.id)
    assert closed.state == "closed" and closed.close_reason == "cleaned"


async def test_after_a_stop_unfinished_work_is_taken_up_and_nothing_succeeded_runs_twice(
    services: Services,
) -> None:
    first = Responder(services)
    await first.start()
    await add_policy(
        first,
        name="Durable",
        timeout_seconds=2,
        initial_actions=[
            probe("done-once"),
            probe("cut-off", hang=True, retries=0, time_limit_seconds=1),
        ],
        timeout_actions=[probe("release")],
    )
    record = await first.open(policy="Durable", address="192.0.2.40", trigger="manual", actor=None)
    deadline = time.monotonic() + 5
    while len(RUNS["cut-off"]) < 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    await first.stop()  # like a crash for the running action: its row still says running
    middle = services.policies.get_response(ADMIN, record.id)
    assert states(middle) == {"done-once": "succeeded", "cut-off": "running", "release": "pending"}
    await asyncio.sleep(2.2)  # the response expires while nothing runs

    second = Responder(services)
    await second.start()
    try:
        deadline = time.monotonic() + 10
        done = middle
        while done.state != "closed" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            done = services.policies.get_response(ADMIN, record.id)
        assert done.state == "closed" and done.close_reason == "expired"
        assert len(RUNS["done-once"]) == 1  # never twice
        assert len(RUNS["cut-off"]) == 2  # at-least-once: its outcome was unknown
        assert RUNS["release"] == [(record.id, "timeout", "192.0.2.40")]
    finally:
        await second.stop()


async def test_a_host_already_in_active_response_is_not_escalated(responder: Responder) -> None:
    await add_policy(responder, name="Escalate", initiation=["escalation"])
    await add_policy(responder, name="Manual")
    await responder.open(policy="Manual", address="203.0.113.88", trigger="manual", actor=None)
    # The devices report the quarantine Garrison's own response asked for.
    responder.svc.bus.publish(
        Event(
            kind=EventKind.QUARANTINE,
            collector="snmp-trap",
            source_address="127.0.0.1",
            src_ip="203.0.113.88",
            action=Action.QUARANTINE,
        )
    )
    await asyncio.sleep(0.3)
    await responder.idle()
    assert responder.svc.policies.list_responses(ADMIN, policy="Escalate") == []


async def test_a_threshold_hit_is_announced_by_its_notifications(responder: Responder) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    try:
        await add_policy(
            responder,
            name="Noisy",
            initiation=["threshold"],
            threshold={
                "hits": 2,
                "period_seconds": 60,
                "notifications": [
                    {
                        "type": "syslog",
                        "settings": {
                            "host": "127.0.0.1",
                            "port": port,
                            "message": "threshold hit by {address} ({event_count} events)",
                        },
                    }
                ],
            },
        )
        responder.svc.bus.publish(alert("203.0.113.9"))
        responder.svc.bus.publish(alert("203.0.113.9"))
        datagram = await asyncio.to_thread(receiver.recv, 65535)
    finally:
        receiver.close()
    assert b"threshold hit by 203.0.113.9 (2 events)" in datagram
