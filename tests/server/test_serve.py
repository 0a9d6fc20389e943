"""`garrison serve` as a process: it serves, logs, refuses bad set-ups in one line, and
drains on SIGTERM with exit code 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_PASSWORD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "garrison", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    password = tmp_path / "pw"
    password.write_text(ADMIN_PASSWORD)
    assert run(tmp_path / "data", "init", "--password-file", str(password)).returncode == 0
    return tmp_path / "data"


@pytest.fixture
def api_key(data_dir: Path) -> str:
    return run(data_dir, "api-keys", "create", "admin", "--quiet").stdout.strip()


class Served:
    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.https, self.client_api = free_port(), free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "garrison", "--data-dir", str(data_dir), "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "GARRISON_SERVER_HOST": "127.0.0.1",
                "GARRISON_PORTS_HTTPS": str(self.https),
                "GARRISON_PORTS_CLIENT_API": str(self.client_api),
                **(env or {}),
            },
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()[1]
            try:
                httpx.get(f"https://127.0.0.1:{self.https}/api/v1/health", verify=False, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("garrison serve did not answer within 30 s")

    def terminate(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        _, stderr = self.process.communicate(timeout=30)
        return self.process.returncode, stderr


@pytest.fixture
def served(data_dir: Path) -> Iterator[Served]:
    server = Served(data_dir)
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.communicate()


def test_serves_both_ports_and_exits_0_on_sigterm(served: Served, api_key: str) -> None:
    served.wait_ready()
    for port in (served.https, served.client_api):
        response = httpx.get(
            f"https://127.0.0.1:{port}/api/v1/users",
            verify=False,
            headers={"X-SMS-API-KEY": api_key},
        )
        assert response.status_code == 200
        assert response.json()[0]["username"] == "admin"
    code, stderr = served.terminate()
    assert code == 0
    assert "garrison stopped" in stderr


def test_logs_never_hold_credentials_or_query_strings(served: Served, api_key: str) -> None:
    served.wait_ready()
    httpx.get(
        f"https://127.0.0.1:{served.https}/api/v1/users?smspass=hunter2-secret",
        headers={"X-SMS-API-KEY": api_key},
        verify=False,
    )
    httpx.post(
        f"https://127.0.0.1:{served.https}/api/v1/session",
        verify=False,
        json={"username": "admin", "password": "wrong-password-secret"},
    )
    _, stderr = served.terminate()
    assert "GET /api/v1/users 200" in stderr
    for secret in (api_key, "hunter2-secret", "wrong-password-secret"):
        assert secret not in stderr


def test_json_logs_are_one_object_a_line(data_dir: Path) -> None:
    server = Served(data_dir, "--log-format", "json")
    server.wait_ready()
    code, stderr = server.terminate()
    assert code == 0
    entries = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert {"ts", "level", "logger", "message"} <= set(entries[0])
    assert any("listening on https://127.0.0.1" in e["message"] for e in entries)


def test_a_port_in_use_stops_start_up_with_one_line(data_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = Served(data_dir, env={"GARRISON_PORTS_CLIENT_API": str(port)})
        _, stderr = server.process.communicate(timeout=60)
    assert server.process.returncode == 1
    assert f"client-api: cannot listen on 127.0.0.1:{port}: another process holds it" in stderr
    assert "Traceback" not in stderr


def test_an_unreadable_certificate_stops_start_up_with_one_line(data_dir: Path) -> None:
    (data_dir / "tls" / "server.crt").write_text("not a certificate")
    server = Served(data_dir)
    _, stderr = server.process.communicate(timeout=60)
    assert server.process.returncode == 1
    assert "server.crt" in stderr and "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if line.startswith("error:")]) == 1


def test_a_bad_config_stops_start_up_naming_the_key(data_dir: Path) -> None:
    server = Served(data_dir, env={"GARRISON_LOG_FORMAT": "xml"})
    _, stderr = server.process.communicate(timeout=60)
    assert server.process.returncode == 1
    assert "log.format: must be 'text' or 'json' (got 'xml')" in stderr
