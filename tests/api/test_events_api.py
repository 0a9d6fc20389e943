"""/api/v1/events on a real TLS server: queries, count, top-N, CSV export, one event,
HTTPS batch ingest, and the live WebSocket stream."""

from __future__ import annotations

import csv
import io
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import delete
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from garrison.auth import Principal, Role
from garrison.events import Event
from garrison.store.events import EVENTS, EventRows
from tests.events.samples import alert, full_alert
from tests.support import RunningServer, make_settings, start_server

# Only the API and the event store: the collectors' fixed UDP ports are not needed here.
NO_COLLECTORS = {
    "snmp_trap": {"enabled": False},
    "syslog": {"enabled": False},
    "poller": {"enabled": False},
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("events") / "data"
    yield from start_server(make_settings(data, **NO_COLLECTORS))


@pytest.fixture
def api(live: RunningServer) -> Iterator[httpx.Client]:
    """An admin client over an empty events table."""
    with live.services.store.transaction() as tx:
        tx.session.execute(delete(EVENTS))
    with live.admin() as client:
        yield client


def insert(live: RunningServer, events: list[Event]) -> list[int]:
    """Store ``events`` directly and return their ids, in order."""
    with live.services.store.transaction() as tx:
        repo = EventRows(tx.session)
        before = repo.newest_id() or 0
        repo.insert_many(events)
        return [s.id for s in repo.since_id(before, limit=len(events) + 1)]


def wait_for(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def key_for(live: RunningServer, role: Role) -> str:
    name = f"u-{role}-{time.monotonic_ns()}"
    user = live.services.auth.create_user(
        Principal.local_cli(), username=name, password="a long enough passphrase 1", role=role
    )
    return live.services.auth.create_api_key(
        Principal.local_cli(), user_id=user.id, name="k"
    ).secret


# -- queries ----------------------------------------------------------------------------


def test_list_filters_pages_and_sorts(live: RunningServer, api: httpx.Client) -> None:
    ids = insert(
        live,
        [alert(n, severity=1 + n % 4, src_ip=f"10.0.{n}.1", dst_port=80) for n in range(30)],
    )
    page = api.get("/api/v1/events", params={"min_severity": "major", "limit": 5}).json()
    assert [e["sequence"] for e in page] == [27, 26, 23, 22, 19]  # newest first
    assert page[0]["id"] == ids[27]
    assert {e["severity"] for e in page} == {3, 4}
    second = api.get("/api/v1/events", params={"min_severity": "major", "limit": 5, "offset": 5})
    assert [e["sequence"] for e in second.json()] == [18, 15, 14, 11, 10]
    cidr = api.get("/api/v1/events", params=[("src", "10.0.1.0/24"), ("src", "10.0.2.0/24")])
    assert sorted(e["sequence"] for e in cidr.json()) == [1, 2]
    ordered = api.get("/api/v1/events", params={"sort": "-src_ip", "limit": 3}).json()
    assert [e["src_ip"] for e in ordered] == ["10.0.29.1", "10.0.28.1", "10.0.27.1"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"src": "10.0.0.300"}, "src"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"severity": "urgent"}, "severity"),
        ({"dst_port": "70000"}, "dst_port"),
        ({"sort": "password"}, "sort"),
        ({"signature": "not-a-uuid"}, "signature"),
        ({"limit": "5000"}, "limit"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(
    api: httpx.Client, params: dict[str, str], named: str
) -> None:
    answer = api.get("/api/v1/events", params=params)
    assert answer.status_code == 422
    assert named in answer.json()["error"]["message"]


def test_count_top_and_one_event(live: RunningServer, api: httpx.Client) -> None:
    ids = insert(live, [alert(n, src_ip="203.0.113.5" if n < 4 else "::1") for n in range(6)])
    insert(live, [full_alert()])
    assert api.get("/api/v1/events/count").json() == {"count": 7}
    assert api.get("/api/v1/events/count", params={"src": "203.0.113.0/24"}).json()["count"] == 4
    top = api.get("/api/v1/events/top", params={"by": "src_ip", "n": 2}).json()
    assert top == [
        {"key": "203.0.113.5", "label": "", "count": 4},
        {"key": "::1", "label": "", "count": 2},
    ]
    one = api.get(f"/api/v1/events/{ids[0]}").json()
    assert one["id"] == ids[0] and one["sequence"] == 0
    assert api.get("/api/v1/events/999999999").status_code == 404
    assert api.get("/api/v1/events/top", params={"by": "password"}).status_code == 422


def test_auditors_read_but_may_not_ingest(live: RunningServer) -> None:
    with live.client(key=key_for(live, Role.AUDITOR)) as auditor:
        assert auditor.get("/api/v1/events/count").status_code == 200
        assert auditor.post("/api/v1/events/ingest", json=[{}]).status_code == 403


def test_csv_export_streams_every_matching_row(live: RunningServer, api: httpx.Client) -> None:
    insert(live, [alert(n, severity=4 if n % 2 else 1) for n in range(6000)])
    insert(live, [full_alert()])
    with api.stream("GET", "/api/v1/events/export.csv", params={"severity": "critical"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "content-length" not in r.headers  # streamed, not built whole
        chunks = list(r.iter_text())
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(rows) == 3001
    assert [int(row["sequence"]) for row in rows[:3]] == [1, 3, 5]  # oldest first
    last = rows[-1]
    assert last["src_ip"] == "2001:db8:85a3::8a2e:370:7334"
    assert last["packet_trace"] == "1" and last["severity"] == "4" and last["action"] == "block"
    assert json.loads(last["extra"])["cs1"] == "y"
    assert last["end_time"] == "2026-01-31T08:00:00.123+00:00"


# -- ingest -----------------------------------------------------------------------------

INGESTED = [
    {
        "severity": "critical",
        "device_name": "edge-1",
        "signature_number": 7001,
        "name": "7001: HTTP: SQL injection",
        "end_time": "2026-01-31T08:00:00.123Z",
        "src_ip": "198.51.100.7",
        "src_port": 40000,
        "dst_ip": "2001:db8::5",
        "dst_port": 80,
        "action": "block",
        "extra": {"cs1": "x"},
    },
    {"kind": "device-log", "message": "fan 2 failed", "begin_time": 1769846400000},
]


def test_ingest_publishes_and_the_writer_stores(live: RunningServer, api: httpx.Client) -> None:
    answer = api.post("/api/v1/events/ingest", json=INGESTED)
    assert answer.status_code == 202
    assert answer.json() == {"accepted": 2}
    count = lambda: api.get("/api/v1/events/count").json()["count"]  # noqa: E731
    wait_for(lambda: count() == 2)
    stored = api.get("/api/v1/events", params={"sort": "id"}).json()
    assert [e["collector"] for e in stored] == ["ingest", "ingest"]
    assert {e["source_address"] for e in stored} == {"127.0.0.1"}
    assert stored[0]["severity"] == 4 and stored[0]["dst_ip"] == "2001:db8::5"
    assert stored[0]["end_time"].startswith("2026-01-31T08:00:00.123")
    assert stored[1]["kind"] == "device-log"
    assert stored[1]["begin_time"].startswith("2026-01-31T08:00:00")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"src_ip": "999.1.1.1"}, "src_ip"),
        ({"dst_port": 70000}, "dst_port"),
        ({"end_time": "2026-01-31T08:00:00"}, "end_time"),
        ({"severity": 9}, "severity"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_item_refuses_the_whole_batch(
    live: RunningServer, api: httpx.Client, item: dict[str, object], field: str
) -> None:
    before = live.services.bus.published
    answer = api.post("/api/v1/events/ingest", json=[{}, {}, item])
    assert answer.status_code == 422
    assert f"body.2.{field}" in answer.json()["error"]["message"]
    assert live.services.bus.published == before  # nothing half-published


def test_a_batch_over_ten_thousand_is_refused(live: RunningServer, api: httpx.Client) -> None:
    before = live.services.bus.published
    assert api.post("/api/v1/events/ingest", json=[{}] * 10_001).status_code == 422
    assert live.services.bus.published == before


# -- the live stream --------------------------------------------------------------------


def ws_url(live: RunningServer, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"wss://127.0.0.1:{live.ports['https']}/api/v1/events/stream{query}"


def insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def received(ws: ClientConnection, count: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    while len(events) < count:
        message = ws.recv(timeout=10)
        assert isinstance(message, str)
        events += [json.loads(line) for line in message.splitlines()]
    return events


def streams(live: RunningServer) -> list[str]:
    """The bus subscriptions of live WebSocket streams."""
    return [s.name for s in live.services.bus.subscriptions if s.name == "ws"]


def test_stream_sends_new_matching_events_as_json_lines(
    live: RunningServer, api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # uvicorn logs the WebSocket's path here; another server in this process (an ipsim
    # fleet, a test's hook server) may have set this logger's level.
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    headers = {"X-SMS-API-KEY": live.api_key}
    with (
        connect(
            ws_url(live, severity="critical"), ssl=insecure(), additional_headers=headers
        ) as by_header,
        connect(ws_url(live, api_key=live.api_key, kind="device-log"), ssl=insecure()) as by_query,
    ):
        wait_for(lambda: len(streams(live)) == 2)
        assert api.post("/api/v1/events/ingest", json=INGESTED * 3).status_code == 202
        critical = received(by_header, 3)
        logs = received(by_query, 3)
    assert [e["severity"] for e in critical] == [4, 4, 4]
    assert {e["src_ip"] for e in critical} == {"198.51.100.7"}
    assert [e["message"] for e in logs] == ["fan 2 failed"] * 3
    assert "id" not in critical[0]  # not stored yet
    wait_for(lambda: not streams(live))  # both streams let go
    assert live.api_key not in caplog.text
    assert "api_key=***" in caplog.text  # uvicorn logged the path, with the key hidden


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({}, {}, 401),
        ({"api_key": "gar_wrong"}, {}, 401),
        ({"src": "not-an-address"}, None, 422),
        ({"colour": "red"}, None, 422),
    ],
)
def test_stream_refuses_bad_credentials_and_filters(
    live: RunningServer, params: dict[str, str], headers: dict[str, str] | None, status: int
) -> None:
    sent = {"X-SMS-API-KEY": live.api_key} if headers is None else headers
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live, **params), ssl=insecure(), additional_headers=sent, open_timeout=10)
    assert refused.value.response.status_code == status


def test_stream_closes_cleanly_when_the_server_stops(tmp_path: Path) -> None:
    server = start_server(make_settings(tmp_path / "data", **NO_COLLECTORS))
    running = next(server)
    stopper = threading.Thread(target=next, args=(server, None))
    key = {"X-SMS-API-KEY": running.api_key}
    with connect(ws_url(running), ssl=insecure(), additional_headers=key) as ws:
        started = time.monotonic()
        stopper.start()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
    stopper.join(30)
    assert closed.value.rcvd is not None  # a close frame, not a dropped connection
    assert closed.value.rcvd.code in (1001, 1012)
    assert time.monotonic() - started < 15
