"""The Web services as curl (a real HTTP client that is not ours) sees them."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import pytest

from tests.support import RunningServer

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
