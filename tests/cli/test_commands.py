"""The `garrison` command: init, users, api-keys, audit, config; errors in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from garrison.tls import certificate_info, ensure_self_signed
from tests.cli.cli_support import garrison, initialized_data_dir


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return initialized_data_dir(tmp_path)


def test_init_creates_everything_then_changes_nothing(data_dir: Path) -> None:
    for name in ("garrison.toml", "garrison.db", "tls/server.crt", "tls/server.key"):
        assert (data_dir / name).exists(), name
    before = {
        p: p.stat().st_mtime_ns
        for p in data_dir.rglob("*")
        if p.is_file() and not p.name.startswith("garrison.db")
    }
    again = garrison(data_dir, "init")
    assert again.returncode == 0
    assert "Nothing to do" in again.stdout
    assert "password" not in again.stdout.lower()
    after = {p: p.stat().st_mtime_ns for p in before}
    assert before == after


def test_init_without_a_password_generates_and_prints_it_once(tmp_path: Path) -> None:
    first = garrison(tmp_path / "d", "init", "--admin", "root")
    assert first.returncode == 0, first.stderr
    assert "The password of root is" in first.stdout
    assert "shown this once" in first.stdout
    assert "The password of" not in garrison(tmp_path / "d", "init").stdout


def test_users_and_keys_from_the_command_line(data_dir: Path, tmp_path: Path) -> None:
    password = tmp_path / "ana.pw"
    password.write_text("a long auditor passphrase\n")
    added = garrison(
        data_dir, "users", "add", "ana", "--role", "auditor", "--password-file", str(password)
    )
    assert added.returncode == 0, added.stderr
    listing = garrison(data_dir, "users", "list").stdout
    assert "ana" in listing and "auditor" in listing
    key = garrison(data_dir, "api-keys", "create", "ana", "--name", "siem", "--quiet")
    assert key.returncode == 0 and key.stdout.strip().startswith("gar_")
    keys = garrison(data_dir, "api-keys", "list").stdout
    assert "siem" in keys and key.stdout.strip() not in keys
    audit = garrison(data_dir, "audit").stdout
    assert "user.create" in audit and "api-key.create" in audit and "cli:" in audit


def test_user_errors_are_one_red_line_not_a_traceback(data_dir: Path, tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("short\n")
    weak = garrison(data_dir, "users", "add", "bo", "--password-file", str(password))
    assert weak.returncode == 1
    assert weak.stderr.strip() == "error: password must have at least 10 characters"
    missing = garrison(data_dir, "users", "unlock", "nobody")
    assert missing.returncode == 1 and "no user named 'nobody'" in missing.stderr
    assert "Traceback" not in weak.stderr + missing.stderr


def test_commands_on_an_uninitialised_directory_say_to_run_init(tmp_path: Path) -> None:
    result = garrison(tmp_path / "empty", "users", "list")
    assert result.returncode == 1
    assert "garrison init" in result.stderr


def test_a_bad_config_stops_with_one_line(data_dir: Path) -> None:
    (data_dir / "garrison.toml").write_text('[tls]\nprofile = "strong"\n')
    result = garrison(data_dir, "config", "check")
    assert result.returncode == 1
    assert "tls.profile: must be 'modern', 'legacy' or 'fips'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_port_applies_overrides_and_the_shift(data_dir: Path) -> None:
    shifted = garrison(
        data_dir, "config", "port", "https", env={"GARRISON_SERVER_LOW_PORTS": "shift"}
    )
    assert shifted.stdout.strip() == "10443"
    moved = garrison(data_dir, "config", "port", "https", env={"GARRISON_PORTS_HTTPS": "8443"})
    assert moved.stdout.strip() == "8443"


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["serve"],
        ["users"],
        ["users", "add"],
        ["api-keys"],
        ["audit"],
        ["config"],
        ["ports"],
    ],
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = garrison(tmp_path, *command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_init_imports_a_certificate_instead_of_making_one(tmp_path: Path) -> None:
    ours = tmp_path / "site.crt"
    ensure_self_signed(ours, tmp_path / "site.key", hostnames=["sms.example.net"], ips=[])
    password = tmp_path / "pw"
    password.write_text("first superuser passphrase\n")
    result = garrison(
        tmp_path / "d",
        "init",
        "--password-file",
        str(password),
        "--certificate",
        str(ours),
        "--key",
        str(tmp_path / "site.key"),
    )
    assert result.returncode == 0, result.stderr
    assert "imported certificate" in result.stdout
    installed = certificate_info(tmp_path / "d" / "tls" / "server.crt")
    assert "sms.example.net" in installed.dns_names
