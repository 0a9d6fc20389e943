"""Helpers of the Web service tests that reach devices (pcaps, deviceAdmin): curl for a
binary answer, an unreachable device, and the auth forms scripts use."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ipsim.testing import free_port
from tests.support import ADMIN_PASSWORD, RunningServer


@dataclass
class Download:
    status: int
    headers: dict[str, str]
    body: bytes


def curl_download(server: RunningServer, target: str, out: Path, *args: str) -> Download:
    """``curl -sk -o OUT -D HEADERS [args] https://.../target``: the answer's bytes as
    they arrived (a pcap is binary), its status and headers."""
    headers_file = out.with_suffix(".headers")
    subprocess.run(
        ["curl", "-sk", "--max-time", "30", "-o", str(out), "-D", str(headers_file),
         *args, server.url() + target],
        check=True,
        timeout=60,
    )  # fmt: skip
    status_line, *lines = headers_file.read_bytes().decode().strip().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return Download(int(status_line.split()[1]), headers, out.read_bytes())


def auth_forms(server: RunningServer) -> dict[str, tuple[list[str], str]]:
    """name -> (curl arguments, query-string suffix) for each way a script authenticates."""
    return {
        "api-key": (["-H", f"X-SMS-API-KEY: {server.api_key}"], ""),
        "basic": (["-u", f"admin:{ADMIN_PASSWORD}"], ""),
        "smsuser": ([], "&smsuser=admin&smspass=" + ADMIN_PASSWORD.replace(" ", "+")),
    }


def add_unreachable_device(api: httpx.Client, name: str, **more: Any) -> dict[str, Any]:
    """A device whose management API nobody answers (a closed loopback port)."""
    body = {
        "name": name,
        "address": "127.0.0.1",
        "mgmt_url": f"https://127.0.0.1:{free_port(socket.SOCK_STREAM)}/api/v1#verify=off",
        "mgmt_secret": "token-of-a-device-that-is-off",
        "snmp_community": "public",
        **more,
    }
    created = api.post("/api/v1/devices", json=body)
    assert created.status_code == 201, created.text
    return created.json()
