"""What the Responder's SNMP tests share: net-snmp's snmptrapd as the real receiver of
Garrison's traps (``ipsim.testing.Snmptrapd``) with a reader of its log, net-snmp's
snmptrap as the real NMS, a loopback socket that never answers, and response contexts."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from garrison.config import Settings
from garrison.responder.actions.base import ActionContext, ActionServices
from ipsim.testing import Snmptrapd
from tests.collectors.test_snmp_trap_support import PERSISTENT_DIR
from tests.support import make_settings

ENGINE_ID = "8000000001020304"
# The v3 user snmptrapd knows (createUser -e ENGINE_ID ...), for Garrison as the sender.
TRAPD_USER = {
    "engine_id": ENGINE_ID,
    "user": "garrison",
    "auth_protocol": "SHA-256",
    "auth_password": "authpass123",
    "priv_protocol": "AES",
    "priv_password": "privpass123",
}
# The same credentials as an action's settings.
V3_SETTINGS = {
    "version": "3",
    "user": "garrison",
    "auth_protocol": "SHA-256",
    "auth_key": "authpass123",
    "priv_protocol": "AES",
    "priv_key": "privpass123",
    "engine_id": ENGINE_ID,
}
_HEADER = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \[.*\]:$", re.MULTILINE)
_VARBIND = re.compile(r"(?:^|\t)\.?(\d+(?:\.\d+)+) = ")


def require_snmptrapd() -> None:
    if shutil.which("snmptrapd") is None:
        pytest.skip("net-snmp's snmptrapd is not installed (apt-get install snmptrapd)")


@dataclass
class ReceivedTrap:
    """One notification as snmptrapd logged it (numeric OIDs, values without types)."""

    trap_oid: str
    varbinds: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # OID -> STRING, INTEGER, ...


def parse_trapd_log(text: str) -> list[ReceivedTrap]:
    """snmptrapd's default output: a header line, then ``OID = TYPE: value`` joined by
    tabs; a string value keeps its line breaks, so a trap may span several lines."""
    traps = []
    headers = list(_HEADER.finditer(text))
    ends = [m.start() for m in headers[1:]] + [len(text)] * bool(headers)
    for start, end in zip((m.end() for m in headers), ends, strict=True):
        body = text[start:end].strip("\n")
        marks = list(_VARBIND.finditer(body))
        values: dict[str, str] = {}
        types: dict[str, str] = {}
        for index, mark in enumerate(marks):
            stop = marks[index + 1].start() if index + 1 < len(marks) else len(body)
            raw = body[mark.end() : stop].rstrip("\n")
            types[mark.group(1)] = raw.partition(": ")[0]
            values[mark.group(1)] = _plain(raw)
        trap_oid = values.pop("1.3.6.1.6.3.1.1.4.1.0", "")
        values.pop("1.3.6.1.2.1.1.3.0", None)
        traps.append(ReceivedTrap(trap_oid.lstrip("."), values, types))
    return traps


def _plain(value: str) -> str:
    kind, _, rest = value.partition(": ")
    if kind == "STRING" and rest.startswith('"') and rest.endswith('"'):
        return rest[1:-1]
    if kind == "OID":
        return rest.lstrip(".")
    return rest


async def wait_traps(daemon: Snmptrapd, count: int, timeout: float = 10.0) -> list[ReceivedTrap]:
    """The traps snmptrapd logged, once there are ``count`` (bounded in time)."""
    deadline = time.monotonic() + timeout
    while True:
        traps = parse_trapd_log(daemon.text())
        if len(traps) >= count or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert len(traps) >= count, f"{len(traps)} of {count} traps:\n{daemon.text()[-3000:]}"
    return traps


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A loopback UDP port where a socket reads nothing and answers nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextlib.contextmanager
def capture_port(timeout: float = 5.0) -> Iterator[tuple[int, socket.socket]]:
    """A loopback UDP socket to catch the datagram Garrison sends."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        yield sock.getsockname()[1], sock


async def run_net_snmp(command: list[str], timeout: float = 10.0) -> None:
    """Run snmptrap/snmpinform without MIBs and with the tests' own persistent folder."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"MIBS": "", "PATH": "/usr/bin:/bin", "SNMP_PERSISTENT_DIR": PERSISTENT_DIR},
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode()


def services(tmp_path: Path, **overrides: Any) -> ActionServices:
    settings: Settings = make_settings(tmp_path / "data", **overrides)
    return ActionServices(settings=settings)


def context(phase: str = "initial", **changes: Any) -> ActionContext:
    values: dict[str, Any] = {
        "response_id": 17,
        "policy": "Quarantine Policy",
        "address": "10.1.2.3",
        "phase": phase,
        "trigger": "threshold",
        "opened_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "mac": "00:11:22:aa:bb:cc",
        "user": "alice",
        "notify_id": 4242,
        "reason": "5 hits of 7610 in 60 s",
    }
    values.update(changes)
    return ActionContext(**values)
