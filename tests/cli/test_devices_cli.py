"""`garrison devices`: inventory and polling from the command line, in a subprocess."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli.cli_support import garrison as run_garrison
from tests.cli.cli_support import initialized_data_dir

# Polls of the test's unreachable devices give up quickly.
FAST_POLLER = {"GARRISON_POLLER_TIMEOUT_SECONDS": "0.3", "GARRISON_POLLER_RETRIES": "0"}


def garrison(
    data_dir: Path, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_garrison(data_dir, *args, input=input, env=FAST_POLLER)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return initialized_data_dir(tmp_path)


def test_devices_and_groups_from_the_command_line(data_dir: Path, tmp_path: Path) -> None:
    community = tmp_path / "community"
    community.write_text("s3cret-community\n")
    assert garrison(data_dir, "devices", "groups", "add", "edge").returncode == 0
    added = garrison(
        data_dir,
        "devices",
        "add",
        "ips1",
        "127.0.0.1",
        "--port",
        "9",
        "--community-file",
        str(community),
        "--group",
        "edge",
        "--location",
        "rack 4",
    )
    assert added.returncode == 0, added.stderr
    # The v3 keys are asked for when no file is given (hidden prompts read stdin here).
    v3 = garrison(
        data_dir,
        "devices",
        "add",
        "ips2",
        "127.0.0.2",
        "--port",
        "9",
        "--snmp-version",
        "3",
        "--user",
        "u",
        input="authpass123\nprivpass123\n",
    )
    assert v3.returncode == 0, v3.stderr
    listed = garrison(data_dir, "devices", "list", "--group", "edge")
    assert "ips1" in listed.stdout and "ips2" not in listed.stdout
    assert "s3cret" not in listed.stdout
    groups = garrison(data_dir, "devices", "groups", "list")
    assert "edge" in groups.stdout

    moved = garrison(data_dir, "devices", "set", "ips2", "--group", "edge", "--name", "ips-two")
    assert moved.returncode == 0, moved.stderr
    assert "ips-two" in garrison(data_dir, "devices", "list", "--group", "edge").stdout

    polled = garrison(data_dir, "devices", "poll", "ips1")
    assert polled.returncode == 2  # unreachable
    assert "ips1: unreachable (timeout:" in polled.stdout
    health = garrison(data_dir, "devices", "health", "ips1")
    assert "ips1 (127.0.0.1) is unreachable" in health.stdout
    assert "unreachable" in garrison(data_dir, "devices", "list", "--state", "unreachable").stdout

    short = tmp_path / "short"
    short.write_text("short\n")
    refused = garrison(data_dir, "devices", "set", "ips-two", "--auth-key-file", str(short))
    assert refused.returncode == 1 and "auth key must be 8-255" in refused.stderr
    missing = garrison(data_dir, "devices", "remove", "nope", "--yes")
    assert missing.returncode == 1 and "no device named 'nope'" in missing.stderr

    assert garrison(data_dir, "devices", "remove", "ips1", "--yes").returncode == 0
    assert garrison(data_dir, "devices", "groups", "remove", "edge").returncode == 0
    final = garrison(data_dir, "devices", "list").stdout
    assert "ips1" not in final and "ips-two" in final
    audit = garrison(data_dir, "audit").stdout
    assert "device.create" in audit and "s3cret" not in audit


def test_help_reads_like_documentation(tmp_path: Path) -> None:
    out = garrison(tmp_path, "devices", "add", "--help").stdout
    for words in ("--community-file", "--auth-key-file", "--priv-key-file", "IPv4 or IPv6"):
        assert words in out
