"""The events pages over real TLS, as a browser meets them (httpx standing in): the
search form and its errors, results narrowed, paged and sorted, the CSV file of a
search, the live tail, one event, and one address with its events, responses and
reputation entries."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sqlalchemy_event

from garrison.auth import Principal
from garrison.events.addresses import parse_network
from garrison.events.filters import EventFilters, Sort
from garrison.events.model import Action, Event, EventKind, Severity
from garrison.store import Store, event_pages, upgrade
from garrison.store.event_pages import EventPages
from garrison.store.events import EventRows, StoredEvent
from garrison.store.responder import Responses
from tests.events.samples import full_alert
from tests.support import RunningServer, make_settings, start_server, wait_for
from tests.web.console_session import ConsoleSession, add_user, log_in

SCANNER = "198.51.100.23"
ATTACKER = "203.0.113.9"
HOSTILE_NAME = "<script>alert(1)</script> & <b>bold</b>"
SCANS = 60  # one a minute over the last hour


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("console-events") / "data"
    quiet = {"enabled": False}
    yield from start_server(make_settings(data, snmp_trap=quiet, syslog=quiet, poller=quiet))


def event(ago: timedelta, **fields: object) -> Event:
    base = Event(
        kind=EventKind.ALERT,
        collector="test",
        source_address="192.0.2.1",
        received_at=datetime.now(UTC) - ago,
        device_name="edge-1",
        name="7001: HTTP: Directory traversal",
        signature_number=7001,
        severity=Severity.MAJOR,
        src_ip=SCANNER,
        src_port=40000,
        dst_ip="10.1.0.1",
        dst_port=80,
        action=Action.BLOCK,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ids(live: RunningServer) -> dict[str, list[int]]:
    """The stored events, by what they are: scans (major, edge-1, port 80, one a minute),
    five critical exploits (edge-2, port 443, permitted), one with markup in its text,
    one three days old, and one with every field set."""
    groups = {
        "scans": [
            event(timedelta(minutes=i + 1), dst_ip=f"10.1.0.{i + 1}", src_port=40000 + i)
            for i in range(SCANS)
        ],
        "exploits": [
            event(
                timedelta(minutes=5 * i + 2, seconds=30),
                src_ip=ATTACKER,
                device_name="edge-2",
                severity=Severity.CRITICAL,
                signature_number=7002,
                name="7002: SMB: Remote code execution",
                category="Exploits",
                src_port=50000 + i,
                dst_port=443,
                action=Action.PERMIT,
            )
            for i in range(5)
        ],
        "hostile": [
            event(
                timedelta(minutes=90),
                src_ip="192.0.2.66",
                severity=Severity.LOW,
                name=HOSTILE_NAME,
                message="<img src=x onerror=alert(2)>",
                signature_number=7003,
            )
        ],
        "old": [event(timedelta(days=3), dst_ip="10.9.9.9")],
        "full": [full_alert(received_at=datetime.now(UTC) - timedelta(hours=2))],
    }
    found: dict[str, list[int]] = {}
    with live.services.store.transaction() as tx:
        rows = EventRows(tx.session)
        for name, events in groups.items():
            before = rows.newest_id() or 0
            rows.insert_many(events)
            found[name] = [s.id for s in rows.since_id(before, limit=len(events) + 1)]
    return found


@pytest.fixture
def admin(live: RunningServer, ids: dict[str, list[int]]) -> Iterator[ConsoleSession]:
    session = log_in(live)
    yield session
    session.close()


def results(page: str) -> list[int]:
    """The event ids of the results table, top to bottom."""
    table = re.search(r'<table class="events" id="results">(.*?)</table>', page, re.S)
    return [int(n) for n in re.findall(r'data-event-id="(\d+)"', table[1])] if table else []


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return html.unescape(found[1]) if found else None


def everything(admin: ConsoleSession, url: str) -> list[int]:
    """Every result of a search, following its "next" links."""
    seen: list[int] = []
    next_url: str | None = url
    while next_url:
        page = admin.get(next_url)
        assert page.status_code == 200, page.text
        seen += results(page.text)
        next_url = link(page.text, "next")
    return seen


# -- who may look ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/events?src=10.0.0.0/8",
        "/events/_tail",
        "/events/export.csv",
        "/events/1",
        "/events/address/192.0.2.1",
    ],
)
def test_an_anonymous_request_goes_to_the_login_and_back(live: RunningServer, path: str) -> None:
    with httpx.Client(base_url=live.url(), verify=False, timeout=15) as client:
        answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=/events")


def test_an_auditor_sees_and_exports_events(live: RunningServer, ids: dict[str, list[int]]) -> None:
    password = add_user(live, "events-auditor", "auditor")
    session = log_in(live, "events-auditor", password)
    try:
        assert results(session.get("/events?min_severity=critical").text)
        export = session.get("/events/export.csv?min_severity=critical")
        assert export.status_code == 200 and export.text.startswith("id,")
        assert session.get(f"/events/address/{SCANNER}").status_code == 200
    finally:
        session.close()


# -- the search ------------------------------------------------------------------------


def test_the_form_has_a_labelled_field_for_every_filter(admin: ConsoleSession) -> None:
    page = admin.get("/events").text
    assert '<form class="events-search" method="get" action="/events"' in page
    fields = "period since until min_severity signature src dst device category name"
    for name in (*fields.split(), "src_port", "dst_port", "time_field", "sort"):
        assert f'<label for="f-{name}">' in page and f'id="f-{name}" name="{name}"' in page
    for name, value in (("severity", "4"), ("action", "permit"), ("kind", "trap")):
        assert f'name="{name}" value="{value}"' in page
    assert "Events received in the last 24 hours" in page


def test_filters_narrow_the_results(admin: ConsoleSession, ids: dict[str, list[int]]) -> None:
    recent = ids["scans"] + ids["exploits"] + ids["hostile"] + ids["full"]
    assert sorted(everything(admin, "/events")) == sorted(recent)
    narrowed = {
        "/events?min_severity=critical": ids["exploits"] + ids["full"],
        f"/events?src={ATTACKER[:-1]}0/24": ids["exploits"],
        "/events?severity=4&action=permit": ids["exploits"],
        "/events?device=edge-2&dst_port=443": ids["exploits"],
        "/events?category=Exploits&signature=7002": ids["exploits"],
        "/events?name=traversal&dst=10.1.0.0/28": ids["scans"][:15],
        "/events?signature=7003&kind=alert": ids["hostile"],
        "/events?period=1h&src_port=40000,40001": ids["scans"][:2],
        "/events?dst=10.9.9.9&period=7d": ids["old"],
    }
    for url, expected in narrowed.items():
        assert sorted(everything(admin, url)) == sorted(expected), url
    page = admin.get("/events?severity=4&action=permit").text
    assert re.search(r'name="severity" value="4" checked', page)
    assert not re.search(r'name="severity" value="3" checked', page)


def test_a_time_range_is_searched_as_given(
    admin: ConsoleSession, ids: dict[str, list[int]]
) -> None:
    since = (datetime.now(UTC) - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M")
    until = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page = admin.get(f"/events?since={since}&until={until}").text
    assert results(page) == ids["old"]
    assert f'value="{since}:00"' in page and "Events received from" in page


def test_wrong_values_are_shown_next_to_their_field(admin: ConsoleSession) -> None:
    answer = admin.get("/events?src=10.0.0.300/8&dst_port=http&since=yesterday&severity=5")
    assert answer.status_code == 400
    page = answer.text
    assert re.search(
        r'id="f-src" name="src" type="text" value="10.0.0.300/8"[^>]*aria-invalid="true"', page
    )
    errors = dict(re.findall(r'<small id="e-([a-z_]+)" class="error">([^<]*)</small>', page))
    assert "is not an IPv4 or IPv6 address or CIDR block" in html.unescape(errors["src"])
    assert "is not a port number" in errors["dst_port"]
    assert "Give a date and time in UTC" in errors["since"]
    assert "is not a severity" in errors["severity"]
    assert set(errors) == {"src", "dst_port", "since", "severity"}
    assert not results(page) and "Download CSV" not in page
    order = admin.get("/events?since=2026-01-31T08:00&until=2026-01-31T07:00")
    assert order.status_code == 400
    assert '<small id="e-until" class="error">Must be later than From.</small>' in order.text


def test_results_page_by_keyset_both_ways(admin: ConsoleSession, ids: dict[str, list[int]]) -> None:
    first = admin.get("/events?name=HTTP").text
    newest_first = ids["scans"]  # the first stored is the newest
    assert results(first) == newest_first[:50]
    assert link(first, "prev") is None
    older = link(first, "next")
    assert older and "after=" in older
    second = admin.get(older).text
    assert results(second) == newest_first[50:]
    assert link(second, "next") is None and "No more" in second
    newer = link(second, "prev")
    assert newer and "before=" in newer
    assert results(admin.get(newer).text) == newest_first[:50]
    assert everything(admin, "/events?name=HTTP&sort=received_at") == newest_first[::-1]
    damaged = admin.get("/events?after=nonsense")
    assert damaged.status_code == 400 and "The page link is damaged" in damaged.text


def test_a_page_reads_a_bounded_number_of_events_and_says_so(
    admin: ConsoleSession, ids: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A filter no index serves, matching only events an hour back: with a budget of 20
    # events, each page looks through 20 more and links on to the rest.
    monkeypatch.setattr(event_pages, "BUDGET", 20)
    page = admin.get("/events?category=Exploits").text
    assert "A page reads at most 20 events: this one looked back as far as" in page
    found = everything(admin, "/events?category=Exploits")
    assert sorted(found) == sorted(ids["exploits"])
    sorted_page = admin.get("/events?sort=-severity").text
    assert "This period holds more than 20 events" in sorted_page


def test_results_sort_by_the_column_heads(admin: ConsoleSession, ids: dict[str, list[int]]) -> None:
    page = admin.get("/events?sort=-severity").text
    assert results(page)[:6] == sorted(ids["exploits"] + ids["full"], reverse=True)
    # The current column's head says so, and its link reverses the order.
    head = r'<th scope="col" aria-sort="descending">\s*<a href="/events\?sort=severity">'
    assert re.search(head, page)
    assert results(admin.get("/events?sort=severity").text)[0] == ids["hostile"][0]
    # Address order is numeric, IPv4 before IPv6; ties in the order stored.
    by_source = everything(admin, "/events?sort=src_ip&min_severity=major")
    assert by_source == ids["scans"] + ids["exploits"] + ids["full"]
    by_device = admin.get("/events?sort=-device").text
    assert results(by_device)[:5] == sorted(ids["exploits"], reverse=True)
    assert "offset=50" in (link(by_device, "next") or "")


def test_the_csv_link_downloads_the_same_search(
    admin: ConsoleSession, ids: dict[str, list[int]]
) -> None:
    page = admin.get("/events?min_severity=critical&device=edge-2").text
    found = re.search(r'<a class="button secondary" href="([^"]+)" download>Download CSV</a>', page)
    assert found
    answer = admin.get(html.unescape(found[1]))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [int(r["id"]) for r in rows] == ids["exploits"][::-1]  # oldest first
    assert {r["device_name"] for r in rows} == {"edge-2"} and rows[0]["severity"] == "4"
    assert admin.get("/events/export.csv?src=nonsense").status_code == 400


# -- the live tail ---------------------------------------------------------------------


def test_the_live_tail_shows_events_as_they_arrive(
    live: RunningServer, admin: ConsoleSession, ids: dict[str, list[int]]
) -> None:
    page = admin.get("/events").text
    region = re.search(r'<section id="live-events"[^>]*data-after="(\d+)"', page)
    assert region and '<h2 id="live-title">Live events</h2>' in page
    assert '<script src="/static/events.js" defer></script>' in page
    after = int(region[1])
    assert after >= max(ids["full"])
    empty = admin.get(f"/events/_tail?after={after}")
    assert empty.status_code == 200 and "data-event-id" not in empty.text
    pushed = [{"severity": "critical", "name": "Live <one>", "src_ip": "192.0.2.99"},
              {"severity": "low", "name": "Live two", "src_ip": "192.0.2.98"}]  # fmt: skip
    with live.admin() as api:
        assert api.post("/api/v1/events/ingest", json=pushed).status_code == 202

    def arrived() -> httpx.Response | None:
        answer = admin.get(f"/events/_tail?after={after}")
        return answer if answer.text.count("data-event-id") == 2 else None

    answer = wait_for("the ingested events to reach the tail", arrived)
    new_ids = [int(n) for n in re.findall(r'data-event-id="(\d+)"', answer.text)]
    assert new_ids == sorted(new_ids, reverse=True) and min(new_ids) > after
    assert "Live &lt;one&gt;" in answer.text and "<html" not in answer.text
    assert int(answer.headers["x-last-event-id"]) == max(new_ids)
    critical = admin.get(f"/events/_tail?after={after}&min_severity=critical").text
    assert "Live &lt;one&gt;" in critical and "Live two" not in critical
    assert "data-event-id" not in admin.get(f"/events/_tail?after={max(new_ids)}").text


# -- one event, one address ------------------------------------------------------------


def test_markup_in_an_event_is_shown_as_text(
    admin: ConsoleSession, ids: dict[str, list[int]]
) -> None:
    for path in ("/events", f"/events/{ids['hostile'][0]}", "/events/address/192.0.2.66"):
        page = admin.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
        assert "<script>alert(1)" not in page and "<b>bold" not in page
    detail = admin.get(f"/events/{ids['hostile'][0]}").text
    assert "&lt;img src=x onerror=alert(2)&gt;" in detail


def test_an_event_page_shows_every_field(admin: ConsoleSession, ids: dict[str, list[int]]) -> None:
    page = admin.get(f"/events/{ids['full'][0]}").text
    expected = (
        "00000001-0001-0001-0001-000000043756",  # the signature's UUID
        "00000001-0001-0001-0001-000000007001",  # the policy's
        "43756: ISAKMP: Invalid Payload Length",
        "Vulnerabilities",
        "Block + Notify",
        "1-1A 1-1B",
        "snmp-trap",
        "1.3.6.1.4.1.10734.3.3.3.1.15",  # a key of extra
        "日本",  # a message parameter
        "udp",
    )
    for text in expected:
        assert text in page, text
    assert '<a href="/events/address/2001%3Adb8%3A85a3%3A%3A8a2e%3A370%3A7334">' in page
    assert re.search(r"%1</span> <span class=\"mono\">a</span>", page)
    assert admin.get("/events/999999999").status_code == 404


def test_an_address_page_shows_its_events_responses_and_reputation(
    live: RunningServer, admin: ConsoleSession, ids: dict[str, list[int]]
) -> None:
    now = datetime.now(UTC)
    with live.services.store.transaction() as tx:
        responses = Responses(tx.session)
        opened = responses.add(actions=[], evidence=[], plan={}, policy_name="Block scanners",
                               address=SCANNER, trigger="threshold",
                               expires_at=now + timedelta(hours=1))  # fmt: skip
        closed = responses.add(actions=[], evidence=[], plan={}, policy_name="Old policy",
                               address=SCANNER, trigger="manual", state="closed",
                               closed_at=now - timedelta(days=1))  # fmt: skip
    live.services.reputation.add(Principal.local_cli(), "198.51.100.0/24")
    page = admin.get(f"/events/address/{SCANNER}")
    assert page.status_code == 200
    text = page.text
    table = re.search(r'id="address-events">(.*?)</table>', text, re.S)
    assert table
    shown = [int(n) for n in re.findall(r'data-event-id="(\d+)"', table[1])]
    mine = sorted(ids["scans"] + ids["old"], reverse=True)  # newest stored first
    assert shown == mine[:50]
    more = re.search(r'<a rel="next" href="([^"]+)">Older', text)
    assert more
    rest = admin.get(html.unescape(more[1])).text
    assert [int(n) for n in re.findall(r'data-event-id="(\d+)"', rest)] == mine[50:]
    open_table = re.search(r'id="open-responses">(.*?)</table>', text, re.S)
    past_table = re.search(r'id="past-responses">(.*?)</table>', text, re.S)
    assert open_table and f'/responder/responses/{opened.id}"' in open_table[1]
    assert past_table and f'/responder/responses/{closed.id}"' in past_table[1]
    assert "Block scanners" in open_table[1] and "Old policy" in past_table[1]
    entries = re.search(r'id="reputation-entries">(.*?)</table>', text, re.S)
    assert entries and "198.51.100.0/24" in entries[1]
    assert "WhoIs" in text and "comes in a later release" in text
    bad = admin.get("/events/address/not-an-address")
    assert bad.status_code == 400 and "is not an IPv4 or IPv6 address" in html.unescape(bad.text)


# -- the reads behind the pages, on every backend ---------------------------------------

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def stored_events(store: Store) -> list[StoredEvent]:
    """Forty events a minute apart, stored out of time order (every fourth late), with
    two sources, four severities and one category in five."""
    events = [
        event(
            timedelta(0),
            received_at=T0 - timedelta(minutes=(n + 3) if n % 4 == 0 else n),
            severity=Severity(1 + n % 4),
            src_ip=SCANNER if n % 2 else ATTACKER,
            category="Exploits" if n % 5 == 0 else "Reconnaissance",
            src_port=1000 + n,
        )
        for n in range(40)
    ]
    with store.transaction() as tx:
        rows = EventRows(tx.session)
        rows.insert_many(events)
        return rows.since_id(0, limit=100)


def walk(store: Store, filters: EventFilters, **options: object) -> list[int]:
    """Every id of a time-ordered search, page by page (pages of 3) through the links."""
    seen: list[int] = []
    cursor = None
    while True:
        with store.transaction() as tx:
            page = EventPages(tx.session).by_time(filters, cursor=cursor, limit=3, **options)  # type: ignore[arg-type]
        seen += [s.id for s in page.events]
        if page.next is None:
            return seen
        cursor = page.next


def test_the_page_reads_agree_with_the_filters_on_every_backend(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_pages, "BUDGET", 7)  # so that pages cross budget edges
    events = stored_events(store)
    period = EventFilters(since=T0 - timedelta(hours=1), until=T0 + timedelta(minutes=1))

    def expected(keep: Callable[[Event], bool], newest_first: bool = True) -> list[int]:
        chosen = [s for s in events if keep(s.event)]
        chosen.sort(key=lambda s: (s.event.received_at, s.id), reverse=newest_first)
        return [s.id for s in chosen]

    everything = expected(lambda e: True)
    assert walk(store, period) == everything
    assert walk(store, period, descending=False) == everything[::-1]
    exploits = replace(period, categories=("Exploits",))  # read by time, within budgets
    assert walk(store, exploits) == expected(lambda e: e.category == "Exploits")
    from_scanner = replace(period, src=(parse_network(SCANNER),))  # read by its index
    assert walk(store, from_scanner) == expected(lambda e: e.src_ip == SCANNER)
    with store.transaction() as tx:
        pages = EventPages(tx.session)
        third = pages.by_time(period, limit=3)
        third = pages.by_time(period, limit=3, cursor=third.next)
        back = pages.by_time(period, limit=3, cursor=third.previous, backwards=True)
        assert [s.id for s in back.events] == everything[:3]
        by_severity = pages.sorted(period, Sort("severity", True), limit=100)
        assert by_severity.sorted_from is not None  # 40 events, a budget of 7
        severe = pages.sorted(
            replace(from_scanner, categories=()), Sort("src_port", False), offset=2, limit=3
        )
        ports = sorted(s.event.src_port for s in events if s.event.src_ip == SCANNER)
        assert [s.event.src_port for s in severe.events] == ports[2:5] and severe.more
        assert [s.id for s in pages.stream(exploits)] == expected(
            lambda e: e.category == "Exploits", newest_first=False
        )
        newest = max(s.id for s in events)
        tail, last = pages.tail(EventFilters(severities=(Severity.CRITICAL,)), newest - 8)
        assert last == newest
        assert [s.id for s in tail] == [
            s.id for s in reversed(events) if s.id > newest - 8 and s.event.severity == 4
        ]
        mine, more = pages.for_address(SCANNER, limit=5)
        assert [s.id for s in mine] == [
            s.id for s in reversed(events) if s.event.src_ip == SCANNER
        ][:5]
        assert more


def test_each_page_read_goes_through_one_index_on_sqlite(tmp_path: Path) -> None:
    """SQLite without statistics takes any equality for selective: these reads must
    still search an index (the period's, or a selective filter's), never scan the
    table or walk a whole index for the order."""
    store = Store(f"sqlite:///{tmp_path / 'plans.db'}")
    upgrade(store.engine)
    stored_events(store)
    plans: list[str] = []

    def explain(conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            rows = conn.connection.driver_connection.execute(
                f"EXPLAIN QUERY PLAN {statement}", params
            )
            plans.extend(row[-1] for row in rows.fetchall())

    period = EventFilters(since=T0 - timedelta(hours=1), until=T0)
    searches = [
        period,
        replace(period, severities=(Severity.CRITICAL,)),
        replace(period, categories=("Nothing",)),
        replace(period, src=(parse_network("0.0.0.0/0"),)),
        replace(period, device_names=("edge-1",), dst_ports=(80,)),
        replace(period, time_field="end"),
    ]
    sqlalchemy_event.listen(store.engine, "before_cursor_execute", explain)
    try:
        with store.transaction() as tx:
            pages = EventPages(tx.session)
            for filters in searches:
                page = pages.by_time(filters, limit=3)
                pages.by_time(filters, limit=3, cursor=page.next or page.previous)
                pages.sorted(filters, Sort("severity", True), limit=3)
                list(pages.stream(filters))
            pages.tail(period, None)
            pages.for_address(SCANNER, before=30)
    finally:
        sqlalchemy_event.remove(store.engine, "before_cursor_execute", explain)
        store.close()
    reads = [p for p in plans if " events" in f" {p}"]
    assert reads and not [p for p in reads if p.startswith("SCAN events")], reads
    assert any("ix_events_received_at" in p for p in reads)
    assert any("ix_events_end_time" in p for p in reads)
    assert any(
        "ix_events_src_ip_number (src_ip_hi=? AND src_ip_lo=? AND rowid<?)" in p for p in reads
    )
