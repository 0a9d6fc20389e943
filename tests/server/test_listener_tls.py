"""Every listener takes its TLS context from the configured profile: checked with
`openssl s_client`, a real client, against the running server's ports."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import RunningServer, make_settings, start_server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def handshake(port: int, *args: str) -> bool:
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
    )
    return result.returncode == 0 and "Cipher is (NONE)" not in result.stdout


@pytest.fixture(params=["modern", "legacy", "fips"])
def profiled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    yield from start_server(make_settings(tmp_path / "d", tls={"profile": request.param}))


def test_both_listeners_follow_the_profile(profiled: RunningServer) -> None:
    profile = profiled.services.settings.tls.profile
    tls10 = ["-tls1", "-cipher", "AES128-SHA@SECLEVEL=0"]
    chacha = ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"]
    for listener in ("https", "client-api"):
        port = profiled.ports[listener]
        assert handshake(port, "-tls1_2") is True
        assert handshake(port, *tls10) is (profile == "legacy"), listener
        assert handshake(port, "-tls1_3") is (profile != "legacy"), listener
        assert handshake(port, *chacha) is (profile == "modern"), listener
