"""The Web services as curl (a real HTTP client that is not ours) sees them: a text answer
split into its parts, a binary download as it arrived, and the curl arguments of each way
a script authenticates."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support import ADMIN_PASSWORD, RunningServer
from tests.webservices.ws_support import ADMIN

needs_curl = pytest.mark.skipif(
    shutil.which("curl") is None, reason="curl is not installed (Debian package curl)"
)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


def curl(server: RunningServer, target: str, *args: str) -> Reply:
    """``curl -sk -i [args] https://.../target``, the answer split into its parts."""
    done = subprocess.run(
        ["curl", "-sk", "-i", "--max-time", "20", *args, server.url() + target],
        capture_output=True,
        timeout=30,
        check=True,
    )
    head, _, body = done.stdout.decode().partition("\r\n\r\n")
    status_line, *lines = head.split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return Reply(int(status_line.split()[1]), headers, body)


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
        "smsuser": ([], "&" + urlencode(ADMIN)),
    }
