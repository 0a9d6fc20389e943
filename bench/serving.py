"""A real ``garrison serve`` for the Web-services benchmarks, as a process of its own.

``garrison init`` into a throwaway data directory, an admin API key, then ``serve`` with
HTTPS on a free loopback port and every other listener on a port the system picks (0), so
no listener is left at its privileged default (UDP 162, 514, ...) and runs never collide;
the poller off. The store is SQLite in the data directory, or a throwaway database made
on a PostgreSQL or MariaDB server from its URL (as tests/conftest.py does) and dropped at
the end. The server can be pinned to a core (``taskset``) apart from the client's, and is
stopped by its PID. Shared by bench/reputation_ws.py and bench/dbaccess_getdata.py::

    server_core = pin_client(no_pin=args.no_pin)
    with running_server("garrison-x-", args.database_url, server_core) as server:
        with client_session(server) as session:
            session.get(f"{server.url}/api/v1/health")
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3

from garrison.ports import listeners
from garrison.store.throwaway import throwaway_database

HOST = "127.0.0.1"
PASSWORD = "correct horse battery staple"
CORES = sorted(os.sched_getaffinity(0))
START_SECONDS = 120


def free_port() -> int:
    """A TCP port free on the loopback address now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(https: int, database_url: str | None) -> dict[str, str]:
    """This environment without any GARRISON_ setting of the caller's, every listener on
    port 0 but HTTPS (on ``https``, so its URL is known), the poller off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARRISON_")}
    env |= {f"GARRISON_PORTS_{e.key.upper().replace('-', '_')}": "0" for e in listeners()}
    env |= {
        "GARRISON_PORTS_HTTPS": str(https),
        "GARRISON_SERVER_HOST": HOST,
        "GARRISON_POLLER_ENABLED": "false",
        "GARRISON_LOG_LEVEL": "warning",
    }
    if database_url:
        env["GARRISON_DATABASE_URL"] = database_url
    return env


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str | None]:
    """None for SQLite in the data directory; for a server URL, a throwaway database on
    that server, dropped afterwards."""
    if not url:
        yield None
        return
    with throwaway_database(url, prefix="garrison_bench") as throwaway:
        yield throwaway


@dataclass
class Server:
    """A running ``garrison serve``: its process, HTTPS URL, admin API key, data directory,
    stderr log and the URL of the database it stores in."""

    process: subprocess.Popen[bytes]
    url: str
    key: str
    data: Path
    log: Path
    database_url: str

    @property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL after 60 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_server(work: Path, database_url: str | None, core: int | None) -> Server:
    """Initialise ``work``/data, make an admin API key and start ``garrison serve`` (on
    ``core`` if given); return once its health endpoint answers."""
    https = free_port()
    env = server_env(https, database_url)
    data, secret = work / "data", work / "password"
    secret.write_text(PASSWORD)
    garrison = [sys.executable, "-m", "garrison", "--data-dir", str(data)]

    def cli(*words: str) -> str:
        done = subprocess.run(
            [*garrison, *words], capture_output=True, text=True, env=env, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"garrison {words[0]} failed: {done.stderr[-2000:]}")
        return done.stdout.strip()

    cli("init", "--password-file", str(secret))
    key = cli("api-keys", "create", "admin", "--quiet")
    pinned = ["taskset", "-c", str(core)] if core is not None else []
    log = work / "serve.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [*pinned, *garrison, "serve"], stdout=subprocess.DEVNULL, stderr=handle, env=env
        )
    store_url = database_url or f"sqlite:///{data / 'garrison.db'}"
    server = Server(process, f"https://{HOST}:{https}", key, data, log, store_url)
    try:
        wait_healthy(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_healthy(server: Server) -> None:
    """Return once ``/api/v1/health`` answers; fail if the process exits or it does not
    answer within START_SECONDS."""
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"garrison serve exited: {server.log.read_text()[-2000:]}")
        try:
            requests.get(f"{server.url}/api/v1/health", verify=False, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"garrison serve did not answer within {START_SECONDS} s")


@contextlib.contextmanager
def running_server(prefix: str, database_url: str | None, core: int | None) -> Iterator[Server]:
    """A server on a throwaway data directory (and database, for a server URL), stopped
    and cleaned up on the way out; the data directory is still there inside the block
    after ``server.stop()``, for a caller that measures it."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as tmp,
        database(database_url) as url,
    ):
        server = start_server(Path(tmp), url, core)
        try:
            yield server
        finally:
            server.stop()


def pin_client(*, no_pin: bool = False) -> int | None:
    """Pin this process to the first core and return the last, for the server; None (and
    no pinning) with ``no_pin`` or on a single core."""
    if no_pin or len(CORES) < 2:
        return None
    os.sched_setaffinity(0, {CORES[0]})
    return CORES[-1]


def client_session(server: Server) -> requests.Session:
    """A kept-alive ``requests`` session that calls ``server`` as its admin, the way a
    script calls an SMS (its self-signed certificate not checked)."""
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    session = requests.Session()
    session.verify = False
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify
    session.headers["X-SMS-API-KEY"] = server.key
    return session
