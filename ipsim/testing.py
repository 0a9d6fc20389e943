"""Helpers for tests that use ipsim as a real peer: run a fleet in a subprocess, run snmptrapd.

Both are context managers that bind loopback only, bound every wait, and stop what they
started by its PID.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def management_client(device: dict) -> httpx.Client:
    """An httpx client of a fleet device's management API (a device of ``.fleet["devices"]``):
    its bearer token sent, its self-signed certificate accepted."""
    import httpx  # here: only the tests that talk to devices need it

    m = device["management"]
    return httpx.Client(
        base_url=m["url"],
        verify=False,
        headers={"Authorization": f"Bearer {m['token']}"},
        timeout=10,
    )


class FleetProcess:
    """`python -m ipsim run` with ephemeral ports; .fleet is the JSON it writes once listening."""

    def __init__(self, workdir: Path, *args: str, start_timeout: float = 60.0) -> None:
        self.workdir = workdir
        self.args = args
        self.start_timeout = start_timeout
        self.fleet_path = workdir / "fleet.json"
        self.log_path = workdir / "ipsim.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.fleet: dict = {}
        self.startup_seconds = 0.0

    def __enter__(self) -> FleetProcess:
        env = {
            **os.environ,
            "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        }
        command = [
            sys.executable,
            "-m",
            "ipsim",
            "run",
            "--snmp-base-port",
            "0",
            "--mgmt-base-port",
            "0",
            "--write-fleet",
            str(self.fleet_path),
            *self.args,
        ]
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = started + self.start_timeout
        while not self.fleet_path.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"ipsim exited early:\n{self.log_path.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"ipsim did not start in {self.start_timeout}s:\n{self.log_path.read_text()}"
                )
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - started
        self.fleet = json.loads(self.fleet_path.read_text())
        return self

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def devices(self) -> list[dict]:
        return self.fleet["devices"]


class Snmptrapd:
    """net-snmp's snmptrapd in the foreground, logging every trap numerically to a file."""

    def __init__(
        self, workdir: Path, *, users: list[dict] | None = None, community: str = "public"
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / "snmptrapd.log"
        self.conf_path = workdir / "snmptrapd.conf"
        lines = ["disableAuthorization yes", f"authCommunity log {community}"]
        for u in users or []:
            lines.append(
                f"createUser -e 0x{u['engine_id']} {u['user']} "
                f"{u['auth_protocol']} {u['auth_password']} "
                f"{u['priv_protocol']} {u['priv_password']}"
            )
        self.conf_path.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Snmptrapd:
        command = [
            "snmptrapd",
            "-f",
            "-Lf",
            str(self.log_path),
            "-C",
            "-c",
            str(self.conf_path),
            "-m",
            "",
            "-On",
            "--persistentDir=" + str(self.workdir / "persist"),
            "-p",
            str(self.workdir / "snmptrapd.pid"),
            f"udp:127.0.0.1:{self.port}",
        ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "MIBS": ""},
        )
        deadline = time.monotonic() + 10
        # It writes its banner to the log once it listens.
        while not (self.log_path.exists() and "NET-SNMP" in self.log_path.read_text()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("snmptrapd did not start")
            time.sleep(0.05)
        return self

    def text(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def wait_for(self, needle: str, timeout: float = 10.0, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if text.count(needle) >= count:
                return text
            time.sleep(0.05)
        raise TimeoutError(f"{needle!r} x{count} not in snmptrapd log:\n{self.text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
