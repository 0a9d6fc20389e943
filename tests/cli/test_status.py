"""`garrison status`: the fleet and event counts, and the running server's counters."""

from __future__ import annotations

import time

from typer.testing import CliRunner

from garrison.auth import Principal
from garrison.cli.main import app
from garrison.cli.status import counters_by_label
from garrison.events import Event, EventKind
from garrison.metrics import Metrics
from tests.support import RunningServer


def test_counters_are_read_by_reason_and_others_ignored() -> None:
    metrics = Metrics()
    metrics.trap_dropped.labels("bad-community").inc(3)
    metrics.trap_dropped.labels("truncated").inc()
    metrics.http_requests.labels("https", "GET", "x", "200").inc()
    found = counters_by_label(metrics.render().decode())
    assert found["garrison_trap_dropped"] == {"reason=bad-community": 3.0, "reason=truncated": 1.0}
    assert "garrison_http_requests" not in found


def test_status_shows_stored_events_and_the_servers_counters(server: RunningServer) -> None:
    svc = server.services
    svc.events.ingest(
        Principal.local_cli(),
        [
            Event(kind=EventKind.ALERT, collector="ingest", source_address="127.0.0.1")
            for _ in range(3)
        ],
    )
    runner = CliRunner()
    env = {
        "GARRISON_DATA_DIR": str(svc.settings.data_dir),
        "COLUMNS": "200",
        "GARRISON_PORTS_CLIENT_API": str(server.ports["client-api"]),
        "GARRISON_API_KEY": server.api_key,
    }
    for _ in range(50):  # the writer stores them within its batch wait
        result = runner.invoke(app, ["status"], env=env)
        if "events stored: 3 in the last hour" in result.stdout:
            break
        time.sleep(0.1)
    assert result.exit_code == 0, result.output
    assert "events stored: 3 in the last hour" in result.stdout
    assert "since the server started" in result.stdout
