"""The dashboard over real TLS, as a browser meets it (httpx standing in): device health
linked to the filtered list, events over time from the per-minute rollup, the last
hour's top lists, open responses, each part a live fragment."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from garrison.auth import Principal
from garrison.events.filters import EventFilters
from garrison.events.model import Event, EventKind, Severity
from garrison.store.devices import NewSample
from garrison.store.event_counts import EventCounts
from garrison.store.events import EventRows
from garrison.store.responder import Responses
from tests.support import RunningServer, wait_for
from tests.web.console_session import (
    ConsoleSession,
    add_user,
    browser,
    console_server,
    log_in,
    session_of,
)

FRAGMENTS = ("/dashboard/_health", "/dashboard/_events", "/dashboard/_top", "/dashboard/_responses")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from console_server(tmp_path_factory, "console-dashboard")


@pytest.fixture
def admin(live: RunningServer) -> Iterator[ConsoleSession]:
    yield from session_of(live)


def alert(severity: Severity, src: str, dst: str, name: str, number: int, ago: float) -> Event:
    return Event(
        kind=EventKind.ALERT,
        collector="test",
        source_address="192.0.2.1",
        received_at=datetime.now(UTC) - timedelta(seconds=ago),
        severity=severity,
        signature_number=number,
        name=name,
        src_ip=src,
        dst_ip=dst,
    )


def stored(live: RunningServer) -> int:
    with live.services.store.transaction() as tx:
        return EventRows(tx.session).count(EventFilters())


def publish(live: RunningServer, events: list[Event]) -> None:
    """Through the bus, as a collector does: the event writer stores them and counts them
    into the rollup."""
    before = stored(live)
    live.services.bus.publish_many(events)
    wait_for("the writer to store the events", lambda: stored(live) == before + len(events))


def description(page: str, chart_id: str) -> str:
    found = re.search(rf'<desc id="{chart_id}-desc">(.*?)</desc>', page, re.S)
    assert found, f"chart {chart_id} has a description"
    return html.unescape(found[1])


def test_device_health_counts_link_to_the_filtered_list(
    live: RunningServer, admin: ConsoleSession
) -> None:
    cli = Principal.local_cli()
    devices = live.services.devices
    names = ("dash-up", "dash-slow", "dash-down", "dash-new")
    created = [
        devices.create_device(cli, name=n, address=f"192.0.2.{20 + i}", snmp_community="c")
        for i, n in enumerate(names)
    ]
    now = datetime.now(UTC)
    devices.record_samples(
        [
            NewSample(created[0].id, now, True, "reachable"),
            NewSample(created[1].id, now, True, "degraded", reason="CPU 97%"),
            NewSample(created[2].id, now, False, "unreachable"),
        ]
    )
    part = admin.get("/dashboard/_health")
    assert part.status_code == 200 and "<html" not in part.text
    counts = dict(
        re.findall(r'href="/devices\?state=(\w+)">\s*<span class="stat">(\d+)</span>', part.text)
    )
    expected = {s: str(devices.count_by_state().get(s, 0)) for s in counts}
    assert counts == expected
    assert set(counts) == {"reachable", "degraded", "unreachable", "unknown"}
    assert int(counts["degraded"]) >= 1 and int(counts["unknown"]) >= 1
    listed = admin.get("/devices?state=degraded").text
    assert "dash-slow" in listed and "dash-up" not in listed


def test_events_over_time_count_exactly_the_events_written(
    live: RunningServer, admin: ConsoleSession
) -> None:
    mix = [Severity.CRITICAL] * 3 + [Severity.MAJOR] * 5 + [Severity.LOW] * 12
    events = [
        alert(s, f"203.0.113.{i % 4 + 1}", "198.51.100.9", "7001: HTTP: probe", 7001, ago=i * 90)
        for i, s in enumerate(mix)
    ]
    publish(live, events)
    with live.services.store.transaction() as tx:
        rows, counts = EventRows(tx.session), EventCounts(tx.session)
        for severity in Severity:
            in_table = rows.count(EventFilters(severities=(severity,)))
            start = datetime(2000, 1, 1, tzinfo=UTC)
            in_rollup = sum(
                b.total
                for b in counts.buckets(start, datetime.now(UTC) + timedelta(minutes=1), 60 * 24)
                if b.severity == int(severity)
            )
            assert in_rollup == in_table, severity
    total = stored(live)
    for span, words in (
        ("hour", "the last hour"),
        ("day", "the last day"),
        ("week", "the last week"),
    ):
        part = admin.get(f"/dashboard/_events?range={span}")
        assert part.status_code == 200
        summary = description(part.text, "events-chart")
        if span == "hour":  # the events of this test span 30 minutes
            assert summary.startswith(f"Events in {words} by severity: ")
            assert "Critical 3" in summary and "Major 5" in summary
        else:
            assert summary.startswith(f"Events in {words} by severity: {total:,} events in total")
        assert re.search(r'<g class="slot"><title>', part.text)


def test_the_range_switch_keeps_its_choice_and_refreshes_that_range(
    admin: ConsoleSession,
) -> None:
    page = admin.get("/?range=week").text
    assert re.search(r'<a href="/\?range=week" aria-current="true">Week</a>', page)
    assert 'data-refresh="/dashboard/_events?range=week"' in page
    fallback = admin.get("/?range=forever").text
    assert re.search(r'<a href="/\?range=hour" aria-current="true">Hour</a>', fallback)


def test_top_lists_cover_the_last_hour_and_link_addresses(
    live: RunningServer, admin: ConsoleSession
) -> None:
    publish(
        live,
        [alert(Severity.MAJOR, "203.0.113.250", "198.51.100.250", "<script>x</script>", 9999, 5)]
        * 40
        # An old attack is outside the last hour, whatever its size.
        + [alert(Severity.MAJOR, "203.0.113.251", "198.51.100.9", "old", 9998, 7200)] * 60,
    )
    part = admin.get("/dashboard/_top").text
    assert '<a href="/events/address/203.0.113.250">203.0.113.250</a>' in part
    assert '<a href="/events/address/198.51.100.250">198.51.100.250</a>' in part
    assert "203.0.113.251" not in part
    assert "&lt;script&gt;x&lt;/script&gt;" in part and "<script>x" not in part
    row = re.search(r"203\.0\.113\.250</a></td>\s*<td class=\"num\">(\d+)</td>", part)
    assert row and row[1] == "40"


def test_open_responses_are_listed_with_their_address(
    live: RunningServer, admin: ConsoleSession
) -> None:
    assert "open" in admin.get("/dashboard/_responses").text
    with live.services.store.transaction() as tx:
        Responses(tx.session).add(
            actions=[],
            evidence=[],
            plan={},
            policy_name="Block <b>scanners</b>",
            address="203.0.113.77",
            trigger="manual",
            expires_at=datetime.now(UTC) + timedelta(hours=2),
        )
    part = admin.get("/dashboard/_responses").text
    assert '<a href="/events/address/203.0.113.77">203.0.113.77</a>' in part
    assert "Block &lt;b&gt;scanners&lt;/b&gt;" in part


def test_every_part_refreshes_itself_from_its_fragment(admin: ConsoleSession) -> None:
    page = admin.get("/").text
    for path in FRAGMENTS:
        assert re.search(rf'data-refresh="{re.escape(path)}[^"]*" data-interval="(\d+)"', page)
        part = admin.get(path)
        assert part.status_code == 200 and "<html" not in part.text
    intervals = [int(n) for n in re.findall(r'data-interval="(\d+)"', page)]
    assert intervals and all(5 <= n <= 10 for n in intervals)
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in page


def test_fragments_need_a_session(live: RunningServer) -> None:
    with browser(live) as client:
        for path in FRAGMENTS:
            away = client.get(path)
            assert away.status_code == 303 and away.headers["location"].startswith("/login")


def test_an_auditor_sees_the_dashboard_without_ways_to_change(live: RunningServer) -> None:
    password = add_user(live, "dash-auditor", "auditor")
    session = log_in(live, "dash-auditor", password)
    try:
        page = session.get("/")
        assert page.status_code == 200
        assert "Device health" in page.text and "Open responses" in page.text
        assert 'href="/devices/new"' not in page.text
    finally:
        session.close()
