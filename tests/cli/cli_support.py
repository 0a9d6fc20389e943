"""Running the ``garrison`` command as a process, for the command-line tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GARRISON = [sys.executable, "-m", "garrison"]


def garrison(
    data_dir: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GARRISON, "--data-dir", str(data_dir), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", **(env or {})},
    )


def initialized_data_dir(tmp_path: Path) -> Path:
    """``garrison init`` in ``tmp_path/data``, with a first superuser."""
    password = tmp_path / "pw"
    password.write_text("first superuser passphrase\n")
    result = garrison(tmp_path / "data", "init", "--password-file", str(password))
    assert result.returncode == 0, result.stderr
    return tmp_path / "data"
