"""Kill -9 `garrison serve` in the middle of a response: after the restart, open responses
are still open, a response that expired meanwhile runs its timeout actions, and an action
that had succeeded is not run again. The actions are Web actions calling a recording HTTP
server, so every run is seen from outside the process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from tests.server.test_serve import Served, run
from tests.support import ADMIN_PASSWORD, wait_for


class Hooks(BaseHTTPRequestHandler):
    calls: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).calls.append(self.path)
        if self.path.startswith("/slow"):
            time.sleep(20)  # still "running" when the server is killed
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hooks() -> Iterator[str]:
    Hooks.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def web(name: str, url: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "web", "retries": 0, "settings": {"url": url}, **fields}


def api_client(server: Served, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"https://127.0.0.1:{server.https}",
        headers={"X-SMS-API-KEY": key},
        verify=False,
        timeout=10,
    )


QUIET_PORTS = {
    "GARRISON_PORTS_SNMP_TRAP": "0",
    "GARRISON_PORTS_SNMP_TRAP_ALT": "0",
    "GARRISON_PORTS_RESPONDER_TRAP": "0",
    "GARRISON_POLLER_ENABLED": "false",
}


@pytest.mark.timeout(120)
def test_kill_9_keeps_responses_and_runs_due_timeouts_once(tmp_path: Path, hooks: str) -> None:
    data_dir = tmp_path / "data"
    password = tmp_path / "pw"
    password.write_text(ADMIN_PASSWORD)
    assert run(data_dir, "init", "--password-file", str(password)).returncode == 0
    key = run(data_dir, "api-keys", "create", "admin", "--quiet").stdout.strip()
    policy = {
        "name": "Hooked",
        "initiation": ["manual"],
        "timeout_seconds": 3,
        "initial_actions": [
            web("opened", hooks + "/opened?host={address}"),
            web("slow", hooks + "/slow?host={address}", time_limit_seconds=6),
        ],
        "timeout_actions": [web("closed", hooks + "/closed?host={address}")],
    }
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    created = run(data_dir, "responder", "create", str(tmp_path / "policy.json"))
    assert created.returncode == 0, created.stderr

    server = Served(data_dir, env=QUIET_PORTS)
    try:
        server.wait_ready()
        api = api_client(server, key)
        short = api.post("/api/v1/responses", json={"policy": "Hooked", "address": "192.0.2.1"})
        assert short.status_code == 201, short.text
        long = api.post(
            "/api/v1/responses",
            json={"policy": "Hooked", "address": "192.0.2.2", "timeout_seconds": 3600},
        )
        assert long.status_code == 201, long.text
        wait_for(
            "both slow actions running",
            lambda: sum(c.startswith("/slow") for c in Hooks.calls) == 2,
            timeout=30,
        )
        wait_for(
            "the first actions recorded as succeeded",
            lambda: all(
                a["state"] == "succeeded"
                for r in (short, long)
                for a in api.get(f"/api/v1/responses/{r.json()['id']}").json()["actions"]
                if a["name"] == "opened"
            ),
            timeout=30,
        )
    finally:
        server.process.kill()  # SIGKILL: no draining, no clean-up
        server.process.communicate()
    time.sleep(3.5)  # the short response expires while Garrison is down
    assert not any(c.startswith("/closed") for c in Hooks.calls)

    restarted = Served(data_dir, env=QUIET_PORTS)
    try:
        restarted.wait_ready()
        api = api_client(restarted, key)
        short_id, long_id = short.json()["id"], long.json()["id"]
        closed = wait_for(
            "the expired response closed after the restart",
            lambda: (
                (r := api.get(f"/api/v1/responses/{short_id}").json())["state"] == "closed" and r
            ),
            timeout=45,
        )
        assert closed["close_reason"] == "expired"
        still_open = api.get(f"/api/v1/responses/{long_id}").json()
        assert still_open["state"] == "open"
        assert Hooks.calls.count("/closed?host=192.0.2.1") == 1
        # Succeeded before the kill: never again. Running at the kill: run again.
        assert Hooks.calls.count("/opened?host=192.0.2.1") == 1
        assert Hooks.calls.count("/opened?host=192.0.2.2") == 1
        wait_for(
            "the interrupted actions run again",
            lambda: (
                Hooks.calls.count("/slow?host=192.0.2.1") == 2
                and Hooks.calls.count("/slow?host=192.0.2.2") == 2
            ),
            timeout=30,
        )
    finally:
        code, _ = restarted.terminate()
    assert code == 0
